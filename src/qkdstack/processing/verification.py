"""Verification: do Alice and Bob hold the same key after error correction?

Both parties hash their corrected key with a hash function drawn at random from an almost-universal
family and compare the tags. We use the Poly1305 polynomial hash: the key, packed into bytes, is cut
into 16-byte blocks ``c_1..c_q`` (each with a 1 appended), and ``h_r(k) = (c_1 r^q + ... + c_q r)
mod (2^130 - 5)`` truncated to 128 bits, at a random point ``r``. Two different keys of ``L`` bytes
collide with probability at most ``8 * ceil(L/16) / 2^106`` over the choice of ``r`` (Bernstein 2005,
Theorem 3.3), which is the ``epsilon_cor`` this step guarantees. The 128-bit tag crosses the channel
and is counted as disclosed.

References
----------
J. L. Carter and M. N. Wegman, "Universal classes of hash functions", J. Comput. Syst. Sci. 18, 143
(1979).
D. J. Bernstein, "The Poly1305-AES message-authentication code", FSE 2005, Theorem 3.3.
M. Tomamichel, C. C. W. Lim, N. Gisin, R. Renner, Nat. Commun. 3, 634 (2012): correctness via hashing.
"""

from __future__ import annotations

import hmac
import math

import numpy as np
from cryptography.hazmat.primitives.poly1305 import Poly1305

from qkdstack.errors import ParameterError, VerificationFailed
from qkdstack.typing import BitArray

__all__ = [
    "HASH_KEY_BYTES",
    "TAG_BITS",
    "collision_probability",
    "compare_tags",
    "verification_tag",
]

HASH_KEY_BYTES = 16
TAG_BITS = 128


def collision_probability(key_bits: int) -> float:
    """``epsilon_cor`` of one verification of a ``key_bits``-bit key: ``8 ceil(L/16) / 2^106``."""
    if key_bits < 0:
        raise ParameterError(f"Argument 'key_bits' must be >= 0, not {key_bits}.")
    n_bytes = (key_bits + 7) // 8 + 8  # the length prefix below adds 8 bytes
    return 8.0 * math.ceil(n_bytes / 16) / 2.0**106


def verification_tag(key: BitArray, hash_key: bytes) -> bytes:
    """128-bit Poly1305 hash of ``key`` (bits) at the point given by ``hash_key`` (16 bytes).

    The key's bit length is hashed too, so keys that differ only by trailing zeros differ.
    """
    if len(hash_key) != HASH_KEY_BYTES:
        raise ParameterError(
            f"Argument 'hash_key' must be {HASH_KEY_BYTES} bytes, not {len(hash_key)}."
        )
    data = int(key.shape[0]).to_bytes(8, "little") + np.packbits(key).tobytes()
    # A zero one-time part (s = 0) leaves the pure polynomial hash h_r.
    return Poly1305.generate_tag(hash_key + bytes(16), data)


def compare_tags(mine: bytes, theirs: bytes) -> None:
    """Compare two tags in constant time; raise :class:`VerificationFailed` when they differ."""
    if not hmac.compare_digest(mine, theirs):
        raise VerificationFailed(
            "verification hashes differ: the corrected keys are not identical", stage="verification"
        )
