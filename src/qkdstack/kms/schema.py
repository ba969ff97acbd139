"""The ``keys`` table: one definition for every key store file.

A key store is one SQLite file. Its ``keys`` table is written by the processes that make keys
(:class:`qkdstack.kms.store.KeyStore`: ``qkd run --store``, ``qkd node``) and read by the key
service (:class:`qkdstack.kms.pool.KeyPool`), which may be the first to open a new file; both
create it with this statement, so they cannot drift apart.
"""

from __future__ import annotations

__all__ = ["KEYS_TABLE"]

KEYS_TABLE = """
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY,
    size_bits INTEGER NOT NULL,
    material BLOB NOT NULL,
    created_unix REAL NOT NULL,
    source TEXT NOT NULL
);
"""
