"""Wegman-Carter authentication of classical messages with Poly1305 and one-time pads.

A message ``m`` gets the tag ``t = (h_r(m) + s_i) mod 2^128`` where ``h_r`` is the Poly1305 polynomial
hash evaluated at the secret point ``r`` modulo ``2^130 - 5``, and ``s_i`` is a fresh 128-bit one-time
pad taken from a pre-shared key pool, never reused. The hash key ``r`` may be reused for every
message because each tag is one-time padded (Wegman and Carter's construction). The forgery
probability of one attempt on a message of ``L`` bytes is at most ``8 * ceil(L/16) / 2**106``,
information-theoretically, whatever the adversary's computing power.

Each tag consumes 128 bits of shared secret key; in a running QKD link the pool is replenished from
the key the link produces (:meth:`WegmanCarterAuthenticator.replenish`).

References
----------
M. N. Wegman and J. L. Carter, "New hash functions and their use in authentication and set
equality", J. Comput. Syst. Sci. 22, 265 (1981).
D. J. Bernstein, "The Poly1305-AES message-authentication code", FSE 2005, Theorem 3.3.
"""

from __future__ import annotations

import hmac
import math
import struct

from cryptography.hazmat.primitives.poly1305 import Poly1305

from qkdstack.errors import AuthenticationError, ParameterError

__all__ = ["TAG_BYTES", "TranscriptHash", "WegmanCarterAuthenticator", "forgery_probability"]

TAG_BYTES = 16
_R_BYTES = 16


def forgery_probability(message_bytes: int) -> float:
    """Upper bound on one forgery attempt's success: ``8 * ceil(L/16) / 2**106`` (Bernstein 2005)."""
    if message_bytes < 0:
        raise ParameterError(f"Argument 'message_bytes' must be >= 0, not {message_bytes}.")
    return 8.0 * math.ceil(max(message_bytes, 1) / 16) / 2.0**106


class WegmanCarterAuthenticator:
    """One party's copy of the pre-shared authentication key and its consumption state.

    Parameters
    ----------
    shared_key : bytes
        The pre-shared secret: 16 bytes of Poly1305 hash key ``r`` followed by the one-time-pad pool
        (a multiple of 16 bytes). Alice and Bob each hold an identical copy.

    Notes
    -----
    Both parties consume pads in the same order (one per message, in the order messages are sent on
    the channel), so their pools stay in step without coordination.
    """

    def __init__(self, shared_key: bytes) -> None:
        if len(shared_key) < _R_BYTES + TAG_BYTES or (len(shared_key) - _R_BYTES) % TAG_BYTES:
            raise ParameterError(
                "Argument 'shared_key' must be 16 bytes of hash key plus a positive multiple of "
                f"16 bytes of pads, not {len(shared_key)} bytes."
            )
        self._r = bytes(shared_key[:_R_BYTES])
        self._pads = bytearray(shared_key[_R_BYTES:])
        self._position = 0
        self.tags_made = 0

    @property
    def key_bits_used(self) -> int:
        """Secret key bits consumed so far (128 per tag)."""
        return 8 * self._position

    @property
    def pads_left(self) -> int:
        """How many more messages can be authenticated before the pool must be replenished."""
        return (len(self._pads) - self._position) // TAG_BYTES

    def replenish(self, key_material: bytes) -> None:
        """Append fresh shared key (for example from the link's own output) to the pad pool."""
        if len(key_material) % TAG_BYTES:
            raise ParameterError(
                f"Argument 'key_material' must be a multiple of 16 bytes, not {len(key_material)}."
            )
        self._pads.extend(key_material)

    def _next_pad(self) -> bytes:
        if self._position + TAG_BYTES > len(self._pads):
            raise AuthenticationError(
                "authentication key pool is exhausted", stage="authentication"
            )
        pad = bytes(self._pads[self._position : self._position + TAG_BYTES])
        # Wipe the used pad so it can never be reused, even by mistake.
        self._pads[self._position : self._position + TAG_BYTES] = bytes(TAG_BYTES)
        self._position += TAG_BYTES
        return pad

    def start_transcript(self) -> TranscriptHash:
        """A fresh :class:`TranscriptHash` under this party's hash key ``r`` (consumes no pad)."""
        return TranscriptHash(self._r)

    def transcript_tag(self, transcript: TranscriptHash) -> bytes:
        """Tag a whole transcript: ``(h_r(T) + s) mod 2^128`` with a fresh pad ``s``.

        The same value as :meth:`tag` on the transcript's framed bytes (:class:`TranscriptHash`),
        computed incrementally; consumes one 128-bit pad.
        """
        pad = int.from_bytes(self._next_pad(), "little")
        self.tags_made += 1
        return ((transcript.digest() + pad) % 2**128).to_bytes(TAG_BYTES, "little")

    def tag(self, data: bytes) -> bytes:
        """Tag ``data``, consuming one 128-bit pad."""
        pad = self._next_pad()
        self.tags_made += 1
        return Poly1305.generate_tag(self._r + pad, data)

    def verify(self, data: bytes, tag: bytes) -> None:
        """Check ``tag`` on ``data`` in constant time, consuming one pad; raise on mismatch."""
        expected = self.tag(data)
        if not hmac.compare_digest(expected, tag):
            raise AuthenticationError(
                "classical message failed authentication", stage="authentication"
            )


_FRAME_HEAD = struct.Struct("<BQ")
"""A transcript frame's head: sender (1 byte), payload length (8 bytes, little-endian)."""
_JOIN_BYTES = 1 << 12
"""Payloads up to this size are framed by one concatenation (cheaper than a second update)."""


class TranscriptHash:
    """The Poly1305 polynomial hash ``h_r`` of a message transcript, fed message by message.

    Each message enters framed as ``sender (1 byte) | length (8 bytes, little-endian) | payload``,
    so two different transcripts never frame to the same bytes. :meth:`digest` is
    ``h_r(framed) mod 2^128`` (Poly1305 with a zero pad); :meth:`WegmanCarterAuthenticator.transcript_tag`
    adds a fresh one-time pad to it. Tagging a stage's whole transcript once in each direction,
    instead of every message, is the "ping-pong" authenticity check of Kiktenko et al.: the
    parties act on messages before they are authenticated but output nothing until both tags
    have checked, and one failed check discards the round's key.

    References
    ----------
    E. O. Kiktenko et al., "Lightweight authentication for quantum key distribution",
    IEEE Trans. Inf. Theory 66, 6354 (2020), arXiv:1903.10237.
    """

    def __init__(self, r: bytes) -> None:
        self._poly = Poly1305(bytes(r) + bytes(TAG_BYTES))
        self._digest: int | None = None
        self.messages = 0
        self.framed_bytes = 0

    def add(self, sender: int, payload: bytes) -> None:
        """Append one message sent by ``sender`` (0 or 1) to the transcript."""
        if self._digest is not None:
            raise AuthenticationError("transcript already tagged", stage="authentication")
        head = _FRAME_HEAD.pack(sender, len(payload))
        if len(payload) <= _JOIN_BYTES:  # one update (the hash of the concatenation either way)
            self._poly.update(head + payload)
        else:
            self._poly.update(head)
            self._poly.update(payload)
        self.messages += 1
        self.framed_bytes += 9 + len(payload)

    def digest(self) -> int:
        """``h_r`` of the transcript so far, as an integer below 2^128; closes the transcript."""
        if self._digest is None:
            self._digest = int.from_bytes(self._poly.finalize(), "little")
        return self._digest
