"""Bob's node: connects to Alice, drives the rounds, and coordinates what both sides store.

Each connection opens with ``HELLO`` (both pools move to the later position, so a pad is never
used twice even when one side crashed after reserving) and an authenticated ``RECONCILE``: for
each batch Alice holds as pending, Bob says ``confirm`` if his store holds it confirmed, else
``drop``. Bob is the coordinator of a two-phase commit:

1. the round's post-processing ends with a key on both sides (every stage's transcript tags
   checked on both sides);
2. Bob sends an authenticated ``PREPARE`` (batch ID and key IDs from :mod:`secrets`); Alice
   stores the keys as pending (and the pool's refill as a pending refill) and answers
   ``PREPARED``;
3. Bob stores them as pending, then confirms them: this is the decision; then ``COMMIT``, and
   Alice confirms. Bob activates the refill when ``COMMITTED`` arrives (so Alice's pad stream is
   never shorter than his), one commit at a time (so both activate refills in the same order).

A kill -9 at any moment leaves either a batch Bob has not confirmed (pending on either side:
both drop it at the next connection) or one Bob confirmed (pending on Alice's side at worst:
confirmed at the next connection). Rounds run ``window`` at a time over the one connection, so
the round trips of one round's Cascade overlap with the others' computation.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import queue as thread_queue
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from qkdstack.errors import FrameRefused, NodeError, ProtocolAbort
from qkdstack.node import messages as msg
from qkdstack.node.config import NodeConfig, RoundReport
from qkdstack.node.fibre import decode_records, round_seeds
from qkdstack.node.framing import Frame, Kind
from qkdstack.node.keys import new_batch_id, new_key_ids, split_key
from qkdstack.node.pool import AuthPool
from qkdstack.node.sink import KeySink
from qkdstack.node.transport import Connection
from qkdstack.node.window import MAX_AUTO_WINDOW, WindowSizer
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.endpoint import BobEndpoint
from qkdstack.processing.pipeline import BobNode
from qkdstack.processing.reconciliation import efficiency
from qkdstack.processing.sanity import check_statistics

__all__ = ["BobClient"]


_REFUSED_HERE = -1  # the seq of the ABORT a round's queue gets when Bob refused its frame


class _Reconnect(Exception):
    """The connection cannot be trusted any more: drop it and reconnect.

    ``stored`` is set when the round's keys were confirmed here before the connection failed
    (Alice confirms them at the next reconciliation)."""

    stored: int | None = None


def _ec_efficiency(bob: BobNode, leaked_ec_bits: int) -> float | None:
    """Reconciliation efficiency ``f = leak / (n h(e))`` with the error fraction ``e`` that
    error correction actually removed (Bob knows it afterwards); None before a corrected key.

    References
    ----------
    G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93:
    ``n h(e)`` bits is the least any reconciliation discloses.
    """
    raw, corrected = bob.raw_key, bob.corrected_key
    if raw is None or corrected is None or raw.shape != corrected.shape or raw.shape[0] == 0:
        return None
    e = float(np.count_nonzero(raw != corrected)) / raw.shape[0]
    f = efficiency(leaked_ec_bits, raw.shape[0], e)  # nan where n h(e) = 0
    return None if math.isnan(f) else f


class BobClient:
    """Bob's side of the node protocol (see the module docstring).

    Parameters
    ----------
    config : NodeConfig
    pool : AuthPool
        Bob's own authentication pool.
    sink : KeySink
        Where his keys go (his key store).
    """

    def __init__(self, config: NodeConfig, pool: AuthPool, sink: KeySink) -> None:
        self._config = config
        self._pool = pool
        self._sink = sink
        self._stopping = False
        self._attempted = 0
        self._queues: dict[int, asyncio.Queue[Frame | None]] = {}
        # While a round's post-processing runs in its thread, its frames go to that thread
        # directly (no task or future on the loop per reply): see _post_process.
        self._inboxes: dict[int, thread_queue.SimpleQueue[Frame | None]] = {}
        self._records: dict[int, asyncio.Future[bytes]] = {}
        self._peer_next_round = 1
        self._commit_lock: asyncio.Lock | None = None
        self._window = WindowSizer(fixed=config.window)
        workers = MAX_AUTO_WINDOW if config.window is None else config.window
        self._executor = ThreadPoolExecutor(max_workers=max(2, workers + 1))
        self.reports: list[RoundReport] = []
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        """Start no new round; the rounds in flight finish (or are dropped) cleanly."""
        self._stopping = True

    def _more(self) -> bool:
        rounds = self._config.rounds
        return not self._stopping and (rounds is None or self._attempted < rounds)

    async def run(self) -> None:
        """Run the rounds, reconnecting with backoff when the peer vanishes."""
        cfg = self._config
        self._t0 = time.perf_counter()
        self._commit_lock = asyncio.Lock()
        backoff_s = 0.05
        give_up = time.monotonic() + cfg.connect_timeout_s
        try:
            while self._more():
                self._recover()
                try:
                    conn, fibre = await self._connect()
                except OSError as exc:
                    if time.monotonic() > give_up:
                        raise NodeError(
                            f"Alice at {cfg.host}:{cfg.port} is unreachable after "
                            f"{cfg.connect_timeout_s:g} s of retries: {exc.strerror or exc}"
                        ) from None
                    await asyncio.sleep(backoff_s)
                    backoff_s = min(2 * backoff_s, 1.0)
                    continue
                backoff_s = 0.05
                try:
                    await self._session(conn, fibre)
                except (_Reconnect, FrameRefused, ConnectionError, OSError, TimeoutError) as exc:
                    cfg.on_event(f"bob: connection dropped ({type(exc).__name__}: {exc})")
                finally:
                    conn.abort()
                    if fibre is not None:
                        fibre.abort()
                give_up = time.monotonic() + cfg.connect_timeout_s
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _recover(self) -> None:
        """Decide this node's own pending batches after a crash or a lost connection: confirmed
        in the store -> its refill is activated; otherwise dropped on this side."""
        for batch_id in sorted(set(self._sink.list_pending()) | set(self._pool.pending())):
            if self._sink.is_confirmed(batch_id):
                self._pool.activate(batch_id)
            else:
                self._sink.drop(batch_id)
                self._pool.drop(batch_id)

    async def _connect(self) -> tuple[Connection, Connection | None]:
        cfg = self._config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, cfg.port), cfg.timeout_s
        )
        conn = Connection(reader, writer, cfg.max_frame_bytes)
        fibre = None
        if cfg.source.simulated:
            try:
                fr, fw = await asyncio.wait_for(
                    asyncio.open_connection(cfg.fibre_host, cfg.fibre_port), cfg.timeout_s
                )
            except BaseException:
                conn.abort()
                raise
            fibre = Connection(fr, fw, cfg.max_frame_bytes)
        return conn, fibre

    # -- one connection ---------------------------------------------------------------------
    async def _session(self, conn: Connection, fibre: Connection | None) -> None:
        cfg = self._config
        self._queues = {0: asyncio.Queue()}
        self._records = {}
        readers = [asyncio.ensure_future(self._read(conn))]
        if fibre is not None:
            readers.append(asyncio.ensure_future(self._read_fibre(fibre)))
        tasks: set[asyncio.Future[Any]] = set()
        fatal: NodeError | None = None
        try:
            await self._hello(conn)
            while True:
                while len(tasks) < self._window.size() and self._more():
                    self._attempted += 1
                    tasks.add(asyncio.ensure_future(self._round(conn)))
                if not tasks:
                    break
                # An automatic window widens as Bob measures (the first records, the first
                # rounds): look again every 0.1 s, not only when a round ends.
                done, tasks = await asyncio.wait(
                    tasks,
                    timeout=None if cfg.window is not None else 0.1,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in done:
                    exc = task.exception()
                    if isinstance(exc, NodeError) and fatal is None:
                        # The pool is dry: start nothing more, let the rounds in flight end
                        # (a commit under way completes on both sides), then stop.
                        fatal, self._stopping = exc, True
                    elif exc is not None:
                        raise exc
            with contextlib.suppress(ConnectionError):
                conn.send(Kind.BYE, 0)
                await asyncio.wait_for(conn.drain(), cfg.timeout_s)
            if fatal is not None:
                raise fatal
        finally:
            for task in tasks:
                task.cancel()
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*tasks, *readers, return_exceptions=True)

    async def _read(self, conn: Connection) -> None:
        try:
            while True:
                try:
                    frame = await conn.receive()
                except FrameRefused as exc:
                    round_id = getattr(exc, "round_id", 0)
                    if not round_id:
                        raise
                    conn.close_round(round_id)
                    # (None: a late frame of a round already dropped.)
                    self._deliver(
                        round_id, Frame(Kind.ABORT, round_id, _REFUSED_HERE, str(exc).encode())
                    )
                    continue
                if frame is None:
                    break
                self._deliver(frame.round_id, frame)  # frames of rounds dropped are ignored
        except (FrameRefused, ConnectionError, OSError) as exc:
            self._config.on_event(f"bob: classical channel: {exc}")
        finally:
            for inbox in self._inboxes.values():
                inbox.put(None)
            for queue in self._queues.values():
                queue.put_nowait(None)

    def _deliver(self, round_id: int, frame: Frame) -> None:
        """Hand ``frame`` to its round: to the thread running its post-processing, if one is, or
        to its queue; a frame of a round no longer running is dropped."""
        inbox = self._inboxes.get(round_id)
        if inbox is not None:
            inbox.put(frame)
            return
        queue = self._queues.get(round_id)
        if queue is not None:
            queue.put_nowait(frame)

    async def _read_fibre(self, fibre: Connection) -> None:
        with contextlib.suppress(FrameRefused, ConnectionError, OSError):
            while (frame := await fibre.receive()) is not None:
                if frame.kind is Kind.RECORDS:
                    waiter = self._records.setdefault(
                        frame.round_id, asyncio.get_running_loop().create_future()
                    )
                    if not waiter.done():
                        waiter.set_result(frame.payload)

    async def _expect(self, round_id: int, kind: Kind) -> Frame:
        queue = self._queues[round_id]
        try:
            frame = await asyncio.wait_for(queue.get(), self._config.timeout_s)
        except TimeoutError:
            raise ProtocolAbort(
                f"no {kind.name} from Alice within {self._config.timeout_s:g} s "
                f"(round {round_id} dropped)",
                stage="channel",
            ) from None
        if frame is None:
            queue.put_nowait(None)
        return _checked(frame, kind)

    def _post_process(
        self, conn: Connection, round_id: int, loop: asyncio.AbstractEventLoop
    ) -> tuple[Any, thread_queue.SimpleQueue[Frame | None]]:
        """The transport of a round's post-processing (run in the round's thread), and its inbox.

        A request is sent from the event loop (the connection is the loop's); the reply comes
        through the inbox, which the reader fills while the round's thread runs.
        """
        inbox: thread_queue.SimpleQueue[Frame | None] = thread_queue.SimpleQueue()
        timeout_s = self._config.timeout_s

        def send(frame: bytes) -> None:  # on the loop
            try:
                conn.send(Kind.REQUEST, round_id, frame)
            except ConnectionError:
                inbox.put(None)

        def transport(frame: bytes) -> bytes:  # in the round's thread
            loop.call_soon_threadsafe(send, frame)
            try:
                reply = inbox.get(timeout=timeout_s)
            except thread_queue.Empty:
                raise ProtocolAbort(
                    f"no REPLY from Alice within {timeout_s:g} s (round {round_id} dropped)",
                    stage="channel",
                ) from None
            if reply is None:
                inbox.put(None)  # lost for good: every later wait sees it too
            return _checked(reply, Kind.REPLY).payload

        return transport, inbox

    def _start_post_processing(
        self, round_id: int, inbox: thread_queue.SimpleQueue[Frame | None]
    ) -> None:
        """Frames from now on go to the round's thread; any already queued (an ABORT, or the
        reader's end) go there first."""
        queue = self._queues[round_id]
        while not queue.empty():
            inbox.put(queue.get_nowait())
        self._inboxes[round_id] = inbox

    def _end_post_processing(self, round_id: int) -> None:
        """Frames from now on go to the round's queue; any left in its inbox go there first."""
        inbox = self._inboxes.pop(round_id, None)
        queue = self._queues.get(round_id)
        while inbox is not None and queue is not None:
            try:
                queue.put_nowait(inbox.get_nowait())
            except thread_queue.Empty:
                break

    async def _hello(self, conn: Connection) -> None:
        hello_sent = time.perf_counter()
        conn.send(
            Kind.HELLO,
            0,
            msg.pack(
                {
                    "role": "bob",
                    "pool_position": self._pool.position_bytes,
                    "next_round": self._pool.next_round,
                }
            ),
        )
        try:
            reply = msg.unpack((await self._expect(0, Kind.HELLO_REPLY)).payload, "HELLO_REPLY")
            self._window.rtt_s = (
                time.perf_counter() - hello_sent
            )  # the network's, and Alice's reply
            position = int(reply["pool_position"])
            self._peer_next_round = int(reply["next_round"])
            pending = [str(b) for b in reply["pending"]]
        except ProtocolAbort as exc:
            raise _Reconnect(str(exc)) from None
        except (KeyError, TypeError, ValueError):
            raise FrameRefused("malformed HELLO_REPLY frame", stage="channel") from None
        self._pool.advance_to(position)
        offset, pads = self._pool.reserve(msg.RECONCILE_PADS)
        auth = WegmanCarterAuthenticator(self._pool.hash_key + pads)
        decisions = {b: "confirm" if self._sink.is_confirmed(b) else "drop" for b in pending}
        body = msg.pack_tagged({"offset": offset, "decisions": decisions}, auth)
        conn.send(Kind.RECONCILE, 0, body)
        try:
            msg.unpack_tagged(
                (await self._expect(0, Kind.RECONCILE_REPLY)).payload, auth, "RECONCILE_REPLY"
            )
        except ProtocolAbort as exc:
            raise _Reconnect(str(exc)) from None
        if decisions:
            self._config.on_event(f"bob: reconciled {len(decisions)} pending batches of Alice's")

    # -- one round --------------------------------------------------------------------------
    async def _round(self, conn: Connection) -> None:
        cfg = self._config
        loop = asyncio.get_running_loop()
        round_id = self._pool.claim_round(at_least=self._peer_next_round)
        offset, pads = self._pool.reserve(msg.AUTH_PADS_PER_ROUND)  # NodeError when dry
        auth = WegmanCarterAuthenticator(self._pool.hash_key + pads)
        self._queues[round_id] = asyncio.Queue()
        self._records.setdefault(round_id, loop.create_future())
        started = time.perf_counter()
        report: RoundReport = {"round": round_id, "qber": None}
        conn.send(Kind.ROUND_START, round_id, msg.pack({"offset": offset}))
        stage = "setup"
        try:
            await self._expect(round_id, Kind.ROUND_READY)
            if cfg.source.simulated:
                try:
                    data = await asyncio.wait_for(self._records[round_id], cfg.timeout_s)
                except TimeoutError:
                    raise ProtocolAbort(
                        "no records on the fibre connection", stage="setup"
                    ) from None
                records = await loop.run_in_executor(self._executor, decode_records, data)
                _, post = round_seeds(cfg.source.seed, round_id)
            else:  # his own hardware records
                records = await loop.run_in_executor(self._executor, cfg.source.read, round_id)
                _, post = round_seeds(None, round_id)
            self._window.saw_records(len(records))
            bob = BobNode(records, cfg.options, np.random.default_rng(post.spawn(2)[1]))

            transport, inbox = self._post_process(conn, round_id, loop)
            endpoint = BobEndpoint(transport, auth, "stage")
            stage = "post-processing"
            self._start_post_processing(round_id, inbox)
            try:
                key = await loop.run_in_executor(self._executor, bob.run, endpoint)
            finally:
                self._end_post_processing(round_id)
                report["qber"] = bob.qber
                report["disclosed_bits"] = endpoint.stats.leaked_bits()
                report["leaked_ec_bits"] = endpoint.stats.leaked_bits("reconciliation")
                report["round_trips"] = endpoint.stats.round_trips
                report["ec_efficiency"] = _ec_efficiency(bob, report["leaked_ec_bits"])
            # Fail closed, as the in-process recipe does: no key from numbers the declared link
            # cannot produce (Alice hears of it as an ABORT before anything is stored).
            try:
                check_statistics(
                    records.meta,
                    detections=bob.detections,
                    secret_bits=int(key.shape[0]),
                    statistics={
                        "qber": bob.qber,
                        "qber_upper": bob.qber_upper,
                        **{k: v for k, v in bob.amplify_info.items() if isinstance(v, float)},
                    },
                    source=cfg.options.source,
                    mu=cfg.options.mu,
                )
            except ProtocolAbort:
                bob.discard_key()  # refused: Bob's node holds no key either
                raise
            stage = "commit"
            stored = await self._commit(conn, round_id, auth, key, bob.qber)
            report.update(secret_bits=int(key.shape[0]), stored_keys=stored, aborted=False)
            self._window.finished(int(report["round_trips"]))
            report["abort_reason"] = None
        except ProtocolAbort as exc:
            with contextlib.suppress(ConnectionError):
                conn.send(Kind.ABORT, round_id, str(exc).encode())
            conn.close_round(round_id)
            report.update(
                secret_bits=0,
                stored_keys=0,
                aborted=True,
                abort_reason=f"{type(exc).__name__}: {exc}",
            )
            if stage == "commit":  # Alice may hold it as pending: the next connection decides
                self._finish(report, started)
                raise _Reconnect(f"round {round_id} dropped during its commit") from None
        except (ConnectionError, _Reconnect) as exc:
            confirmed_keys: int | None = getattr(exc, "stored", None)
            if confirmed_keys is not None:  # confirmed here: Alice confirms at the next connection
                report.update(
                    secret_bits=int(key.shape[0]), stored_keys=confirmed_keys, aborted=False
                )
                report["abort_reason"] = None
            else:
                report.update(
                    secret_bits=0, stored_keys=0, aborted=True, abort_reason=f"NodeError: {exc}"
                )
            self._finish(report, started)
            raise _Reconnect(str(exc)) from None
        finally:
            self._queues.pop(round_id, None)
            self._records.pop(round_id, None)
        self._finish(report, started)

    def _finish(self, report: RoundReport, started: float) -> None:
        secret = int(report.get("secret_bits", 0))
        report.update(
            net_secret_bits=secret - msg.AUTH_BITS_PER_ROUND,
            seconds=time.perf_counter() - started,
            auth_key_bits_used=msg.AUTH_BITS_PER_ROUND,
            auth_pool_bits=self._pool.bits_left,
            elapsed_s=time.perf_counter() - self._t0,
            window=self._window.size(),
            role="bob",
        )
        self.reports.append(report)
        self._config.on_round(report)

    async def _commit(
        self,
        conn: Connection,
        round_id: int,
        auth: WegmanCarterAuthenticator,
        key: Any,
        qber: float | None,
    ) -> int:
        split = split_key(key)
        batch_id = new_batch_id()
        key_ids = new_key_ids(split.n_keys)
        conn.send(
            Kind.PREPARE,
            round_id,
            msg.pack_tagged(
                {
                    "batch_id": batch_id,
                    "key_ids": key_ids,
                    "secret_bits": int(key.shape[0]),
                    "qber": qber,
                },
                auth,
            ),
        )
        reply = msg.unpack_tagged(
            (await self._expect(round_id, Kind.PREPARED)).payload, auth, "PREPARED"
        )
        if reply.get("batch_id") != batch_id:
            raise ProtocolAbort("PREPARED names another batch", stage="commit")
        assert self._commit_lock is not None
        async with self._commit_lock:
            self._pool.add_pending(batch_id, split.refill)
            self._sink.put_pending(batch_id, split.keys, key_ids, msg.KEY_SIZE_BITS)
            self._sink.confirm(batch_id)  # the decision: from here on, both keep it
            conn.send(Kind.COMMIT, round_id, msg.pack_tagged({"batch_id": batch_id}, auth))
            try:
                done = msg.unpack_tagged(
                    (await self._expect(round_id, Kind.COMMITTED)).payload, auth, "COMMITTED"
                )
            except (ProtocolAbort, ConnectionError) as exc:
                # Alice decides at the next connection (she gets "confirm"); no refill is
                # activated here before she has surely activated hers.
                failed = _Reconnect(f"commit of round {round_id} unanswered: {exc}")
                failed.stored = split.n_keys
                raise failed from None
            if done.get("batch_id") != batch_id:
                failed = _Reconnect("COMMITTED names another batch")
                failed.stored = split.n_keys
                raise failed
            self._pool.activate(batch_id)
        conn.close_round(round_id)
        return split.n_keys


def _checked(frame: Frame | None, kind: Kind) -> Frame:
    """``frame`` if it is the ``kind`` awaited; else the error its absence or kind means."""
    if frame is None:
        raise ConnectionError("the classical connection was lost")
    if frame.kind is Kind.ABORT:
        reason = frame.payload.decode("utf-8", "replace")
        if frame.seq == _REFUSED_HERE:
            raise FrameRefused(f"Bob refused Alice's frame: {reason}", stage="channel")
        raise ProtocolAbort(f"Alice dropped the round: {reason}", stage="channel")
    if frame.kind is not kind:
        raise FrameRefused(
            f"unexpected {frame.kind.name} frame (waiting for {kind.name})", stage="channel"
        )
    return frame
