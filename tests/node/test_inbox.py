"""Bob's frames reach a round's post-processing thread directly, in order, and none is lost
when the round moves between its queue (the event loop's stages) and its inbox (the thread's)."""

from __future__ import annotations

import asyncio
import queue
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from qkdstack.errors import FrameRefused, ProtocolAbort
from qkdstack.node.bob import BobClient, _checked
from qkdstack.node.framing import Frame, Kind


def _client() -> Any:
    return SimpleNamespace(_queues={}, _inboxes={}, _config=SimpleNamespace(timeout_s=0.2))


def _frame(kind: Kind, seq: int, payload: bytes = b"") -> Frame:
    return Frame(kind, 7, seq, payload)


def test_frames_move_in_order_between_the_queue_and_the_inbox() -> None:
    async def main() -> None:
        bob = _client()
        bob._queues[7] = asyncio.Queue()
        early = _frame(Kind.ABORT, 1, b"early")
        BobClient._deliver(bob, 7, early)  # before the thread runs: the round's queue
        inbox: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        BobClient._start_post_processing(bob, 7, inbox)
        assert bob._queues[7].empty() and inbox.get_nowait() is early
        replies = [_frame(Kind.REPLY, s) for s in (2, 3, 4)]
        for f in replies:
            BobClient._deliver(bob, 7, f)  # while it runs: the thread's inbox
        assert inbox.get_nowait() is replies[0]
        BobClient._end_post_processing(bob, 7)  # the rest go back, in order
        assert [bob._queues[7].get_nowait() for _ in range(2)] == replies[1:]
        late = _frame(Kind.PREPARED, 5)
        BobClient._deliver(bob, 7, late)
        assert bob._queues[7].get_nowait() is late and not bob._inboxes
        BobClient._deliver(bob, 8, late)  # a round not running: dropped

    asyncio.run(main())


def test_the_thread_transport_sends_on_the_loop_and_reads_its_inbox() -> None:
    sent: list[tuple[Kind, int, bytes]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = SimpleNamespace(send=lambda kind, rid, payload: sent.append((kind, rid, payload)))
        bob = _client()
        transport, inbox = BobClient._post_process(bob, conn, 7, loop)
        got: dict[str, Any] = {}

        def run() -> None:
            got["reply"] = transport(b"question")
            try:
                transport(b"again")  # nobody answers: the timeout
            except ProtocolAbort as exc:
                got["timeout"] = str(exc)

        thread = threading.Thread(target=run)
        thread.start()
        while not sent:
            await asyncio.sleep(0.01)
        assert sent == [(Kind.REQUEST, 7, b"question")]
        inbox.put(_frame(Kind.REPLY, 1, b"answer"))
        while thread.is_alive():
            await asyncio.sleep(0.01)
        assert got["reply"] == b"answer"
        assert "no REPLY from Alice within 0.2 s (round 7 dropped)" in got["timeout"]

    asyncio.run(main())


def test_a_frame_that_is_not_the_reply_is_an_error_of_its_kind() -> None:
    with pytest.raises(ConnectionError):
        _checked(None, Kind.REPLY)
    with pytest.raises(ProtocolAbort, match="Alice dropped the round: why"):
        _checked(_frame(Kind.ABORT, 1, b"why"), Kind.REPLY)
    with pytest.raises(FrameRefused, match="Bob refused Alice's frame"):
        _checked(_frame(Kind.ABORT, -1, b"bad"), Kind.REPLY)
    with pytest.raises(FrameRefused, match="unexpected PREPARED frame"):
        _checked(_frame(Kind.PREPARED, 1), Kind.REPLY)
