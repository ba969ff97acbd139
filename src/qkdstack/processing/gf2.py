"""Linear algebra over GF(2) on bit-packed rows: the rank of a set of parity functionals.

A row of ``n`` bits is stored in ``ceil(n / 64)`` ``uint64`` words, bit ``j`` of the row in bit
``j % 64`` of word ``j // 64``. :func:`packed_rank` brings a matrix to row-echelon form by Gaussian
elimination (one pivot per column, XOR of whole words below it), compiled with numba: the cost is
about ``rank x rows x words / 2`` word operations.

References
----------
G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed. (2013), Sec. 3.2 (Gaussian
elimination; over GF(2) addition is XOR and every nonzero pivot is 1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError
from qkdstack.processing.reconciliation.shuffle import popcount64

__all__ = ["RowBasis", "pack_index_rows", "pack_rows", "packed_rank", "words_for"]

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


@njit(cache=True)
def _rank_in_place(m: PackedRows, n_cols: int) -> int:  # pragma: no cover - compiled
    n_rows, n_words = m.shape
    rank = 0
    for c in range(n_cols):
        if rank == n_rows:
            break
        word = c >> 6
        bit = np.uint64(1) << np.uint64(c & 63)
        pivot = -1
        for r in range(rank, n_rows):
            if m[r, word] & bit:
                pivot = r
                break
        if pivot < 0:
            continue
        if pivot != rank:
            for k in range(word, n_words):
                tmp = m[pivot, k]
                m[pivot, k] = m[rank, k]
                m[rank, k] = tmp
        for r in range(rank + 1, n_rows):
            if m[r, word] & bit:
                for k in range(word, n_words):
                    m[r, k] ^= m[rank, k]
        rank += 1
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
    return int(_rank_in_place(np.ascontiguousarray(rows, dtype=np.uint64).copy(), n_cols))


@njit(cache=True)
def _insert(
    basis: PackedRows, pivot_of: npt.NDArray[np.int64], rank: int, rows: PackedRows
) -> int:  # pragma: no cover - compiled
    """Reduce each of ``rows`` by the echelon ``basis`` (row ``pivot_of[c]`` has its lowest set
    bit at column ``c``); a row that does not vanish joins it. Returns the new rank."""
    n_words = rows.shape[1]
    row = np.empty(n_words, dtype=np.uint64)
    for i in range(rows.shape[0]):
        for k in range(n_words):
            row[k] = rows[i, k]
        w = 0
        while w < n_words:
            x = row[w]
            if x == 0:
                w += 1
                continue
            low = x & (~x + np.uint64(1))
            c = w * 64 + popcount64(low - np.uint64(1))
            p = pivot_of[c]
            if p < 0:
                for k in range(n_words):
                    basis[rank, k] = row[k]
                pivot_of[c] = rank
                rank += 1
                break
            for k in range(w, n_words):
                row[k] ^= basis[p, k]
    return rank


class RowBasis:
    """An echelon basis of a growing set of packed rows: the rank after each batch inserted.

    Parameters
    ----------
    n_cols : int
        Columns of the rows.
    capacity : int
        Most rows the basis may hold (at most ``n_cols`` are ever independent).
    """

    def __init__(self, n_cols: int, capacity: int) -> None:
        self.n_cols = n_cols
        self._basis = np.zeros((max(0, min(capacity, n_cols)), words_for(n_cols)), np.uint64)
        self._pivot_of = np.full(max(1, n_cols), -1, dtype=np.int64)
        self.rank = 0

    def insert(self, rows: PackedRows) -> int:
        """Insert ``rows`` (shape ``(r, words_for(n_cols))``); return the rank of all so far."""
        if rows.ndim != 2 or rows.shape[1] != words_for(self.n_cols):
            raise ParameterError(
                f"Argument 'rows' must have shape (r, {words_for(self.n_cols)}), not {rows.shape}."
            )
        if rows.shape[0] and self.n_cols:
            if self._basis.shape[0] < min(self.n_cols, self.rank + rows.shape[0]):
                grown = np.zeros(
                    (min(self.n_cols, self.rank + rows.shape[0]), self._basis.shape[1]), np.uint64
                )
                grown[: self.rank] = self._basis[: self.rank]
                self._basis = grown
            self.rank = int(
                _insert(self._basis, self._pivot_of, self.rank, np.ascontiguousarray(rows))
            )
        return self.rank
