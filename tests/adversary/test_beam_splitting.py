"""Beam splitting: the QBER is unchanged and Eve's share matches the fibre's loss."""

from __future__ import annotations

import math

import numpy as np

from qkdstack.adversary import BeamSplitting, parse_attack
from qkdstack.params import LinkParams

from helpers import SIGMAS, within_binomial


def test_qber_and_gain_unchanged_for_a_laser() -> None:
    params = LinkParams(source="laser", mu=0.5, distance_km=25.0, dark_count_prob=1e-5)
    pulses = 10_000_000
    out = BeamSplitting().simulate("bb84", params, pulses, np.random.default_rng(21))
    t = 10 ** (-0.2 * 25 / 10)
    y0 = 1 - (1 - 1e-5) ** 2
    signal = 1 - math.exp(-t * 0.1 * 0.5)
    gain = 1 - (1 - y0) * (1 - signal)
    qber = ((1 - signal) * y0 / 2 + signal * 0.01) / gain
    assert within_binomial(len(out.bob), pulses, gain)
    keep = out.alice.basis == out.bob.basis
    errors = int(np.count_nonzero(out.alice.bit[keep] != out.bob.bit[keep]))
    assert within_binomial(errors, int(keep.sum()), qber)


def test_eve_share_matches_the_loss() -> None:
    """Poisson splitting: Eve's photons are Poisson((1 - t) mu), independent of Bob's."""
    mu, distance_km = 0.5, 25.0
    params = LinkParams(source="laser", mu=mu, distance_km=distance_km)
    pulses = 10_000_000
    out = parse_attack("beam-splitting").simulate("bb84", params, pulses, np.random.default_rng(22))
    t = 10 ** (-0.2 * distance_km / 10)
    lost_mean = (1 - t) * mu
    p_holds = 1 - math.exp(-lost_mean)
    n = len(out.eve)
    assert within_binomial(int(np.count_nonzero(out.eve.certain)), n, p_holds)
    # Mean photons Eve keeps per detected pulse: (1 - t) mu, Poisson variance.
    mean = float(out.eve.photons.mean())
    assert abs(mean - lost_mean) < SIGMAS * math.sqrt(lost_mean / n)
    # Over the whole run she took photons from a share 1 - exp(-(1 - t) mu) of the pulses.
    assert within_binomial(out.eve.intercepted_pulses, pulses, p_holds)
    held = out.eve.certain
    assert np.all(out.eve.guess[held] == out.alice.bit[held])


def test_single_photons_reach_eve_only_when_bob_clicks_on_noise() -> None:
    params = LinkParams(distance_km=25.0, dark_count_prob=1e-3)
    out = BeamSplitting().simulate("bb84", params, 2_000_000, np.random.default_rng(23))
    t = 10 ** (-0.2 * 25 / 10)
    eta = t * 0.1
    y0 = 1 - (1 - 1e-3) ** 2
    # P(Eve holds the photon | Bob detects) = (1 - t) y0 / (1 - (1 - y0)(1 - eta)).
    p = (1 - t) * y0 / (1 - (1 - y0) * (1 - eta))
    assert within_binomial(int(np.count_nonzero(out.eve.certain)), len(out.eve), p)
