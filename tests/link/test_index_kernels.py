"""The compiled index kernels equal the numpy expressions they replace (random sizes, both sides
of the compiled threshold, absent and duplicate needles)."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.link import index_kernels as ik


@pytest.mark.parametrize("n", [0, 1, 5, ik._COMPILED_FROM - 1, ik._COMPILED_FROM, 100_003])
def test_locate_sorted_equals_searchsorted(n: int) -> None:
    rng = np.random.default_rng(n)
    hay = np.cumsum(rng.integers(1, 5, n)).astype(np.int64)
    for needles in (
        hay.copy(),  # every pulse (a simulated link: Alice lists exactly Bob's detections)
        np.sort(rng.choice(hay, size=n // 2, replace=False)) if n else hay[:0],
        np.sort(rng.integers(-3, int(hay[-1]) + 5 if n else 5, max(n, 3))),  # misses, repeats
        rng.integers(0, 100, max(n, 3)),  # unsorted: the search path
    ):
        needles = needles.astype(np.int64)
        pos, all_found = ik.locate_sorted(hay, needles)
        expected = np.searchsorted(hay, needles)
        np.testing.assert_array_equal(pos, expected)
        present = np.isin(needles, hay)
        assert all_found == bool(present.all())


def test_locate_sorted_on_an_empty_haystack() -> None:
    big = np.arange(ik._COMPILED_FROM, dtype=np.int64)
    pos, ok = ik.locate_sorted(np.zeros(0, np.int64), big)
    assert not ok and not pos.any()
    assert ik.locate_sorted(big, np.zeros(0, np.int64))[1]


@pytest.mark.parametrize("n", [2, ik._COMPILED_FROM + 7])
def test_is_strictly_increasing(n: int) -> None:
    a = np.arange(0, 3 * n, 3, dtype=np.int64)
    assert ik.is_strictly_increasing(a)
    for where in (1, n // 2, n - 1):
        b = a.copy()
        b[where] = b[where - 1]  # a repeat
        assert not ik.is_strictly_increasing(b)
        b[where] = b[where - 1] - 1  # a step back
        assert not ik.is_strictly_increasing(b)


@pytest.mark.parametrize("period_ps", [1000.0, 1e12 / 1.25e9, 1e12 / 3e9, 333.3333333])
def test_gate_time_tags_equal_numpy(period_ps: float) -> None:
    rng = np.random.default_rng(1)
    index = np.sort(rng.integers(0, 10**15 // 1000, 3 * ik._COMPILED_FROM)).astype(np.int64)
    index[:4] = [0, 1, 2, 3]
    expected = np.rint(index * period_ps).astype(np.int64)
    np.testing.assert_array_equal(ik.gate_time_tags_ps(index, period_ps), expected)
    np.testing.assert_array_equal(ik.gate_time_tags_ps(index[:10], period_ps), expected[:10])


@pytest.mark.parametrize("top", [2**53 // 1000 - 1, 2**53 // 1000 + 10**6])
def test_integer_periods_take_the_integer_product_only_while_it_is_exact(top: int) -> None:
    # Below 2**53 ps the integer product equals rint of the float one; above, the float path
    # (what rint(index * period) gives there) is kept.
    index = np.sort(np.random.default_rng(3).integers(0, top, 3 * ik._COMPILED_FROM))
    index[-1] = top
    expected = np.rint(index * 1000.0).astype(np.int64)
    np.testing.assert_array_equal(ik.gate_time_tags_ps(index.astype(np.int64), 1000.0), expected)


def test_positions_of_equals_boolean_indexing() -> None:
    rng = np.random.default_rng(2)
    mask = rng.random(10_001) < 0.5
    a = rng.integers(0, 255, 10_001).astype(np.uint8)
    np.testing.assert_array_equal(a[ik.positions_of(mask, 10_001)], a[mask])
    with pytest.raises(IndexError):
        ik.positions_of(mask, 10_000)  # a mask of the wrong length, as boolean indexing refuses
    with pytest.raises(IndexError):
        ik.positions_of(mask.astype(np.uint8))
