"""The optimal individual attack reproduces the Fuchs et al. (1997) curve at three disturbances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.adversary import Cloner
from qkdstack.adversary.cloner import fuchs_eve_error_prob, fuchs_information
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams

from helpers import h2

SIGMAS = 5.0
CLEAN = LinkParams(
    distance_km=5.0, misalignment_error=0.0, dark_count_prob=0.0, detector_efficiency=0.5
)


def _phi(x: float) -> float:
    """phi(x) = (1+x) log2(1+x) + (1-x) log2(1-x), written out independently."""
    a = (1 + x) * math.log2(1 + x)
    b = (1 - x) * math.log2(1 - x) if x < 1 else 0.0
    return a + b


@pytest.mark.parametrize("d", [0.0, 0.05, 0.1464, 0.25, 0.5])
def test_closed_form_matches_the_paper(d: float) -> None:
    assert fuchs_information(d) == pytest.approx(0.5 * _phi(2 * math.sqrt(d * (1 - d))), abs=1e-12)
    assert fuchs_eve_error_prob(d) == pytest.approx(0.5 - math.sqrt(d * (1 - d)), abs=1e-12)


def test_eve_and_bob_information_cross_at_the_known_qber() -> None:
    """I_AE = I_AB = 1 - h(D) at D = (1 - 1/sqrt 2)/2 ~ 0.1464 (Fuchs et al. 1997, Sec. VI)."""
    d = (1 - 1 / math.sqrt(2)) / 2
    assert fuchs_information(d) == pytest.approx(1 - h2(d), abs=1e-12)
    assert fuchs_information(0.1) < 1 - h2(0.1)
    assert fuchs_information(0.2) > 1 - h2(0.2)


@pytest.mark.parametrize("d", [0.05, 0.15, 0.25])
def test_simulation_reproduces_the_fuchs_curve(d: float) -> None:
    out = Cloner(d).simulate("bb84", CLEAN, 400_000, np.random.default_rng(int(d * 1000)))
    keep = out.alice.basis == out.bob.basis
    a, b, g = out.alice.bit[keep], out.bob.bit[keep], out.eve.guess[keep]
    n = a.size
    bob_err = int(np.count_nonzero(a != b))
    assert abs(bob_err - n * d) < SIGMAS * math.sqrt(n * d * (1 - d))
    p_e = 0.5 - math.sqrt(d * (1 - d))
    eve_err = int(np.count_nonzero(a != g))
    assert abs(eve_err - n * p_e) < SIGMAS * math.sqrt(n * p_e * (1 - p_e))
    # Empirical information 1 - h(p_hat) against I_AE(D), delta-method standard deviation.
    info = 1 - h2(eve_err / n)
    sigma = abs(math.log2((1 - p_e) / p_e)) * math.sqrt(p_e * (1 - p_e) / n)
    assert abs(info - 0.5 * _phi(2 * math.sqrt(d * (1 - d)))) < SIGMAS * sigma


def test_disturbance_is_validated() -> None:
    with pytest.raises(ParameterError, match=r"'disturbance'.*\[0, 0.5\].*0.7"):
        Cloner(0.7)
