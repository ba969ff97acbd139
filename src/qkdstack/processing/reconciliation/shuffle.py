"""Public shuffles: the random permutations that Cascade applies to the key before each pass.

Both parties must apply the same permutation, so it is derived deterministically from a public seed
and the pass index. The permutation carries no information about the key; it only spreads the
errors left after one pass uniformly over the blocks of the next (Brassard and Salvail 1993).

A pass cuts the shuffled key into consecutive blocks of ``k`` bits (the last may be shorter), so
key bit ``i`` falls in block ``position[i] // k``. Passes whose blocks *halve* the key
(:func:`halves`: ``k < n <= 2 k``) are drawn in two steps, so that the first, which is all most such
passes ever need, costs almost nothing: each key bit's block is a fair coin (64 coins per SplitMix64
output, kept packed, :func:`pass_membership`), block 0 being the larger side, of ``k_0 >= n / 2``
bits; the order inside each block (:func:`pass_permutation`) is drawn only when a search runs in the
pass. Block sizes of such a pass are thus ``k_0`` and ``n - k_0`` (binomial around ``n / 2``, the
two halves of the key that Cascade's last passes and BICONF compare), not exactly ``k``.

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994).
R. A. Fisher and F. Yates, "Statistical tables" (1938); D. E. Knuth, TAOCP vol. 2, Algorithm 3.4.2P.
G. L. Steele, D. Lea, C. H. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014
(SplitMix64).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError

__all__ = [
    "HALVING_MIN_BITS",
    "halves",
    "inverse_permutation",
    "pass_block_size",
    "pass_membership",
    "pass_permutation",
    "popcount64",
]

_MASK64 = (1 << 64) - 1

#: Keys shorter than this never use the two-step draw (a coin split of a tiny key could leave a
#: block empty); their halving passes are drawn as one uniform permutation.
HALVING_MIN_BITS = 256


@njit(cache=True, inline="always")
def _splitmix(s: np.uint64) -> tuple[np.uint64, np.uint64]:  # pragma: no cover
    """One SplitMix64 step: the new state and its output."""
    s += np.uint64(0x9E3779B97F4A7C15)
    z = s
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return s, z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def popcount64(x: np.uint64) -> int:  # pragma: no cover
    """Number of set bits of a 64-bit word (SWAR, Hacker's Delight 5-1)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _splitmix_fisher_yates(n: int, state: np.uint64) -> npt.NDArray[np.int32]:  # pragma: no cover
    # Fisher-Yates (Knuth Algorithm P) driven by SplitMix64, two 32-bit draws per output (high
    # half, then low half). The index draw uses Lemire's multiply-shift reduction: bias <= n / 2^32,
    # negligible for a public shuffle whose only role is to spread errors.
    perm = np.empty(n, dtype=np.int32)
    for i in range(n):
        perm[i] = i
    s = np.uint64(state)
    z = np.uint64(0)
    low = np.uint64(0xFFFFFFFF)
    for i in range(n - 1, 0, -1):
        if (n - 1 - i) & 1:
            r = z & low
        else:
            s, z = _splitmix(s)
            r = z >> np.uint64(32)
        j = np.int64((r * np.uint64(i + 1)) >> np.uint64(32))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


@njit(cache=True)
def _coin_words(n: int, state: np.uint64) -> tuple[npt.NDArray[np.uint64], int]:  # pragma: no cover
    # Bit i of word i // 64 is key bit i's coin; the side with fewer bits is set (block 1), so that
    # block 0, the bits whose coin is clear, is the larger. Returns the words and block 0's size.
    words = np.empty((n + 63) // 64, dtype=np.uint64)
    s = np.uint64(state)
    ones = 0
    for w in range(words.shape[0]):
        s, z = _splitmix(s)
        words[w] = z
    tail = n % 64
    if tail:
        words[-1] &= (np.uint64(1) << np.uint64(tail)) - np.uint64(1)
    for w in range(words.shape[0]):
        ones += popcount64(words[w])
    if 2 * ones > n:
        for w in range(words.shape[0]):
            words[w] = ~words[w]
        if tail:
            words[-1] &= (np.uint64(1) << np.uint64(tail)) - np.uint64(1)
        ones = n - ones
    return words, n - ones


@njit(cache=True)
def _compose_two_blocks(
    words: npt.NDArray[np.uint64], n: int, first: int, state: np.uint64
) -> npt.NDArray[np.int32]:  # pragma: no cover
    order0 = _splitmix_fisher_yates(first, state)
    order1 = _splitmix_fisher_yates(n - first, state ^ np.uint64(0x5851F42D4C957F2D))
    out = np.empty(n, dtype=np.int32)
    r0 = 0
    r1 = 0
    for i in range(n):
        if (words[i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
            out[i] = first + order1[r1]
            r1 += 1
        else:
            out[i] = order0[r0]
            r0 += 1
    return out


@njit(cache=True)
def inverse_permutation(
    position: npt.NDArray[np.int32],
) -> npt.NDArray[np.int32]:  # pragma: no cover
    """The inverse permutation: ``out[position[i]] = i`` (which key bit sits at each position)."""
    out = np.empty_like(position)
    for i in range(position.shape[0]):
        out[position[i]] = i
    return out


def _state(seed: int, pass_index: int) -> np.uint64:
    # Mix seed and pass into one 64-bit state (golden-ratio multiplier keeps passes apart).
    return np.uint64((seed * 0x9E3779B97F4A7C15 + (pass_index + 1) * 0xD1B54A32D192ED03) & _MASK64)


def _check(n: int, seed: int, pass_index: int) -> None:
    if not 0 <= n < 2**31:
        raise ParameterError(f"Argument 'n' must be in [0, 2^31), not {n}.")
    if not 0 <= seed < 2**63:
        raise ParameterError(f"Argument 'seed' must be in [0, 2^63), not {seed}.")
    if pass_index < 0:
        raise ParameterError(f"Argument 'pass_index' must be >= 0, not {pass_index}.")


def halves(n: int, block_size: int | None) -> bool:
    """Whether a pass of ``block_size`` over ``n`` bits is drawn in two steps (see module doc)."""
    return block_size is not None and n >= HALVING_MIN_BITS and block_size < n <= 2 * block_size


def pass_membership(n: int, seed: int, pass_index: int) -> tuple[npt.NDArray[np.uint64], int]:
    """The block of each key bit in a pass that halves the key, packed, and block 0's size.

    Returns ``(words, k0)``: key bit ``i`` is in block 1 when bit ``i % 64`` of ``words[i // 64]``
    is set. Each bit's side is a fair coin (one SplitMix64 output gives 64); block 0 is the larger
    side, ``k0 >= n / 2`` bits. Together with the order inside each block drawn by
    :func:`pass_permutation`, the blocks are those of a uniformly random permutation cut at ``k0``.
    """
    _check(n, seed, pass_index)
    if n < HALVING_MIN_BITS:
        raise ParameterError(f"Argument 'n' must be >= {HALVING_MIN_BITS} to halve, not {n}.")
    words, first = _coin_words(n, _state(seed, pass_index))
    return words, int(first)


def pass_block_size(n: int, seed: int, pass_index: int, block_size: int) -> int:
    """The size of block 0 of a pass: ``block_size``, or ``k0`` of :func:`pass_membership` for a
    pass that :func:`halves` the key (its blocks are ``[0, k0)`` and ``[k0, n)``)."""
    if halves(n, block_size):
        return pass_membership(n, seed, pass_index)[1]
    return block_size


def pass_permutation(
    n: int, seed: int, pass_index: int, block_size: int | None = None
) -> npt.NDArray[np.int32]:
    """The public permutation of ``n`` key positions used in pass ``pass_index``.

    Parameters
    ----------
    n : int
        Key length in bits (``< 2^31``).
    seed : int
        Public shuffle seed agreed in ``ec.start`` (``0 <= seed < 2^63``).
    pass_index : int
        Zero-based pass (or BICONF round) number; each gets an independent permutation.
    block_size : int, optional
        The pass's block size. When the pass :func:`halves` the key, the permutation is
        :func:`pass_membership` followed by a uniform order inside each block.

    Returns
    -------
    ndarray of int32, shape (n,)
        ``position[i]`` is where key bit ``i`` sits in the shuffled key; key bit ``i`` is in
        block ``position[i] // pass_block_size(...)``.
    """
    _check(n, seed, pass_index)
    state = _state(seed, pass_index)
    if halves(n, block_size):
        words, first = _coin_words(n, state)
        return _compose_two_blocks(words, n, first, state ^ np.uint64(0xA0761D6478BD642F))
    return _splitmix_fisher_yates(n, state)
