"""Frames: round trip, and refusal of another version, malformed, oversized, unknown,
replayed, reordered and closed-round frames."""

from __future__ import annotations

import asyncio
import struct

import pytest

from qkdstack.errors import FrameRefused
from qkdstack.node.framing import (
    HEADER_BYTES,
    NODE_PROTOCOL_VERSION,
    Frame,
    Kind,
    SequenceCheck,
    encode_frame,
    parse_frame,
    read_frame,
)


def test_a_frame_round_trips_with_its_header() -> None:
    frame = Frame(Kind.REQUEST, 7, 3, b"payload")
    data = encode_frame(frame)
    assert len(data) == HEADER_BYTES + 7
    assert struct.unpack_from("<IBBQI", data) == (14 + 7, NODE_PROTOCOL_VERSION, 7, 7, 3)
    assert parse_frame(data) == frame


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda d: d[:4] + bytes((d[4] + 1,)) + d[5:], "version"),
        (lambda d: d[:5] + bytes((200,)) + d[6:], "unknown frame kind"),
        (lambda d: d[:10], "malformed"),
        (lambda d: d + b"x", "malformed"),
    ],
)
def test_bad_frames_are_refused(mangle, reason) -> None:  # type: ignore[no-untyped-def]
    data = mangle(encode_frame(Frame(Kind.REPLY, 1, 0, b"abc")))
    with pytest.raises(FrameRefused, match=reason):
        parse_frame(data)


def test_an_oversized_frame_is_refused_before_its_body_is_read() -> None:
    async def go() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(struct.pack("<I", 10**9))  # claims 1 GB; nothing more comes
        with pytest.raises(FrameRefused, match="oversized"):
            await read_frame(reader, max_frame_bytes=1 << 20)

    asyncio.run(go())


def test_a_clean_end_of_stream_is_none_and_a_cut_frame_is_refused() -> None:
    async def go() -> None:
        reader = asyncio.StreamReader()
        reader.feed_eof()
        assert await read_frame(reader) is None
        reader = asyncio.StreamReader()
        reader.feed_data(encode_frame(Frame(Kind.REPLY, 1, 0, b"abcdef"))[:-2])
        reader.feed_eof()
        with pytest.raises(FrameRefused, match="ended inside"):
            await read_frame(reader)

    asyncio.run(go())


def test_replayed_reordered_and_closed_round_frames_are_refused_naming_the_round() -> None:
    check = SequenceCheck()
    check.check(Frame(Kind.REQUEST, 5, 0))
    check.check(Frame(Kind.REQUEST, 6, 0))  # rounds are independent
    check.check(Frame(Kind.REQUEST, 5, 1))
    with pytest.raises(FrameRefused, match="replayed") as replayed:
        check.check(Frame(Kind.REQUEST, 5, 1))
    assert replayed.value.round_id == 5  # type: ignore[attr-defined]
    with pytest.raises(FrameRefused, match="out-of-order"):
        check.check(Frame(Kind.REQUEST, 5, 3))
    check.close(6)
    with pytest.raises(FrameRefused, match="closed"):
        check.check(Frame(Kind.REQUEST, 6, 1))
