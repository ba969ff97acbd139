"""Reserving keys at the peer KME ahead of the requests, in blocks (the fast path of ``enc_keys``).

A key whose slaves are all at the peer KME must be reserved there, durably, before it is handed to
the master SAE. Doing that for each request puts a KME-to-KME round trip, the peer's HTTP handling
and a second durable commit on the critical path of every delivery. Once a *lane* (one master
SAE, one tuple of remote slave SAEs, one key size) carries concurrent requests, this module
instead reserves a block of keys for the lane in one push, committed here exactly as the
per-request path would (:meth:`KeyPool.commit_delivery`: this KME's consumption, an outbox entry,
and here also the keys with their material in ``kms_ahead``), in chunks of ``COMMIT_CHUNK`` keys
one after the other, so that the requests' own commits are not held behind a whole block; then
:meth:`PeerLink.push`, answered once the peer holds the reservations durably. A request of that
lane then takes keys from the block and returns them
after one durable commit here that forgets them (:meth:`KeyPool.hand_out_ahead`). Blocks grow
from ``FIRST_BLOCK`` keys, doubling, up to the configured ``reserve_ahead_keys``, and the next one
is reserved when half of the current one is left, so the link is off the critical path.

Guarantees kept:

- A key handed to the master SAE was reserved at the peer KME, durably, for exactly the slaves
  of its request: the block is only used once the peer has acknowledged it.
- It is handed out once: forgetting it is durable before it is returned, also across kill -9.
  Keys reserved ahead and not handed out survive a restart (``kms_ahead``); they are pushed to the
  peer again (idempotent there) before they are used.
- A key reserved ahead at the peer is retrievable there only with its key ID, a random UUID
  (:mod:`secrets`) that nobody holds until the master SAE receives it.

What it costs: keys reserved ahead for a lane serve only that lane (they count in its status
``stored_key_count``), so a lane that goes quiet keeps up to one block until it is used again.
A lane that never sees two requests at once (a single sequential client) is served key by key as
before.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from qkdstack.kms.pool import DeliveredKey, KeyPool, PoolExhausted, Reservation

__all__ = ["COMMIT_CHUNK", "FIRST_BLOCK", "ReserveAhead"]

FIRST_BLOCK = 16
"""Keys in a lane's first block (later blocks double, up to the configured maximum)."""

COMMIT_CHUNK = 32
"""Keys of a block committed in one transaction (a block is committed chunk after chunk)."""

_log = logging.getLogger("qkdstack.kms")

Lane = tuple[str, tuple[str, ...], int]
"""``(master_SAE_ID, remote slave SAE IDs, key size in bytes)``."""


class _LaneState:
    __slots__ = ("block", "busy", "keys", "refill")

    def __init__(self) -> None:
        self.keys: collections.deque[DeliveredKey] = collections.deque()
        self.refill: asyncio.Future[None] | None = None  # a block on its way
        self.block = FIRST_BLOCK // 2  # doubled before the first block
        self.busy = 0  # requests of this lane being served now


class ReserveAhead:
    """Blocks of keys reserved at the peer KME ahead of the requests, per lane.

    Parameters
    ----------
    pool : KeyPool
    link : object with ``async push(reservations)``
        The KME-to-KME link (:class:`qkdstack.kms.link.PeerLink`).
    max_keys : int
        The largest block, in keys (``reserve_ahead_keys``; 0 disables reserving ahead).
    """

    def __init__(self, pool: KeyPool, link: Any, max_keys: int) -> None:
        self.pool = pool
        self.link = link
        self.max_keys = max_keys
        self._lanes: dict[Lane, _LaneState] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def stored(self, master: str, slaves: tuple[str, ...], size_bytes: int) -> int:
        """Keys reserved ahead for this lane and not yet handed out."""
        lane = self._lanes.get((master, slaves, size_bytes))
        return 0 if lane is None else len(lane.keys)

    async def deliver(
        self,
        master: str,
        slaves: tuple[str, ...],
        number: int,
        size_bytes: int,
        per_request: Callable[[], Awaitable[list[DeliveredKey]]],
    ) -> list[DeliveredKey]:
        """``number`` keys of the lane, durably handed out: from its block if one is ready (or
        on its way), otherwise by ``per_request()`` (the path that reserves them one request at
        a time). A request that meets another one of its lane starts the lane's first block."""
        if self.max_keys <= 0 or number > self.max_keys:
            return await per_request()
        key = (master, slaves, size_bytes)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _LaneState()
        lane.busy += 1
        try:
            waited = False
            while len(lane.keys) < number:
                if lane.refill is None and (lane.busy > 1 or lane.keys):
                    self._start_refill(key, lane)  # concurrent demand: reserve ahead
                if lane.refill is None or waited:
                    return await per_request()
                await asyncio.shield(lane.refill)
                waited = True
            keys = [lane.keys.popleft() for _ in range(number)]
            if lane.refill is None and len(lane.keys) < lane.block // 2:
                self._start_refill(key, lane)
            try:
                await self.pool.hand_out_ahead([k.key_id for k in keys])
            except BaseException:
                lane.keys.extendleft(reversed(keys))  # nothing was forgotten: still reserved
                raise
            return keys
        finally:
            lane.busy -= 1

    def _start_refill(self, key: Lane, lane: _LaneState) -> None:
        master, slaves, size_bytes = key
        block = min(self.max_keys, lane.block * 2)
        count = min(block, self.pool.available_bytes() // size_bytes)
        if count <= 0:
            return
        lane.block = block
        try:
            cut = self.pool.allocate(count, size_bytes)
        except PoolExhausted:
            return
        deliveries = [(Reservation(k.key_id, master, slaves, segs), k.material) for k, segs in cut]
        lane.refill = asyncio.get_running_loop().create_future()
        self._spawn(self._reserve(lane, lane.refill, deliveries))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reserve(
        self,
        lane: _LaneState,
        block: asyncio.Future[None],
        deliveries: Sequence[tuple[Reservation, bytes]],
    ) -> None:
        # Committed in chunks, one after the other: each chunk is durable on its own (its keys'
        # consumption, their rows, an outbox entry), so the requests' own commits join the
        # writer's batches between two chunks instead of waiting behind the whole block.
        seqs: list[int] = []
        done = 0
        try:
            for start in range(0, len(deliveries), COMMIT_CHUNK):
                chunk = deliveries[start : start + COMMIT_CHUNK]
                seq = await self.pool.commit_delivery(chunk, [], remote=True, ahead=True)
                if seq is not None:
                    seqs.append(seq)
                done = start + len(chunk)
        except Exception as exc:  # the chunks not durable are dropped, never reused
            _log.warning("reserving ahead failed: %s", type(exc).__name__)
        except BaseException:  # cancelled (the KME stops): what is durable is recovered at start
            _release(lane, block)
            raise
        if not done:  # nothing durable: the lane's requests take the other path
            _release(lane, block)
            return
        await self._confirm(lane, block, deliveries[:done], seqs)

    async def _confirm(
        self,
        lane: _LaneState,
        block: asyncio.Future[None],
        items: Sequence[tuple[Reservation, bytes]],
        seqs: Sequence[int],
    ) -> None:
        """Push ``items`` until the peer has them, then make them available to the lane. The
        lane's requests wait for the first attempt only; while the peer is unreachable they take
        the per-request path (which answers 503 then)."""
        try:
            while True:
                try:
                    await self.link.push([r for r, _ in items])
                    break
                except Exception as exc:
                    _log.warning("peer KME did not confirm a block: %s", type(exc).__name__)
                    _release(lane, block)
                    await asyncio.sleep(1.0)
            if seqs:
                self.pool.outbox_done(seqs)
            lane.keys.extend(DeliveredKey(r.key_id, m) for r, m in items)
        finally:
            _release(lane, block)

    def recover(self) -> None:
        """Take back the keys reserved ahead before a restart: they are pushed to the peer again
        (it ignores key IDs it holds) and used once it has acknowledged them."""
        if self.max_keys <= 0:
            return
        groups: dict[Lane, list[tuple[Reservation, bytes]]] = {}
        for r, k in self.pool.ahead_keys():
            groups.setdefault((r.master_sae, r.slaves, len(k.material)), []).append((r, k.material))
        for key, items in groups.items():
            lane = self._lanes.setdefault(key, _LaneState())
            lane.refill = asyncio.get_running_loop().create_future()
            self._spawn(self._confirm(lane, lane.refill, items, ()))

    async def close(self) -> None:
        """Cancel the reservations in flight (what was committed is recovered at the next
        start)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass


def _release(lane: _LaneState, block: asyncio.Future[None]) -> None:
    """Wake the requests waiting for ``block`` (whatever came of it)."""
    if lane.refill is block:
        lane.refill = None
    if not block.done():
        block.set_result(None)
