from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.estimation import (
    choose_sample,
    class_counts,
    error_fraction,
    sampling_deviation,
)


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


def test_class_counts_equal_a_mask_per_class() -> None:
    rng = np.random.default_rng(4)
    n = 50_000
    basis = rng.integers(0, 3, n).astype(np.uint8)
    intensity = rng.integers(0, 4, n).astype(np.uint8)
    error = rng.choice(np.array([-1, 0, 1], dtype=np.int8), n, p=[0.3, 0.6, 0.1])
    counts = class_counts(basis, intensity, error, 5)  # one intensity class more than seen
    assert counts.shape == (3, 3 * 5)
    for b in range(3):
        for i in range(5):
            mask = (basis == b) & (intensity == i)
            c = b * 5 + i
            assert counts[0, c] == np.count_nonzero(mask)
            assert counts[1, c] == np.count_nonzero(mask & (error < 0))
            assert counts[2, c] == np.count_nonzero(mask & (error == 1))
    assert class_counts(basis[:0], intensity[:0], error[:0], 2).shape == (3, 2)


def test_class_counts_refuse_mismatched_or_too_few_classes() -> None:
    ones = np.ones(4, dtype=np.uint8)
    with pytest.raises(ParameterError, match="one length"):
        class_counts(ones, ones[:3], ones.astype(np.int8), 2)
    with pytest.raises(ParameterError, match="n_intensities"):
        class_counts(ones, ones, ones.astype(np.int8), 1)
