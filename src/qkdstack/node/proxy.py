"""A man in the middle for tests and benchmarks: a TCP proxy on the classical channel that delays
every frame (a network's round-trip time) and flips, replays, drops, reorders or delays chosen
frames, and counts the disclosed bits it sees on the wire.

It reads frames by their length prefix (:mod:`qkdstack.node.framing`) and forwards each one, in
order, ``delay_s`` after it arrived (one way: an added round-trip time is twice that). It is a test
and benchmark tool, not part of either node.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from qkdstack.node.framing import HEADER_BYTES, Kind
from qkdstack.processing.channel import decode_message

__all__ = ["DelayProxy", "Tamper"]

Direction = Literal["to_alice", "to_bob"]
Action = Literal["flip", "replay", "drop", "reorder", "delay", "version"]
_HEAD = struct.Struct("<IBBQI")


@dataclass
class Tamper:
    """Do ``action`` to the frame ``(kind, round_id, seq)`` going ``direction`` (once).

    ``flip`` inverts the last payload byte's lowest bit; ``replay`` sends the frame twice;
    ``drop`` never sends it; ``reorder`` holds it back and sends it after the next frame in the
    same direction; ``delay`` holds it ``delay_s`` longer (and every later frame behind it);
    ``version`` rewrites its protocol version byte.
    """

    direction: Direction
    kind: Kind
    round_id: int
    seq: int
    action: Action
    delay_s: float = 0.0
    done: bool = False


@dataclass
class _Stats:
    frames: int = 0
    disclosed_bits: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    tampered: int = 0


class DelayProxy:
    """The proxy, run in a thread of its own (its own event loop).

    Parameters
    ----------
    target_host, target_port : str, int
        Alice's classical address.
    delay_s : float
        One-way delay added to every frame.
    tampers : list of Tamper
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        delay_s: float = 0.0,
        tampers: list[Tamper] | None = None,
    ) -> None:
        self._target = (target_host, target_port)
        self.delay_s = delay_s
        self.tampers = list(tampers or [])
        self.stats = _Stats()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._last_request: dict[int, bytes] = {}

    def start(self, host: str = "127.0.0.1") -> int:
        """Start listening (an ephemeral port); return the port."""
        self._thread = threading.Thread(target=self._run, args=(host,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self.port

    def stop(self) -> None:
        """Stop the proxy and its connections."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, host: str) -> None:
        asyncio.run(self._main(host))

    async def _main(self, host: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server = await asyncio.start_server(self._on_client, host, 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopped.wait()
        server.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, "to_alice")),
            asyncio.ensure_future(self._pump(up_reader, writer, "to_bob")),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: Direction
    ) -> None:
        loop = asyncio.get_running_loop()
        last_due = 0.0
        held: bytes | None = None

        def deliver(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data)

        try:
            while True:
                try:
                    prefix = await reader.readexactly(4)
                    (length,) = struct.unpack("<I", prefix)
                    body = await reader.readexactly(length)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                data = prefix + body
                self.stats.frames += 1
                extra = 0.0
                copies = [data]
                if len(data) >= HEADER_BYTES:
                    _, _, kind, round_id, seq = _HEAD.unpack_from(data)
                    self._count(direction, kind, round_id, data[HEADER_BYTES:])
                    for t in self.tampers:
                        if t.done or (t.direction, int(t.kind), t.round_id, t.seq) != (
                            direction,
                            kind,
                            round_id,
                            seq,
                        ):
                            continue
                        t.done = True
                        self.stats.tampered += 1
                        if t.action == "flip":
                            copies = [data[:-1] + bytes((data[-1] ^ 1,))]
                        elif t.action == "replay":
                            copies = [data, data]
                        elif t.action == "drop":
                            copies = []
                        elif t.action == "version":
                            copies = [data[:4] + bytes((data[4] + 1,)) + data[5:]]
                        elif t.action == "delay":
                            extra = t.delay_s
                        elif t.action == "reorder":
                            held, copies = data, []
                if held is not None and copies and copies[0] is not held:
                    copies.append(held)
                    held = None
                # Every frame leaves delay_s after it came, never before an earlier one (the
                # timer callbacks of equal times run in order).
                last_due = max(loop.time() + self.delay_s + extra, last_due)
                for c in copies:
                    if last_due <= loop.time():
                        deliver(c)
                    else:
                        loop.call_at(last_due, deliver, c)
        finally:
            if held is not None:
                loop.call_at(max(last_due, loop.time()), deliver, held)
            await asyncio.sleep(max(0.0, last_due - loop.time()) + 0.01)
            with contextlib.suppress(Exception):
                await writer.drain()

    def _count(self, direction: Direction, kind: int, round_id: int, payload: bytes) -> None:
        """Disclosed bits of the post-processing messages, decoded from the wire alone."""
        message = None
        if direction == "to_alice" and kind == Kind.REQUEST:
            self._last_request[round_id] = payload[:1]
            if payload[:1] == b"M":
                message = payload[1:]
        elif direction == "to_bob" and kind == Kind.REPLY:
            if self._last_request.get(round_id) == b"M" and payload != b"\x00":
                message = payload
        if message is None:
            return
        with contextlib.suppress(Exception):
            self.stats.disclosed_bits[round_id] += decode_message(message).disclosed_bits()
