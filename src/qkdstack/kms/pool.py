"""The key pool of a KME: durable reservations on top of the key store a node fills.

The store (:mod:`qkdstack.kms.store`) holds fixed-size keys that the two nodes of a link share under
the same key IDs (``alice.db`` at one end, ``bob.db`` at the other). A KME serves keys of any size
(a multiple of 8 bits) cut from that material as a byte stream, without waste beyond that rounding:

- **Ownership.** So that the two KMEs never hand out the same bytes, each store key is allocated by
  exactly one of them: the KME whose ID sorts first allocates the keys whose UUID is even, the other
  one the odd ones. A delivered key is a list of *segments* ``(store_key_id, offset, length)``.
- **Reservation.** ``enc_keys`` at the master's KME allocates segments, and in one durable
  transaction advances its consumption of those store keys and records an *outbox* entry (the
  segments and the slave SAEs, never key material). The slave KME copies the same segments out of
  its own copy of the store into a reservation, durably, before the master's KME returns the key.
  After ``dec_keys`` by the last named slave the reservation keeps only its ID (a tombstone, so that
  a repeated link message cannot revive it).
- **Crash safety.** Outbox entries are pushed again after a restart; the slave KME ignores IDs it
  already knows. A crash can therefore leave a reservation whose key the master never received
  (harmless), but never the same bytes under two key IDs, and never a key that was returned to the
  master SAE without its reservation at the slave's KME.

Durability: SQLite in WAL mode with ``synchronous=FULL`` (the WAL is fsynced at every commit). One
writer thread runs every write and batches the requests waiting for it into one transaction (group
commit), each request in its own savepoint; a background thread checkpoints the WAL so that no
request pays for it. Key material is never logged.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import queue
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qkdstack.errors import KeyStoreError
from qkdstack.kms.schema import KEYS_TABLE
from qkdstack.randomness import secret_key_id as new_key_id

__all__ = [
    "DeliveredKey",
    "KeyPool",
    "PoolExhausted",
    "Reservation",
    "ReservationRefused",
    "Segment",
    "new_key_id",
    "open_store_file",
    "owner_of",
]

#: The ``source`` column of store keys that may be served: keys of ``qkd run --store`` (``qkd``)
#: and keys two nodes confirmed (``qkd-node``); insecure-seeded keys never are.
SERVABLE_SOURCES = ("qkd", "qkd-node")
_SERVABLE_MARKS = ", ".join("?" * len(SERVABLE_SOURCES))

_SCHEMA = (
    KEYS_TABLE
    + """
CREATE TABLE IF NOT EXISTS kms_used (
    key_id TEXT PRIMARY KEY,
    used_bytes INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kms_outbox (
    seq INTEGER PRIMARY KEY,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kms_reserved (
    key_id TEXT PRIMARY KEY,
    master_sae TEXT NOT NULL,
    named TEXT NOT NULL,
    slaves TEXT NOT NULL,
    material BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kms_ahead (
    seq INTEGER PRIMARY KEY,
    reservation TEXT NOT NULL,
    material BLOB NOT NULL
);
"""
)

Segment = tuple[str, int, int]
"""``(store_key_id, offset_bytes, length_bytes)``: a slice of one store key."""


class PoolExhausted(KeyStoreError):
    """The pool holds fewer key bytes than requested."""


class ReservationRefused(KeyStoreError):
    """A reservation or a retrieval cannot be honoured.

    ``reason`` is ``"not_found"`` (unknown key, already retrieved, other master) or
    ``"unauthorized"`` (the caller was not named as one of the key's slaves)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Reservation:
    """A key reserved for slave SAEs: its ID, the master SAE, the slaves, and its segments."""

    key_id: str
    master_sae: str
    slaves: tuple[str, ...]
    segments: tuple[Segment, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "key_ID": self.key_id,
            "master_SAE_ID": self.master_sae,
            "slave_SAE_IDs": list(self.slaves),
            "segments": [list(s) for s in self.segments],
        }

    @staticmethod
    def from_json(obj: Any) -> Reservation:
        """Parse a link message; raises ``ValueError`` on any malformed field."""
        if not isinstance(obj, dict):
            raise ValueError("reservation must be an object")
        key_id = str(uuid.UUID(str(obj["key_ID"])))
        master = obj["master_SAE_ID"]
        slaves = obj["slave_SAE_IDs"]
        segments = obj["segments"]
        if not isinstance(master, str) or not master:
            raise ValueError("bad master_SAE_ID")
        if not isinstance(slaves, list) or not all(isinstance(s, str) and s for s in slaves):
            raise ValueError("bad slave_SAE_IDs")
        if not isinstance(segments, list) or not segments:
            raise ValueError("bad segments")
        segs: list[Segment] = []
        for seg in segments:
            if not (isinstance(seg, list) and len(seg) == 3):
                raise ValueError("bad segment")
            sid, off, length = seg
            if not isinstance(sid, str) or type(off) is not int or type(length) is not int:
                raise ValueError("bad segment")
            if off < 0 or length <= 0 or str(uuid.UUID(sid)) != sid:
                raise ValueError("bad segment")
            segs.append((sid, off, length))
        return Reservation(key_id, master, tuple(slaves), tuple(segs))


@dataclass
class DeliveredKey:
    """A key handed to an SAE: its ID and its material (never logged)."""

    key_id: str
    material: bytes = field(repr=False)


def _check_regular_private(path: Path) -> None:
    """Refuse a symbolic link or anything but a regular file at ``path`` (opened O_NOFOLLOW)."""
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise KeyStoreError(
            f"Key store {str(path)!r} cannot be opened safely (a symbolic link or unreadable): "
            f"{exc.strerror}."
        ) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyStoreError(f"Key store {str(path)!r} is not a regular file.")
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_store_file(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating, mode 0600) the store file ``path`` for a KME, refusing symbolic links.

    Returns a connection in WAL mode with ``synchronous=FULL`` and automatic checkpoints off (the
    pool checkpoints from a background thread)."""
    p = Path(path)
    if not p.parent.is_dir():
        raise KeyStoreError(f"Key store directory {str(p.parent)!r} does not exist.")
    if not os.path.lexists(p):
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            os.close(fd)
    _check_regular_private(p)
    for suffix in ("-wal", "-shm"):
        side = Path(str(p) + suffix)
        if os.path.lexists(side):
            _check_regular_private(side)
    try:
        db = sqlite3.connect(p, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA journal_size_limit=16777216")  # the WAL file shrinks back to 16 MiB
        db.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise KeyStoreError(f"Key store {str(p)!r} is not a valid key store: {exc}") from exc
    for suffix in ("-wal", "-shm"):
        side = Path(str(p) + suffix)
        if os.path.lexists(side):
            _check_regular_private(side)
    return db


def owner_of(key_id: str, kme_ids: tuple[str, str]) -> str:
    """The KME that allocates store key ``key_id``: the first of the sorted pair for even UUIDs."""
    first, second = sorted(kme_ids)
    return first if uuid.UUID(key_id).int % 2 == 0 else second


_Job = Callable[[sqlite3.Connection], Any]


class _Writer(threading.Thread):
    """The one writer: runs jobs in batches, one transaction per batch, a savepoint per job."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(name="kms-writer", daemon=True)
        self._db = db
        self.checkpoint_wanted = threading.Event()
        self._queue: queue.SimpleQueue[
            tuple[_Job, Callable[[Any, BaseException | None], None]] | None
        ] = queue.SimpleQueue()
        self.commits = 0

    def submit(self, job: _Job, done: Callable[[Any, BaseException | None], None]) -> None:
        self._queue.put((job, done))

    def stop(self) -> None:
        self._queue.put(None)

    def run(self) -> None:
        db = self._db
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            results: list[tuple[Any, BaseException | None]] = []
            try:
                db.execute("BEGIN IMMEDIATE")
                for job, _ in batch:
                    db.execute("SAVEPOINT job")
                    try:
                        results.append((job(db), None))
                        db.execute("RELEASE job")
                    except Exception as exc:
                        db.execute("ROLLBACK TO job")
                        db.execute("RELEASE job")
                        results.append((None, exc))
                db.execute("COMMIT")
                self.commits += 1
            except Exception as exc:  # the whole batch failed: nothing of it is durable
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                results = [(None, KeyStoreError(f"key store write failed: {exc}"))] * len(batch)
            for (_, done), (value, err) in zip(batch, results, strict=True):
                done(value, err)
            if stop:
                return
            if self.checkpoint_wanted.is_set():
                # Under sustained load the background checkpoint never catches up with the
                # writer, and the WAL would grow without end; between two batches the writer
                # finishes it (most frames are already copied), so the WAL restarts from the top.
                self.checkpoint_wanted.clear()
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass


class _Checkpointer(threading.Thread):
    """Copies WAL frames into the database in the background; asks the writer to finish the job
    when the WAL exceeds ``WAL_LIMIT_FRAMES``."""

    WAL_LIMIT_FRAMES = 2048  # 8 MiB of 4 KiB pages

    def __init__(self, path: Path, interval_s: float, writer: _Writer) -> None:
        super().__init__(name="kms-checkpoint", daemon=True)
        self._writer = writer
        self._path = path
        self._interval_s = interval_s
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        db = sqlite3.connect(self._path, isolation_level=None, timeout=1.0)
        try:
            while not self._stop_event.wait(self._interval_s):
                try:
                    row = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    continue
                if row is not None and int(row[1]) > self.WAL_LIMIT_FRAMES:
                    self._writer.checkpoint_wanted.set()
        finally:
            db.close()


class _OwnedKey:
    __slots__ = ("key_id", "material", "offset")

    def __init__(self, key_id: str, material: bytes, offset: int) -> None:
        self.key_id = key_id
        self.material = material
        self.offset = offset


class KeyPool:
    """The durable key pool of one KME.

    Parameters
    ----------
    path : path-like
        The store file this KME's node fills (``alice.db`` or ``bob.db``).
    kme_id, peer_kme_id : str
        This KME and its peer; together they decide which store keys this KME allocates.
    checkpoint_interval_s : float
        Seconds between background WAL checkpoints.

    All methods but :meth:`allocate`, :meth:`available_bytes` and :meth:`refresh` (which run on
    the event loop's thread) hand their writes to the writer thread and are awaited.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        kme_id: str,
        peer_kme_id: str | None,
        checkpoint_interval_s: float = 0.25,
    ) -> None:
        self.path = Path(path)
        self.kme_id = kme_id
        self._pair = None if peer_kme_id is None else (kme_id, peer_kme_id)
        self._db = open_store_file(self.path)
        self._read_db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._owned: collections.deque[_OwnedKey] = collections.deque()
        self._owned_bytes = 0
        self._seen: set[str] = set()
        self._sizes: dict[str, int] = {}  # bytes of each owned store key
        self._acked: set[int] = set()
        self._ahead_rows: dict[str, int] = {}  # key ID -> kms_ahead row of a key reserved ahead
        self._last_rowid = 0
        self._writer = _Writer(self._db)
        self._checkpointer = _Checkpointer(self.path, checkpoint_interval_s, self._writer)
        self.refresh()
        self._writer.start()
        self._checkpointer.start()

    # -- reads on the event loop's thread ------------------------------------------------------
    def refresh(self) -> int:
        """Load store keys deposited since the last call that this KME allocates; returns how
        many were added."""
        rows = self._read_db.execute(
            "SELECT k.rowid, k.key_id, k.material, COALESCE(u.used_bytes, 0) FROM keys k "
            "LEFT JOIN kms_used u ON u.key_id = k.key_id "
            f"WHERE k.rowid > ? AND k.source IN ({_SERVABLE_MARKS}) ORDER BY k.rowid",
            (self._last_rowid, *SERVABLE_SOURCES),
        ).fetchall()
        added = 0
        for rowid, key_id, material, used in rows:
            self._last_rowid = max(self._last_rowid, int(rowid))
            if key_id in self._seen:
                continue
            if self._pair is not None and owner_of(key_id, self._pair) != self.kme_id:
                continue
            material = bytes(material)
            if used >= len(material):  # used up (erased)
                continue
            self._seen.add(key_id)
            self._sizes[key_id] = len(material)
            self._owned.append(_OwnedKey(key_id, material, int(used)))
            self._owned_bytes += len(material) - int(used)
            added += 1
        return added

    def available_bytes(self) -> int:
        """Key bytes this KME can still allocate."""
        return self._owned_bytes

    def allocate(
        self, number: int, size_bytes: int
    ) -> list[tuple[DeliveredKey, tuple[Segment, ...]]]:
        """Cut ``number`` keys of ``size_bytes`` from the owned material (in memory; made durable
        by :meth:`commit_delivery`). Raises :class:`PoolExhausted` if there is not enough."""
        if number * size_bytes > self._owned_bytes:
            raise PoolExhausted(
                f"the pool holds {self._owned_bytes} key bytes, {number * size_bytes} requested"
            )
        out: list[tuple[DeliveredKey, tuple[Segment, ...]]] = []
        for _ in range(number):
            head = self._owned[0]
            end = head.offset + size_bytes
            if end <= len(head.material):  # the common case: one segment of one store key
                segment = (head.key_id, head.offset, size_bytes)
                material = head.material[head.offset : end]
                head.offset = end
                if end == len(head.material):
                    self._owned.popleft()
                self._owned_bytes -= size_bytes
                out.append((DeliveredKey(new_key_id(), material), (segment,)))
                continue
            need = size_bytes
            parts: list[bytes] = []
            segs: list[Segment] = []
            while need:
                head = self._owned[0]
                take = min(need, len(head.material) - head.offset)
                parts.append(head.material[head.offset : head.offset + take])
                segs.append((head.key_id, head.offset, take))
                head.offset += take
                need -= take
                if head.offset == len(head.material):
                    self._owned.popleft()
            self._owned_bytes -= size_bytes
            out.append((DeliveredKey(new_key_id(), b"".join(parts)), tuple(segs)))
        return out

    # -- writes through the writer thread --------------------------------------------------------
    async def _run(self, job: _Job) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def done(value: Any, err: BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(_settle, future, value, err)
            except RuntimeError:  # the event loop has closed: nobody waits for this answer
                pass

        self._writer.submit(job, done)
        return await future

    async def commit_delivery(
        self,
        deliveries: Sequence[tuple[Reservation, bytes]],
        local_slaves: Sequence[str],
        remote: bool,
        ahead: bool = False,
    ) -> int | None:
        """Make a delivery durable: advance this KME's consumption of the segments, keep a local
        reservation (with its material) for ``local_slaves`` if any, and an outbox entry for the
        peer if ``remote``. Returns the outbox entry's number (for :meth:`outbox_done`).

        ``ahead``: the keys are reserved ahead of any request (:mod:`qkdstack.kms.ahead`): they
        are also kept here, with their material, until :meth:`hand_out_ahead`."""
        items = list(deliveries)
        local = json.dumps(list(local_slaves))
        acked = self._take_acked()
        sizes = self._sizes
        ahead_rows = self._ahead_rows

        def job(db: sqlite3.Connection) -> int | None:
            if acked:
                db.executemany("DELETE FROM kms_outbox WHERE seq = ?", acked)
            seq = None
            as_json = [r.to_json() for r, _ in items] if remote or ahead else []
            if remote:
                seq = db.execute(
                    "INSERT INTO kms_outbox (payload) VALUES (?)", (json.dumps(as_json),)
                ).lastrowid
            _consume_all(db, [seg for r, _ in items for seg in r.segments], sizes)
            if local_slaves:
                db.executemany(
                    "INSERT INTO kms_reserved VALUES (?, ?, ?, ?, ?)",
                    [(r.key_id, r.master_sae, local, local, m) for r, m in items],
                )
            if ahead:
                # Rows in the order the keys are handed out (rowid order): forgetting the next
                # few dirties one page, not one per key as a random key ID would. Numbered here
                # (as SQLite would: one above the largest) so that one statement writes them all.
                top = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM kms_ahead").fetchone()[0])
                rows = [
                    (top + i, json.dumps(obj), m)
                    for i, (obj, (_, m)) in enumerate(zip(as_json, items, strict=True), start=1)
                ]
                db.executemany("INSERT INTO kms_ahead VALUES (?, ?, ?)", rows)
                for (r, _), (row, _, _) in zip(items, rows, strict=True):
                    ahead_rows[r.key_id] = row
            return seq

        result: int | None = await self._run(job)
        return result

    async def hand_out_ahead(self, key_ids: Sequence[str]) -> None:
        """Durably forget keys reserved ahead (:meth:`commit_delivery` with ``ahead``) before they
        are handed to their master SAE: after a crash they are never handed out again."""
        ids = list(key_ids)
        rows = [(self._ahead_rows[k],) for k in ids]
        acked = self._take_acked()

        def job(db: sqlite3.Connection) -> None:
            if acked:
                db.executemany("DELETE FROM kms_outbox WHERE seq = ?", acked)
            db.executemany("DELETE FROM kms_ahead WHERE seq = ?", rows)

        await self._run(job)
        for k in ids:
            del self._ahead_rows[k]

    def ahead_keys(self) -> list[tuple[Reservation, DeliveredKey]]:
        """The keys reserved ahead and not yet handed out (kept across restarts), in the order
        they were reserved."""
        rows = self._read_db.execute(
            "SELECT seq, reservation, material FROM kms_ahead ORDER BY seq"
        ).fetchall()
        out = []
        for seq, reservation, material in rows:
            r = Reservation.from_json(json.loads(reservation))
            self._ahead_rows[r.key_id] = int(seq)
            out.append((r, DeliveredKey(r.key_id, bytes(material))))
        return out

    def outbox_done(self, seqs: Sequence[int]) -> None:
        """Note outbox entries the peer has acknowledged; they are deleted with the next write
        (no commit of their own: after a crash they are pushed again, which the peer ignores)."""
        self._acked.update(seqs)

    def _take_acked(self) -> list[tuple[int]]:
        ids = [(k,) for k in self._acked]
        self._acked.clear()
        return ids

    async def flush_outbox(self) -> None:
        """Delete the acknowledged outbox entries now (the service calls this when idle)."""
        if not self._acked:
            return
        acked = self._take_acked()

        def job(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM kms_outbox WHERE seq = ?", acked)

        await self._run(job)

    def outbox(self) -> list[tuple[int, list[Reservation]]]:
        """Outbox entries not yet acknowledged by the peer (pushed again after a restart)."""
        rows = self._read_db.execute("SELECT seq, payload FROM kms_outbox").fetchall()
        return [
            (seq, [Reservation.from_json(r) for r in json.loads(payload)])
            for seq, payload in rows
            if seq not in self._acked
        ]

    async def accept_reservations(self, reservations: Sequence[Reservation]) -> list[str]:
        """Store reservations sent by the peer KME (idempotent by key ID). Each copies its
        segments out of this KME's copy of the store. Raises :class:`ReservationRefused` if a
        segment is not in the store (nothing is stored then)."""
        items = list(reservations)

        def job(db: sqlite3.Connection) -> list[str]:
            # A block reserved ahead brings hundreds of reservations: read what they need in a
            # few queries, check and cut in memory (in order, as one at a time would), then
            # write with one statement per kind of change.
            known = _existing(
                db, "SELECT key_id FROM kms_reserved WHERE key_id IN", [r.key_id for r in items]
            )
            todo = []
            for r in items:
                if r.key_id not in known:  # idempotent: a key ID it holds is ignored
                    known.add(r.key_id)
                    todo.append(r)
            sids = list(dict.fromkeys(sid for r in todo for sid, _, _ in r.segments))
            for sid in sids:
                if self._pair is None or owner_of(sid, self._pair) == self.kme_id:
                    # Only the peer's share of the store may be reserved by the peer.
                    raise ReservationRefused("not_found")
            stored = _rows(db, "SELECT key_id, material, source FROM keys WHERE key_id IN", sids)
            material: dict[str, bytes] = {}
            for sid, blob, source in stored:
                if source in SERVABLE_SOURCES:
                    material[sid] = bytes(blob)
            used = dict(_rows(db, "SELECT key_id, used_bytes FROM kms_used WHERE key_id IN", sids))
            erased: set[str] = set()
            rows = []
            for r in todo:
                parts = []
                for sid, off, length in r.segments:
                    blob = material.get(sid)
                    if blob is None or sid in erased or off + length > len(blob):
                        raise ReservationRefused("not_found")
                    parts.append(blob[off : off + length])
                    used[sid] = int(used.get(sid, 0)) + length
                    if used[sid] >= len(blob):
                        erased.add(sid)
                slaves = json.dumps(list(r.slaves))
                rows.append((r.key_id, r.master_sae, slaves, slaves, b"".join(parts)))
            touched = {sid for r in todo for sid, _, _ in r.segments}
            if erased:
                db.executemany(_ERASE, [(sid,) for sid in erased])
                db.executemany("DELETE FROM kms_used WHERE key_id = ?", [(sid,) for sid in erased])
            db.executemany(
                "INSERT OR REPLACE INTO kms_used VALUES (?, ?)",
                [(sid, used[sid]) for sid in touched - erased],
            )
            db.executemany("INSERT INTO kms_reserved VALUES (?, ?, ?, ?, ?)", rows)
            return [r.key_id for r in items]

        result: list[str] = await self._run(job)
        return result

    async def retrieve(
        self, master_sae: str, caller_sae: str, key_ids: Sequence[str]
    ) -> list[DeliveredKey]:
        """``dec_keys``: hand the keys ``key_ids`` of ``master_sae`` to the slave ``caller_sae``
        (each at most once per slave). All or nothing: raises :class:`ReservationRefused` with
        reason ``not_found`` or ``unauthorized``."""
        ids = list(key_ids)

        def job(db: sqlite3.Connection) -> list[DeliveredKey]:
            found = []
            for key_id in ids:
                row = db.execute(
                    "SELECT master_sae, named, slaves, material FROM kms_reserved WHERE key_id = ?",
                    (key_id,),
                ).fetchone()
                if row is None or row[0] != master_sae:
                    raise ReservationRefused("not_found")
                if caller_sae not in json.loads(row[1]):
                    raise ReservationRefused("unauthorized")
                slaves = json.loads(row[2])
                if caller_sae not in slaves or row[3] is None:
                    raise ReservationRefused("not_found")  # this slave already has it
                found.append((key_id, slaves, bytes(row[3])))
            for key_id, slaves, _ in found:
                slaves.remove(caller_sae)
                if slaves:
                    db.execute(
                        "UPDATE kms_reserved SET slaves = ? WHERE key_id = ?",
                        (json.dumps(slaves), key_id),
                    )
                else:
                    db.execute(
                        "UPDATE kms_reserved SET slaves = '[]', material = NULL WHERE key_id = ?",
                        (key_id,),
                    )
            return [DeliveredKey(k, m) for k, _, m in found]

        result: list[DeliveredKey] = await self._run(job)
        return result

    @property
    def commits(self) -> int:
        """Transactions committed by the writer (each may hold many requests)."""
        return self._writer.commits

    def close(self) -> None:
        """Stop the threads (after the writes queued so far) and close the database."""
        self._writer.stop()
        self._writer.join()
        self._checkpointer.stop()
        self._checkpointer.join()
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self._db.close()
        self._read_db.close()


def _settle(future: asyncio.Future[Any], value: Any, err: BaseException | None) -> None:
    if future.done():
        return
    if err is not None:
        future.set_exception(err)
    else:
        future.set_result(value)


def _consume_all(
    db: sqlite3.Connection, segments: Sequence[Segment], sizes: Mapping[str, int]
) -> None:
    """This (allocating) KME consumes ``segments`` of its store keys, with one statement per kind of
    change: each store key ends consumed up to the end of its last segment (segments of one key
    are cut in order), erased if that is its end."""
    reach: dict[str, int] = {}
    for sid, off, length in segments:
        reach[sid] = max(reach.get(sid, 0), off + length)
    erased, used = [], []
    for sid, end in reach.items():
        size = sizes.get(sid)
        if end >= (size if size is not None else _store_size(db, sid)):
            erased.append((sid,))
        else:
            used.append((sid, end))
    if erased:
        db.executemany(_ERASE, erased)
        db.executemany("DELETE FROM kms_used WHERE key_id = ?", erased)
    if used:
        db.executemany(
            "INSERT INTO kms_used VALUES (?, ?) ON CONFLICT(key_id) DO UPDATE SET "
            "used_bytes = MAX(used_bytes, excluded.used_bytes)",
            used,
        )


_IN_CHUNK = 500  # bound parameters per IN (...) query (SQLite allows 999 by default)


def _rows(db: sqlite3.Connection, query: str, values: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` (ending in ``IN``) for ``values``, in chunks of ``_IN_CHUNK``."""
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(values), _IN_CHUNK):
        chunk = values[i : i + _IN_CHUNK]
        out += db.execute(f"{query} ({', '.join('?' * len(chunk))})", chunk).fetchall()
    return out


def _existing(db: sqlite3.Connection, query: str, values: Sequence[str]) -> set[str]:
    """The first column of :func:`_rows`, as a set."""
    return {row[0] for row in _rows(db, query, values)}


def _store_size(db: sqlite3.Connection, store_key_id: str) -> int:
    row = db.execute(
        "SELECT length(material) FROM keys WHERE key_id = ?", (store_key_id,)
    ).fetchone()
    if row is None:
        raise KeyStoreError("a store key vanished while it was being delivered")
    return int(row[0])


_ERASE = "UPDATE keys SET material = x'' WHERE key_id = ?"
"""Erase a used-up store key's material, keeping its row: row IDs then never go down, so that
:meth:`KeyPool.refresh` (which reads rows above the last row ID seen) misses no new key.
``secure_delete`` overwrites the old content in the file."""
