from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing import amplification
from qkdstack.processing.amplification import toeplitz_hash


def _explicit(key: np.ndarray, seed: np.ndarray, m: int) -> np.ndarray:
    """The GF(2) matrix product, built entry by entry from the definition T[i,j] = s[i-j+n-1]."""
    n = key.size
    out = np.zeros(m, dtype=np.uint8)
    for i in range(m):
        acc = 0
        for j in range(n):
            acc ^= int(seed[i - j + n - 1]) & int(key[j])
        out[i] = acc
    return out


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 3), (64, 17), (200, 200), (257, 100)])
def test_fft_equals_explicit_product(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 1000 + m)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    assert np.array_equal(toeplitz_hash(key, seed, m), _explicit(key, seed, m))


def test_blocked_fft_equals_single_fft(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n, m = 5000, 1200
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    whole = toeplitz_hash(key, seed, m)
    monkeypatch.setattr(amplification, "_MAX_FFT_BITS", 2000)
    assert np.array_equal(toeplitz_hash(key, seed, m), whole)
    assert np.array_equal(whole, amplification.toeplitz_matrix(seed, n, m) @ key % 2)


def test_large_input_is_exact() -> None:
    rng = np.random.default_rng(5)
    n, m = 1 << 20, 1 << 19
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    out = toeplitz_hash(key, seed, m)
    # Spot-check rows against the definition.
    for i in rng.choice(m, 5, replace=False):
        j = np.arange(n)
        assert out[i] == int(np.sum(seed[i - j + n - 1] & key)) % 2


def test_bad_lengths() -> None:
    with pytest.raises(ParameterError, match="'m'"):
        toeplitz_hash(np.zeros(4, np.uint8), np.zeros(8, np.uint8), 5)
    with pytest.raises(ParameterError, match="seed_bits"):
        toeplitz_hash(np.zeros(4, np.uint8), np.zeros(3, np.uint8), 2)
