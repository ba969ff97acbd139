"""Frames of the node protocol: typed, versioned, numbered, length-prefixed messages over TCP.

Every frame, in both directions and on both connections (classical channel and fibre)::

    frame := length u32 | version u8 | kind u8 | round u64 | seq u32 | payload
             (little-endian; ``length`` counts the bytes after itself: 14 + len(payload))

``round`` names the protocol round the frame belongs to (0: the connection itself: hello and
reconciliation); ``seq`` numbers a sender's frames within one round from 0, so a receiver
refuses a replayed (``seq`` below the next expected) or reordered / dropped (``seq`` above it)
frame. A frame of another version, one longer than the receiver's limit, one shorter than its
header or of an unknown kind is refused too (:class:`~qkdstack.errors.FrameRefused`): the round
is dropped and nothing of it is stored.

The header is not authenticated on its own: what a man in the middle can change there (a round,
a sequence number) only makes frames be refused; the payloads are covered by the Wegman-Carter
tags of the round's stages and of its commit messages (:mod:`qkdstack.node.session`).
"""

from __future__ import annotations

import asyncio
import enum
import struct
from dataclasses import dataclass
from typing import Final

from qkdstack.errors import FrameRefused

__all__ = [
    "HEADER_BYTES",
    "MAX_FRAME_BYTES",
    "NODE_PROTOCOL_VERSION",
    "Frame",
    "Kind",
    "SequenceCheck",
    "encode_frame",
    "parse_frame",
    "read_frame",
]

NODE_PROTOCOL_VERSION: Final = 1
"""The version byte this node writes and the only one it reads."""

MAX_FRAME_BYTES: Final = 1 << 26
"""Largest frame accepted by default (64 MiB: the records of about 10^7 detections)."""

_LENGTH = struct.Struct("<I")
_HEAD = struct.Struct("<BBQI")  # version, kind, round, seq
HEADER_BYTES: Final = _LENGTH.size + _HEAD.size


class Kind(enum.IntEnum):
    """What a frame is. Connection frames travel in round 0; the others in their round."""

    HELLO = 1  # Bob -> Alice: version, positions (pool, rounds), pending batches
    HELLO_REPLY = 2  # Alice -> Bob: the same from Alice
    RECONCILE = 3  # Bob -> Alice: decisions on Alice's pending batches (authenticated)
    RECONCILE_REPLY = 4  # Alice -> Bob: done (authenticated)
    ROUND_START = 5  # Bob -> Alice: round id and pad reservation
    ROUND_READY = 6  # Alice -> Bob: Bob's records are on the fibre
    REQUEST = 7  # Bob -> Alice: one endpoint frame (processing.endpoint)
    REPLY = 8  # Alice -> Bob: her endpoint's answer
    PREPARE = 9  # Bob -> Alice: key IDs; store as pending (authenticated)
    PREPARED = 10  # Alice -> Bob: stored as pending (authenticated)
    COMMIT = 11  # Bob -> Alice: confirmed on Bob's side; confirm (authenticated)
    COMMITTED = 12  # Alice -> Bob: confirmed (authenticated)
    ABORT = 13  # either way: the round is dropped (reason in UTF-8)
    RECORDS = 14  # fibre, Alice -> Bob: Bob's detection records of one round
    BYE = 15  # either way: the sender stops


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame."""

    kind: Kind
    round_id: int
    seq: int
    payload: bytes = b""


def encode_frame(frame: Frame) -> bytes:
    """The frame's bytes on the wire (see the module docstring)."""
    body = _HEAD.pack(NODE_PROTOCOL_VERSION, int(frame.kind), frame.round_id, frame.seq)
    return _LENGTH.pack(len(body) + len(frame.payload)) + body + frame.payload


def parse_frame(data: bytes, max_frame_bytes: int = MAX_FRAME_BYTES) -> Frame:
    """Decode one whole frame (length prefix included); raise :class:`FrameRefused`."""
    if len(data) < HEADER_BYTES:
        raise FrameRefused(f"malformed frame: {len(data)} bytes, shorter than its header")
    (length,) = _LENGTH.unpack_from(data)
    if length + _LENGTH.size != len(data):
        raise FrameRefused(f"malformed frame: length field {length} for {len(data)} bytes")
    return _parse_body(bytes(data[_LENGTH.size :]), max_frame_bytes)


def _check_length(length: int, max_frame_bytes: int) -> None:
    if length < _HEAD.size:
        raise FrameRefused(f"malformed frame: length {length} is shorter than the header")
    if length > max_frame_bytes:
        raise FrameRefused(
            f"oversized frame: {length} bytes, more than the limit of {max_frame_bytes}"
        )


def _parse_body(body: bytes, max_frame_bytes: int) -> Frame:
    _check_length(len(body), max_frame_bytes)
    version, kind, round_id, seq = _HEAD.unpack_from(body)
    if version != NODE_PROTOCOL_VERSION:
        raise FrameRefused(
            f"peer speaks node protocol version {version}, this node only version "
            f"{NODE_PROTOCOL_VERSION}"
        )
    try:
        known = Kind(kind)
    except ValueError:
        raise FrameRefused(f"unknown frame kind {kind}") from None
    return Frame(known, round_id, seq, body[_HEAD.size :])


async def read_frame(
    reader: asyncio.StreamReader, max_frame_bytes: int = MAX_FRAME_BYTES
) -> Frame | None:
    """Read one frame; None at a clean end of stream (between frames).

    The length is checked against ``max_frame_bytes`` before the body is read, so an oversized
    frame never allocates its claimed size.
    """
    try:
        prefix = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise FrameRefused("malformed frame: the stream ended inside a length prefix") from None
        return None
    (length,) = _LENGTH.unpack(prefix)
    _check_length(length, max_frame_bytes)
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise FrameRefused("malformed frame: the stream ended inside a frame") from None
    return _parse_body(body, max_frame_bytes)


def _refused(frame: Frame, reason: str) -> FrameRefused:
    """A refusal that names its round (``round_id`` attribute): only that round is dropped."""
    error = FrameRefused(reason, stage="channel")
    error.round_id = frame.round_id  # type: ignore[attr-defined]
    return error


class SequenceCheck:
    """The receiver's check that each round's frames arrive once and in order.

    A round's first frame must have ``seq = 0`` and every next one the next number; a round that
    was closed (:meth:`close`) accepts nothing more.
    """

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._closed: set[int] = set()

    def check(self, frame: Frame) -> None:
        """Raise :class:`FrameRefused` unless ``frame`` is the next one of its round."""
        if frame.round_id in self._closed:
            raise _refused(
                frame, f"frame {frame.kind.name} for round {frame.round_id}, which is closed"
            )
        expected = self._next.get(frame.round_id, 0)
        if frame.seq < expected:
            raise _refused(
                frame,
                f"replayed frame: round {frame.round_id} seq {frame.seq}, expected {expected}",
            )
        if frame.seq > expected:
            raise _refused(
                frame,
                f"out-of-order frame: round {frame.round_id} seq {frame.seq}, expected {expected}"
                " (a frame was dropped or reordered)",
            )
        self._next[frame.round_id] = expected + 1

    def close(self, round_id: int) -> None:
        """Accept no more frames of ``round_id``."""
        self._next.pop(round_id, None)
        if round_id:
            self._closed.add(round_id)
