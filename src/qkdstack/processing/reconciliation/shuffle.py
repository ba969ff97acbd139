"""Public shuffles: the random permutations that Cascade applies to the key before each pass.

Both parties must apply the same permutation, so it is derived deterministically from a public seed
and the pass index. The permutation carries no information about the key; it only spreads the
errors left after one pass uniformly over the blocks of the next (Brassard and Salvail 1993).

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994).
R. A. Fisher and F. Yates, "Statistical tables" (1938); D. E. Knuth, TAOCP vol. 2, Algorithm 3.4.2P.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError

__all__ = [
    "frame_seed",
    "framed_membership",
    "framed_permutation",
    "frames_halve",
    "identity_permutation",
    "pass_membership",
    "pass_permutation",
]

_MASK64 = (1 << 64) - 1


@njit(cache=True)
def _splitmix_fisher_yates(n: int, state: np.uint64) -> npt.NDArray[np.int32]:  # pragma: no cover
    # Fisher-Yates (Knuth Algorithm P) driven by SplitMix64 (Steele, Lea, Flood 2014). The index
    # draw uses Lemire's multiply-shift reduction: bias <= n / 2^32, negligible for a public
    # shuffle whose only role is to spread errors.
    perm = np.arange(n).astype(np.int32)
    s = np.uint64(state)
    for i in range(n - 1, 0, -1):
        s += np.uint64(0x9E3779B97F4A7C15)
        z = s
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        j = np.int64(((z >> np.uint64(32)) * np.uint64(i + 1)) >> np.uint64(32))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


@njit(cache=True)
def _splitmix_select(
    n: int, chosen: int, state: np.uint64
) -> npt.NDArray[np.uint8]:  # pragma: no cover
    # Selection sampling (Knuth Algorithm 3.4.2S): item i is chosen with probability
    # (still needed) / (still left), which gives a uniformly random subset of exactly ``chosen``.
    # Each SplitMix64 output gives two 32-bit uniforms (high and low halves), one per item.
    out = np.zeros(n, dtype=np.uint8)
    s = np.uint64(state)
    need = np.int64(chosen)
    mask = np.uint64(0xFFFFFFFF)
    for i in range(0, n, 2):
        s += np.uint64(0x9E3779B97F4A7C15)
        z = s
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
        # Chosen iff u (n - i) < need with u uniform in [0, 1): compare 32-bit fixed point
        # numbers without a branch (the outcome is a coin flip a branch predictor cannot learn).
        take = np.int64(np.int64(((z >> np.uint64(32)) * np.uint64(n - i)) >> np.uint64(32)) < need)
        out[i] = take
        need -= take
        if i + 1 < n:
            take = np.int64(np.int64(((z & mask) * np.uint64(n - i - 1)) >> np.uint64(32)) < need)
            out[i + 1] = take
            need -= take
    return out


@njit(cache=True)
def _compose_two_blocks(
    member: npt.NDArray[np.uint8], first: int, state: np.uint64
) -> npt.NDArray[np.int32]:  # pragma: no cover
    n = member.shape[0]
    order0 = _splitmix_fisher_yates(first, state)
    order1 = _splitmix_fisher_yates(n - first, state ^ np.uint64(0x5851F42D4C957F2D))
    out = np.empty(n, dtype=np.int32)
    r0 = 0
    r1 = 0
    for i in range(n):
        if member[i] == 0:
            out[i] = order0[r0]
            r0 += 1
        else:
            out[i] = first + order1[r1]
            r1 += 1
    return out


def identity_permutation(n: int) -> npt.NDArray[np.int32]:
    """The identity permutation of ``n`` positions (``int32``)."""
    return np.arange(n, dtype=np.int32)


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


def _two_blocks(n: int, block_size: int | None) -> bool:
    return block_size is not None and block_size < n <= 2 * block_size


def pass_membership(n: int, seed: int, pass_index: int, block_size: int) -> npt.NDArray[np.uint8]:
    """Which of the two blocks each key bit falls in, for a pass whose blocks halve the key.

    Only for ``block_size < n <= 2 block_size``. Block 0 is a uniformly random subset of exactly
    ``block_size`` bits (selection sampling), so the block parities of such a pass cost one
    sequential sweep; the order inside each block (:func:`pass_permutation`) is drawn only when a
    search needs it. Membership and order together are a uniformly random permutation.
    """
    _check(n, seed, pass_index)
    if not _two_blocks(n, block_size):
        raise ParameterError(
            f"Argument 'block_size' must satisfy block_size < n <= 2 block_size, not {block_size}."
        )
    return _splitmix_select(n, n - block_size, _state(seed, pass_index))


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
        The pass's block size. When the blocks halve the key the permutation is drawn as
        :func:`pass_membership` followed by a uniform order inside each block (the same
        distribution, drawn in two steps so that the first is cheap).

    Returns
    -------
    ndarray of int32, shape (n,)
        ``position[i]`` is where key bit ``i`` sits in the shuffled key (a uniformly random
        permutation; its inverse says which key bit sits at each shuffled position).
    """
    _check(n, seed, pass_index)
    state = _state(seed, pass_index)
    if block_size is not None and _two_blocks(n, block_size):
        member = _splitmix_select(n, n - block_size, state)
        return _compose_two_blocks(member, block_size, state ^ np.uint64(0xA0761D6478BD642F))
    return _splitmix_fisher_yates(n, state)


def frame_seed(seed: int, frame: int) -> int:
    """The shuffle seed of frame ``frame`` of a key cut into independent frames.

    Frame 0 keeps ``seed`` (so a one-frame run shuffles exactly as :func:`pass_permutation`);
    frame ``f >= 1`` gets the SplitMix64 finaliser (Steele, Lea and Flood 2014) of
    ``seed + f * golden``, truncated to 63 bits: frame seeds must not be a fixed stride apart, since
    seeds a multiple of the golden-ratio increment apart give shifted copies of one stream.
    """
    if frame < 0:
        raise ParameterError(f"Argument 'frame' must be >= 0, not {frame}.")
    if frame == 0:
        return seed
    z = (seed + frame * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def _frame_lengths(n: int, frame_bits: int) -> list[int]:
    if not 1 <= frame_bits <= max(n, 1):
        raise ParameterError(f"Argument 'frame_bits' must be in [1, n = {n}], not {frame_bits}.")
    frames = -(-n // frame_bits)
    return [min(frame_bits, n - f * frame_bits) for f in range(frames)]


def framed_permutation(
    n: int, frame_bits: int, seed: int, pass_index: int, block_size: int | None = None
) -> npt.NDArray[np.int32]:
    """The public permutation of a key cut into frames of ``frame_bits`` bits (the last shorter).

    Each frame ``f`` (key bits ``[f L, f L + L_f)``) is shuffled within itself by
    :func:`pass_permutation` with seed :func:`frame_seed`, so positions never leave their frame.
    With one frame this is :func:`pass_permutation` itself.
    """
    _check(n, seed, pass_index)
    out = np.empty(n, dtype=np.int32)
    for f, length in enumerate(_frame_lengths(n, frame_bits)):
        lo = f * frame_bits
        size = block_size if block_size is not None and _two_blocks(length, block_size) else None
        out[lo : lo + length] = lo + pass_permutation(length, frame_seed(seed, f), pass_index, size)
    return out


def framed_membership(
    n: int, frame_bits: int, seed: int, pass_index: int, block_size: int
) -> npt.NDArray[np.uint8]:
    """:func:`pass_membership` of every frame (see :func:`framed_permutation`), concatenated.

    Every frame must satisfy ``block_size < L_f <= 2 block_size``.
    """
    _check(n, seed, pass_index)
    out = np.empty(n, dtype=np.uint8)
    for f, length in enumerate(_frame_lengths(n, frame_bits)):
        lo = f * frame_bits
        out[lo : lo + length] = pass_membership(length, frame_seed(seed, f), pass_index, block_size)
    return out


def frames_halve(n: int, frame_bits: int, block_size: int) -> bool:
    """Whether every frame's blocks of ``block_size`` halve it (two blocks per frame)."""
    return all(_two_blocks(length, block_size) for length in _frame_lengths(n, frame_bits))
