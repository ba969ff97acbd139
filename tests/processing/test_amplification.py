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


def _product(key: np.ndarray, seed: np.ndarray, m: int) -> np.ndarray:
    """The same product with numpy: gather T from the definition, integer matmul, mod 2."""
    n = key.size
    rows = np.arange(m)[:, None] - np.arange(n)[None, :] + n - 1
    return ((seed[rows].astype(np.int64) @ key.astype(np.int64)) % 2).astype(np.uint8)


def _draw(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    return key, seed


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 3), (64, 17), (200, 200), (257, 100)])
def test_fft_equals_explicit_product(n: int, m: int) -> None:
    key, seed = _draw(np.random.default_rng(n * 1000 + m), n, m)
    assert np.array_equal(toeplitz_hash(key, seed, m), _explicit(key, seed, m))


@pytest.mark.parametrize("block", [1, 2, 8, 64])
def test_block_boundaries_equal_product(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """Many blocks: n and m on, just below and just above multiples of the block length."""
    monkeypatch.setattr(amplification, "_BLOCK_BITS", block)
    rng = np.random.default_rng(block)
    sizes = [(1, 1), (1, 0), (block, block), (block + 1, block), (3 * block + 2, 2 * block + 1)]
    sizes += [(4 * block + 3, 1), (5 * block, 5 * block), (97, 0), (97, 97), (331, 45)]
    for n, m in sizes:
        key, seed = _draw(rng, n, m)
        got = toeplitz_hash(key, seed, m)
        assert got.dtype == np.uint8
        assert got.shape == (m,)
        assert np.array_equal(got, _product(key, seed, m)), (block, n, m)


def test_random_sizes_equal_product() -> None:
    rng = np.random.default_rng(16)
    for _ in range(25):
        n = int(rng.integers(1, 3000))
        m = int(rng.integers(0, n + 1))
        key, seed = _draw(rng, n, m)
        assert np.array_equal(toeplitz_hash(key, seed, m), _product(key, seed, m)), (n, m)


def test_not_a_fast_length_over_several_default_blocks() -> None:
    """n = 3 blocks + a prime remainder, m = n: every code path at the default block length."""
    rng = np.random.default_rng(7)
    n = 3 * amplification._BLOCK_BITS + 4099
    m = n
    key, seed = _draw(rng, n, m)
    out = toeplitz_hash(key, seed, m)
    rows = rng.choice(m, 40, replace=False)
    j = np.arange(n)
    for i in rows:
        assert out[i] == int(np.sum(seed[i - j + n - 1] & key)) % 2


@pytest.mark.parametrize("n", [1, 2, 3, 100, 4096, 65_536, 262_144, 10**6, 1 << 22, 10**8])
def test_block_length_is_a_power_of_two_within_bounds(n: int) -> None:
    block = min(amplification._BLOCK_BITS, amplification._block_length(n))
    assert block & (block - 1) == 0
    assert 1 <= block <= amplification._BLOCK_BITS
    assert block <= max(1, n // 2)


def test_falls_back_to_float64_when_the_roundoff_check_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(11)
    key, seed = _draw(rng, 3000, 1700)
    used: list[type] = []
    original = amplification._blocked_hash

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(args[4])
        return original(*args, **kwargs)

    monkeypatch.setattr(amplification, "_blocked_hash", spy)
    # float32 transforms of 2^12 points round off by ~1e-5, float64 ones by ~1e-12.
    monkeypatch.setattr(amplification, "_ROUNDOFF_LIMIT", 1e-9)
    assert np.array_equal(toeplitz_hash(key, seed, 1700), _product(key, seed, 1700))
    assert used == [np.float32, np.float64]
    monkeypatch.setattr(amplification, "_ROUNDOFF_LIMIT", -1.0)
    with pytest.raises(ArithmeticError, match="precision"):
        toeplitz_hash(key, seed, 1700)


def test_workers_do_not_change_the_result() -> None:
    key, seed = _draw(np.random.default_rng(2), 70_001, 35_000)
    one = toeplitz_hash(key, seed, 35_000, workers=1)
    assert np.array_equal(one, toeplitz_hash(key, seed, 35_000, workers=2))


def test_large_input_is_exact() -> None:
    rng = np.random.default_rng(5)
    n, m = 1 << 20, 1 << 19
    key, seed = _draw(rng, n, m)
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
