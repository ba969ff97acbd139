"""Source generating functions against their series (Ma, Fung, Lo, PRA 76, 012307 (2007), Eqs. (1)-(2))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.link.sources import no_photon_probability, number_distribution


def test_no_photon_probability_against_series() -> None:
    from qkdstack.link.sources import no_photon_probability

    x = np.array([0.0, 0.01, 0.3, 1.0])
    n = np.arange(120)
    for mean in (0.1, 0.7):
        poisson = np.array([math.exp(-mean) * mean**k / math.factorial(k) for k in n])
        thermal = mean**n / (1 + mean) ** (n + 1)
        for stats, pn in (("poisson", poisson), ("thermal", thermal)):
            series = (pn[None, :] * (1 - x[:, None]) ** n[None, :]).sum(axis=1)
            assert np.allclose(no_photon_probability(stats, mean, x), series, rtol=1e-12)  # type: ignore[arg-type]
    assert np.allclose(no_photon_probability("single-photon", 0.0, x), 1 - x)


def test_number_distribution_and_errors() -> None:
    n = np.arange(6)
    assert np.allclose(number_distribution("thermal", 0.5, 5), 0.5**n / 1.5 ** (n + 1))
    assert number_distribution("single-photon", 1.0, 3).tolist() == [0, 1, 0, 0]
    with pytest.raises(ParameterError, match="'statistics' must be one of"):
        no_photon_probability("coherent", 0.5, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'mean' must be >= 0"):
        no_photon_probability("poisson", -1.0, 0.1)
