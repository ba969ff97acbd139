"""The KME key pool and its configuration, without the network."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import uuid
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import KeyStoreError, ParameterError
from qkdstack.kms.certs import write_certificates
from qkdstack.kms.config import load_config
from qkdstack.kms.pool import KeyPool, PoolExhausted, Reservation, ReservationRefused, owner_of
from qkdstack.kms.store import KeyStore


def _bits(n: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n, dtype=np.uint8)


def test_insecure_seeded_keys_are_never_served(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with KeyStore(path) as store:
        store.deposit(_bits(256 * 4), source="insecure-seeded")
        good = store.deposit(_bits(256 * 2, seed=4), source="qkd")
    pool = KeyPool(path, "KME_A", None)
    try:
        assert pool.available_bytes() == 64  # only the two secure keys
        cut = pool.allocate(2, 32)
        assert {segs[0][0] for _, segs in cut} == set(good)
        with pytest.raises(PoolExhausted):
            pool.allocate(1, 1)
    finally:
        pool.close()


def test_store_file_is_private_and_links_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    pool = KeyPool(path, "KME_A", None)
    pool.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    KeyPool(path, "KME_A", None).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    link = tmp_path / "link.db"
    link.symlink_to(path)
    with pytest.raises(KeyStoreError, match="symbolic link"):
        KeyPool(link, "KME_A", None)
    with pytest.raises(KeyStoreError):
        KeyPool(tmp_path / "no" / "a.db", "KME_A", None)


def test_ownership_splits_the_shared_store() -> None:
    import uuid

    ids = [str(uuid.uuid4()) for _ in range(400)]
    a = [i for i in ids if owner_of(i, ("KME_A", "KME_B")) == "KME_A"]
    b = [i for i in ids if owner_of(i, ("KME_B", "KME_A")) == "KME_B"]
    assert set(a).isdisjoint(b) and len(a) + len(b) == 400
    assert 140 < len(a) < 260  # ~Binomial(400, 1/2): 5 sigma = 50


def test_consumption_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with KeyStore(path) as store:
        store.deposit(_bits(256 * 3))

    async def deliver(pool: KeyPool, size: int) -> bytes:
        ((key, segs),) = pool.allocate(1, size)
        r = Reservation(key.key_id, "SAE_A", ("SAE_A2",), segs)
        await pool.commit_delivery([(r, key.material)], ["SAE_A2"], remote=False)
        return key.material

    pool = KeyPool(path, "KME_A", None)
    first = asyncio.run(deliver(pool, 40))
    pool.close()
    pool = KeyPool(path, "KME_A", None)
    try:
        assert pool.available_bytes() == 96 - 40
        second = asyncio.run(deliver(pool, 56))
        assert pool.available_bytes() == 0
    finally:
        pool.close()
    material = np.packbits(_bits(256 * 3)).tobytes()
    assert first + second == material
    with sqlite3.connect(path) as db:  # fully used store keys are erased
        assert db.execute("SELECT SUM(length(material)) FROM keys").fetchone()[0] == 0
    # Keys deposited after the store ran dry are found (row IDs never go down).
    with KeyStore(path) as store:
        store.deposit(_bits(256, seed=9))
    pool = KeyPool(path, "KME_A", None)
    try:
        assert pool.available_bytes() == 32
    finally:
        pool.close()


def test_keys_deposited_while_serving_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with KeyStore(path) as store:
        store.deposit(_bits(256))
    pool = KeyPool(path, "KME_A", None)
    try:

        async def drain() -> None:
            ((key, segs),) = pool.allocate(1, 32)
            r = Reservation(key.key_id, "SAE_A", ("SAE_A2",), segs)
            await pool.commit_delivery([(r, key.material)], ["SAE_A2"], remote=False)

        asyncio.run(drain())
        assert pool.available_bytes() == 0 and pool.refresh() == 0
        with KeyStore(path) as store:
            store.deposit(_bits(512, seed=5))
        assert pool.refresh() == 2 and pool.available_bytes() == 64
    finally:
        pool.close()


def test_retrieval_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    with KeyStore(path) as store:
        ids = store.deposit(_bits(256 * 40))
    pair = ("KME_A", "KME_B")
    sid = next(i for i in ids if owner_of(i, pair) == "KME_A")  # the peer's share
    own_sid = next(i for i in ids if owner_of(i, pair) == "KME_B")
    pool = KeyPool(path, "KME_B", "KME_A")

    async def scenario() -> None:
        r = Reservation("6f1c1e8a-1b0e-4a53-9a55-0d9b2b1d0c11", "SAE_A", ("SAE_B",), ((sid, 0, 8),))
        assert await pool.accept_reservations([r]) == [r.key_id]
        assert await pool.accept_reservations([r]) == [r.key_id]  # a repeated push: no change
        with pytest.raises(ReservationRefused) as exc:
            await pool.retrieve("SAE_A", "SAE_B2", [r.key_id])
        assert exc.value.reason == "unauthorized"
        with pytest.raises(ReservationRefused) as exc:
            await pool.retrieve("SAE_OTHER", "SAE_B", [r.key_id])
        assert exc.value.reason == "not_found"
        (key,) = await pool.retrieve("SAE_A", "SAE_B", [r.key_id])
        index = ids.index(sid)
        assert key.material == np.packbits(_bits(256 * 40)).tobytes()[32 * index : 32 * index + 8]
        with pytest.raises(ReservationRefused):
            await pool.retrieve("SAE_A", "SAE_B", [r.key_id])
        await pool.accept_reservations([r])  # the tombstone keeps it from coming back
        with pytest.raises(ReservationRefused):
            await pool.retrieve("SAE_A", "SAE_B", [r.key_id])
        missing = Reservation(
            "7f1c1e8a-1b0e-4a53-9a55-0d9b2b1d0c11", "SAE_A", ("SAE_B",), ((sid, 30, 8),)
        )
        with pytest.raises(ReservationRefused):  # beyond the store key's end
            await pool.accept_reservations([missing])
        own = Reservation(
            "8f1c1e8a-1b0e-4a53-9a55-0d9b2b1d0c11", "SAE_A", ("SAE_B",), ((own_sid, 0, 8),)
        )
        with pytest.raises(ReservationRefused):  # KME_B's own share: not the peer's to reserve
            await pool.accept_reservations([own])

    try:
        asyncio.run(scenario())
    finally:
        pool.close()


def _config(tmp_path: Path, body: str) -> Path:
    if not (tmp_path / "certs").exists():
        write_certificates(tmp_path / "certs", ["KME_A"], [])
    path = tmp_path / "k.toml"
    tls = '[tls]\ncert = "certs/KME_A.crt"\nkey = "certs/KME_A.key"\nca = "certs/ca.crt"\n'
    path.write_text(body + "\n" + tls)
    return path


BASE = 'kme_id = "KME_A"\nlisten = "127.0.0.1:8443"\nstore = "a.db"\nsae_ids = ["SAE_A"]'


def test_config_loads_with_defaults(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, BASE))
    assert cfg.kme_id == "KME_A" and cfg.port == 8443 and cfg.store == tmp_path / "a.db"
    assert cfg.key_size_bits == 256 and cfg.peer is None and cfg.url == "https://127.0.0.1:8443"


@pytest.mark.parametrize(
    ("change", "line", "field"),
    [
        (BASE.replace('"127.0.0.1:8443"', '"127.0.0.1:99999"'), 2, "listen"),
        (BASE.replace('["SAE_A"]', "[]"), 4, "sae_ids"),
        (BASE.replace('["SAE_A"]', '["SAE_A", "SAE_A"]'), 4, "sae_ids"),
        (BASE + "\nkey_size_bits = 12", 5, "key_size_bits"),
        (BASE + "\nmax_key_per_request = 0", 5, "max_key_per_request"),
        (BASE + "\ncolour = 1", 5, "colour"),
        (BASE.replace('"a.db"', '"no/a.db"'), 3, "store"),
        (
            BASE + '\n[peer]\nkme_id = "KME_A"\nurl = "https://h:1"\nsae_ids = ["S"]',
            6,
            "peer.kme_id",
        ),
        (BASE + '\n[peer]\nkme_id = "KME_B"\nurl = "http://h:1"\nsae_ids = ["S"]', 7, "peer.url"),
    ],
)
def test_config_errors_name_line_and_field(
    tmp_path: Path, change: str, line: int, field: str
) -> None:
    path = _config(tmp_path, change)
    with pytest.raises(ParameterError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}:{line}: field '{field}'")


def test_config_syntax_and_missing_fields(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="not valid TOML"):
        load_config(_config(tmp_path, "kme_id = "))
    with pytest.raises(ParameterError, match="'listen' is required"):
        load_config(_config(tmp_path, 'kme_id = "KME_A"'))


@pytest.mark.parametrize("maker", ["pool", "node", "store"])
def test_key_ids_are_canonical_random_version_4_uuids(maker: str, tmp_path: Path) -> None:
    # Every key ID (the KME's delivered keys, the nodes' and qkd run's stored keys) comes from
    # one generator, qkdstack.randomness.secret_key_id.
    from qkdstack.kms.pool import new_key_id
    from qkdstack.node.keys import new_key_ids

    if maker == "pool":
        ids = [new_key_id() for _ in range(2000)]
    elif maker == "node":
        ids = new_key_ids(2000)
    else:
        with KeyStore(tmp_path / "s.db") as store:
            ids = store.deposit(np.zeros(2000 * 8, dtype=np.uint8), key_size_bits=8)
    assert len(set(ids)) == len(ids)
    for key_id in ids:
        parsed = uuid.UUID(key_id)
        assert str(parsed) == key_id and parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # The 122 random bits are not stuck: every hex digit of the random part takes many values.
    for position in (0, 9, 15, 21, 35):
        assert len({k[position] for k in ids}) >= 8


def test_reserve_ahead_keys_is_configured(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, BASE)).reserve_ahead_keys == 256
    cfg = load_config(_config(tmp_path, BASE + "\nreserve_ahead_keys = 0"))
    assert cfg.reserve_ahead_keys == 0
    with pytest.raises(ParameterError, match="field 'reserve_ahead_keys'"):
        load_config(_config(tmp_path, BASE + "\nreserve_ahead_keys = -1"))


def test_keys_two_nodes_confirmed_are_served_and_pending_ones_are_not(tmp_path: Path) -> None:
    # A node's store holds keys as pending, then confirmed with source "qkd-node": a KME on that
    # store must serve the confirmed ones (and never a pending or dropped batch's keys).
    path = tmp_path / "a.db"
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with KeyStore(path) as store:
        store.put_pending("confirmed-batch", _bits(256 * 2), ids[:2])
        store.confirm("confirmed-batch")
        store.put_pending("open-batch", _bits(256, seed=5), ids[2:])
    pool = KeyPool(path, "KME_A", None)
    try:
        assert pool.available_bytes() == 64
        cut = pool.allocate(2, 32)
        assert {segs[0][0] for _, segs in cut} == set(ids[:2])
        with pytest.raises(PoolExhausted):
            pool.allocate(1, 1)
    finally:
        pool.close()


def test_a_block_of_keys_across_store_keys_is_consumed_exactly(tmp_path: Path) -> None:
    # One commit of many keys (a block reserved ahead) that cut store keys of 32 bytes into
    # pieces of 24: each store key ends consumed to the end of its last piece, erased when used
    # up; after a restart the pool holds exactly the rest, which continues the same byte stream.
    path = tmp_path / "a.db"
    with KeyStore(path) as store:
        store.deposit(_bits(256 * 10))
    material = np.packbits(_bits(256 * 10)).tobytes()
    pool = KeyPool(path, "KME_A", None)
    try:
        cut = pool.allocate(7, 24)  # 168 bytes: 5 store keys used up, the 6th to byte 8

        async def commit() -> None:
            items = [(Reservation(k.key_id, "SAE_A", ("SAE_B",), s), k.material) for k, s in cut]
            await pool.commit_delivery(items, [], remote=True, ahead=True)

        asyncio.run(commit())
    finally:
        pool.close()
    assert b"".join(k.material for k, _ in cut) == material[:168]
    with sqlite3.connect(path) as db:
        lengths = [r[0] for r in db.execute("SELECT length(material) FROM keys ORDER BY rowid")]
        used = dict(db.execute("SELECT key_id, used_bytes FROM kms_used").fetchall())
    assert lengths == [0] * 5 + [32] * 5 and list(used.values()) == [8]
    pool = KeyPool(path, "KME_A", None)
    try:
        assert pool.available_bytes() == 320 - 168
        ((rest, _),) = pool.allocate(1, 320 - 168)
        assert rest.material == material[168:]
    finally:
        pool.close()


def test_a_pushed_block_is_cut_in_order_and_refused_whole(tmp_path: Path) -> None:
    # The peer's block of reservations is accepted as one at a time would be: pieces of one store
    # key consume it in turn (erased once used up), and a block with one bad reservation - here
    # a piece of a store key an earlier one used up - stores none of them.
    path = tmp_path / "b.db"
    with KeyStore(path) as store:
        ids = store.deposit(_bits(256 * 40))
    material = np.packbits(_bits(256 * 40)).tobytes()
    pair = ("KME_A", "KME_B")
    peer = [i for i in ids if owner_of(i, pair) == "KME_A"][:2]
    pool = KeyPool(path, "KME_B", "KME_A")

    def res(n: int, *segments: tuple[str, int, int]) -> Reservation:
        return Reservation(f"{n:08x}-1b0e-4a53-9a55-0d9b2b1d0c11", "SAE_A", ("SAE_B",), segments)

    good = [res(1, (peer[0], 0, 16)), res(2, (peer[0], 16, 16)), res(3, (peer[1], 0, 8))]
    bad = [res(4, (peer[1], 8, 24)), res(5, (peer[1], 8, 8))]  # #5: peer[1] is used up by #4

    async def scenario() -> list[bytes]:
        assert await pool.accept_reservations(good) == [r.key_id for r in good]
        with pytest.raises(ReservationRefused):
            await pool.accept_reservations(bad)
        keys = await pool.retrieve("SAE_A", "SAE_B", [r.key_id for r in good])
        with pytest.raises(ReservationRefused):  # nothing of the refused block was stored
            await pool.retrieve("SAE_A", "SAE_B", [bad[0].key_id])
        return [k.material for k in keys]

    try:
        got = asyncio.run(scenario())
    finally:
        pool.close()
    start = [32 * ids.index(sid) for sid in peer]
    assert got == [
        material[start[0] : start[0] + 16],
        material[start[0] + 16 : start[0] + 32],
        material[start[1] : start[1] + 8],
    ]
    with sqlite3.connect(path) as db:
        size = dict(db.execute("SELECT key_id, length(material) FROM keys").fetchall())
        used = dict(db.execute("SELECT key_id, used_bytes FROM kms_used").fetchall())
    assert size[peer[0]] == 0 and peer[0] not in used  # used up: erased
    assert size[peer[1]] == 32 and used[peer[1]] == 8  # the refused block left it as it was


def test_store_and_pool_create_one_keys_table(tmp_path: Path) -> None:
    # Either side may create a new store file first; both write the same table.
    KeyPool(tmp_path / "by_pool.db", "KME_A", None).close()
    with KeyStore(tmp_path / "by_store.db"):
        pass

    def keys_sql(path: Path) -> str:
        with sqlite3.connect(path) as db:
            (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'keys'").fetchone()
        return str(sql)

    assert keys_sql(tmp_path / "by_pool.db") == keys_sql(tmp_path / "by_store.db")
