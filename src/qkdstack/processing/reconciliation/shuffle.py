"""Public shuffles: the random permutations that Cascade applies to the key before each pass.

Both parties must apply the same permutation, so it is derived deterministically from a public seed
and the pass index. The permutation carries no information about the key; it only spreads the
errors left after one pass uniformly over the blocks of the next (Brassard and Salvail 1993, Sec. 4).

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994), Sec. 4.
R. A. Fisher and F. Yates, "Statistical tables" (1938); D. E. Knuth, TAOCP vol. 2, Algorithm 3.4.2P.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError

__all__ = ["identity_permutation", "pass_permutation"]

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


def identity_permutation(n: int) -> npt.NDArray[np.int32]:
    """The identity permutation of ``n`` positions (``int32``)."""
    return np.arange(n, dtype=np.int32)


def pass_permutation(n: int, seed: int, pass_index: int) -> npt.NDArray[np.int32]:
    """The public permutation of ``n`` key positions used in pass ``pass_index``.

    Parameters
    ----------
    n : int
        Key length in bits (``< 2^31``).
    seed : int
        Public shuffle seed agreed in ``ec.start`` (``0 <= seed < 2^63``).
    pass_index : int
        Zero-based pass (or BICONF round) number; each gets an independent permutation.

    Returns
    -------
    ndarray of int32, shape (n,)
        ``perm[j]`` is the key position placed at position ``j`` of the shuffled key.
    """
    if not 0 <= n < 2**31:
        raise ParameterError(f"Argument 'n' must be in [0, 2^31), not {n}.")
    if not 0 <= seed < 2**63:
        raise ParameterError(f"Argument 'seed' must be in [0, 2^63), not {seed}.")
    if pass_index < 0:
        raise ParameterError(f"Argument 'pass_index' must be >= 0, not {pass_index}.")
    # Mix seed and pass into one 64-bit state (golden-ratio multiplier keeps passes apart).
    state = (seed * 0x9E3779B97F4A7C15 + (pass_index + 1) * 0xD1B54A32D192ED03) & _MASK64
    return _splitmix_fisher_yates(n, np.uint64(state))
