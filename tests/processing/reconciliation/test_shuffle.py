"""Public shuffles: permutations, exact halving subsets, uniformity, frames kept apart."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.reconciliation.shuffle import (
    frame_seed,
    framed_membership,
    framed_permutation,
    pass_membership,
    pass_permutation,
)


def test_pass_permutation_is_a_permutation_and_depends_on_seed_and_pass() -> None:
    a = pass_permutation(10_001, 5, 1)
    assert np.array_equal(np.sort(a), np.arange(10_001))
    assert not np.array_equal(a, pass_permutation(10_001, 5, 2))
    assert not np.array_equal(a, pass_permutation(10_001, 6, 1))
    assert np.array_equal(a, pass_permutation(10_001, 5, 1))


@pytest.mark.parametrize("n", [1, 2, 3, 1001, 1002])
def test_membership_picks_exactly_the_second_block(n: int) -> None:
    k = (n + 1) // 2 if n > 1 else 1
    if not k < n <= 2 * k:
        with pytest.raises(ParameterError):
            pass_membership(n, 1, 1, k)
        return
    member = pass_membership(n, 1, 1, k)
    assert int(member.sum()) == n - k
    # The two-step draw is consistent: block 0 holds shuffled positions [0, k).
    position = pass_permutation(n, 1, 1, k)
    assert np.array_equal(position >= k, member.astype(bool))


def test_membership_is_uniform_over_positions() -> None:
    # Each position is in block 1 with probability (n - k) / n = 1/2 (selection sampling). Over
    # S seeds, its count is Binomial(S, 1/2); the total over a window of 100 positions has
    # variance 100 S / 4 (counts are nearly independent; slight negative correlation only
    # shrinks it), so 5 sigma bounds hold.
    # Seeds are drawn at random, as Bob draws them (consecutive seeds give shifted SplitMix64
    # streams, so they are not independent samples).
    n, k, seeds = 1000, 500, 2000
    counts = np.zeros(n)
    for s in np.random.default_rng(1).integers(0, 2**63, seeds).tolist():
        counts += pass_membership(n, s, 3, k)
    window = counts.reshape(10, 100).sum(axis=1)
    sigma = np.sqrt(100 * seeds / 4)
    assert np.all(np.abs(window - 100 * seeds / 2) < 5 * sigma)
    # First and last position alike (the two halves of a SplitMix64 output both uniform).
    assert abs(counts[0] - seeds / 2) < 5 * np.sqrt(seeds / 4)
    assert abs(counts[1] - seeds / 2) < 5 * np.sqrt(seeds / 4)


def test_framed_permutation_keeps_bits_in_their_frame() -> None:
    n, frame_bits = 25_000, 10_000
    position = framed_permutation(n, frame_bits, 7, 2)
    assert np.array_equal(np.sort(position), np.arange(n))
    frame_of_bit = np.arange(n) // frame_bits
    assert np.array_equal(position // frame_bits, frame_of_bit)
    # Frame 0 is shuffled as an unframed key of its length with the same seed.
    assert np.array_equal(position[:frame_bits], pass_permutation(frame_bits, 7, 2))
    # Frame 1 with its own seed.
    expected = frame_bits + pass_permutation(frame_bits, frame_seed(7, 1), 2)
    assert np.array_equal(position[frame_bits : 2 * frame_bits], expected)


def test_framed_membership_halves_every_frame() -> None:
    n, frame_bits, k = 30_000, 10_000, 5000
    member = framed_membership(n, frame_bits, 3, 4, k)
    assert member.reshape(3, frame_bits).sum(axis=1).tolist() == [5000, 5000, 5000]
    position = framed_permutation(n, frame_bits, 3, 4, k)
    assert np.array_equal((position % frame_bits) >= k, member.astype(bool))


def test_bad_arguments_rejected() -> None:
    with pytest.raises(ParameterError, match="frame_bits"):
        framed_permutation(100, 0, 1, 1)
    with pytest.raises(ParameterError, match="seed"):
        pass_permutation(100, -1, 1)
    with pytest.raises(ParameterError, match="frame"):
        frame_seed(1, -1)
