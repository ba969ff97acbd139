"""Linear algebra over GF(2) on bit-packed rows: the rank of a set of parity functionals.

A row of ``n`` bits is stored in ``ceil(n / 64)`` ``uint64`` words, bit ``j`` of the row in bit
``j % 64`` of word ``j // 64``. :func:`packed_rank` brings a matrix to row-echelon form by Gaussian
elimination with the Method of Four Russians, compiled with numba: columns are taken eight at a
time, and the rows below a strip's pivots are cleared with one XOR of a precomputed combination of
them, so the cost is about ``rank x rows x words / 8`` word operations instead of ``/ 2``.

References
----------
G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed. (2013), Sec. 3.2 (Gaussian
elimination; over GF(2) addition is XOR and every nonzero pivot is 1).
G. V. Bard, "Accelerating cryptanalysis with the Method of Four Russians", IACR ePrint 2006/251
(M4RI).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError

__all__ = ["pack_index_rows", "pack_rows", "packed_rank", "words_for"]

PackedRows = npt.NDArray[np.uint64]


def words_for(n_cols: int) -> int:
    """Words per packed row of ``n_cols`` bits."""
    return max(1, (n_cols + 63) // 64)


def pack_rows(rows: npt.NDArray[np.uint8]) -> PackedRows:
    """Pack a ``(r, n)`` 0/1 ``uint8`` matrix into ``(r, words_for(n))`` ``uint64`` words."""
    if rows.ndim != 2:
        raise ParameterError(f"Argument 'rows' must be 2-D, not {rows.ndim}-D.")
    r, n = rows.shape
    w = words_for(n)
    padded = np.zeros((r, 64 * w), dtype=np.uint8)
    padded[:, :n] = rows & 1
    return np.packbits(padded, axis=1, bitorder="little").view(np.uint64).reshape(r, w).copy()


def pack_index_rows(
    row_of: npt.NDArray[np.int64], col: npt.NDArray[np.int64], n_rows: int, n_cols: int
) -> PackedRows:
    """Pack sparse rows given as (row, column) pairs; a pair listed twice cancels (XOR)."""
    if row_of.shape != col.shape:
        raise ParameterError("Arguments 'row_of' and 'col' must have the same shape.")
    if col.size and (col.min() < 0 or col.max() >= n_cols):
        raise ParameterError(f"Argument 'col' must be in [0, {n_cols}).")
    out = np.zeros((n_rows, words_for(n_cols)), dtype=np.uint64)
    _xor_bits(out, row_of.astype(np.int64), col.astype(np.int64))
    return out


@njit(cache=True)
def _xor_bits(
    out: PackedRows, row_of: npt.NDArray[np.int64], col: npt.NDArray[np.int64]
) -> None:  # pragma: no cover - compiled
    for k in range(row_of.shape[0]):
        c = col[k]
        out[row_of[k], c >> 6] ^= np.uint64(1) << np.uint64(c & 63)


_STRIP = 8  # columns per Four-Russians strip (a table of 2^8 row combinations)


@njit(cache=True)
def _rank_m4ri(m: PackedRows, n_cols: int) -> int:  # pragma: no cover - compiled
    """Row-echelon rank by the Method of Four Russians (Bard 2007, M4RI), strips of 8 columns.

    For each strip, up to 8 pivot rows are found (candidates are reduced on the strip's bits
    only, lazily; a chosen row is reduced in full), kept reduced among themselves on their pivot
    columns, and every row below is then cleared on the strip with one XOR of a precomputed
    combination of the pivot rows (a table of 2^p entries), instead of one XOR per pivot.
    """
    n_rows, n_words = m.shape
    table = np.zeros((1 << _STRIP, n_words), dtype=np.uint64)
    piv_col = np.zeros(_STRIP, dtype=np.int64)
    rank = 0
    for col in range(0, n_cols, _STRIP):
        if rank == n_rows:
            break
        word = col >> 6
        found = 0
        for j in range(col, min(col + _STRIP, n_cols)):
            bit = np.uint64(1) << np.uint64(j & 63)
            pivot = -1
            for i in range(rank + found, n_rows):
                x = m[i, word]
                for t in range(found):  # reduce the candidate's word by the strip's pivots
                    if x & (np.uint64(1) << np.uint64(piv_col[t] & 63)):
                        x ^= m[rank + t, word]
                if x & bit:
                    pivot = i
                    break
            if pivot < 0:
                continue
            for t in range(found):  # reduce the chosen row in full
                if m[pivot, word] & (np.uint64(1) << np.uint64(piv_col[t] & 63)):
                    for k in range(word, n_words):
                        m[pivot, k] ^= m[rank + t, k]
            target = rank + found
            if pivot != target:
                for k in range(word, n_words):
                    tmp = m[pivot, k]
                    m[pivot, k] = m[target, k]
                    m[target, k] = tmp
            for t in range(found):  # keep the pivot rows reduced on each other's pivot columns
                if m[rank + t, word] & bit:
                    for k in range(word, n_words):
                        m[rank + t, k] ^= m[target, k]
            piv_col[found] = j
            found += 1
        if found == 0:
            continue
        for k in range(word, n_words):
            table[0, k] = 0
        for s in range(1, 1 << found):
            low = s & -s
            t = 0
            while (1 << t) != low:
                t += 1
            for k in range(word, n_words):
                table[s, k] = table[s ^ low, k] ^ m[rank + t, k]
        for i in range(rank + found, n_rows):
            x = m[i, word]
            mask = 0
            for t in range(found):
                if x & (np.uint64(1) << np.uint64(piv_col[t] & 63)):
                    mask |= 1 << t
            if mask:
                for k in range(word, n_words):
                    m[i, k] ^= table[mask, k]
        rank += found
    return rank


def packed_rank(rows: PackedRows, n_cols: int) -> int:
    """Rank over GF(2) of packed rows (the input is not modified).

    Parameters
    ----------
    rows : ndarray of uint64, shape (r, words_for(n_cols))
    n_cols : int
        Number of meaningful columns (bits beyond it must be zero).
    """
    if rows.ndim != 2 or rows.shape[1] != words_for(n_cols):
        raise ParameterError(
            f"Argument 'rows' must have shape (r, {words_for(n_cols)}), not {rows.shape}."
        )
    if rows.shape[0] == 0 or n_cols == 0:
        return 0
    return int(_rank_m4ri(np.ascontiguousarray(rows, dtype=np.uint64).copy(), n_cols))
