"""Keys reserved at the peer KME ahead of the requests (qkdstack.kms.ahead), without the network:
the link is a stand-in that stores the pushes in the peer's pool, as the peer KME does."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import KeyStoreError
from qkdstack.kms.ahead import ReserveAhead
from qkdstack.kms.pool import DeliveredKey, KeyPool, PoolExhausted, Reservation, owner_of
from qkdstack.kms.store import deposit_pair

LANE = ("SAE_A", ("SAE_B",))
KEY_BYTES = 16


class Link:
    """Pushes go straight into the peer KME's pool (its ``/kme/v1/reservations`` handler)."""

    def __init__(self, peer: KeyPool) -> None:
        self.peer = peer
        self.pushed = 0
        self.down = False

    async def push(self, reservations: list[Reservation]) -> None:
        if self.down:
            raise KeyStoreError("peer KME unreachable")
        await self.peer.accept_reservations(reservations)
        self.pushed += len(reservations)


class PerRequest:
    """The per-request path of enc_keys (as KMEApp._deliver): commit here, push, return."""

    def __init__(self, pool: KeyPool, link: Link) -> None:
        self.pool, self.link, self.calls = pool, link, 0

    async def __call__(self) -> list[DeliveredKey]:
        self.calls += 1
        cut = self.pool.allocate(1, KEY_BYTES)
        items = [(Reservation(k.key_id, *LANE, segs), k.material) for k, segs in cut]
        seq = await self.pool.commit_delivery(items, [], remote=True)
        await asyncio.sleep(0.001)  # the link's round trip: other requests arrive meanwhile
        await self.link.push([r for r, _ in items])
        assert seq is not None
        self.pool.outbox_done([seq])
        return [k for k, _ in cut]


def _pair(tmp_path: Path, keys: int) -> tuple[KeyPool, KeyPool, int]:
    bits = np.random.default_rng(11).integers(0, 2, 256 * keys, dtype=np.uint8)
    ids = deposit_pair(tmp_path, bits, bits.copy())
    owned = sum(32 for i in ids if owner_of(i, ("KME_A", "KME_B")) == "KME_A")
    a = KeyPool(tmp_path / "alice.db", "KME_A", "KME_B")
    b = KeyPool(tmp_path / "bob.db", "KME_B", "KME_A")
    return a, b, owned


def _ahead_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM kms_ahead").fetchone()[0])


async def _deliver(ahead: ReserveAhead, per_request: PerRequest) -> list[DeliveredKey]:
    return await ahead.deliver(*LANE, 1, KEY_BYTES, per_request)


async def _until_refilled(ahead: ReserveAhead) -> None:
    for _ in range(500):
        if ahead.stored(*LANE, KEY_BYTES):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no block arrived")


def test_concurrent_requests_use_blocks_and_each_key_is_retrievable_once(tmp_path: Path) -> None:
    a, b, owned = _pair(tmp_path, 400)
    link = Link(b)
    delivered: dict[str, bytes] = {}

    async def run() -> int:
        ahead = ReserveAhead(a, link, max_keys=32)
        per_request = PerRequest(a, link)

        async def client() -> None:
            for _ in range(25):
                for k in await _deliver(ahead, per_request):
                    assert k.key_id not in delivered
                    delivered[k.key_id] = k.material

        await asyncio.gather(*[client() for _ in range(8)])
        await ahead.close()
        return per_request.calls

    try:
        calls = asyncio.run(run())
        assert len(delivered) == 200
        assert calls < 20  # the rest came from blocks reserved ahead
        assert len(set(delivered.values())) == 200  # no material under two key IDs
        kept = _ahead_rows(tmp_path / "alice.db")
        # Every key handed out reached the peer first; a block cut short by close() is kept.
        assert 200 <= link.pushed <= 200 + kept

        async def fetch() -> None:
            ids = list(delivered)
            got = await b.retrieve("SAE_A", "SAE_B", ids)
            assert {k.key_id: k.material for k in got} == delivered
            with pytest.raises(KeyStoreError):
                await b.retrieve("SAE_A", "SAE_B", ids[:1])

        asyncio.run(fetch())
    finally:
        a.close()
        b.close()
    assert 0 < kept and len(delivered) * KEY_BYTES + kept * KEY_BYTES <= owned


def test_keys_reserved_ahead_survive_a_restart_and_nothing_is_lost(tmp_path: Path) -> None:
    a, b, owned = _pair(tmp_path, 60)
    link = Link(b)
    delivered: dict[str, bytes] = {}

    async def first_run() -> None:
        ahead = ReserveAhead(a, link, max_keys=64)
        per_request = PerRequest(a, link)
        for keys in await asyncio.gather(*[_deliver(ahead, per_request) for _ in range(4)]):
            delivered.update((k.key_id, k.material) for k in keys)
        await _until_refilled(ahead)
        await ahead.close()

    try:
        asyncio.run(first_run())
        a.close()
        kept = _ahead_rows(tmp_path / "alice.db")
        assert kept > 0
        a = KeyPool(tmp_path / "alice.db", "KME_A", "KME_B")  # the restart
        restarted = Link(b)

        async def second_run() -> int:
            ahead = ReserveAhead(a, restarted, max_keys=64)
            ahead.recover()
            per_request = PerRequest(a, restarted)
            while True:  # one sequential client drains everything
                try:
                    keys = await _deliver(ahead, per_request)
                except PoolExhausted:
                    break
                for k in keys:
                    assert k.key_id not in delivered
                    delivered[k.key_id] = k.material
            await ahead.close()
            return restarted.pushed

        assert asyncio.run(second_run()) >= kept  # pushed again before they were used
        assert _ahead_rows(tmp_path / "alice.db") == 0
        assert len(delivered) * KEY_BYTES == owned  # not a byte lost, none twice
        assert len(set(delivered.values())) == len(delivered)

        async def fetch() -> None:
            got = await b.retrieve("SAE_A", "SAE_B", list(delivered))
            assert {k.key_id: k.material for k in got} == delivered

        asyncio.run(fetch())
    finally:
        a.close()
        b.close()


def test_a_block_the_peer_did_not_confirm_is_used_once_it_does(tmp_path: Path) -> None:
    a, b, _ = _pair(tmp_path, 40)
    link = Link(b)

    async def run() -> None:
        ahead = ReserveAhead(a, link, max_keys=16)
        per_request = PerRequest(a, link)
        link.down = True
        results = await asyncio.gather(
            *[_deliver(ahead, per_request) for _ in range(2)], return_exceptions=True
        )
        assert all(isinstance(r, KeyStoreError) for r in results)  # nothing handed out
        assert ahead.stored(*LANE, KEY_BYTES) == 0
        link.down = False
        await _until_refilled(ahead)  # the block is pushed again (once a second)
        calls = per_request.calls
        (key,) = await _deliver(ahead, per_request)
        assert per_request.calls == calls  # from the block
        (got,) = await b.retrieve("SAE_A", "SAE_B", [key.key_id])
        assert got.material == key.material
        await ahead.close()

    try:
        asyncio.run(run())
    finally:
        a.close()
        b.close()


def test_a_block_is_committed_in_chunks_and_a_failed_chunk_loses_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A block is committed chunk after chunk (the requests' commits fit in between). If a chunk's
    # commit fails, the chunks before it are durable and are pushed and used; the failed one's
    # keys are dropped, never handed out.
    from qkdstack.kms import ahead as ahead_module

    monkeypatch.setattr(ahead_module, "COMMIT_CHUNK", 8)  # the first block (16 keys): 2 chunks
    a, b, _ = _pair(tmp_path, 60)
    link = Link(b)
    real = a.commit_delivery
    chunks: list[int] = []
    lost: list[str] = []

    async def failing_second_chunk(items, local, remote, ahead=False):  # type: ignore[no-untyped-def]
        if ahead:
            chunks.append(len(items))
            if len(chunks) == 2:
                lost.extend(r.key_id for r, _ in items)
                raise KeyStoreError("disk full")
        return await real(items, local, remote, ahead)

    monkeypatch.setattr(a, "commit_delivery", failing_second_chunk)

    async def run() -> list[DeliveredKey]:
        ahead = ReserveAhead(a, link, max_keys=16)
        per_request = PerRequest(a, link)
        first = await asyncio.gather(*[_deliver(ahead, per_request) for _ in range(2)])
        await _until_refilled(ahead)  # the two concurrent requests started a block
        from_block = 2 - per_request.calls  # a request that waited for it took one of its keys
        left = ahead.stored(*LANE, KEY_BYTES)
        assert left + from_block == 8  # the first chunk only
        calls = per_request.calls
        got = [k for _ in range(left) for k in await _deliver(ahead, per_request)]
        assert per_request.calls == calls  # they came from the block
        await ahead.close()
        return got + [k for keys in first for k in keys]

    try:
        got = asyncio.run(run())
        assert chunks[:2] == [8, 8] and len(lost) == 8
        assert not {k.key_id for k in got} & set(lost)  # the failed chunk's keys: never handed out
        with sqlite3.connect(tmp_path / "alice.db") as db:
            rows = [r[0] for r in db.execute("SELECT reservation FROM kms_ahead")]
        assert not any(key_id in row for row in rows for key_id in lost)  # nor kept

        async def fetch() -> None:  # each was reserved at the peer before it was handed out
            found = await b.retrieve("SAE_A", "SAE_B", [k.key_id for k in got])
            assert {k.key_id: k.material for k in found} == {k.key_id: k.material for k in got}
            with pytest.raises(KeyStoreError):  # the failed chunk never reached the peer
                await b.retrieve("SAE_A", "SAE_B", lost[:1])

        asyncio.run(fetch())
    finally:
        a.close()
        b.close()
