"""Public shuffles: permutations, coin-flip halving consistent with the full draw, uniformity."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.reconciliation.shuffle import (
    HALVING_MIN_BITS,
    halves,
    inverse_permutation,
    pass_block_size,
    pass_membership,
    pass_permutation,
    popcount64,
)


def _unpack(words: np.ndarray, n: int) -> np.ndarray:
    """Membership bit ``i`` = bit ``i % 64`` of word ``i // 64`` (written out independently)."""
    return np.array([(int(words[i // 64]) >> (i % 64)) & 1 for i in range(n)], dtype=np.uint8)


def test_pass_permutation_is_a_permutation_and_depends_on_seed_and_pass() -> None:
    a = pass_permutation(10_001, 5, 1)
    assert np.array_equal(np.sort(a), np.arange(10_001))
    assert not np.array_equal(a, pass_permutation(10_001, 5, 2))
    assert not np.array_equal(a, pass_permutation(10_001, 6, 1))
    assert np.array_equal(a, pass_permutation(10_001, 5, 1))


@pytest.mark.parametrize("n", [HALVING_MIN_BITS, 1001, 1002, 4097])
def test_membership_matches_the_full_draw(n: int) -> None:
    k = -(-n // 2)
    assert halves(n, k)
    words, k0 = pass_membership(n, 1, 1)
    member = _unpack(words, n)
    # Block 0 is the larger side; the tail of the last word is clear.
    assert k0 == n - int(member.sum()) and k0 >= n - k0
    assert sum(bin(int(w)).count("1") for w in words) == n - k0
    assert pass_block_size(n, 1, 1, k) == k0
    # The two-step draw is consistent: block 0 holds shuffled positions [0, k0).
    position = pass_permutation(n, 1, 1, k)
    assert np.array_equal(np.sort(position), np.arange(n))
    assert np.array_equal(position >= k0, member.astype(bool))


def test_small_keys_and_other_sizes_do_not_halve() -> None:
    assert not halves(HALVING_MIN_BITS - 1, HALVING_MIN_BITS // 2)
    assert not halves(1000, 400)  # three blocks
    assert not halves(1000, 1000)  # one block
    assert pass_block_size(1000, 3, 2, 400) == 400
    with pytest.raises(ParameterError, match="'n'"):
        pass_membership(HALVING_MIN_BITS - 1, 1, 1)


def test_membership_is_uniform_over_positions() -> None:
    # Before the larger side is made block 0, each bit's side is a fair coin; after it, the side
    # of one bit is still 1/2 in expectation up to the (symmetric) relabelling, and the count of
    # bits in block 1 over a window of 100 positions is a sum of S * 100 coins conditioned on the
    # labelling, which shifts the mean by at most E|k0 - n/2| / n per bit. Over S random seeds the
    # window total has mean 100 S (1/2 - d) with d = E|2 Bin(n, 1/2) - n| / (2n) and variance
    # <= 100 S / 4 plus the within-key correlation (bounded by 100^2 S / (4 n)); 5 sigma.
    n, seeds = 1000, 2000
    d = np.sqrt(2 / (np.pi * n)) / 2  # E|2X - n| / (2n) for X ~ Bin(n, 1/2), normal approx.
    counts = np.zeros(n)
    for s in np.random.default_rng(1).integers(0, 2**63, seeds).tolist():
        counts += _unpack(pass_membership(n, s, 3)[0], n)
    window = counts.reshape(10, 100).sum(axis=1)
    sigma = np.sqrt(100 * seeds / 4 + 100**2 * seeds / (4 * n))
    assert np.all(np.abs(window - 100 * seeds * (0.5 - d)) < 5 * sigma)
    # Every bit of a 64-bit output alike (first, middle and last bits of a word).
    for i in (0, 31, 63, 64, 999):
        assert abs(counts[i] - seeds * (0.5 - d)) < 5 * np.sqrt(seeds / 4)


def test_inverse_permutation_undoes_the_permutation() -> None:
    position = pass_permutation(5000, 9, 2)
    perm = inverse_permutation(position)
    assert np.array_equal(perm, np.argsort(position))
    assert np.array_equal(perm[position], np.arange(5000))


def test_popcount_matches_python() -> None:
    rng = np.random.default_rng(2)
    for w in [0, 1, 2**64 - 1, *rng.integers(0, 2**63, 50).tolist()]:
        assert popcount64(np.uint64(w)) == bin(int(w)).count("1")


def test_bad_arguments_rejected() -> None:
    with pytest.raises(ParameterError, match="'seed'"):
        pass_permutation(100, -1, 1)
    with pytest.raises(ParameterError, match="'pass_index'"):
        pass_permutation(100, 1, -1)
    with pytest.raises(ParameterError, match="'n'"):
        pass_permutation(2**31, 1, 1)
