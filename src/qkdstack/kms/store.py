"""An embedded, durable key store: SQLite in a private file (mode 0600).

Keys produced by a link are cut into fixed-size keys, each with a random ID (UUID4 from the
operating system's CSPRNG), and stored with their creation time. A key can be fetched by ID once:
delivery deletes it (as a key management system does once both applications hold it). Key material
is never logged; only IDs, counts and sizes are.

This is the storage layer of the key delivery service (ETSI GS QKD 014); the service itself is a
later layer on top of it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qkdstack.errors import KeyStoreError, ParameterError
from qkdstack.kms.schema import KEYS_TABLE
from qkdstack.randomness import secret_key_id
from qkdstack.typing import BitArray

__all__ = ["KeyStore", "check_store_dir", "deposit_pair"]


_SCHEMA = (
    KEYS_TABLE
    + """
CREATE TABLE IF NOT EXISTS pending_keys (
    key_id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    size_bits INTEGER NOT NULL,
    material BLOB NOT NULL,
    created_unix REAL NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    changed_unix REAL NOT NULL
);
"""
)


class KeyStore:
    """A key store in one SQLite file, created with permissions 0600.

    Parameters
    ----------
    path : path-like
        The database file. Its parent directory must exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise KeyStoreError(f"Key store directory {str(self.path.parent)!r} does not exist.")
        fd, self.created = _open_store_file(self.path)
        # Journal files already there are not ours to delete if opening fails.
        self._foreign_sides = _present_side_files(self.path)
        try:
            _check_side_files(self.path)
            opened = os.fstat(fd)
            try:
                self._db = sqlite3.connect(self.path, isolation_level=None)
                # The name still leads to the file checked above (not swapped for a link).
                now = os.stat(self.path, follow_symlinks=False)
                if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
                    self._db.close()
                    raise KeyStoreError(f"Key store {str(self.path)!r} changed while opening.")
                if not self.created:
                    _check_schema(self._db, self.path)  # read only: a foreign file is untouched
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise KeyStoreError(
                    f"Key store {str(self.path)!r} is not a valid key store: {exc}"
                ) from exc
        except BaseException:
            if self.created:  # no empty store is left behind
                _remove_store_files(self.path, keep=self._foreign_sides)
            raise
        finally:
            os.close(fd)

    def discard(self) -> None:
        """Close, and delete the file if this object created it (nothing was deposited)."""
        self.close()
        if self.created:
            _remove_store_files(self.path, keep=self._foreign_sides)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def deposit(
        self,
        key: BitArray,
        key_size_bits: int = 256,
        source: str = "qkd",
        key_ids: list[str] | None = None,
    ) -> list[str]:
        """Cut ``key`` into keys of ``key_size_bits`` (a multiple of 8; the remainder is dropped),
        store them in one transaction, and return their IDs.

        ``key_ids`` gives the IDs to use (the peer's store holds the same keys under the same IDs);
        by default fresh random UUIDs are drawn."""
        if key_size_bits <= 0 or key_size_bits % 8:
            raise ParameterError(
                f"Argument 'key_size_bits' must be a positive multiple of 8, not {key_size_bits}."
            )
        count = int(key.shape[0]) // key_size_bits
        packed = np.packbits(key[: count * key_size_bits]).tobytes()
        step = key_size_bits // 8
        now = time.time()
        ids = key_ids if key_ids is not None else [secret_key_id() for _ in range(count)]
        if len(ids) != count:
            raise ParameterError(
                f"Argument 'key_ids' must hold {count} IDs (one per key), not {len(ids)}."
            )
        rows = [
            (ids[i], key_size_bits, packed[i * step : (i + 1) * step], now, source)
            for i in range(count)
        ]
        with self._transaction():
            self._db.executemany("INSERT INTO keys VALUES (?, ?, ?, ?, ?)", rows)
        return [r[0] for r in rows]

    # -- two-phase deposit (qkd node): pending, then confirmed or dropped on both sides --------
    def put_pending(
        self,
        batch_id: str,
        key: BitArray,
        key_ids: Sequence[str],
        key_size_bits: int = 256,
        source: str = "qkd-node",
    ) -> None:
        """Store a round's keys as *pending* under ``batch_id``: durable, but neither counted,
        listed as served keys nor delivered until :meth:`confirm`. One key of ``key_size_bits``
        per ID, cut from the start of ``key``."""
        if key_size_bits <= 0 or key_size_bits % 8:
            raise ParameterError(
                f"Argument 'key_size_bits' must be a positive multiple of 8, not {key_size_bits}."
            )
        if len(key_ids) * key_size_bits > int(key.shape[0]):
            raise ParameterError(
                f"Argument 'key_ids' must name at most {int(key.shape[0]) // key_size_bits} keys "
                f"of {key_size_bits} bits, not {len(key_ids)}."
            )
        packed = np.packbits(key[: len(key_ids) * key_size_bits]).tobytes()
        step = key_size_bits // 8
        now = time.time()
        rows = [
            (kid, batch_id, key_size_bits, packed[i * step : (i + 1) * step], now, source)
            for i, kid in enumerate(key_ids)
        ]
        with self._transaction():
            if self._db.execute("SELECT 1 FROM batches WHERE batch_id = ?", (batch_id,)).fetchone():
                raise KeyStoreError(f"batch {batch_id!r} is already known")
            self._db.execute("INSERT INTO batches VALUES (?, 'pending', ?)", (batch_id, now))
            self._db.executemany("INSERT INTO pending_keys VALUES (?, ?, ?, ?, ?, ?)", rows)

    def confirm(self, batch_id: str) -> None:
        """Make the pending batch's keys ordinary keys (idempotent once confirmed)."""
        with self._transaction():
            state = self._batch_state(batch_id)
            if state == "confirmed":
                return
            if state != "pending":
                raise KeyStoreError(f"batch {batch_id!r} cannot be confirmed: it is {state}")
            self._db.execute(
                "INSERT INTO keys SELECT key_id, size_bits, material, created_unix, source "
                "FROM pending_keys WHERE batch_id = ?",
                (batch_id,),
            )
            self._db.execute("DELETE FROM pending_keys WHERE batch_id = ?", (batch_id,))
            self._db.execute(
                "UPDATE batches SET state = 'confirmed', changed_unix = ? WHERE batch_id = ?",
                (time.time(), batch_id),
            )

    def drop(self, batch_id: str) -> None:
        """Delete a pending batch's keys (idempotent; a confirmed batch is refused)."""
        with self._transaction():
            state = self._batch_state(batch_id)
            if state == "confirmed":
                raise KeyStoreError(f"batch {batch_id!r} is confirmed and cannot be dropped")
            self._db.execute("DELETE FROM pending_keys WHERE batch_id = ?", (batch_id,))
            self._db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, 'dropped', ?)", (batch_id, time.time())
            )

    def list_pending(self) -> list[str]:
        """IDs of the batches stored as pending, neither confirmed nor dropped."""
        rows = self._db.execute("SELECT batch_id FROM batches WHERE state = 'pending'")
        return sorted(str(r[0]) for r in rows)

    def is_confirmed(self, batch_id: str) -> bool:
        """Whether ``batch_id`` was confirmed here (also after its keys were delivered)."""
        return self._batch_state(batch_id) == "confirmed"

    def _batch_state(self, batch_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM batches WHERE batch_id = ?", (batch_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def list_keys(self) -> list[tuple[str, int, float]]:
        """``(key_id, size_bits, created_unix)`` of every confirmed key, oldest first (never
        material)."""
        rows = self._db.execute(
            "SELECT key_id, size_bits, created_unix FROM keys ORDER BY created_unix, key_id"
        )
        return [(str(k), int(b), float(t)) for k, b, t in rows]

    def material_by_id(self) -> dict[str, bytes]:
        """Every confirmed key's material by ID (for comparing two stores; never printed)."""
        rows = self._db.execute("SELECT key_id, material FROM keys")
        return {str(k): bytes(m) for k, m in rows}

    def count(self) -> int:
        """Number of keys held."""
        return int(self._db.execute("SELECT COUNT(*) FROM keys").fetchone()[0])

    def take(self, key_id: str) -> bytes:
        """Return the key ``key_id`` and delete it (each key is delivered once)."""
        with self._transaction():
            row = self._db.execute(
                "SELECT material FROM keys WHERE key_id = ?", (key_id,)
            ).fetchone()
            if row is None:
                raise KeyStoreError("no such key")
            self._db.execute("DELETE FROM keys WHERE key_id = ?", (key_id,))
        return bytes(row[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


_SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_store_file(path: Path) -> tuple[int, bool]:
    """Open (or create, mode 0600) the store file without following a symbolic link; return the
    descriptor and whether this call created the file. An existing file is checked by
    :func:`_open_existing`."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        return _open_existing(path, os.O_RDWR), False
    except OSError as exc:
        raise KeyStoreError(f"Key store {str(path)!r} cannot be created: {exc.strerror}.") from None
    return fd, True


def _open_existing(path: Path, mode: int) -> int:
    """Open an existing store file without following a link, and check that what was opened is
    a private regular file of this user that holds an SQLite database.

    Nothing is changed on a refused file: no chmod, no truncation, no schema."""
    if path.is_symlink():
        raise KeyStoreError(
            f"Key store {str(path)!r} must not be a symbolic link; it was left unchanged."
        )
    if path.is_dir():
        raise KeyStoreError(f"Key store {str(path)!r} must be a file, not a directory.")
    try:
        fd = os.open(path, mode | _NOFOLLOW)
    except OSError as exc:
        raise KeyStoreError(f"Key store {str(path)!r} cannot be opened: {exc.strerror}.") from None
    try:
        st = os.fstat(fd)
        problem = None
        if not stat.S_ISREG(st.st_mode):
            problem = "is not a regular file"
        elif hasattr(os, "getuid") and st.st_uid != os.getuid():
            problem = "belongs to another user"
        elif stat.S_IMODE(st.st_mode) & 0o077:
            problem = f"must have mode 0600, not {stat.S_IMODE(st.st_mode):04o}"
        elif os.pread(fd, len(_SQLITE_HEADER), 0) != _SQLITE_HEADER:
            problem = "is not a key store (not an SQLite database)"
        if problem is not None:
            raise KeyStoreError(f"Key store {str(path)!r} {problem}; it was left unchanged.")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_side_files(path: Path) -> None:
    """SQLite's journal files beside the store must be plain files, never links."""
    for suffix in _SIDE_SUFFIXES:
        side = Path(str(path) + suffix)
        if side.is_symlink() or (side.exists() and not side.is_file()):
            raise KeyStoreError(f"Key store file {str(side)!r} must be a regular file.")


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    """An existing file must already hold the ``keys`` table (read-only check)."""
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'keys'"
    ).fetchone()
    if row is None:
        db.close()
        raise KeyStoreError(
            f"Key store {str(path)!r} is an SQLite database without a 'keys' table, not a key "
            f"store; it was left unchanged."
        )


def _present_side_files(path: Path) -> frozenset[str]:
    sides = (str(path) + suffix for suffix in _SIDE_SUFFIXES)
    return frozenset(s for s in sides if os.path.lexists(s))


def _remove_store_files(path: Path, keep: frozenset[str] = frozenset()) -> None:
    """Delete a store this process created, and the journal files SQLite made beside it."""
    for name in (str(path), *(str(path) + suffix for suffix in _SIDE_SUFFIXES)):
        if name in keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def check_store_dir(directory: str | os.PathLike[str], *, option: str = "store_dir") -> None:
    """Check, before any work, that :func:`deposit_pair` can write ``directory``.

    The directory must exist and be writable; ``alice.db`` and ``bob.db`` are either absent or
    private key-store files of this user (never links, directories or other files).

    Raises
    ------
    ParameterError
        Naming ``option`` and the path.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ParameterError(
            f"Argument '{option}' must be an existing directory, not '{directory}'."
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ParameterError(
            f"Argument '{option}' must be a writable directory, not '{directory}'."
        )
    for name in _STORE_FILES:
        path = directory / name
        try:
            _check_side_files(path)
            if not (path.exists() or path.is_symlink()):
                continue
            os.close(_open_existing(path, os.O_RDONLY))
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                _check_schema(db, path)
            finally:
                db.close()
        except (KeyStoreError, sqlite3.DatabaseError) as exc:
            raise ParameterError(f"Argument '{option}': {exc}") from None


_STORE_FILES = ("alice.db", "bob.db")


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def deposit_pair(
    store_dir: str | os.PathLike[str],
    alice_key: BitArray,
    bob_key: BitArray,
    key_size_bits: int = 256,
) -> list[str]:
    """Deposit Alice's and Bob's copies of a finished key into ``store_dir/alice.db`` and
    ``store_dir/bob.db`` under the same key IDs (as two key management systems would)."""
    if alice_key.shape != bob_key.shape:
        raise KeyStoreError("Alice's and Bob's keys differ in length; nothing was stored.")
    count = int(alice_key.shape[0]) // max(key_size_bits, 1)
    ids = [secret_key_id() for _ in range(count)]
    directory = Path(store_dir)
    a = KeyStore(directory / _STORE_FILES[0])
    try:
        b = KeyStore(directory / _STORE_FILES[1])
    except BaseException:
        a.discard()  # Bob's store cannot be opened: Alice's new store is not left behind
        raise
    with a, b:
        a.deposit(alice_key, key_size_bits, source="qkd", key_ids=ids)
        b.deposit(bob_key, key_size_bits, source="qkd", key_ids=ids)
    return ids
