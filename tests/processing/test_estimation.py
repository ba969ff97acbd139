from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.estimation import choose_sample, error_fraction, sampling_deviation


def test_sample_is_uniform_and_distinct() -> None:
    rng = np.random.default_rng(0)
    counts = np.zeros(100)
    for _ in range(2000):
        s = choose_sample(100, 10, rng)
        assert len(set(s.tolist())) == 10 and np.all(np.diff(s) > 0)
        counts[s] += 1
    # Each position is chosen with probability 0.1: 200 expected, sd sqrt(2000*0.1*0.9) = 13.4.
    assert np.all(np.abs(counts - 200) < 5 * 13.5)


def test_error_fraction() -> None:
    a = np.array([0, 1, 1, 0], np.uint8)
    b = np.array([0, 0, 1, 1], np.uint8)
    assert error_fraction(a, b) == (2, 0.5)


def test_serfling_deviation_formula() -> None:
    n, k, eps = 10_000, 1_000, 1e-10
    expected = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(1 / eps))
    assert sampling_deviation(n, k, eps) == pytest.approx(expected)
    assert sampling_deviation(0, 10, eps) == math.inf


def test_bad_sample_size() -> None:
    with pytest.raises(ParameterError, match="sample_bits"):
        choose_sample(10, 11, np.random.default_rng(0))
