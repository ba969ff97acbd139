"""Compiled one-pass kernels over sorted pulse indices (detection records are sorted by pulse).

Each kernel equals a numpy expression the records and the post-processing used before, without its
temporaries, and in linear time where numpy's is :math:`O(m \\log n)`:

- :func:`locate_sorted` is ``numpy.searchsorted(haystack, needles)`` plus the check that every
  needle is present, as one merge of two sorted lists (Knuth, *TAOCP* Vol. 3, Sec. 5.2.4);
- :func:`is_strictly_increasing` is ``numpy.all(numpy.diff(a) > 0)``;
- :func:`positions_of` turns a selection mask into the sorted positions it keeps: indexing with
  them gives ``a[mask]`` several times faster when the mask is random (a sifting mask is: numpy's
  boolean indexing branches on every element);
- :func:`gate_time_tags_ps` is ``numpy.rint(index * period_ps).astype(numpy.int64)`` (the same
  IEEE-754 product and round-half-to-even, element by element).

Tests compare each with its numpy expression. Small inputs take the numpy path (no compiled code
to load for a handful of records).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from qkdstack.typing import IndexArray

__all__ = ["gate_time_tags_ps", "is_strictly_increasing", "locate_sorted", "positions_of"]


@numba.njit(cache=True, nogil=True)
def _merge_locate(
    haystack: IndexArray, needles: IndexArray, pos: IndexArray
) -> int:  # pragma: no cover
    """Fill ``pos`` with ``searchsorted(haystack, needles, 'left')``; return the needles found, or
    -1 if ``needles`` is not non-decreasing (the caller then searches instead)."""
    n = haystack.shape[0]
    j = 0
    found = 0
    prev = np.int64(-(2**62))
    for i in range(needles.shape[0]):
        x = needles[i]
        if x < prev:
            return -1
        prev = x
        while j < n and haystack[j] < x:
            j += 1
        pos[i] = j
        if j < n and haystack[j] == x:
            found += 1
    return found


@numba.njit(cache=True, nogil=True)
def _strictly_increasing(a: IndexArray) -> bool:  # pragma: no cover
    for i in range(1, a.shape[0]):
        if a[i] <= a[i - 1]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _time_tags(index: IndexArray, period_ps: float) -> IndexArray:  # pragma: no cover
    out = np.empty(index.shape[0], dtype=np.int64)
    for i in range(index.shape[0]):
        out[i] = np.int64(np.rint(np.float64(index[i]) * period_ps))
    return out


_COMPILED_FROM = 1 << 14
"""Below this many elements the numpy expression is used (no kernel to load)."""


def locate_sorted(haystack: IndexArray, needles: IndexArray) -> tuple[IndexArray, bool]:
    """Positions of ``needles`` in the increasing ``haystack``, and whether all are present.

    Parameters
    ----------
    haystack : ndarray of int64, shape (n,)
        Increasing.
    needles : ndarray of int64, shape (m,)
        Values to find (any order; increasing ones take the linear merge).

    Returns
    -------
    pos : ndarray of int64, shape (m,)
        ``numpy.searchsorted(haystack, needles)`` (side ``"left"``).
    all_found : bool
        Every needle equals ``haystack[pos]`` (an empty ``needles`` is all found).
    """
    haystack = np.ascontiguousarray(haystack, dtype=np.int64)
    needles = np.ascontiguousarray(needles, dtype=np.int64)
    if needles.shape[0] == haystack.shape[0] and np.array_equal(needles, haystack):
        # Every pulse of the list (a simulated link: Alice records just Bob's detections).
        return np.arange(needles.shape[0], dtype=np.int64), True
    if needles.shape[0] >= _COMPILED_FROM:
        pos = np.empty(needles.shape[0], dtype=np.int64)
        found = int(_merge_locate(haystack, needles, pos))
        if found >= 0:
            return pos, found == needles.shape[0]
    pos = np.searchsorted(haystack, needles).astype(np.int64, copy=False)
    if needles.shape[0] == 0:
        return pos, True
    if haystack.shape[0] == 0:
        return pos, False
    hit = (pos < haystack.shape[0]) & (haystack[np.minimum(pos, haystack.shape[0] - 1)] == needles)
    return pos, bool(np.all(hit))


def is_strictly_increasing(a: IndexArray) -> bool:
    """``numpy.all(numpy.diff(a) > 0)`` for a 1-D int64 array, in one pass without temporaries."""
    if a.shape[0] >= _COMPILED_FROM and a.dtype == np.int64:
        return bool(_strictly_increasing(np.ascontiguousarray(a)))
    return bool(np.all(np.diff(a) > 0))


def gate_time_tags_ps(index: IndexArray, period_ps: float) -> npt.NDArray[np.int64]:
    """Gate times ``rint(index * period_ps)`` in integer picoseconds (exact below 2**53 ps).

    An integer period (1000 ps at 1 GHz) takes the integer product: below 2**53 the float
    product is exact, so ``rint`` returns it unchanged, and the two agree.
    """
    period = float(period_ps)
    if index.shape[0] and period.is_integer() and 0 <= period < 2**31:
        top = max(int(index.max()), -int(index.min()))  # any order is allowed here
        if top * period < 2**53:
            return np.multiply(index, np.int64(period), dtype=np.int64)
    if index.shape[0] >= _COMPILED_FROM:
        return _time_tags(np.ascontiguousarray(index, dtype=np.int64), float(period_ps))
    return np.rint(index * period_ps).astype(np.int64)


def positions_of(mask: npt.NDArray[np.bool_], size: int | None = None) -> IndexArray:
    """The positions where ``mask`` holds, increasing: ``a[positions_of(mask)] == a[mask]``.

    Raises
    ------
    IndexError
        ``mask`` is not a 1-D boolean array (of length ``size`` when given), as boolean indexing
        would (a malformed message is refused the same way).
    """
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ or mask.ndim != 1 or (size is not None and mask.shape[0] != size):
        raise IndexError(
            f"a selection mask must be 1-D boolean of length {size}, not {mask.dtype} "
            f"of shape {mask.shape}"
        )
    return np.flatnonzero(mask).astype(np.int64, copy=False)
