"""A plain GF(2) rank, one bit per byte, written independently of ``qkdstack.processing.gf2``
(the reference the packed kernels and Eve's knowledge are checked against)."""

from __future__ import annotations

import numpy as np


def plain_rank(matrix: np.ndarray) -> int:
    """Gaussian elimination on an unpacked 0/1 matrix, one bit per byte (independent)."""
    a = (np.array(matrix, dtype=np.uint8) & 1).copy()
    rank = 0
    for c in range(a.shape[1]):
        rows = np.flatnonzero(a[rank:, c]) + rank
        if rows.size == 0:
            continue
        p = rows[0]
        a[[rank, p]] = a[[p, rank]]
        others = np.flatnonzero(a[:, c])
        others = others[others != rank]
        a[others] ^= a[rank]
        rank += 1
        if rank == a.shape[0]:
            break
    return rank
