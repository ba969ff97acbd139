from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.poly1305 import Poly1305

from qkdstack.errors import AuthenticationError, ParameterError
from qkdstack.processing.authentication import WegmanCarterAuthenticator, forgery_probability

P1305 = (1 << 130) - 5


def _poly1305_reference(key: bytes, msg: bytes) -> bytes:
    """Poly1305 written from RFC 8439, Sec. 2.5.1, independently of the library."""
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i : i + 16] + b"\x01"
        acc = ((acc + int.from_bytes(block, "little")) * r) % P1305
    return ((acc + s) % (1 << 128)).to_bytes(16, "little")


def test_rfc8439_vector_and_reference() -> None:
    # RFC 8439, Sec. 2.5.2 test vector.
    key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    msg = b"Cryptographic Forum Research Group"
    assert Poly1305.generate_tag(key, msg).hex() == "a8061dc1305136c6c22b8baf0c0127a9"
    assert _poly1305_reference(key, msg).hex() == "a8061dc1305136c6c22b8baf0c0127a9"


def test_tags_are_one_time_padded_and_verify() -> None:
    key = bytes(range(16)) + bytes(range(100, 132))
    alice, bob = WegmanCarterAuthenticator(key), WegmanCarterAuthenticator(key)
    t1 = alice.tag(b"hello")
    t2 = alice.tag(b"hello")
    assert t1 != t2  # fresh pad each time
    assert t1 == _poly1305_reference(key[:16] + key[16:32], b"hello")
    bob.verify(b"hello", t1)
    bob.verify(b"hello", t2)
    assert alice.pads_left == 0 and bob.key_bits_used == 256


def test_wrong_tag_raises_and_pool_exhaustion_raises() -> None:
    key = bytes(range(16)) + bytes(range(32))
    alice, bob = WegmanCarterAuthenticator(key), WegmanCarterAuthenticator(key)
    tag = alice.tag(b"m")
    with pytest.raises(AuthenticationError):
        bob.verify(b"M", tag)
    alice.tag(b"second")
    with pytest.raises(AuthenticationError, match="exhausted"):
        alice.tag(b"again")
    alice.replenish(bytes(16))
    alice.tag(b"again")


def test_bad_key_sizes() -> None:
    with pytest.raises(ParameterError, match="shared_key"):
        WegmanCarterAuthenticator(bytes(20))


def test_forgery_bound() -> None:
    assert forgery_probability(16) == 8 / 2**106
    assert forgery_probability(17) == 16 / 2**106


def test_transcript_tag_is_poly1305_of_the_framed_transcript() -> None:
    """The incremental transcript tag equals Poly1305 (r, next pad) of the framed transcript."""
    rng = random.Random(8)
    shared = rng.randbytes(16 + 16 * 4)
    auth = WegmanCarterAuthenticator(shared)
    messages = [(0, rng.randbytes(37)), (1, b""), (0, rng.randbytes(1000)), (1, rng.randbytes(16))]
    transcript = auth.start_transcript()
    for sender, payload in messages:
        transcript.add(sender, payload)
    framed = b"".join(bytes((s,)) + len(p).to_bytes(8, "little") + p for s, p in messages)
    r = shared[:16]
    first = auth.transcript_tag(transcript)
    assert first == _poly1305_reference(r + shared[16:32], framed)
    # A second tag of the same transcript takes the next pad: two pads consumed in all.
    assert auth.transcript_tag(transcript) == _poly1305_reference(r + shared[32:48], framed)
    assert auth.key_bits_used == 256 and transcript.messages == 4
    with pytest.raises(AuthenticationError):
        transcript.add(0, b"late")  # a tagged transcript is closed
    # Moving a byte from one message into the next changes the framing, hence the tag.
    other = WegmanCarterAuthenticator(shared).start_transcript()
    other.add(0, messages[0][1][:-1])
    other.add(0, messages[0][1][-1:])
    for sender, payload in messages[1:]:
        other.add(sender, payload)
    assert WegmanCarterAuthenticator(shared).transcript_tag(other) != first


def test_transcript_framing_is_the_same_for_small_and_large_payloads() -> None:
    """Small payloads are framed by one concatenation, large ones by two updates: the tag is
    Poly1305 of the framed transcript either way."""
    rng = random.Random(9)
    shared = rng.randbytes(16 + 16)
    auth = WegmanCarterAuthenticator(shared)
    messages = [(1, rng.randbytes(4096)), (0, rng.randbytes(4097)), (1, rng.randbytes(70_001))]
    transcript = auth.start_transcript()
    for sender, payload in messages:
        transcript.add(sender, payload)
    framed = b"".join(bytes((s,)) + len(p).to_bytes(8, "little") + p for s, p in messages)
    assert auth.transcript_tag(transcript) == _poly1305_reference(shared, framed)
