from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import KeyStoreError, ParameterError
from qkdstack.kms.store import KeyStore


def test_store_is_private_and_keys_are_delivered_once(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    key = np.random.default_rng(1).integers(0, 2, 1000, dtype=np.uint8)
    with KeyStore(path) as store:
        ids = store.deposit(key, key_size_bits=256)
        assert len(ids) == 3 and len(set(ids)) == 3 and store.count() == 3
        first = store.take(ids[0])
        assert first == np.packbits(key[:256]).tobytes()
        with pytest.raises(KeyStoreError):
            store.take(ids[0])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with KeyStore(path) as again:  # durable across reopen
        assert again.count() == 2
        assert again.take(ids[2]) == np.packbits(key[512:768]).tobytes()


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        KeyStore(tmp_path / "missing" / "k.db")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(KeyStoreError):
        KeyStore(bad)
    with (
        KeyStore(tmp_path / "ok.db") as store,
        pytest.raises(ParameterError, match="key_size_bits"),
    ):
        store.deposit(np.zeros(100, np.uint8), key_size_bits=12)
