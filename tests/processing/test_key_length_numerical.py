"""B92 keys from the numerical finite-size proof: matching keys, honest aborts, test counts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams
from qkdstack.processing.key_length_numerical import (
    b92_outcome_codes,
    b92_test_counts,
    b92_test_errors,
    draw_b92_test,
)
from qkdstack.processing.pipeline import PipelineOptions

LOSSLESS = {"distance_km": 0.0, "detector_efficiency": 1.0}
OPTS = PipelineOptions(secure_randomness=False)


def _b92_counts(res: Any) -> np.ndarray:
    """The B92 test statistics Alice counted (her estimation stage's observations)."""
    estimated = res.pipeline.alice.estimated
    assert estimated is not None and estimated.b92_counts is not None
    return np.asarray(estimated.b92_counts)


def test_b92_run_gives_matching_keys_of_the_reported_length() -> None:
    res = run_experiment(
        "b92",
        LinkParams().replace(misalignment_error=0.01, **LOSSLESS),
        10**6,
        seed=7,
        options=OPTS,
    )
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    alice, bob = res.pipeline.alice_key, res.pipeline.bob_key
    assert alice is not None and bob is not None
    assert rep["secret_bits"] > 1000
    assert alice.shape[0] == bob.shape[0] == rep["secret_bits"]
    assert np.array_equal(alice, bob) and rep["keys_match"]
    assert "George" in rep["key_length_formula"] and "Winick" in rep["key_length_formula"]
    assert rep["attack_model"] == "collective (i.i.d.) attacks"
    assert 0 <= abs(rep["certified_gap_bits"]) < 1e-6
    # The length is below the privacy term of the key rounds minus the leak counted on the wire.
    key_rounds = rep["pulses"] - int(_b92_counts(res).sum())
    privacy = rep["privacy_bits_per_round_lower"] * key_rounds
    leak = rep["leaked_ec_bits"] + rep["verification_bits"]
    assert 0 < rep["secret_bits"] < privacy - leak


def test_b92_run_counts_the_test_rounds_alice_and_bob_saw() -> None:
    res = run_experiment(
        "b92", LinkParams().replace(misalignment_error=0.02, **LOSSLESS), 3 * 10**5, seed=2,
        options=OPTS,
    )  # fmt: skip
    counts = _b92_counts(res)
    m = int(counts.sum())
    # About sample_fraction = 10% of the pulses are test rounds (5 sigma of the binomial).
    n = res.report["pulses"]
    assert abs(m - 0.1 * n) < 5 * math.sqrt(n * 0.1 * 0.9)
    # Lossless link: no no-clicks; Z outcome 1 never follows |0> except by misalignment.
    assert counts[8] == 0
    p_flip = counts[1] / (counts[0] + counts[1])
    assert abs(p_flip - 0.02) < 5 * math.sqrt(0.02 * 0.98 / (counts[0] + counts[1]))


@pytest.mark.parametrize(
    ("changes", "stage"),
    [
        # p = 2 e = 0.16, past the 8.9% threshold: the privacy term is below the EC leak.
        ({"misalignment_error": 0.08, **LOSSLESS}, "amplification"),
        # eta = 0.25 <= 1 - 1/sqrt(2): unambiguous discrimination; empty bound before EC.
        (
            {"misalignment_error": 0.0, "distance_km": 0.0, "detector_efficiency": 0.25},
            "estimation",
        ),
    ],
)
def test_b92_run_aborts_without_key_when_no_key_is_secure(
    changes: dict[str, float], stage: str
) -> None:
    res = run_experiment("b92", LinkParams().replace(**changes), 10**6, seed=3, options=OPTS)
    rep = res.report
    assert rep["aborted"] and rep["secret_bits"] == 0 and rep["abort_stage"] == stage
    assert rep["abort_reason"].startswith("InsufficientKey")
    assert res.pipeline.alice_key is None and res.pipeline.bob_key is None


def test_test_counts_and_errors_by_hand() -> None:
    alice = np.array([0, 0, 1, 1, 0], dtype=np.uint8)
    basis = np.array([0, 1, 0, 1, 0], dtype=np.uint8)
    bit = np.array([1, 1, 1, 0, 0], dtype=np.uint8)
    codes = b92_outcome_codes(basis, bit)
    assert codes.tolist() == [1, 3, 1, 2, 0]
    counts = b92_test_counts(alice, codes, undetected=4)
    # (0,Z1), (0,X-), (1,Z1), (1,X+), (0,Z0); 4 no-clicks.
    expected = np.zeros(9, dtype=np.int64)
    expected[[1, 3, 5, 6, 0]] = 1
    expected[8] = 4
    assert counts.tolist() == expected.tolist()
    # Conclusive: Z1 (key 1) and X- (key 0). Rows 0, 1, 2: Alice 0/Z1 wrong, 0/X- right, 1/Z1 right.
    assert b92_test_errors(alice, codes) == (3, 1)


def test_draw_b92_test_is_bernoulli() -> None:
    rng = np.random.default_rng(11)
    positions, undetected = draw_b92_test(10**5, 10**5, 0.2, rng)
    sigma = math.sqrt(10**5 * 0.2 * 0.8)
    assert abs(positions.shape[0] - 2e4) < 5 * sigma and abs(undetected - 2e4) < 5 * sigma
    assert np.all(np.diff(positions) > 0)
    secret_positions, _ = draw_b92_test(1000, 0, 0.5)
    assert 300 < secret_positions.shape[0] < 700


def test_coherent_attack_model_is_plumbed_and_costs_key() -> None:
    with pytest.raises(ParameterError, match="b92_attack_model"):
        PipelineOptions(b92_attack_model="bogus")
    opts = PipelineOptions(secure_randomness=False, b92_attack_model="coherent")
    params = LinkParams().replace(misalignment_error=0.01, **LOSSLESS)
    rep = run_experiment("b92", params, 10**6, seed=7, options=opts).report
    # 10^6 signals pay 35 log2(10^6) ~ 700 bits in every log2(1/eps): no key (the collective
    # analysis of the same run gives one, test above).
    assert rep["aborted"] and rep["abort_stage"] == "estimation"
