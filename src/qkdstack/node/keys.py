"""How a round's key is used: the pool's refill first, then fixed-size keys with random IDs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from qkdstack.node.messages import AUTH_BITS_PER_ROUND, KEY_SIZE_BITS
from qkdstack.node.pool import PAD_BYTES
from qkdstack.randomness import secret_key_id
from qkdstack.typing import BitArray

__all__ = ["KeySplit", "new_batch_id", "new_key_ids", "split_key"]


@dataclass(frozen=True)
class KeySplit:
    """A round's key cut into the pool's refill and the stored keys.

    Attributes
    ----------
    refill : bytes
        The first ``refill_bits`` of the key (a whole number of pads, at most one round's cost):
        they replace the pads the round consumed.
    keys : BitArray
        The bits stored, ``n_keys * KEY_SIZE_BITS`` of them; the remainder is discarded.
    """

    refill: bytes
    keys: BitArray
    refill_bits: int
    n_keys: int


def split_key(key: BitArray) -> KeySplit:
    """Split ``key`` (both sides do the same, so their pools and stores stay in step)."""
    n = int(key.shape[0])
    pad_bits = 8 * PAD_BYTES
    refill_bits = min(AUTH_BITS_PER_ROUND, n // pad_bits * pad_bits)
    n_keys = (n - refill_bits) // KEY_SIZE_BITS
    refill = np.packbits(key[:refill_bits]).tobytes()
    keys = key[refill_bits : refill_bits + n_keys * KEY_SIZE_BITS]
    return KeySplit(refill, keys, refill_bits, n_keys)


def new_batch_id() -> str:
    """A round's batch ID (128 bits from :mod:`secrets`)."""
    return secrets.token_hex(16)


def new_key_ids(count: int) -> list[str]:
    """Random UUID4 key IDs from :mod:`secrets`."""
    return [secret_key_id() for _ in range(count)]
