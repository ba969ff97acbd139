"""The classical channel (processing/channel.py): leakage counted per stage and direction,
authentication, tampering."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import AuthenticationError, ProtocolAbort
from qkdstack.processing.authentication import TAG_BYTES, WegmanCarterAuthenticator
from qkdstack.processing.channel import (
    ClassicalChannel,
    Message,
    Tamper,
    encode_message,
)
from qkdstack.typing import Role

# --- the channel -----------------------------------------------------------------------------------


def test_channel_re_exports_the_wire_codec() -> None:
    from qkdstack.processing import channel, wire

    for name in ("WIRE_VERSION", "Message", "encode_message", "decode_message"):
        assert getattr(channel, name) is getattr(wire, name), name
        assert name in channel.__all__


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


def test_channel_stats_per_stage_wire_bits_and_bytes_disclosure() -> None:
    requests = {
        "sifting": Message("sift", public={"i": np.arange(10)}),
        "verification": Message("verify", public={"k": b"k" * 16}, disclosed={"tag": b"t" * 16}),
    }
    reply = Message("r", public={"ok": True}, disclosed={"b": np.zeros((2, 3), dtype=np.uint8)})
    ch = ClassicalChannel(lambda _m: reply)
    for stage, request in requests.items():
        with ch.in_stage(stage):
            ch.ask(request)
            ch.ask(request)
    stats = ch.stats
    reply_bits = 8 * len(encode_message(reply))
    for stage, request in requests.items():
        assert stats.wire_bits[stage] == 2 * (8 * len(encode_message(request)) + reply_bits)
        assert stats.round_trips_by_stage[stage] == 2
        assert stats.disclosed_bits[stage][Role.ALICE] == 2 * 6
    assert stats.disclosed_bits["sifting"][Role.BOB] == 0
    assert stats.disclosed_bits["verification"][Role.BOB] == 2 * 128
    assert stats.leaked_bits() == 4 * 6 + 2 * 128
    assert stats.messages == 8 and stats.round_trips == 4
    # A stage that saw no traffic reads zero in every view.
    assert stats.wire_bits["amplification"] == 0
    assert stats.round_trips_by_stage["amplification"] == 0
    assert stats.disclosed_bits["amplification"] == {Role.ALICE: 0, Role.BOB: 0}
    assert "round_trips=4" in repr(stats)


def test_message_disclosed_bits() -> None:
    msg = Message("m", disclosed={"a": np.zeros((3, 4), dtype=np.uint8), "b": b"xy", "c": [1, 0]})
    assert msg.disclosed_bits() == 12 + 16 + 2


def _auth_pair(n_pads: int = 8) -> tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator]:
    key = bytes(range(16)) + bytes((7 * i) % 256 for i in range(16 * n_pads))
    return WegmanCarterAuthenticator(key), WegmanCarterAuthenticator(key)


def test_authenticated_channel_passes_honest_traffic_and_consumes_pads() -> None:
    ch = ClassicalChannel(_echo, authentication=_auth_pair())
    ch.ask(Message("q"))
    ch.ask(Message("q"))
    assert ch.auth_key_bits_used() == 4 * 128
    request_bits = 8 * (len(encode_message(Message("q"))) + TAG_BYTES)
    reply_bits = 8 * (len(encode_message(_echo(Message("q")))) + TAG_BYTES)
    assert ch.stats.wire_bits["setup"] == 2 * (request_bits + reply_bits)


def test_tamper_sees_payload_and_tag_and_the_fast_path_counts_the_same() -> None:
    seen: list[tuple[Role, bytes]] = []

    def watch(sender: Role, wire: bytes) -> bytes:
        seen.append((sender, wire))
        return wire

    request = Message("q", public={"a": np.arange(3)}, disclosed={"p": np.ones(2, np.uint8)})
    watched = ClassicalChannel(_echo, authentication=_auth_pair(), tamper=watch)
    direct = ClassicalChannel(_echo, authentication=_auth_pair())
    for ch in (watched, direct):
        reply = ch.ask(request)
        assert reply == Message("reply", {}, {"bits": reply.disclosed["bits"]})
    assert [s for s, _ in seen] == [Role.BOB, Role.ALICE]
    assert seen[0][1][:-TAG_BYTES] == encode_message(request)
    assert seen[1][1][:-TAG_BYTES] == encode_message(_echo(request))
    assert watched.stats.wire_bits == direct.stats.wire_bits
    assert watched.stats.disclosed_bits == direct.stats.disclosed_bits
    assert watched.auth_key_bits_used() == direct.auth_key_bits_used() == 2 * 128


@pytest.mark.parametrize("position", [0, 5, -17])
def test_tampering_is_detected_and_closes_channel(position: int) -> None:
    def flip_payload_byte(sender: Role, wire: bytes) -> bytes:
        if sender is Role.ALICE:
            data = bytearray(wire)
            data[position] ^= 1  # -17: the last payload byte, just before the 16-byte tag
            return bytes(data)
        return wire

    ch = ClassicalChannel(_echo, authentication=_auth_pair(), tamper=flip_payload_byte)
    with pytest.raises(AuthenticationError):
        ch.ask(Message("q"))
    with pytest.raises(ProtocolAbort):
        ch.ask(Message("q"))


def test_truncated_tagged_wire_fails_authentication() -> None:
    ch = ClassicalChannel(_echo, authentication=_auth_pair(), tamper=lambda _s, w: w[:5])
    with pytest.raises(AuthenticationError, match="too short"):
        ch.ask(Message("q"))


def test_tampering_goes_unnoticed_without_authentication() -> None:
    def rewrite(sender: Role, wire: bytes) -> bytes:
        return wire.replace(b"reply", b"forge") if sender is Role.ALICE else wire

    ch = ClassicalChannel(_echo, tamper=rewrite)
    assert ch.ask(Message("q")).kind == "forge"


def test_garbled_wire_without_authentication_aborts() -> None:
    garble: Tamper = lambda _s, w: w[:-1]  # noqa: E731
    ch = ClassicalChannel(_echo, tamper=garble)
    with pytest.raises(ProtocolAbort, match="malformed"):
        ch.ask(Message("q", public={"a": np.arange(4)}))
