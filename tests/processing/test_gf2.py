"""Bit-packed GF(2) ranks against a plain unpacked elimination written here."""

from __future__ import annotations

import numpy as np
import pytest

from gf2_reference import plain_rank
from qkdstack.errors import ParameterError
from qkdstack.processing.gf2 import RowBasis, pack_index_rows, pack_rows, packed_rank


@pytest.mark.parametrize(
    ("r", "n", "density"),
    [(1, 1, 0.5), (5, 70, 0.5), (70, 5, 0.5), (64, 64, 0.5), (100, 130, 0.05), (200, 129, 0.3)],
)
def test_packed_rank_matches_plain_elimination(r: int, n: int, density: float) -> None:
    rng = np.random.default_rng(r * 1000 + n)
    m = (rng.random((r, n)) < density).astype(np.uint8)
    # Make some rows dependent on purpose.
    if r > 3:
        m[-1] = m[0] ^ m[1]
        m[-2] = m[2]
    assert packed_rank(pack_rows(m), n) == plain_rank(m)


def test_row_basis_gives_the_rank_of_every_prefix() -> None:
    rng = np.random.default_rng(3)
    m = (rng.random((150, 100)) < 0.2).astype(np.uint8)
    m[120:] = m[:30] ^ m[30:60]  # dependent tail
    basis = RowBasis(100, 150)
    for lo, hi in ((0, 40), (40, 90), (90, 150)):
        assert basis.insert(pack_rows(m[lo:hi])) == plain_rank(m[:hi])


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
