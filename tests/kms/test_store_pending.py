"""The key store's two-phase deposit: pending keys are neither counted nor delivered until
confirmed; a dropped batch leaves nothing; a confirmed batch cannot be dropped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import KeyStoreError
from qkdstack.kms.store import KeyStore


def test_pending_then_confirm_then_take(tmp_path: Path) -> None:
    key = np.random.default_rng(1).integers(0, 2, 600, dtype=np.uint8)
    with KeyStore(tmp_path / "s.db") as store:
        store.put_pending("batch1", key, ["k1", "k2"], 256)
        assert store.count() == 0 and store.list_pending() == ["batch1"]
        with pytest.raises(KeyStoreError):
            store.take("k1")
        assert not store.is_confirmed("batch1")
        store.confirm("batch1")
        store.confirm("batch1")  # idempotent
        assert store.count() == 2 and store.list_pending() == []
        assert store.is_confirmed("batch1")
        assert store.take("k2") == np.packbits(key[256:512]).tobytes()
        assert [k for k, _, _ in store.list_keys()] == ["k1"]
        with pytest.raises(KeyStoreError, match="confirmed"):
            store.drop("batch1")
        with pytest.raises(KeyStoreError, match="already known"):
            store.put_pending("batch1", key, ["k3"], 256)


def test_a_dropped_batch_leaves_nothing(tmp_path: Path) -> None:
    key = np.ones(300, dtype=np.uint8)
    with KeyStore(tmp_path / "s.db") as store:
        store.put_pending("b", key, ["k1"], 256)
        store.drop("b")
        store.drop("b")  # idempotent
        assert store.count() == 0 and store.list_pending() == []
        with pytest.raises(KeyStoreError, match="dropped"):
            store.confirm("b")
    with KeyStore(tmp_path / "s.db") as store:  # and so it stays after reopening
        assert store.count() == 0 and store.list_pending() == [] and not store.is_confirmed("b")
