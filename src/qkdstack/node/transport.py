"""One TCP connection of the node protocol: frames out with their sequence numbers, frames in
checked for order (:mod:`qkdstack.node.framing`).

``ABORT`` and ``BYE`` frames are accepted whatever their sequence number: they only end things
(a man in the middle who forges one gains a denial of service, which he has anyway), and a round
whose frames were lost must still be endable.
"""

from __future__ import annotations

import asyncio
import contextlib

from qkdstack.node.framing import (
    MAX_FRAME_BYTES,
    Frame,
    Kind,
    SequenceCheck,
    encode_frame,
    read_frame,
)

__all__ = ["Connection", "parse_address"]

_UNORDERED = (Kind.ABORT, Kind.BYE)


def parse_address(option: str, text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); raise :class:`~qkdstack.errors.ParameterError`."""
    from qkdstack.errors import ParameterError

    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ParameterError(f"Argument '{option}' must be HOST:PORT, not {text!r}.")
    return host.strip("[]"), int(port)


class Connection:
    """Frames over one stream pair, with per-round sequence numbers both ways."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._max = max_frame_bytes
        self._incoming = SequenceCheck()
        self._out_seq: dict[int, int] = {}
        self.closed = False
        self.bytes_sent = 0
        self.bytes_received = 0

    def send(self, kind: Kind, round_id: int, payload: bytes = b"") -> None:
        """Queue one frame (the next sequence number of ``round_id``); never blocks."""
        if self.closed:
            raise ConnectionError("connection closed")
        seq = self._out_seq.get(round_id, 0)
        self._out_seq[round_id] = seq + 1
        data = encode_frame(Frame(kind, round_id, seq, payload))
        self.bytes_sent += len(data)
        self._writer.write(data)

    async def drain(self) -> None:
        """Wait until the queued frames are handed to the operating system."""
        await self._writer.drain()

    async def receive(self) -> Frame | None:
        """The next frame, checked (:class:`FrameRefused` when refused); None at end of stream."""
        frame = await read_frame(self._reader, self._max)
        if frame is None:
            return None
        self.bytes_received += len(frame.payload) + 18
        if frame.kind not in _UNORDERED:
            self._incoming.check(frame)
        return frame

    def close_round(self, round_id: int) -> None:
        """Refuse any later frame of ``round_id``."""
        self._incoming.close(round_id)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.close()
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)

    def abort(self) -> None:
        """Close at once, without waiting."""
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.transport.abort()
