"""``qkd node`` and ``qkd keys``: usage errors exit 2 with one line before any work; the PSK
file is private and never overwritten; ``keys compare`` exits 1 on different stores; nothing
prints key material."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np

from qkdstack.cli.main import main
from qkdstack.kms.store import KeyStore


def test_init_psk_is_private_and_never_overwritten(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    psk = tmp_path / "psk"
    assert main(["node", "init-psk", "--out", str(psk), "--bits", "1024"]) == 0
    assert stat.S_IMODE(os.stat(psk).st_mode) == 0o600
    before = psk.read_bytes()
    assert len(before) == 8 + 128
    assert main(["node", "init-psk", "--out", str(psk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "never overwritten" in err[0]
    assert psk.read_bytes() == before
    assert main(["node", "init-psk", "--out", str(tmp_path / "x"), "--bits", "100"]) == 2
    assert not (tmp_path / "x").exists()


def test_node_usage_errors_exit_2_before_any_work(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    psk = tmp_path / "psk"
    main(["node", "init-psk", "--out", str(psk), "--bits", "1024"])
    store = tmp_path / "a.db"
    cases = [
        (["--listen", "nohost"], "--listen"),
        (["--listen", "127.0.0.1:1", "--rounds", "0"], "--rounds"),
        (["--listen", "127.0.0.1:1", "--pulses", "-5"], "--pulses"),
        (["--listen", "127.0.0.1:1", "--ec-method", "nope"], "--ec-method"),
        (["--listen", "127.0.0.1:1", "--window", "0"], "--window"),
        (["--listen", "127.0.0.1:1", "--window", "many"], "--window"),
        (["--listen", "127.0.0.1:1", "--window", "257"], "--window"),
        # decoy-bb84 (the default) needs a laser: the library's rule (qkdstack.model), as qkd run
        (["--listen", "127.0.0.1:1", "--set", "source=spdc"], "source"),
    ]
    for extra, option in cases:
        capsys.readouterr()
        rc = main(["node", "alice", "--psk", str(psk), "--store", str(store), *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2, extra
        assert len(err) == 1 and option in err[0], err
    assert not store.exists()
    os.chmod(psk, 0o644)
    assert (
        main(["node", "bob", "--connect", "127.0.0.1:1", "--psk", str(psk), "--store", str(store)])
        == 2
    )
    assert "0600" in capsys.readouterr().err


def test_keys_compare_and_list(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    key = np.random.default_rng(3).integers(0, 2, 512, dtype=np.uint8)
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    for path in (a, b):
        with KeyStore(path) as store:
            store.put_pending("batch", key, ["k1", "k2"])
            store.confirm("batch")
    assert main(["keys", "compare", str(a), str(b)]) == 0
    with KeyStore(b) as store:
        store.take("k2")
        other = key.copy()
        other[0] ^= 1
        store.put_pending("b2", other, ["k2"])
        store.confirm("b2")
    capsys.readouterr()
    assert main(["keys", "compare", str(a), str(b)]) == 1
    assert "1 with different material" in capsys.readouterr().out
    assert main(["keys", "list", "--store", str(a), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["count"] == 2 and {k["key_id"] for k in listed["keys"]} == {"k1", "k2"}
    assert all(set(k) == {"key_id", "size_bits", "created_unix"} for k in listed["keys"])
    assert main(["keys", "compare", str(a), str(tmp_path / "missing.db")]) == 2


def test_init_psk_default_is_the_nodes_default() -> None:
    # The command line keeps its own copy (importing qkdstack.node would load the whole node for
    # `qkd --help`); the demo and the library use the node's.
    from qkdstack.cli import node as cli_node
    from qkdstack.node import DEFAULT_PSK_BITS

    assert cli_node._DEFAULT_PSK_BITS == DEFAULT_PSK_BITS
