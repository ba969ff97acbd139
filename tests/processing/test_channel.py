from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel, Message, decode_message, encode_message
from qkdstack.typing import Role


def test_encode_decode_round_trip_copies_arrays() -> None:
    arr = np.arange(10, dtype=np.int64)
    bits = np.array([0, 1, 1, 0], dtype=np.uint8)
    msg = Message(
        "x", public={"a": arr, "n": 3, "s": "hi", "b": b"\x01\x02"}, disclosed={"p": bits}
    )
    back = decode_message(encode_message(msg))
    assert back.kind == "x"
    assert np.array_equal(back.public["a"], arr) and back.public["a"] is not arr
    assert back.public["n"] == 3 and back.public["s"] == "hi" and back.public["b"] == b"\x01\x02"
    assert np.array_equal(back.disclosed["p"], bits)
    assert back.disclosed_bits() == 4


def test_disclosed_scalar_is_rejected() -> None:
    with pytest.raises(ParameterError, match="'q'"):
        encode_message(Message("x", disclosed={"q": 3}))


def test_garbage_is_rejected() -> None:
    with pytest.raises(ProtocolAbort):
        decode_message(b"\x05\x00\x00\x00{bad")


def _echo(msg: Message) -> Message:
    return Message("reply", disclosed={"bits": np.ones(7, dtype=np.uint8)})


def test_channel_counts_disclosed_bits_per_stage_and_direction() -> None:
    ch = ClassicalChannel(_echo)
    with ch.in_stage("reconciliation"):
        ch.ask(Message("q", disclosed={"bits": np.zeros(5, dtype=np.uint8)}))
        ch.ask(Message("q"))
    assert ch.stats.round_trips == 2
    assert ch.stats.disclosed_bits["reconciliation"][Role.BOB] == 5
    assert ch.stats.disclosed_bits["reconciliation"][Role.ALICE] == 14
    assert ch.stats.leaked_bits("reconciliation") == 19
    assert ch.stats.leaked_bits("sifting") == 0
    assert ch.stats.round_trips_by_stage["reconciliation"] == 2


def _auth_pair(n_pads: int = 8) -> tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator]:
    key = bytes(range(16)) + bytes((7 * i) % 256 for i in range(16 * n_pads))
    return WegmanCarterAuthenticator(key), WegmanCarterAuthenticator(key)


def test_authenticated_channel_passes_honest_traffic_and_consumes_pads() -> None:
    ch = ClassicalChannel(_echo, authentication=_auth_pair())
    ch.ask(Message("q"))
    ch.ask(Message("q"))
    assert ch.auth_key_bits_used() == 4 * 128


def test_tampering_is_detected_and_closes_channel() -> None:
    def flip_last_payload_bit(sender: Role, wire: bytes) -> bytes:
        if sender is Role.ALICE:
            data = bytearray(wire)
            data[-17] ^= 1  # last payload byte, just before the 16-byte tag
            return bytes(data)
        return wire

    ch = ClassicalChannel(_echo, authentication=_auth_pair(), tamper=flip_last_payload_bit)
    with pytest.raises(AuthenticationError):
        ch.ask(Message("q"))
    with pytest.raises(ProtocolAbort):
        ch.ask(Message("q"))


def test_tampering_goes_unnoticed_without_authentication() -> None:
    def rewrite(sender: Role, wire: bytes) -> bytes:
        return wire.replace(b"reply", b"forge") if sender is Role.ALICE else wire

    ch = ClassicalChannel(_echo, tamper=rewrite)
    assert ch.ask(Message("q")).kind == "forge"
