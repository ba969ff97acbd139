"""An embedded, durable key store: SQLite in a private file (mode 0600).

Keys produced by a link are cut into fixed-size keys, each with a random ID (UUID4 from the
operating system's CSPRNG), and stored with their creation time. A key can be fetched by ID once:
delivery deletes it (as a key management system does once both applications hold it). Key material
is never logged; only IDs, counts and sizes are.

This is the storage layer of the key delivery service (ETSI GS QKD 014); the service itself is a
later layer on top of it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
import uuid
from pathlib import Path

import numpy as np

from qkdstack.errors import KeyStoreError, ParameterError
from qkdstack.typing import BitArray

__all__ = ["KeyStore", "deposit_pair"]


def _new_key_id() -> str:
    """A random UUID (version 4) from :mod:`secrets`."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    size_bits INTEGER NOT NULL,
    material BLOB NOT NULL,
    created_unix REAL NOT NULL,
    source TEXT NOT NULL
);
"""


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
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise KeyStoreError(
                f"Key store {str(self.path)!r} is not a valid key store: {exc}"
            ) from exc
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                os.chmod(side, 0o600)

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
        ids = key_ids if key_ids is not None else [_new_key_id() for _ in range(count)]
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
    ids = [_new_key_id() for _ in range(count)]
    directory = Path(store_dir)
    with KeyStore(directory / "alice.db") as a, KeyStore(directory / "bob.db") as b:
        a.deposit(alice_key, key_size_bits, source="qkd", key_ids=ids)
        b.deposit(bob_key, key_size_bits, source="qkd", key_ids=ids)
    return ids
