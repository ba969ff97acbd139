"""The eve report: Eve's knowledge before and after privacy amplification."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qkdstack.adversary import EveBasis, EveRecords, parse_attack
from qkdstack.adversary import eve as eve_module
from qkdstack.adversary.eve import (
    BREIDBART_INFORMATION,
    eve_report,
    fuchs_information,
    intercept_resend_information,
    intercept_resend_qber,
    toeplitz_parities,
)
from qkdstack.errors import ParameterError, RecordError
from qkdstack.params import LinkParams

SIGMAS = 5.0


def _toeplitz_matrix(seed: np.ndarray, n: int, m: int) -> np.ndarray:
    """T[i, j] = seed[i - j + n - 1], built element by element (independent of the FFT path)."""
    return np.array([[seed[i - j + n - 1] for j in range(n)] for i in range(m)], dtype=np.int64)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (9, 4), (64, 64), (50, 120), (301, 17)])
def test_toeplitz_parities_match_the_matrix(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
    bits = rng.integers(0, 2, n, dtype=np.uint8)
    expected = (_toeplitz_matrix(seed, n, m) @ bits) % 2
    assert np.array_equal(toeplitz_parities(seed, bits, m), expected)


def test_toeplitz_blocks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    n, m = 1000, 300
    seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
    bits = rng.integers(0, 2, n, dtype=np.uint8)
    expected = (_toeplitz_matrix(seed, n, m) @ bits) % 2
    monkeypatch.setattr(eve_module, "_FFT_BLOCK", 64)
    assert np.array_equal(toeplitz_parities(seed, bits, m), expected)


def test_toeplitz_seed_length_is_checked() -> None:
    with pytest.raises(ParameterError, match=r"'toeplitz_seed'.*m \+ n - 1 = 12"):
        toeplitz_parities(np.zeros(5, np.uint8), np.zeros(8, np.uint8), 5)


def test_closed_forms_against_literature_values() -> None:
    # Gisin et al., RMP 74, 145 (2002), Sec. VI.A: QBER 25 %, half a bit per sifted bit.
    assert intercept_resend_qber(1.0) == 0.25
    assert intercept_resend_qber(0.4) == pytest.approx(0.1)
    assert intercept_resend_information(1.0) == 0.5
    # Bennett et al. 1992: 1 - h(0.146) = 0.399 bit in the Breidbart basis.
    assert BREIDBART_INFORMATION == pytest.approx(0.399, abs=5e-4)
    # Fuchs et al. 1997: I_AE = 1 - h(D) at D = 0.1464; full information at D = 1/2.
    assert fuchs_information(0.5) == pytest.approx(1.0)
    assert fuchs_information(0.0) == 0.0
    with pytest.raises(ParameterError, match=r"'fraction'"):
        intercept_resend_qber(2.0)


def _records(guess: np.ndarray, error_prob: np.ndarray) -> EveRecords:
    n = guess.shape[0]
    return EveRecords(
        attack="test",
        parameters={"x": 1},
        pulses=10 * n,
        intercepted_pulses=n,
        pulse_index=np.arange(0, 10 * n, 10, dtype=np.int64),
        attacked=np.ones(n, bool),
        basis=np.zeros(n, np.uint8),
        guess=guess.astype(np.uint8),
        certain=error_prob == 0,
        error_prob=error_prob.astype(np.float64),
        photons=np.zeros(n, np.uint8),
    )


def test_report_fields_for_an_omniscient_eve() -> None:
    """An Eve who knows every bit agrees with every final bit: the agreement test can fail."""
    rng = np.random.default_rng(1)
    n, m = 2000, 800
    key = rng.integers(0, 2, n, dtype=np.uint8)
    eve = _records(key.copy(), np.zeros(n))
    seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
    final = (_toeplitz_matrix(seed, n, m) @ key % 2).astype(np.uint8)
    report = eve_report(eve, eve.pulse_index, key, final, seed, leaked_bits=100, seed=2)
    assert report["attack"] == "test" and report["parameters"] == {"x": 1}
    assert report["intercepted_pulses"] == n
    assert report["known_sifted_bits"] == n
    assert report["eve_info_bits_before_pa"] == n  # capped at the key length
    assert report["eve_agreement_final"] == 1.0
    assert report["eve_agreement_final_consistent"] is False
    assert report["eve_agreement_final_p_value"] < 1e-100


def test_report_for_an_ignorant_eve_is_consistent_with_one_half() -> None:
    rng = np.random.default_rng(3)
    n, m = 4000, 3000
    key = rng.integers(0, 2, n, dtype=np.uint8)
    eve = _records(rng.integers(0, 2, n, dtype=np.uint8), np.full(n, 0.5))
    seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
    final = toeplitz_parities(seed, key, m)
    report = eve_report(eve, eve.pulse_index, key, final, seed, leaked_bits=7, seed=4)
    assert report["known_sifted_bits"] == 0
    assert report["eve_info_quantum_bits"] == 0.0
    assert report["eve_info_bits_before_pa"] == 7.0
    assert abs(report["eve_agreement_final"] - 0.5) < SIGMAS * math.sqrt(0.25 / m)
    assert abs(report["eve_agreement_final_z"]) < SIGMAS
    assert report["eve_agreement_final_consistent"] is True


def test_report_without_a_final_key() -> None:
    key = np.zeros(10, np.uint8)
    eve = _records(key, np.zeros(10))
    report = eve_report(eve, eve.pulse_index, key, None, None)
    assert report["final_bits"] == 0
    assert report["eve_agreement_final"] is None
    assert report["known_sifted_bits"] == 10


def test_report_rejects_unknown_positions() -> None:
    key = np.zeros(3, np.uint8)
    eve = _records(key, np.zeros(3))
    with pytest.raises(RecordError, match=r"sifted_pulse_index"):
        eve_report(eve, np.array([0, 10, 11], dtype=np.int64), key, None, None)
    with pytest.raises(ParameterError, match=r"sifted_pulse_index"):
        eve_report(eve, np.array([0, 10], dtype=np.int64), key, None, None)


def _sift_and_amplify(out, seed: int, secure_bits: float):  # type: ignore[no-untyped-def]
    """Independent stand-in for the pipeline: sift on Z, take Alice's bits as the corrected key,
    and hash to ``secure_bits`` with a random Toeplitz matrix."""
    keep = (out.alice.basis == out.bob.basis) & (out.alice.basis == 0)
    idx = out.alice.pulse_index[keep]
    key = out.alice.bit[keep]
    m = max(int(secure_bits), 0)
    rng = np.random.default_rng(seed)
    t_seed = rng.integers(0, 2, m + key.size - 1, dtype=np.uint8)
    final = toeplitz_parities(t_seed, key, m) if m else np.zeros(0, np.uint8)
    return idx, key, final, t_seed


@pytest.mark.parametrize(
    "spec", ["beam-splitting", "intercept-resend:fraction=0.1", "cloner:disturbance=0.05", "pns"]
)
def test_final_key_agreement_is_one_half_after_amplification(spec: str) -> None:
    params = LinkParams(source="laser", distance_km=50.0)
    out = parse_attack(spec).simulate("bb84", params, 4_000_000, np.random.default_rng(41))
    idx, key, _, _ = _sift_and_amplify(out, 0, 0)
    pre = eve_report(out.eve, idx, key, None, None)
    # Hash away Eve's information and 10 % more.
    secure = key.size - 1.1 * pre["eve_info_bits_before_pa"]
    idx, key, final, t_seed = _sift_and_amplify(out, 1, secure)
    report = eve_report(out.eve, idx, key, final, t_seed, seed=5)
    assert report["key_bits"] == key.size
    assert report["known_sifted_bits"] == int(
        np.count_nonzero(out.eve.certain[np.searchsorted(out.eve.pulse_index, idx)])
    )
    if final.size:
        assert report["eve_agreement_final_consistent"] is True
        assert abs(report["eve_agreement_final"] - 0.5) < SIGMAS * math.sqrt(0.25 / final.size)


def test_known_sifted_bits_for_beam_splitting() -> None:
    params = LinkParams(source="laser", mu=0.5, distance_km=25.0)
    out = parse_attack("beam-splitting").simulate(
        "bb84", params, 4_000_000, np.random.default_rng(42)
    )
    idx, key, _, _ = _sift_and_amplify(out, 0, 0)
    report = eve_report(out.eve, idx, key, None, None)
    p = 1 - math.exp(-(1 - 10 ** (-0.5)) * 0.5)
    n = key.size
    assert abs(report["known_sifted_bits"] - n * p) < SIGMAS * math.sqrt(n * p * (1 - p))
    assert report["eve_info_quantum_bits"] == pytest.approx(report["known_sifted_bits"])


def test_eve_basis_codes() -> None:
    assert EveBasis.Z == 0 and EveBasis.X == 1 and EveBasis.NONE == 255


# ---- end to end with the post-processing pipeline -------------------------------------------


def _pipeline_run(spec: str, params: LinkParams, pulses: int, seed: int, **options):  # type: ignore[no-untyped-def]
    from qkdstack.adversary.eve import eve_report_for_run
    from qkdstack.adversary.registry import classical_tamper
    from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

    attack = parse_attack(spec)
    link = attack.simulate("bb84", params, pulses, np.random.default_rng(seed))
    opts = PipelineOptions(
        secure_randomness=False, tamper=classical_tamper(attack, seed=seed), **options
    )
    result = run_postprocessing(link.alice, link.bob, opts, seed=seed)
    return result, eve_report_for_run(link, result, seed=seed)


@pytest.mark.parametrize(
    "spec", ["beam-splitting", "cloner:disturbance=0.03", "intercept-resend:fraction=0.1"]
)
def test_pipeline_runs_that_produce_a_key_leave_eve_at_one_half(spec: str) -> None:
    params = LinkParams(source="single-photon", distance_km=10.0)
    result, report = _pipeline_run(spec, params, 2_000_000, 61)
    assert report is not None
    assert report["attack"] == spec.split(":")[0]
    # These weak attacks leave a key: Eve's agreement with it must be a coin's.
    assert result.error is None
    m = report["final_bits"]
    assert m > 0 and report["aborted"] is False
    assert np.array_equal(result.alice_key, result.bob_key)
    assert abs(report["eve_agreement_final"] - 0.5) < SIGMAS * math.sqrt(0.25 / m)
    assert report["eve_agreement_final_consistent"] is True
    assert report["leaked_bits"] > 0
    assert report["eve_info_bits_before_pa"] > 0


def test_pipeline_full_intercept_resend_aborts_with_eve_report() -> None:
    result, report = _pipeline_run("intercept-resend", LinkParams(), 2_000_000, 62)
    assert result.error is not None and result.alice_key is None and result.bob_key is None
    assert report is not None and report["aborted"] is True
    assert report["eve_agreement_final"] is None
    # Eve holds about half of the key bits for sure (right basis half the time).
    n = report["key_bits"]
    assert abs(report["known_sifted_bits"] - n / 2) < SIGMAS * math.sqrt(n / 4)


@pytest.mark.parametrize("mode", ["flip", "basis", "replace"])
def test_pipeline_mitm_round_aborts_and_stores_nothing(mode: str) -> None:
    from qkdstack.errors import AuthenticationError

    result, report = _pipeline_run(f"mitm:mode={mode}", LinkParams(), 1_000_000, 63)
    assert isinstance(result.error, AuthenticationError)
    assert result.alice_key is None and result.bob_key is None
    # Neither node object holds a key, not only the wrapper's copies (see test_key_after_checks).
    assert result.alice.final_key is None and result.bob.final_key is None
    assert report is not None and report["eve_agreement_final"] is None


def test_pipeline_without_attack_has_no_eve_block() -> None:
    from qkdstack.adversary.eve import eve_report_for_run
    from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

    link = parse_attack("mitm").simulate("bb84", LinkParams(), 100_000, np.random.default_rng(1))
    object.__setattr__(link, "eve", None)
    result = run_postprocessing(
        link.alice, link.bob, PipelineOptions(secure_randomness=False), seed=1
    )
    assert eve_report_for_run(link, result) is None


@given(
    n=st.integers(min_value=1, max_value=80),
    m=st.integers(min_value=1, max_value=80),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_toeplitz_parities_property(n: int, m: int, data: st.DataObject) -> None:
    seed = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=m + n - 1, max_size=m + n - 1)),
        dtype=np.uint8,
    )
    bits = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.uint8)
    expected = (_toeplitz_matrix(seed, n, m) @ bits) % 2
    assert np.array_equal(toeplitz_parities(seed, bits, m), expected)


def test_expected_final_agreement_piling_up() -> None:
    """Matsui 1993, Lemma 2: a parity of guesses is right with probability (1 + prod(1-2p))/2."""
    from qkdstack.adversary.eve import expected_final_agreement

    rng = np.random.default_rng(11)
    n, m = 40, 30
    seed = (rng.random(m + n - 1) < 0.08).astype(np.uint8)  # sparse rows: few bits per parity
    p = rng.choice([0.0, 0.05, 0.2, 0.5], size=n)
    t = _toeplitz_matrix(seed, n, m)
    rows = []
    for i in range(m):
        prod = 1.0
        for j in range(n):
            if t[i, j]:
                prod *= 1 - 2 * p[j]
        rows.append((1 + prod) / 2)
    assert expected_final_agreement(seed, p, m) == pytest.approx(float(np.mean(rows)), abs=1e-12)
    assert expected_final_agreement(seed, np.zeros(n), m) == 1.0
    assert expected_final_agreement(seed, np.full(n, 0.5), m) == 0.5


def test_empirical_final_agreement_matches_the_prediction() -> None:
    """Eve with error probability 0.05 on every bit, short parities: agreement well above 1/2."""
    rng = np.random.default_rng(12)
    n, m = 3000, 2000
    key = rng.integers(0, 2, n, dtype=np.uint8)
    p = 0.05
    guess = key ^ (rng.random(n) < p).astype(np.uint8)
    eve = _records(guess, np.full(n, p))
    seed = (rng.random(m + n - 1) < 0.002).astype(np.uint8)
    final = toeplitz_parities(seed, key, m)
    report = eve_report(eve, eve.pulse_index, key, final, seed, seed=13)
    expected = report["eve_agreement_final_expected"]
    assert expected > 0.8
    assert abs(report["eve_agreement_final"] - expected) < SIGMAS * math.sqrt(0.25 / m)
    assert report["eve_agreement_final_consistent"] is False
