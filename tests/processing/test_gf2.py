"""Bit-packed GF(2) ranks against a plain unpacked elimination written here."""

from __future__ import annotations

import numpy as np
import pytest

from gf2_reference import plain_rank
from qkdstack.errors import ParameterError
from qkdstack.processing.gf2 import pack_index_rows, pack_rows, packed_rank


@pytest.mark.parametrize(
    ("r", "n", "density"),
    [
        (1, 1, 0.5),
        (5, 70, 0.5),
        (70, 5, 0.5),
        (64, 64, 0.5),
        (100, 130, 0.05),
        (200, 129, 0.3),
        (300, 300, 0.01),  # sparse: strips with few or no pivots
        (400, 700, 0.5),
        (700, 400, 0.5),
    ],
)
def test_packed_rank_matches_plain_elimination(r: int, n: int, density: float) -> None:
    rng = np.random.default_rng(r * 1000 + n)
    m = (rng.random((r, n)) < density).astype(np.uint8)
    # Make some rows dependent on purpose.
    if r > 3:
        m[-1] = m[0] ^ m[1]
        m[-2] = m[2]
    assert packed_rank(pack_rows(m), n) == plain_rank(m)


@pytest.mark.parametrize(("r", "k", "n"), [(300, 20, 200), (250, 90, 260), (120, 130, 70)])
def test_low_rank_products_match_plain_elimination(r: int, k: int, n: int) -> None:
    # A product of r x k and k x n random matrices over GF(2): rank at most k, many dependent
    # rows and pivot-free columns in most strips.
    rng = np.random.default_rng(r + k + n)
    a = rng.integers(0, 2, (r, k), dtype=np.int64)
    b = rng.integers(0, 2, (k, n), dtype=np.int64)
    product = ((a @ b) % 2).astype(np.uint8)
    assert packed_rank(pack_rows(product), n) == plain_rank(product) <= k


def test_index_rows_xor_repeated_pairs() -> None:
    packed = pack_index_rows(np.array([0, 0, 0, 1]), np.array([3, 3, 70, 1]), 2, 71)
    dense = np.zeros((2, 71), dtype=np.uint8)
    dense[0, 70] = dense[1, 1] = 1
    assert np.array_equal(packed, pack_rows(dense))


def test_misuse_is_named() -> None:
    with pytest.raises(ParameterError, match="'rows'"):
        packed_rank(np.zeros((2, 3), np.uint64), 64)
    with pytest.raises(ParameterError, match="'col'"):
        pack_index_rows(np.array([0]), np.array([9]), 1, 9)
