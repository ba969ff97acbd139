"""Alice's node: a TCP server that answers Bob's rounds from her own records only.

Alice listens on the classical port and (in simulation) on the fibre port. For each round Bob
starts, she reserves the round's pads from her own pool (refusing a reservation below her
position: that would reuse pads), simulates the link, sends Bob his half over the fibre,
answers the post-processing through her own
:class:`~qkdstack.processing.endpoint.AliceEndpoint` (her Wegman-Carter authenticator, her
transcript hashes), and stores the key as pending when Bob's authenticated ``PREPARE`` arrives,
confirming it on his authenticated ``COMMIT``. Pending batches left by a crash are decided by
Bob (:mod:`qkdstack.node.bob`) in the authenticated reconciliation that opens each connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import FrameRefused, NodeError, ProtocolAbort, QKDError
from qkdstack.node import messages as msg
from qkdstack.node.config import NodeConfig, RoundReport
from qkdstack.node.fibre import encode_records, round_seeds
from qkdstack.node.framing import Frame, Kind
from qkdstack.node.keys import split_key
from qkdstack.node.pool import AuthPool
from qkdstack.node.sink import KeySink
from qkdstack.node.transport import Connection
from qkdstack.processing.authentication import TAG_BYTES, WegmanCarterAuthenticator
from qkdstack.processing.endpoint import AliceEndpoint
from qkdstack.processing.pipeline import AliceNode

__all__ = ["INLINE_REQUEST_BYTES", "AliceServer"]

INLINE_REQUEST_BYTES = 4096
"""Requests up to this size (Cascade's parity questions, the estimation, verification and
amplification requests: each answered in well under a millisecond to a few) are answered on the
event loop; larger ones (sifting, with the round's detections) in a worker thread. A thread
hand-off each way per request was most of a small request's cost: two nodes on the default link
0.157/0.159 -> 0.177/0.173 of real time (BENCHMARKS.md)."""


@dataclass
class _Round:
    round_id: int
    auth: WegmanCarterAuthenticator
    started: float
    state: str = "starting"  # starting, running, prepared, done
    node: AliceNode | None = None
    endpoint: AliceEndpoint | None = None
    batch_id: str | None = None
    report: dict[str, Any] = field(default_factory=dict)
    busy: asyncio.Future[Any] | None = None


class AliceServer:
    """Alice's side of the node protocol (see the module docstring).

    Parameters
    ----------
    config : NodeConfig
    pool : AuthPool
        Alice's own authentication pool.
    sink : KeySink
        Where her keys go (her key store).
    """

    def __init__(self, config: NodeConfig, pool: AuthPool, sink: KeySink) -> None:
        self._config = config
        self._pool = pool
        self._sink = sink
        self._stop = asyncio.Event()
        self._fibre: Connection | None = None
        self._fibre_ready = asyncio.Event()
        self._session: Connection | None = None
        self._rounds: dict[int, _Round] = {}
        self._rounds_done = 0
        self._stopping = False
        self._executor = ThreadPoolExecutor(max_workers=8)
        self.error: QKDError | None = None
        self.ports: tuple[int, int] = (config.port, config.fibre_port)

    def stop(self) -> None:
        """Finish the rounds in flight, refuse new ones, then return from :meth:`serve`."""
        self._stopping = True
        if not self._rounds:
            self._stop.set()

    async def serve(self) -> None:
        """Listen until stopped, Bob's goodbye (with ``rounds``) or a fatal error."""
        cfg = self._config
        server = await asyncio.start_server(self._on_classical, cfg.host, cfg.port)
        fibre = None
        if cfg.source.simulated:
            fibre = await asyncio.start_server(self._on_fibre, cfg.fibre_host, cfg.fibre_port)
        self.ports = (
            server.sockets[0].getsockname()[1],
            fibre.sockets[0].getsockname()[1] if fibre is not None else 0,
        )
        cfg.on_event(f"alice listening on {cfg.host}:{self.ports[0]} (fibre {self.ports[1]})")
        try:
            await self._stop.wait()
        finally:
            server.close()
            if fibre is not None:
                fibre.close()
            if self._session is not None:
                self._session.abort()
            if self._fibre is not None:
                self._fibre.abort()
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self.error is not None:
            raise self.error

    # -- connections ----------------------------------------------------------------------
    async def _on_fibre(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._fibre is not None:
            self._fibre.abort()
        conn = Connection(reader, writer, self._config.max_frame_bytes)
        self._fibre = conn
        self._fibre_ready.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            while await conn.receive() is not None:  # Bob sends nothing here
                pass
        if self._fibre is conn:
            self._fibre = None
            self._fibre_ready.clear()

    async def _on_classical(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._session is not None:  # a new connection replaces a dead one
            self._session.abort()
            self._drop_all("Bob reconnected")
        conn = Connection(reader, writer, self._config.max_frame_bytes)
        self._session = conn
        try:
            while not conn.closed:
                try:
                    frame = await conn.receive()
                except FrameRefused as exc:
                    round_id = getattr(exc, "round_id", None)
                    if round_id:
                        self._refuse_round(conn, round_id, str(exc))
                        continue
                    raise
                if frame is None:
                    break
                await self._dispatch(conn, frame)
        except asyncio.CancelledError:  # the server is shutting down
            pass
        except (QKDError, ConnectionError, OSError) as exc:
            self._config.on_event(f"alice: connection dropped: {exc}")
            if isinstance(exc, NodeError):
                self.error = exc
                self._stop.set()
        finally:
            conn.abort()
            if self._session is conn:
                self._session = None
                self._drop_all("connection lost")

    def _refuse_round(self, conn: Connection, round_id: int, reason: str) -> None:
        self._config.on_event(f"alice: round {round_id} refused: {reason}")
        with contextlib.suppress(ConnectionError):
            conn.send(Kind.ABORT, round_id, reason.encode())
        conn.close_round(round_id)
        self._finish(round_id, aborted=f"FrameRefused: {reason}")

    def _drop_all(self, reason: str) -> None:
        for round_id in list(self._rounds):
            self._finish(round_id, aborted=f"NodeError: {reason}")

    async def _dispatch(self, conn: Connection, frame: Frame) -> None:
        kind = frame.kind
        if frame.round_id == 0:
            if kind is Kind.HELLO:
                self._hello(conn, frame)
            elif kind is Kind.RECONCILE:
                self._reconcile(conn, frame)
            elif kind is Kind.BYE:
                conn.abort()
                if self._config.rounds is not None or self._stopping:
                    self._stopping = True
                    self._stop.set()
            else:
                raise FrameRefused(f"unexpected {kind.name} frame outside a round")
            return
        if kind is Kind.ROUND_START:
            self._round_start(conn, frame)
            return
        rnd = self._rounds.get(frame.round_id)
        if kind is Kind.ABORT:
            if rnd is not None:
                conn.close_round(frame.round_id)
                reason = frame.payload.decode("utf-8", "replace")
                self._finish(frame.round_id, aborted=f"ProtocolAbort: Bob dropped it: {reason}")
            return
        if rnd is None:
            self._refuse_round(conn, frame.round_id, f"{kind.name} for an unknown round")
            return
        try:
            if kind is Kind.REQUEST and rnd.state == "running" and rnd.busy is None:
                if len(frame.payload) <= INLINE_REQUEST_BYTES:
                    self._reply(conn, rnd, self._serve(rnd, frame.payload))
                else:
                    rnd.busy = asyncio.ensure_future(self._serve_request(conn, rnd, frame.payload))
            elif kind is Kind.PREPARE and rnd.state == "running" and rnd.busy is None:
                self._prepare(conn, rnd, frame.payload)
            elif kind is Kind.COMMIT and rnd.state == "prepared":
                self._commit(conn, rnd, frame.payload)
            else:
                raise FrameRefused(f"unexpected {kind.name} frame in state {rnd.state}")
        except ProtocolAbort as exc:
            self._refuse_round(conn, frame.round_id, f"{type(exc).__name__}: {exc}")

    # -- connection frames ------------------------------------------------------------------
    def _hello(self, conn: Connection, frame: Frame) -> None:
        hello = msg.unpack(frame.payload, "HELLO")
        try:
            position = int(hello["pool_position"])
            next_round = int(hello["next_round"])
        except (KeyError, TypeError, ValueError):
            raise FrameRefused("malformed HELLO frame") from None
        self._pool.advance_to(position)
        self._pool.see_round(next_round - 1)
        pending = sorted(set(self._sink.list_pending()) | set(self._pool.pending()))
        conn.send(
            Kind.HELLO_REPLY,
            0,
            msg.pack(
                {
                    "pool_position": self._pool.position_bytes,
                    "next_round": self._pool.next_round,
                    "pending": pending,
                }
            ),
        )

    def _reconcile(self, conn: Connection, frame: Frame) -> None:
        body = frame.payload
        head = msg.unpack(body[:-TAG_BYTES], "RECONCILE")
        offset = int(head.get("offset", -1))
        start, pads = self._pool.reserve(msg.RECONCILE_PADS, at_least=offset)
        if start != offset:  # the connection is dropped; the next HELLO moves both pools on
            raise FrameRefused(
                f"Bob's pad reservation {offset} is below this node's pool position {start}: "
                "refused (pads are never reused)"
            )
        auth = WegmanCarterAuthenticator(self._pool.hash_key + pads)
        decided = msg.unpack_tagged(body, auth, "RECONCILE")
        decisions = decided.get("decisions", {})
        if not isinstance(decisions, dict):
            raise FrameRefused("malformed RECONCILE frame")
        for batch_id, decision in sorted(decisions.items()):
            if decision == "confirm":
                self._sink.confirm(batch_id)
                self._pool.activate(batch_id)
            else:
                self._sink.drop(batch_id)
                self._pool.drop(batch_id)
        self._config.on_event(
            f"alice: reconciled {sum(d == 'confirm' for d in decisions.values())} confirmed, "
            f"{sum(d != 'confirm' for d in decisions.values())} dropped pending batches"
        )
        conn.send(Kind.RECONCILE_REPLY, 0, msg.pack_tagged({"done": True}, auth))

    # -- rounds -----------------------------------------------------------------------------
    def _round_start(self, conn: Connection, frame: Frame) -> None:
        round_id = frame.round_id
        if round_id in self._rounds:
            raise FrameRefused(f"round {round_id} started twice")
        if self._stopping:
            conn.send(Kind.ABORT, round_id, b"Alice is stopping")
            conn.close_round(round_id)
            return
        start = msg.unpack(frame.payload, "ROUND_START")
        offset = int(start.get("offset", -1))
        self._pool.see_round(round_id)
        first, pads = self._pool.reserve(msg.AUTH_PADS_PER_ROUND, at_least=offset)
        if first != offset:  # the connection is dropped; the next HELLO moves both pools on
            raise FrameRefused(
                f"Bob's pad reservation {offset} for round {round_id} is below this node's pool "
                f"position {first}: refused (pads are never reused)"
            )
        auth = WegmanCarterAuthenticator(self._pool.hash_key + pads)
        rnd = _Round(round_id, auth, time.perf_counter())
        self._rounds[round_id] = rnd
        rnd.busy = asyncio.ensure_future(self._simulate(conn, rnd))

    async def _simulate(self, conn: Connection, rnd: _Round) -> None:
        cfg = self._config
        loop = asyncio.get_running_loop()
        try:
            if not cfg.source.simulated:  # her own hardware records; nothing on the fibre
                alice = await loop.run_in_executor(self._executor, cfg.source.read, rnd.round_id)
                post = round_seeds(None, rnd.round_id)[1]
            else:
                alice, bob, post = await loop.run_in_executor(
                    self._executor, cfg.source.simulate, rnd.round_id
                )
                payload = await loop.run_in_executor(self._executor, encode_records, bob)
                await asyncio.wait_for(self._fibre_ready.wait(), cfg.timeout_s)
                if self._fibre is None:
                    raise ConnectionError("no fibre connection")
                self._fibre.send(Kind.RECORDS, rnd.round_id, payload)
                await self._fibre.drain()
        except (QKDError, ConnectionError, OSError, TimeoutError) as exc:
            rnd.busy = None
            if rnd.round_id in self._rounds and not conn.closed:
                self._refuse_round(conn, rnd.round_id, f"round setup failed: {exc}")
            return
        node = AliceNode(alice, cfg.options, np.random.default_rng(post))
        rnd.node = node
        rnd.endpoint = AliceEndpoint(node.handle, node.stage_confirmed, rnd.auth, "stage")
        rnd.state = "running"
        rnd.busy = None
        if rnd.round_id in self._rounds and not conn.closed:
            conn.send(Kind.ROUND_READY, rnd.round_id)

    def _serve(self, rnd: _Round, payload: bytes) -> bytes:
        """The reply to one request of ``rnd`` (``b"\\x00"`` when serving failed)."""
        assert rnd.endpoint is not None
        try:
            return rnd.endpoint.serve(payload)
        except (QKDError, RuntimeError) as exc:  # serve() never raises on bad input
            self._config.on_event(f"alice: round {rnd.round_id}: {exc}")
            return b"\x00"

    def _reply(self, conn: Connection, rnd: _Round, answer: bytes) -> None:
        if self._rounds.get(rnd.round_id) is rnd and not conn.closed:
            conn.send(Kind.REPLY, rnd.round_id, answer)

    async def _serve_request(self, conn: Connection, rnd: _Round, payload: bytes) -> None:
        """A large request (sifting: the round's detections) is served in a worker thread, so
        that the event loop keeps serving the other rounds meanwhile."""
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(self._executor, self._serve, rnd, payload)
        rnd.busy = None
        self._reply(conn, rnd, answer)

    def _prepare(self, conn: Connection, rnd: _Round, payload: bytes) -> None:
        node = rnd.node
        assert node is not None
        body = msg.unpack_tagged(payload, rnd.auth, "PREPARE")
        key = node.final_key
        if key is None:
            raise ProtocolAbort("PREPARE before Alice holds a key", stage="commit")
        split = split_key(key)
        batch_id = str(body.get("batch_id", ""))
        key_ids = body.get("key_ids")
        if (
            body.get("secret_bits") != int(key.shape[0])
            or not isinstance(key_ids, list)
            or len(key_ids) != split.n_keys
            or len(set(key_ids)) != len(key_ids)
            or not all(isinstance(k, str) and 0 < len(k) <= 64 for k in key_ids)
            or not 0 < len(batch_id) <= 64
        ):
            raise ProtocolAbort("PREPARE does not match Alice's key", stage="commit")
        # The pool's refill first (journalled as pending), then the keys.
        self._pool.add_pending(batch_id, split.refill)
        self._sink.put_pending(batch_id, split.keys, key_ids, msg.KEY_SIZE_BITS)
        rnd.batch_id = batch_id
        rnd.state = "prepared"
        rnd.report.update(
            secret_bits=int(key.shape[0]),
            qber=body.get("qber"),
            stored_keys=len(key_ids),
        )
        conn.send(Kind.PREPARED, rnd.round_id, msg.pack_tagged({"batch_id": batch_id}, rnd.auth))

    def _commit(self, conn: Connection, rnd: _Round, payload: bytes) -> None:
        body = msg.unpack_tagged(payload, rnd.auth, "COMMIT")
        if body.get("batch_id") != rnd.batch_id or rnd.batch_id is None:
            raise ProtocolAbort("COMMIT names another batch", stage="commit")
        self._sink.confirm(rnd.batch_id)
        self._pool.activate(rnd.batch_id)
        conn.send(
            Kind.COMMITTED, rnd.round_id, msg.pack_tagged({"batch_id": rnd.batch_id}, rnd.auth)
        )
        conn.close_round(rnd.round_id)
        self._finish(rnd.round_id, aborted=None)

    def _finish(self, round_id: int, aborted: str | None) -> None:
        rnd = self._rounds.pop(round_id, None)
        if rnd is None:
            return
        if rnd.busy is not None:
            rnd.busy.cancel()
        # A round dropped after PREPARE stays pending: only Bob's authenticated word (COMMIT, or
        # the next reconciliation) decides it, so a forged ABORT cannot split the stores.
        secret = int(rnd.report.get("secret_bits", 0)) if aborted is None else 0
        report: RoundReport = {
            "round": round_id,
            "secret_bits": secret,
            "net_secret_bits": secret - msg.AUTH_BITS_PER_ROUND,
            "qber": rnd.report.get("qber"),
            "aborted": aborted is not None,
            "abort_reason": aborted,
            "seconds": time.perf_counter() - rnd.started,
            "auth_key_bits_used": msg.AUTH_BITS_PER_ROUND,
            "auth_pool_bits": self._pool.bits_left,
            "stored_keys": int(rnd.report.get("stored_keys", 0)) if aborted is None else 0,
            "role": "alice",
        }
        self._config.on_round(report)
        self._rounds_done += 1
        rounds = self._config.rounds
        if (rounds is not None and self._rounds_done >= rounds) or (
            self._stopping and not self._rounds
        ):
            self._stopping = True
            if not self._rounds:
                self._stop.set()
