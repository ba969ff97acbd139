"""Detector kernels: dead time and afterpulsing, by hand and against renewal theory.

Renewal reference (Müller 1973): with click probability p per gate and d blind gates after each
registered click, a cycle lasts d + G gates with G geometric of mean 1/p, so the registered count in
N gates is about N / (d + 1/p) with variance N Var(G) / E(cycle)^3, Var(G) = (1 - p) / p^2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.link import simulate
from qkdstack.link.detectors import DeadTimeAfterpulse, dead_gates
from qkdstack.params import LinkParams


def test_dead_gates() -> None:
    assert dead_gates(0.0, 1e9) == 0
    assert dead_gates(10.0, 1e9) == 9  # gates 1..9 ns after the click are blind, 10 ns is live
    assert dead_gates(1.5, 1e9) == 1
    assert dead_gates(100.0, 1.25e9) == 124


def test_kernel_by_hand_and_across_chunks() -> None:
    rng = np.random.default_rng(0)
    pos = np.array([0, 1, 5, 6, 20], dtype=np.int64)
    keep, ap = DeadTimeAfterpulse(2, 0.0).process(pos, rng)
    assert keep.tolist() == [True, False, True, False, True] and ap.size == 0
    det = DeadTimeAfterpulse(2, 1.0)  # every click afterpulses
    keep, ap = det.process(pos, rng)
    assert keep.tolist() == [True, False, False, True, True]
    assert ap.tolist() == [3, 9] and det.finish(30).tolist() == [23]
    # The same clicks in two chunks give the same result (state carried across chunks).
    det2 = DeadTimeAfterpulse(2, 1.0)
    k1, a1 = det2.process(pos[:2], rng)
    k2, a2 = det2.process(pos[2:], rng)
    assert np.concatenate([k1, k2]).tolist() == keep.tolist()
    assert np.concatenate([a1, a2]).tolist() == [3, 9] and det2.finish(23).size == 0


@pytest.mark.parametrize("dead_time_ns", [3.0, 20.0])
def test_dead_time_rate_matches_renewal_theory(dead_time_ns: float) -> None:
    p = LinkParams(distance_km=0.0, detector_efficiency=1.0, source="laser", mu=0.3,
                   dead_time_ns=dead_time_ns, pulse_rate_hz=1e9)  # fmt: skip
    n = 1_000_000
    out = simulate("bb84", p, n, seed=3)
    click = 1 - (1 - p.dark_count_prob) ** 2 * math.exp(-0.3)
    d = dead_gates(dead_time_ns, 1e9)
    cycle = d + 1 / click
    expected = n / cycle
    sd = math.sqrt(n * ((1 - click) / click**2) / cycle**3)
    assert abs(len(out.bob) - expected) <= 5 * sd, (len(out.bob), expected, sd)
    assert out.truth["dead_time_losses"] > 0
    sent = out.alice.meta.sent_counts
    assert sent is not None and sent.sum() == n
    assert np.all(np.diff(out.bob.pulse_index) > d)


def test_afterpulses_add_random_clicks_as_in_lim2014() -> None:
    p = LinkParams(distance_km=20.0, source="laser", mu=0.5, afterpulse_prob=0.2,
                   dark_count_prob=1e-5, misalignment_error=0.01)  # fmt: skip
    n = 4_000_000
    out = simulate("bb84", p, n, seed=9)
    eta = 10 ** (-0.2 * 20 / 10) * p.detector_efficiency
    click = 1 - (1 - p.dark_count_prob) ** 2 * math.exp(-eta * 0.5)
    real = len(out.bob) - out.truth["afterpulses"]
    # Each registered click afterpulses w.p. p_ap into the next gate unless that gate clicks anyway.
    q = p.afterpulse_prob * (1 - click)
    assert abs(out.truth["afterpulses"] - real * q) <= 5 * math.sqrt(real * q * (1 - q))
    assert abs(real - n * click) <= 5 * math.sqrt(n * click)
    # Lim 2014 Sec. IV: errors grow by p_ap D / 2 (afterpulses have random outcomes), and half of
    # the afterpulse gates are basis-matched.
    pc = 1 - (1 - p.dark_count_prob) * math.exp(-eta * 0.5 * (1 - p.misalignment_error))
    pw = 1 - (1 - p.dark_count_prob) * math.exp(-eta * 0.5 * p.misalignment_error)
    err_real = pw * (1 - pc) + pc * pw / 2
    expected = 0.5 * n * err_real + out.truth["afterpulses"] * 0.25
    m = out.alice.basis == out.bob.basis
    errors = int((out.alice.bit[m] != out.bob.bit[m]).sum())
    assert abs(errors - expected) <= 5 * math.sqrt(expected)
    sent = out.alice.meta.sent_counts
    assert sent is not None and sent.sum() == n


def test_pair_click_probabilities_single_pair_by_hand() -> None:
    from qkdstack.link.detectors import pair_click_probabilities

    # Exactly one pair (Q(x) = 1 - x), no dark counts: Alice's photon detected w.p. ea, Bob's w.p.
    # eb; both detected -> outcomes equal w.p. (1 + E) / 2.
    ea, eb, corr = 0.6, 0.3, 0.5
    table = pair_click_probabilities(lambda x: 1 - x, ea, eb, corr, 0.0)
    assert table.sum() == pytest.approx(1.0, abs=1e-12)
    assert table[0, 0] == pytest.approx(ea * eb * (1 + corr) / 4)
    assert table[0, 1] == pytest.approx(ea * eb * (1 - corr) / 4)
    assert table[1, 3] == pytest.approx(ea * (1 - eb) / 2)
    assert table[3, 3] == pytest.approx((1 - ea) * (1 - eb))
    assert table[2, :].sum() == pytest.approx(0.0, abs=1e-15)  # one photon cannot double-click
    # With dark counts every pattern is possible and the total stays 1.
    noisy = pair_click_probabilities(lambda x: 1 / (1 + 0.2 * x), ea, eb, corr, 0.01)
    assert noisy.sum() == pytest.approx(1.0, abs=1e-12) and (noisy > 0).all()
