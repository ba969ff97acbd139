"""The attacked-link sampler against Ma et al. (2005) closed forms, on the honest (mitm) link."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.adversary import parse_attack
from qkdstack.adversary.man_in_the_middle import honest_cases
from qkdstack.adversary.sampler import detect, noise_click_prob, photon_number_pmf
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.typing import Basis, Role

SIGMAS = 5.0


def _transmittance(params: LinkParams) -> float:
    return 10 ** (-(params.attenuation_db_per_km * params.distance_km) / 10)


def _expected_gain_and_qber(params: LinkParams, mu: float) -> tuple[float, float]:
    """Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eqs. (4)-(5), two detectors with dark counts."""
    y0 = 1 - (1 - params.dark_count_prob) ** 2
    signal = 1 - math.exp(-_transmittance(params) * params.detector_efficiency * mu)
    gain = 1 - (1 - y0) * (1 - signal)
    errors = (1 - signal) * y0 * 0.5 + signal * params.misalignment_error
    return gain, errors / gain


def test_photon_number_pmf_is_poisson() -> None:
    pmf = photon_number_pmf(0.5)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-14)
    for n in range(6):
        assert pmf[n] == pytest.approx(math.exp(-0.5) * 0.5**n / math.factorial(n), rel=1e-12)
    assert list(photon_number_pmf(0.0)) == [1.0]
    assert list(photon_number_pmf(0.3, single_photon=True)) == [0.0, 1.0]
    with pytest.raises(ParameterError, match=r"'mean'"):
        photon_number_pmf(-1.0)


@pytest.mark.parametrize("distance_km", [10.0, 60.0])
def test_honest_decoy_gains_and_errors_match_ma_2005(distance_km: float) -> None:
    params = LinkParams(source="laser", distance_km=distance_km, dark_count_prob=1e-5)
    out = parse_attack("mitm").simulate("decoy-bb84", params, 20_000_000, np.random.default_rng(11))
    alice, bob = out.alice, out.bob
    assert alice.role is Role.ALICE and bob.role is Role.BOB
    assert np.array_equal(alice.pulse_index, bob.pulse_index)
    sent = alice.meta.sent_counts
    assert sent is not None and int(sent.sum()) == 20_000_000
    assert alice.intensity is not None
    for k, mu in enumerate(params.intensities):
        n_sent = int(sent[k].sum())
        # Class share: binomial with the class probability.
        p_k = params.intensity_probs[k]
        assert abs(n_sent - 2e7 * p_k) < SIGMAS * math.sqrt(2e7 * p_k * (1 - p_k))
        gain, qber = _expected_gain_and_qber(params, mu)
        detected = int(np.count_nonzero(alice.intensity == k))
        assert abs(detected - n_sent * gain) < SIGMAS * math.sqrt(n_sent * gain * (1 - gain))
        sifted = (alice.intensity == k) & (alice.basis == bob.basis)
        n_sifted = int(sifted.sum())
        errors = int(np.count_nonzero(alice.bit[sifted] != bob.bit[sifted]))
        if n_sifted > 100:
            assert abs(errors - n_sifted * qber) < SIGMAS * math.sqrt(n_sifted * qber * (1 - qber))


def test_basis_choice_follows_basis_prob_z() -> None:
    params = LinkParams(basis_prob_z=0.8, distance_km=0.0, detector_efficiency=1.0)
    out = parse_attack("mitm").simulate("bb84", params, 200_000, np.random.default_rng(2))
    for records in (out.alice, out.bob):
        n = len(records)
        z = int(np.count_nonzero(records.basis == Basis.Z))
        assert abs(z - 0.8 * n) < SIGMAS * math.sqrt(n * 0.16)
    # Lossless, single photons, efficiency 1: every pulse is detected.
    assert len(out.alice) == 200_000


def test_chunked_sampling_keeps_the_statistics() -> None:
    params = LinkParams(source="laser", distance_km=20.0)
    pmf = photon_number_pmf(params.mu)
    cases = [honest_cases(pmf, params)]
    y0 = noise_click_prob(params.dark_count_prob)
    gain, _ = _expected_gain_and_qber(params, params.mu)
    pulses = 3_000_000
    det = detect(pulses, (1.0,), 0.5, cases, y0, np.random.default_rng(5), chunk_detections=10_007)
    n = det.pulse_index.shape[0]
    assert abs(n - pulses * gain) < SIGMAS * math.sqrt(pulses * gain)
    assert np.all(np.diff(det.pulse_index) > 0)
    assert det.pulse_index[0] >= 0 and det.pulse_index[-1] < pulses
    # Detected pulses are spread uniformly over the run: each half holds half of them.
    first_half = int(np.count_nonzero(det.pulse_index < pulses // 2))
    assert abs(first_half - n / 2) < SIGMAS * math.sqrt(n / 4)
    assert int(det.sent_counts.sum()) == pulses


def test_unsupported_protocol_and_source_are_rejected() -> None:
    attack = parse_attack("beam-splitting")
    with pytest.raises(ParameterError, match=r"'protocol'.*bb84, decoy-bb84"):
        attack.simulate("e91", LinkParams(), 1000, np.random.default_rng(0))
    with pytest.raises(ParameterError, match=r"'source'"):
        attack.simulate("bb84", LinkParams(source="spdc"), 1000, np.random.default_rng(0))
    with pytest.raises(ParameterError, match=r"'pulses'"):
        attack.simulate("bb84", LinkParams(), -1, np.random.default_rng(0))


def test_same_seed_same_records() -> None:
    attack = parse_attack("intercept-resend:fraction=0.3")
    a = attack.simulate("bb84", LinkParams(), 100_000, np.random.default_rng(9))
    b = attack.simulate("bb84", LinkParams(), 100_000, np.random.default_rng(9))
    assert np.array_equal(a.bob.bit, b.bob.bit)
    assert np.array_equal(a.eve.guess, b.eve.guess)


def test_afterpulses_and_dead_time_follow_the_link_model() -> None:
    """Lim et al. 2014, Sec. IV: afterpulses add ~p_ap of the clicks, each an error half the time."""
    p_ap = 0.04
    params = LinkParams(
        distance_km=0.0, detector_efficiency=0.05, misalignment_error=0.0, dark_count_prob=0.0
    )
    pulses = 2_000_000
    plain = parse_attack("mitm").simulate("bb84", params, pulses, np.random.default_rng(8))
    with_ap = parse_attack("mitm").simulate(
        "bb84", params.replace(afterpulse_prob=p_ap), pulses, np.random.default_rng(8)
    )
    d = len(plain.bob)
    extra = int(with_ap.truth["afterpulses"])
    assert abs(extra - d * p_ap) < SIGMAS * math.sqrt(d * p_ap)
    assert len(with_ap.bob) == len(plain.bob) + extra
    keep = with_ap.alice.basis == with_ap.bob.basis
    errors = int(np.count_nonzero(with_ap.alice.bit[keep] != with_ap.bob.bit[keep]))
    # No other error source: errors come from afterpulses only, half of them wrong.
    p_err = (extra / len(with_ap.bob)) / 2
    n = int(keep.sum())
    assert abs(errors - n * p_err) < SIGMAS * math.sqrt(n * p_err)
    assert int(with_ap.alice.meta.sent_counts.sum()) == pulses
    # Dead time of 10 gates at detection probability p: registered share 1 / (1 + p d) (Müller 1973).
    dead = params.replace(dead_time_ns=11.0)  # 1 GHz gates: 10 blind gates after a click
    out = parse_attack("mitm").simulate("bb84", dead, pulses, np.random.default_rng(9))
    p = d / pulses
    expected = pulses * p / (1 + p * 10)
    assert abs(len(out.bob) - expected) < SIGMAS * math.sqrt(expected)
    assert out.truth["dead_time_losses"] > 0
    assert np.all(np.diff(out.bob.pulse_index) > 10)
