from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import VerificationFailed
from qkdstack.processing.verification import collision_probability, compare_tags, verification_tag


def test_single_flipped_bit_is_caught_everywhere() -> None:
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2, 10_000, dtype=np.uint8)
    hash_key = rng.bytes(16)
    tag = verification_tag(key, hash_key)
    for pos in rng.choice(key.size, 50, replace=False):
        other = key.copy()
        other[pos] ^= 1
        with pytest.raises(VerificationFailed):
            compare_tags(tag, verification_tag(other, hash_key))
    compare_tags(tag, verification_tag(key.copy(), hash_key))


def test_length_is_part_of_the_hash() -> None:
    key = np.zeros(64, dtype=np.uint8)
    hk = bytes(range(16))
    assert verification_tag(key, hk) != verification_tag(np.zeros(65, dtype=np.uint8), hk)


def test_epsilon_cor_bound_is_small() -> None:
    # 8 ceil(L/16) / 2^106 for a 10^6-bit key (125,008 bytes with the length prefix).
    assert collision_probability(10**6) == pytest.approx(8 * 7813 / 2**106)
    assert collision_probability(10**6) < 1e-12
