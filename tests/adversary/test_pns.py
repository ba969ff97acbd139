"""Photon-number splitting: invisible to plain BB84's QBER, caught by decoy states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.adversary import PhotonNumberSplitting, parse_attack
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams

from helpers import h2, within_binomial

PARAMS = LinkParams(source="laser", mu=0.5, distance_km=50.0, dark_count_prob=1e-6)


def _poisson(mu: float, n: int) -> float:
    return math.exp(-mu) * mu**n / math.factorial(n)


def test_pns_is_invisible_to_plain_bb84() -> None:
    pulses = 20_000_000
    out = PhotonNumberSplitting().simulate("bb84", PARAMS, pulses, np.random.default_rng(31))
    t = 10 ** (-0.2 * 50 / 10)
    y0 = 1 - (1 - 1e-6) ** 2
    signal = 1 - math.exp(-t * 0.1 * 0.5)  # the honest signal-click probability
    gain = 1 - (1 - y0) * (1 - signal)
    qber = ((1 - signal) * y0 / 2 + signal * 0.01) / gain
    assert within_binomial(len(out.bob), pulses, gain)
    keep = out.alice.basis == out.bob.basis
    errors = int(np.count_nonzero(out.alice.bit[keep] != out.bob.bit[keep]))
    assert within_binomial(errors, int(keep.sum()), qber)
    # ... while Eve knows almost every detected bit. Independent count of P(detected and known):
    # split pulses (share r of n >= 2) clicked by n - 1 lossless photons or a dark count, plus
    # dark clicks on blocked pulses (all single photons, a share 1 - r of multi-photon pulses).
    multi = sum(_poisson(0.5, n) * (1 - 0.9 ** (n - 1)) for n in range(2, 40))
    r = signal / multi
    p_split_det = sum(_poisson(0.5, n) * (1 - (1 - y0) * 0.9 ** (n - 1)) for n in range(2, 40))
    p_known = r * p_split_det + (1 - r) * (1 - _poisson(0.5, 0) - _poisson(0.5, 1)) * y0
    p_known += _poisson(0.5, 1) * y0
    n_known = int(np.count_nonzero(out.eve.certain))
    assert within_binomial(n_known, pulses, p_known)
    assert n_known / len(out.eve) > 0.99
    assert out.eve.notes["multi_photon_forward_share"] == pytest.approx(r, rel=1e-9)


def _decoy_key_rate(out, params: LinkParams) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Vacuum + weak decoy estimate (Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eqs. 34, 37, 42).

    Returns the single-photon yield lower bound Y1^L and the key rate per pulse (GLLP with q = 1/2).
    """
    alice, bob = out.alice, out.bob
    sent = alice.meta.sent_counts.sum(axis=1)
    mu, nu, _ = params.intensities
    gains, qbers = [], []
    for k in range(3):
        sel = alice.intensity == k
        gains.append(np.count_nonzero(sel) / sent[k])
        m = sel & (alice.basis == bob.basis)
        qbers.append(float(np.mean(alice.bit[m] != bob.bit[m])) if m.any() else 0.5)
    q_mu, q_nu, y0 = gains
    e_mu = qbers[0]
    y1 = (
        mu
        / (mu * nu - nu**2)
        * (q_nu * math.exp(nu) - q_mu * math.exp(mu) * nu**2 / mu**2 - (mu**2 - nu**2) / mu**2 * y0)
    )
    q1 = y1 * mu * math.exp(-mu)
    e1 = (qbers[1] * q_nu * math.exp(nu) - 0.5 * y0) / (y1 * nu) if y1 > 0 else 0.5
    rate = 0.5 * (-q_mu * params.ec_efficiency * h2(e_mu) + q1 * (1 - h2(min(max(e1, 0.0), 0.5))))
    return y1, rate


def test_decoy_states_expose_pns() -> None:
    params = PARAMS.replace(intensities=(0.5, 0.1, 0.0), intensity_probs=(0.6, 0.3, 0.1))
    pulses = 30_000_000
    honest = parse_attack("mitm").simulate("decoy-bb84", params, pulses, np.random.default_rng(32))
    attacked = parse_attack("pns").simulate("decoy-bb84", params, pulses, np.random.default_rng(33))
    t = 10 ** (-0.2 * 50 / 10)
    y1_true = t * 0.1  # honest single-photon yield, Y0 aside
    y1_honest, rate_honest = _decoy_key_rate(honest, params)
    y1_attacked, rate_attacked = _decoy_key_rate(attacked, params)
    assert 0.5 * y1_true < y1_honest <= 1.05 * y1_true
    assert rate_honest > 0
    # Under PNS the decoy gain drops: the single-photon yield bound collapses and no key is left.
    assert y1_attacked < 0.1 * y1_true
    assert rate_attacked <= 0
    # ... although the signal gain still matches the honest one.
    sent = attacked.alice.meta.sent_counts.sum(axis=1)
    gain = 1 - (1 - (1 - (1 - 1e-6) ** 2)) * math.exp(-t * 0.1 * 0.5)
    assert within_binomial(int(np.count_nonzero(attacked.alice.intensity == 0)), int(sent[0]), gain)


def test_pns_cannot_hide_on_a_short_link() -> None:
    with pytest.raises(ParameterError, match=r"'pns'.*distance_km"):
        PhotonNumberSplitting().simulate(
            "bb84", PARAMS.replace(distance_km=0.0), 1000, np.random.default_rng(0)
        )


@pytest.mark.slow
def test_decoy_pipeline_yields_no_key_under_pns() -> None:
    """End to end (Lim et al. 2014 finite-key decoy analysis of the pipeline): honest key, PNS none."""
    from qkdstack.experiment import run_experiment
    from qkdstack.params import get_param_set
    from qkdstack.processing.pipeline import PipelineOptions

    params = get_param_set("lim2014").replace(distance_km=50.0)
    opts = PipelineOptions(secure_randomness=False)
    honest = run_experiment("decoy-bb84", params, 10**10, seed=1, options=opts)
    attacked = run_experiment(
        "decoy-bb84", params, 10**10, seed=1, options=opts, attack=parse_attack("pns")
    )
    assert honest.report["secret_bits"] > 0
    assert attacked.report["aborted"] and attacked.report["secret_bits"] == 0
    # The QBER did not give Eve away; the decoy analysis did.
    assert abs(attacked.report["qber"] - honest.report["qber"]) < 0.005
