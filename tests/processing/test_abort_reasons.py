"""Every abort class says what failed and why (``abort_reason``), with the numbers behind it."""

from __future__ import annotations

import math
import re

from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams
from qkdstack.theory.entropy import binary_entropy


def _report(protocol: str, params: LinkParams, pulses: int, seed: int = 3) -> dict:
    return run_experiment(protocol, params, pulses, seed=seed).report


def test_qber_too_high_names_the_rate_the_limit_and_the_sample() -> None:
    rep = _report("bb84", LinkParams(misalignment_error=0.2), 10**5)
    reason = rep["abort_reason"]
    assert rep["aborted"] and reason.startswith("QBERTooHigh: ")
    assert f"estimated QBER {rep['qber']:.4f} exceeds the 0.1100 limit of bb84" in reason
    assert f"({rep['sample_errors']:,} errors in {rep['sample_bits']:,} disclosed bits)" in reason


def test_too_few_sifted_bits_names_the_count() -> None:
    rep = _report("bb84", LinkParams(), 10)
    assert rep["abort_reason"].startswith("InsufficientKey: too few sifted bits")
    assert f"QBER: {rep['sifted_bits']:,}, at least 2 are needed" in rep["abort_reason"]
    assert "try more than --pulses 10" in rep["abort_reason"]


def test_finite_size_names_the_block_and_a_pulse_count_that_works() -> None:
    # A block whose sample is large enough for its observed error rate to be near the link's
    # (the suggestion extrapolates the observed rates; from a 30-bit sample it cannot promise).
    rep = _report("bb84", LinkParams(), 2 * 10**5)
    reason = rep["abort_reason"]
    assert reason.startswith(
        f"InsufficientKey: finite size: {rep['key_bits_before_ec']:,} key bits are too few for "
        "eps_sec = 1e-10"
    )
    suggested = re.search(r"try --pulses (\d+e\d+)$", reason)
    assert suggested is not None, reason
    # The suggestion is a claim: a run with that many pulses over the same link has a key.
    again = _report("bb84", LinkParams(), int(float(suggested.group(1))))
    assert not again["aborted"] and again["secret_bits"] > 0


def test_noise_beyond_the_ec_budget_is_not_called_finite_size() -> None:
    rep = _report("bb84", LinkParams(misalignment_error=0.107), 10**7)
    reason = rep["abort_reason"]
    leak = rep["leaked_ec_bits"]  # the verification tag is charged once, by log2(2 / eps_cor)
    assert reason.startswith(f"InsufficientKey: error correction disclosed {leak:,} bits"), reason
    assert "at any block size" in reason and "finite size" not in reason
    # Independent check: even without any statistical margin, the observed error rate leaves
    # less privacy, n (1 - h(e)), than error correction disclosed.
    n = rep["key_bits_before_ec"]
    assert n * (1 - float(binary_entropy(rep["qber"]))) < leak


def test_gllp_without_single_photon_share_says_so() -> None:
    mu = 0.1
    rep = _report("bb84", LinkParams(source="laser", mu=mu), 10**6)
    assert rep["abort_reason"].startswith("InsufficientKey: GLLP: multi-photon pulses could")
    # GLLP (2004): with P(n >= 2) >= gain, multi-photon pulses may explain every detection.
    assert 1 - (1 + mu) * math.exp(-mu) >= rep["detections"] / rep["pulses"]


def test_decoy_yield_bound_zero_says_so_and_how_many_detections() -> None:
    rep = _report("decoy-bb84", LinkParams(source="laser"), 10**6)
    reason = rep["abort_reason"]
    assert rep["single_photon_events_lower"] == 0
    n_key = rep["key_bits_before_ec"]
    assert reason.startswith(
        "InsufficientKey: single-photon yield lower bound is 0 with these statistics"
    ), reason
    assert f"among the {n_key:,} key-basis detections" in reason and "try " in reason


def test_decoy_too_few_detections_in_a_basis() -> None:
    rep = _report("decoy-bb84", LinkParams(source="laser"), 100)
    assert rep["abort_reason"].startswith("InsufficientKey: too few detections: "), rep
    assert "try more than --pulses 100" in rep["abort_reason"]


def test_b92_says_that_its_numerical_bound_leaves_no_key() -> None:
    rep = _report("b92", LinkParams(), 10**5)
    assert rep["abort_reason"].startswith(
        "InsufficientKey: the B92 numerical finite-size bound leaves no key"
    ), rep["abort_reason"]
