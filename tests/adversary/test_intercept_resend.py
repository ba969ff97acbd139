"""Intercept-resend: QBER f/4, Eve's information, and the Breidbart basis (closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.adversary import EveBasis, InterceptResend, parse_attack
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.typing import Basis

from helpers import SIGMAS, h2, within_binomial

# An error-free link: no misalignment, no dark counts, single photons, short fibre.
CLEAN = LinkParams(
    distance_km=5.0, misalignment_error=0.0, dark_count_prob=0.0, detector_efficiency=0.5
)


def _sifted(out):  # type: ignore[no-untyped-def]
    keep = out.alice.basis == out.bob.basis
    return keep, out.alice.bit[keep], out.bob.bit[keep]


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.2])
def test_random_basis_qber_is_fraction_over_four(fraction: float) -> None:
    out = InterceptResend(fraction, "random").simulate(
        "bb84", CLEAN, 400_000, np.random.default_rng(1)
    )
    _, a, b = _sifted(out)
    assert within_binomial(int(np.count_nonzero(a != b)), a.size, fraction / 4)
    # The one-way BB84 key rate 1 - 2 h(Q) (Shor, Preskill 2000) is negative at Q = 1/4: abort.
    if fraction == 1.0:
        qber = float(np.mean(a != b))
        assert 1 - 2 * h2(qber) < 0


def test_intercepted_pulses_and_unchanged_gain() -> None:
    pulses = 400_000
    out = InterceptResend(0.5, "random").simulate("bb84", CLEAN, pulses, np.random.default_rng(2))
    # Single photons: every pulse is non-empty, Eve attacks each with probability 1/2.
    assert within_binomial(out.eve.intercepted_pulses, pulses, 0.5)
    eta = 10 ** (-0.2 * 5.0 / 10) * 0.5
    assert within_binomial(len(out.bob), pulses, eta)


def test_random_basis_eve_knows_half_of_the_sifted_bits() -> None:
    out = InterceptResend(1.0, "random").simulate("bb84", CLEAN, 400_000, np.random.default_rng(3))
    keep, a, _ = _sifted(out)
    guess = out.eve.guess[keep]
    certain = out.eve.certain[keep]
    n = a.size
    assert within_binomial(int(np.count_nonzero(certain)), n, 0.5)
    assert np.all(guess[certain] == a[certain])
    # Right basis half the time (always correct), wrong basis half the time (correct by chance).
    assert within_binomial(int(np.count_nonzero(guess == a)), n, 0.75)


def test_fixed_z_basis_attack_disturbs_only_x() -> None:
    out = InterceptResend(1.0, "z").simulate("bb84", CLEAN, 200_000, np.random.default_rng(4))
    keep, a, b = _sifted(out)
    z = out.alice.basis[keep] == Basis.Z
    assert np.all(a[z] == b[z])
    assert np.all(out.eve.guess[keep][z] == a[z])
    assert within_binomial(int(np.count_nonzero(a[~z] != b[~z])), int((~z).sum()), 0.5)
    assert np.all(out.eve.basis[out.eve.attacked] == EveBasis.Z)


def test_breidbart_gives_the_literature_information() -> None:
    """Bennett et al., J. Cryptology 5, 3 (1992): Eve right with cos^2(pi/8), 0.399 bit, QBER 1/4."""
    out = InterceptResend(1.0, "breidbart").simulate(
        "bb84", CLEAN, 600_000, np.random.default_rng(5)
    )
    keep, a, b = _sifted(out)
    n = a.size
    p_wrong = math.sin(math.pi / 8) ** 2  # 0.1464
    wrong = int(np.count_nonzero(out.eve.guess[keep] != a))
    assert within_binomial(wrong, n, p_wrong)
    assert within_binomial(int(np.count_nonzero(a != b)), n, 0.25)
    # Empirical Shannon information per bit vs 1 - h(sin^2 pi/8) = 0.399 (delta method, 5 sigma).
    p_hat = wrong / n
    info_hat = 1 - h2(p_hat)
    sigma = abs(math.log2((1 - p_wrong) / p_wrong)) * math.sqrt(p_wrong * (1 - p_wrong) / n)
    assert abs(info_hat - 0.399) < SIGMAS * sigma + 5e-4
    assert not out.eve.certain.any()


def test_parameters_are_validated() -> None:
    with pytest.raises(ParameterError, match=r"'fraction'.*\[0, 1\].*1.5"):
        InterceptResend(1.5)
    with pytest.raises(ParameterError, match=r"'basis'.*random, z, x, breidbart"):
        parse_attack("intercept-resend:basis=y")


def test_laser_pulses_without_photons_cannot_be_intercepted() -> None:
    mu, f, pulses = 0.3, 0.6, 2_000_000
    params = LinkParams(source="laser", mu=mu)
    out = InterceptResend(f).simulate("bb84", params, pulses, np.random.default_rng(6))
    assert within_binomial(out.eve.intercepted_pulses, pulses, f * (1 - math.exp(-mu)))
