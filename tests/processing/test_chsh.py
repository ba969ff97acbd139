"""The CHSH kernel against hand-computed counts (Clauser et al. 1969, Eq. (1a))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.chsh import chsh_value, correlator


def _events(a: int, b: int, same: int, diff: int) -> list[tuple[int, int, int, int]]:
    return [(a, b, 0, 0)] * same + [(a, b, 0, 1)] * diff


def test_known_counts() -> None:
    # E(0,1) = (80-20)/100 = 0.6, E(0,3) = (10-30)/40 = -0.5, E(2,1) = (45-5)/50 = 0.8,
    # E(2,3) = (30-30)/60 = 0  ->  S = 0.6 + 0.5 + 0.8 + 0 = 1.9.
    rows = (
        _events(0, 1, 80, 20) + _events(0, 3, 10, 30) + _events(2, 1, 45, 5) + _events(2, 3, 30, 30)
        + _events(1, 2, 7, 3)  # a key pair: ignored
    )  # fmt: skip
    arr = np.array(rows, dtype=np.uint8)
    s, std = chsh_value(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    assert s == pytest.approx(1.9, abs=1e-12)
    var = (1 - 0.36) / 100 + (1 - 0.25) / 40 + (1 - 0.64) / 50 + 1 / 60
    assert std == pytest.approx(math.sqrt(var), rel=1e-12)


def test_correlator_extremes() -> None:
    x = np.array([0, 1, 1, 0], dtype=np.uint8)
    assert correlator(x, x) == (1.0, 0.0)
    assert correlator(x, 1 - x) == (-1.0, 0.0)


def test_errors() -> None:
    z = np.zeros(3, dtype=np.uint8)
    with pytest.raises(ParameterError, match="CHSH pair"):
        chsh_value(z, z, z, z)
    with pytest.raises(ParameterError, match="'bob_outcome' must be 1-D"):
        chsh_value(z, z, z, np.zeros(2, dtype=np.uint8))
