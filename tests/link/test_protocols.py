"""Six-state, B92, BBM92 and E91 on the simulated link, against formulas written out here.

References for the reference expressions: Bruß, PRL 81, 3018 (1998) (six-state: sifting 1/3);
Bennett, PRL 68, 3121 (1992) (B92: conclusive fraction 1/4 for a lossless ideal link); Ma, Fung,
Lo, PRA 76, 012307 (2007), Eq. (8) (coincidence gain of an SPDC source, here with single-mode thermal
statistics P(n) = mu^n / (1 + mu)^(n+1), whose generating function is 1 / (1 + mu (1 - s)));
Clauser et al., PRL 23, 880 (1969) (S = 2 sqrt(2) V). Tolerances: 5 standard deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.link import simulate
from qkdstack.link.protocols.entangled import E91_CHSH_TERMS
from qkdstack.params import LinkParams
from qkdstack.processing.chsh import E91_CHSH_TERMS as KERNEL_TERMS
from qkdstack.processing.chsh import chsh_value
from qkdstack.processing.sifting import get_rule

from helpers import assert_binomial


def _eta(p: LinkParams, distance_km: float | None = None) -> float:
    d = p.distance_km if distance_km is None else distance_km
    return 10 ** (-(p.attenuation_db_per_km * d + p.insertion_loss_db) / 10) * p.detector_efficiency


@pytest.mark.parametrize("distance_km", [0.0, 30.0])
def test_six_state_sifting_ratio_and_errors(distance_km: float) -> None:
    p = LinkParams(distance_km=distance_km, misalignment_error=0.03, dark_count_prob=1e-5)
    n = 2_000_000
    out = simulate("six-state", p, n, seed=31)
    a, b = out.alice, out.bob
    assert set(np.unique(a.basis)) == {0, 1, 2} and set(np.unique(b.basis)) == {0, 1, 2}
    rule = get_rule("six-state")
    keep = rule.keep(rule.alice_announces(a), rule.bob_announces(b))
    # Detection does not depend on the bases, so 1/3 of detections are sifted.
    assert_binomial(int(keep.sum()), len(b), 1 / 3)
    eta, pd, ed = _eta(p), p.dark_count_prob, p.misalignment_error
    err = (
        eta * ed * (1 - pd)
        + eta * ed * pd / 2
        + eta * (1 - ed) * pd / 2
        + (1 - eta) * (pd * (1 - pd) + pd * pd / 2)
    )
    errors = int((rule.alice_bits(a)[keep] != rule.bob_bits(b)[keep]).sum())
    assert_binomial(errors, n, err / 3)


@pytest.mark.parametrize("distance_km", [0.0, 20.0])
def test_b92_conclusive_fraction_and_errors(distance_km: float) -> None:
    p = LinkParams(distance_km=distance_km, misalignment_error=0.02, dark_count_prob=1e-5)
    n = 2_000_000
    out = simulate("b92", p, n, seed=41)
    a, b = out.alice, out.bob
    assert np.array_equal(a.basis, a.bit)  # Alice's state choice is her bit
    rule = get_rule("b92")
    keep = rule.keep(rule.alice_announces(a), rule.bob_announces(b))
    eta, pd, ed = _eta(p), p.dark_count_prob, p.misalignment_error
    both = eta * pd + (1 - eta) * pd * pd

    def conclusive(q_wrong: float) -> float:  # outcome 1: wrong-only click, or half the doubles
        w_only = eta * q_wrong * (1 - pd) + (1 - eta) * pd * (1 - pd)
        return w_only + both / 2

    p_err = 0.5 * conclusive(ed)  # Bob measured in the state's own basis: conclusive is wrong
    p_ok = 0.5 * conclusive(0.5)  # the other basis: conclusive is right
    assert_binomial(int(keep.sum()), n, p_err + p_ok)
    errors = int((rule.alice_bits(a)[keep] != rule.bob_bits(b)[keep]).sum())
    assert_binomial(errors, n, p_err)
    if distance_km == 0.0:
        # Lossless limit with rare dark counts: a quarter of detections is conclusive.
        frac = keep.sum() / len(b)
        assert abs(frac - (0.25 + 0.5 * ed) / (1.0)) < 0.01


def _coincidence_reference(p: LinkParams) -> float:
    t = 10 ** (-(p.attenuation_db_per_km * p.distance_km / 2) / 10)
    ea = eb = t * p.detector_efficiency
    mu, k = p.mu_pair, (1 - p.dark_count_prob) ** 2
    g = lambda x: 1 / (1 + mu * x)  # noqa: E731  thermal generating function at 1 - x
    return 1 - k * g(ea) - k * g(eb) + k * k * g(ea + eb - ea * eb)


@pytest.mark.parametrize("distance_km", [0.0, 40.0])
def test_bbm92_coincidences_match_thermal_gain(distance_km: float) -> None:
    p = LinkParams(
        distance_km=distance_km, mu_pair=0.1, dark_count_prob=1e-5, detector_efficiency=0.5
    )
    n = 2_000_000
    out = simulate("bbm92", p, n, seed=51)
    assert_binomial(len(out.bob), n, _coincidence_reference(p))
    assert out.alice.intensity is None and out.alice.meta.sent_counts is not None
    assert out.alice.meta.sent_counts.sum() == n


def _per_pulse_pairs(p: LinkParams, n: int, rng: np.random.Generator) -> dict[str, float]:
    """Direct simulation pair by pair (BBM92, Z/X at 0/45 degrees), independent of the library."""
    t = 10 ** (-(p.attenuation_db_per_km * p.distance_km / 2) / 10)
    eta = t * p.detector_efficiency
    mu = p.mu_pair
    pairs = rng.geometric(1 / (1 + mu), n) - 1  # thermal: P(n) = mu^n / (1 + mu)^(n + 1)
    sa = (rng.random(n) >= p.basis_prob_z).astype(int)
    sb = (rng.random(n) >= p.basis_prob_z).astype(int)
    pulse = np.repeat(np.arange(n), pairs)
    m = pulse.shape[0]
    det_a = rng.random(m) < eta
    det_b = rng.random(m) < eta
    alpha = rng.integers(0, 2, m)
    corr = p.visibility * (1 - 2 * p.misalignment_error) * np.cos(np.pi / 2 * (sa - sb))[pulse]
    beta = alpha ^ (rng.random(m) < (1 - corr) / 2)
    counts = {}
    for name, det, out in (("a0", det_a, alpha == 0), ("a1", det_a, alpha == 1),
                           ("b0", det_b, beta == 0), ("b1", det_b, beta == 1)):  # fmt: skip
        counts[name] = (np.bincount(pulse[det & out], minlength=n) > 0) | (
            rng.random(n) < p.dark_count_prob
        )
    ca = counts["a0"] | counts["a1"]
    cb = counts["b0"] | counts["b1"]
    bit_a = np.where(counts["a0"] & counts["a1"], rng.integers(0, 2, n), counts["a1"])
    bit_b = np.where(counts["b0"] & counts["b1"], rng.integers(0, 2, n), counts["b1"])
    coinc = ca & cb
    matched = coinc & (sa == sb)
    return {
        "coincidence": coinc.mean(),
        "matched": matched.mean(),
        "errors": (matched & (bit_a != bit_b)).mean(),
        "unmatched_errors": (coinc & (sa != sb) & (bit_a != bit_b)).mean(),
    }


def test_bbm92_aggregate_matches_pair_by_pair_simulation() -> None:
    p = LinkParams(
        distance_km=2.0,
        mu_pair=0.4,
        detector_efficiency=0.6,
        dark_count_prob=2e-3,
        misalignment_error=0.03,
        visibility=0.95,
        basis_prob_z=0.6,
    )
    n = 300_000
    direct = _per_pulse_pairs(p, n, np.random.default_rng(7))
    out = simulate("bbm92", p, n, seed=8)
    a, b = out.alice, out.bob
    matched = a.basis == b.basis
    agg = {
        "coincidence": len(b) / n,
        "matched": matched.sum() / n,
        "errors": (matched & (a.bit != b.bit)).sum() / n,
        "unmatched_errors": (~matched & (a.bit != b.bit)).sum() / n,
    }
    for key in direct:
        pr = (direct[key] + agg[key]) / 2
        sd = math.sqrt(2 * pr * (1 - pr) / n)
        assert abs(direct[key] - agg[key]) <= 5 * sd, (key, direct[key], agg[key])


def test_e91_terms_agree_between_link_and_kernel() -> None:
    assert tuple(E91_CHSH_TERMS) == tuple(KERNEL_TERMS)


@pytest.mark.parametrize("visibility", [1.0, 0.9, 0.8])
def test_e91_chsh_value_is_2_sqrt2_times_visibility(visibility: float) -> None:
    # Low pair number and no dark counts, so that multi-pair and noise terms (~mu_pair relative)
    # stay far below the statistical error.
    p = LinkParams(
        distance_km=0.0,
        detector_efficiency=1.0,
        dark_count_prob=0.0,
        misalignment_error=0.0,
        mu_pair=1e-3,
        visibility=visibility,
    )
    out = simulate("e91", p, 30_000_000, seed=61)
    a, b = out.alice, out.bob
    assert set(np.unique(a.basis)) == {0, 1, 2} and set(np.unique(b.basis)) == {1, 2, 3}
    rule = get_rule("e91")
    chsh = rule.chsh_mask(rule.alice_announces(a), rule.bob_announces(b))  # type: ignore[attr-defined]
    s, s_std = chsh_value(a.basis[chsh], b.basis[chsh], a.bit[chsh], b.bit[chsh])
    expected = 2 * math.sqrt(2) * visibility
    # Standard error from theory: each correlator has variance (1 - E^2) / N_ab with E^2 = V^2 / 2.
    n_ab = chsh.sum() / 4
    sd = math.sqrt(4 * (1 - visibility**2 / 2) / n_ab)
    assert abs(s_std - sd) < 0.05 * sd
    assert abs(s - expected) <= 5 * sd + 2e-3 * expected, (s, expected, sd)
    keep = rule.keep(rule.alice_announces(a), rule.bob_announces(b))
    assert_binomial(int(keep.sum()), len(b), 2 / 9)
    # Key errors (1 - V) / 2, plus multi-pair coincidences (a fraction ~ mu_pair, half of them wrong).
    n_key = int(keep.sum())
    q = (1 - visibility) / 2
    errors = int((a.bit[keep] != b.bit[keep]).sum())
    assert abs(errors - n_key * q) <= 5 * math.sqrt(n_key * max(q, 1e-3)) + n_key * p.mu_pair
