"""A node's durable authentication key pool: one-time pads that are never used twice.

Wegman-Carter authentication (:mod:`qkdstack.processing.authentication`) needs a hash key ``r``
(16 bytes, reused) and a fresh 128-bit pad per tag. The pool starts from the pre-shared secret
(``qkd node init-psk``: ``r`` then pads) and grows by part of every round's new key. Its pads form
one stream: the pre-shared pads, then each refill in the order it was *activated* (a refill is
added as pending with its round's key and activated when that key is confirmed, so both nodes
activate the same refills in the same order). The ``position`` is the byte offset in that stream
below which every pad has been used.

Crash safety: :meth:`AuthPool.reserve` moves the position past the pads it hands out and commits
(SQLite, ``synchronous=FULL``: fsync'd) *before* the caller makes or checks a single tag, so a
kill -9 at any moment leaves at worst pads skipped, never pads reused. Used pads are overwritten
with zeros in the file (a used pad that leaks would reveal ``h_r`` of a tagged message).

The file is private (0600) and holds SQLite tables; the node owns it (the key store never reads
it).

References
----------
M. N. Wegman and J. L. Carter, J. Comput. Syst. Sci. 22, 265 (1981): each tag needs a fresh pad.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Final

from qkdstack.errors import NodeError, ParameterError
from qkdstack.processing.authentication import TAG_BYTES

__all__ = ["DEFAULT_PSK_BITS", "PAD_BYTES", "AuthPool", "read_psk", "write_psk"]

PAD_BYTES: Final = TAG_BYTES
_R_BYTES: Final = 16
_PSK_MAGIC: Final = b"QKDPSK1\n"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hash_key (r BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pads (
    batch_id TEXT PRIMARY KEY,
    material BLOB NOT NULL,
    active_order INTEGER
);
"""


def _private_file(path: Path, what: str) -> bool:
    """Create ``path`` with mode 0600 (True), or check that the existing one is private (False)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        st = os.stat(path, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            raise NodeError(f"{what} {str(path)!r} must be a regular file.") from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise NodeError(
                f"{what} {str(path)!r} must have mode 0600, not {stat.S_IMODE(st.st_mode):04o}."
            ) from None
        return False
    os.close(fd)
    return True


DEFAULT_PSK_BITS = 1 << 18
"""The pre-shared secret's size by default (``qkd node init-psk``): 128 bits of hash key, the
rest one-time pads until the first rounds refill the pool."""


def write_psk(path: str | os.PathLike[str], secret: bytes) -> None:
    """Write a pre-shared secret to a new file of mode 0600 (an existing file is never replaced)."""
    if len(secret) < _R_BYTES + PAD_BYTES or (len(secret) - _R_BYTES) % PAD_BYTES:
        raise ParameterError(
            "Argument 'secret' must be 16 bytes of hash key plus a positive multiple of 16 bytes "
            f"of pads, not {len(secret)} bytes."
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(_PSK_MAGIC + secret)
        out.flush()
        os.fsync(out.fileno())


def read_psk(path: str | os.PathLike[str]) -> bytes:
    """Read a pre-shared secret written by :func:`write_psk` (refused unless private)."""
    path = Path(path)
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ParameterError(
            f"Argument '--psk' must be a file of mode 0600, not {stat.S_IMODE(st.st_mode):04o} "
            f"('{path}')."
        )
    data = path.read_bytes()
    body = data[len(_PSK_MAGIC) :]
    if (
        not data.startswith(_PSK_MAGIC)
        or len(body) < _R_BYTES + PAD_BYTES
        or (len(body) - _R_BYTES) % PAD_BYTES
    ):
        raise ParameterError(
            f"Argument '--psk' must be a file made by 'qkd node init-psk', not '{path}'."
        )
    return body


class AuthPool:
    """One node's pool (see the module docstring).

    Parameters
    ----------
    path : path-like
        The pool file; created (0600) from ``psk`` when absent.
    psk : bytes
        The pre-shared secret: 16 bytes of hash key ``r``, then pads. Used only to create the file.
    """

    def __init__(self, path: str | os.PathLike[str], psk: bytes) -> None:
        self.path = Path(path)
        created = _private_file(self.path, "Authentication pool")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            if created or self._db.execute("SELECT COUNT(*) FROM hash_key").fetchone()[0] == 0:
                with self._transaction():
                    self._db.execute("INSERT INTO hash_key VALUES (?)", (psk[:_R_BYTES],))
                    self._db.execute(
                        "INSERT INTO pads VALUES ('psk', ?, 0)", (bytes(psk[_R_BYTES:]),)
                    )
                    self._db.executemany(
                        "INSERT INTO state VALUES (?, 0)", [("position",), ("next_round",)]
                    )
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise NodeError(f"Authentication pool {str(self.path)!r} is unusable: {exc}") from exc
        self._r = bytes(self._db.execute("SELECT r FROM hash_key").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _state(self, name: str) -> int:
        return int(
            self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()[0]
        )

    def _set_state(self, name: str, value: int) -> None:
        self._db.execute("UPDATE state SET value = ? WHERE name = ?", (value, name))

    @property
    def hash_key(self) -> bytes:
        """The Poly1305 hash key ``r`` (reused by every tag; secret)."""
        return self._r

    @property
    def position_bytes(self) -> int:
        """Offset of the first unused pad byte in the pad stream."""
        with self._lock:
            return self._state("position")

    @property
    def total_bytes(self) -> int:
        """Length of the pad stream (pre-shared pads and active refills)."""
        with self._lock:
            return self._total()

    def _total(self) -> int:
        row = self._db.execute(
            "SELECT COALESCE(SUM(LENGTH(material)), 0) FROM pads WHERE active_order IS NOT NULL"
        ).fetchone()
        return int(row[0])

    @property
    def bits_left(self) -> int:
        """Unused pad bits."""
        with self._lock:
            return 8 * (self._total() - self._state("position"))

    def reserve(self, n_pads: int, at_least: int = 0) -> tuple[int, bytes]:
        """Take ``n_pads`` pads starting at ``max(position, at_least)``; durable before return.

        Returns the offset and the pads. Raises :class:`NodeError` when the pool holds too few.
        """
        if n_pads < 1:
            raise ParameterError(f"Argument 'n_pads' must be >= 1, not {n_pads}.")
        need = n_pads * PAD_BYTES
        with self._lock, self._transaction():
            start = max(self._state("position"), at_least)
            total = self._total()
            if start + need > total:
                raise NodeError(
                    "authentication key pool is exhausted: "
                    f"{8 * max(total - start, 0)} bits left, a round needs {8 * need}; "
                    "the node stops instead of sending unauthenticated traffic (distribute a new "
                    "pre-shared secret)"
                )
            pads = self._take(start, need)
            self._set_state("position", start + need)
        return start, pads

    def _take(self, start: int, need: int) -> bytes:
        """Read ``need`` bytes at ``start`` and zero them in the file."""
        out = bytearray()
        offset = 0
        rows = self._db.execute(
            "SELECT batch_id, material FROM pads WHERE active_order IS NOT NULL "
            "ORDER BY active_order"
        ).fetchall()
        end = start + need
        for batch_id, material in rows:
            lo, hi = offset, offset + len(material)
            offset = hi
            if hi <= start or lo >= end:
                continue
            a, b = max(start, lo) - lo, min(end, hi) - lo
            out += material[a:b]
            wiped = bytes(material[:a]) + bytes(b - a) + bytes(material[b:])
            self._db.execute("UPDATE pads SET material = ? WHERE batch_id = ?", (wiped, batch_id))
        return bytes(out)

    def advance_to(self, position_bytes: int) -> None:
        """Skip every pad below ``position_bytes`` (after a peer reports a later position)."""
        with self._lock, self._transaction():
            if position_bytes > self._state("position"):
                self._take(self._state("position"), position_bytes - self._state("position"))
                self._set_state("position", position_bytes)

    # -- refills, journalled with the round's key ---------------------------------------------
    def add_pending(self, batch_id: str, material: bytes) -> None:
        """Record a refill for the round ``batch_id`` (not usable until :meth:`activate`)."""
        if len(material) % PAD_BYTES:
            raise ParameterError(
                f"Argument 'material' must be a multiple of 16 bytes, not {len(material)}."
            )
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO pads VALUES (?, ?, NULL)", (batch_id, bytes(material))
            )

    def activate(self, batch_id: str) -> None:
        """Append the pending refill ``batch_id`` to the pad stream (idempotent)."""
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE pads SET active_order = (SELECT MAX(active_order) + 1 FROM pads) "
                "WHERE batch_id = ? AND active_order IS NULL",
                (batch_id,),
            )

    def drop(self, batch_id: str) -> None:
        """Forget a pending refill (its round's key was dropped)."""
        with self._lock, self._transaction():
            self._db.execute(
                "DELETE FROM pads WHERE batch_id = ? AND active_order IS NULL", (batch_id,)
            )

    def pending(self) -> list[str]:
        """Batch IDs of the refills not yet activated or dropped."""
        with self._lock:
            rows = self._db.execute("SELECT batch_id FROM pads WHERE active_order IS NULL")
            return sorted(str(r[0]) for r in rows)

    def refills(self) -> list[str]:
        """Batch IDs of the active refills, in stream order (``"psk"`` first)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id FROM pads WHERE active_order IS NOT NULL ORDER BY active_order"
            )
            return [str(r[0]) for r in rows]

    # -- round numbering ----------------------------------------------------------------------
    def claim_round(self, at_least: int = 1) -> int:
        """A round id never used before by this node (durable)."""
        with self._lock, self._transaction():
            round_id = max(self._state("next_round"), at_least, 1)
            self._set_state("next_round", round_id + 1)
        return round_id

    def see_round(self, round_id: int) -> None:
        """Remember that ``round_id`` was used (the next claim is above it)."""
        with self._lock, self._transaction():
            if round_id >= self._state("next_round"):
                self._set_state("next_round", round_id + 1)

    @property
    def next_round(self) -> int:
        """The lowest round id this node has not used."""
        with self._lock:
            return max(self._state("next_round"), 1)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
