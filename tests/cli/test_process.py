"""``qkd process``: post-processing record files, and rejecting bad ones before writing anything."""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from qkdstack.cli.main import main


def _simulate(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "records"
    rc = main(
        [
            "simulate",
            "--protocol",
            "bb84",
            "--pulses",
            "3e6",
            "--seed",
            "8",
            "--out",
            str(out),
            *extra,
        ]
    )
    assert rc == 0
    return out


def test_process_simulated_files_and_store_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _simulate(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    capsys.readouterr()
    rc = main(
        [
            "process", "--alice", str(out / "alice.parquet"), "--bob", str(out / "bob.parquet"),
            "--seed", "1", "--store", str(store), "--json",
        ]
    )  # fmt: skip
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["protocol"] == "bb84" and rep["pulses"] == 3_000_000
    assert not rep["aborted"] and rep["keys_match"] and rep["secret_bits"] > 0
    assert rep["stored_keys"] == rep["secret_bits"] // 256
    for name in ("alice.db", "bob.db"):
        assert stat.S_IMODE((store / name).stat().st_mode) == 0o600
    from qkdstack.kms.store import KeyStore

    with KeyStore(store / "alice.db") as a, KeyStore(store / "bob.db") as b:
        assert a.count() == b.count() == rep["stored_keys"]


def test_malformed_file_is_rejected_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _simulate(tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    store = tmp_path / "store"
    store.mkdir()
    capsys.readouterr()
    rc = main(
        ["process", "--alice", str(out / "alice.parquet"), "--bob", str(bad), "--store", str(store)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "bad.parquet" in err
    assert list(store.iterdir()) == []


def test_mismatched_files_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _simulate(tmp_path / "a")
    b_dir = tmp_path / "b"
    assert (
        main(
            [
                "simulate",
                "--protocol",
                "bb84",
                "--pulses",
                "3e6",
                "--seed",
                "9",
                "--out",
                str(b_dir),
            ]
        )
        == 0
    )
    capsys.readouterr()
    rc = main(["process", "--alice", str(a / "alice.parquet"), "--bob", str(b_dir / "bob.parquet")])
    err = capsys.readouterr().err
    assert rc == 2 and "seed" in err and len(err.strip().splitlines()) == 1
    # Alice's file given as Bob's is refused too.
    rc = main(["process", "--alice", str(a / "alice.parquet"), "--bob", str(a / "alice.parquet")])
    assert rc == 2 and "role" in capsys.readouterr().err


def test_hardware_style_records_listing_every_pulse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Records from hardware may list every pulse Alice sent, not only Bob's detections."""
    import numpy as np

    from qkdstack.link.recordfile import write_records
    from qkdstack.link.records import RecordMeta, Records
    from qkdstack.typing import Role

    rng = np.random.default_rng(3)
    pulses = 2_000_000
    meta = RecordMeta(protocol="bb84", pulses=pulses, params={"source": "single-photon"}, seed=None)
    a_basis = rng.integers(0, 2, pulses, dtype=np.uint8)
    a_bit = rng.integers(0, 2, pulses, dtype=np.uint8)
    det = np.sort(rng.choice(pulses, 150_000, replace=False)).astype(np.int64)
    b_basis = rng.integers(0, 2, det.size, dtype=np.uint8)
    flip = (rng.random(det.size) < 0.02).astype(np.uint8)
    b_bit = np.where(
        b_basis == a_basis[det], a_bit[det] ^ flip, rng.integers(0, 2, det.size)
    ).astype(np.uint8)
    alice = Records(Role.ALICE, np.arange(pulses, dtype=np.int64), a_basis, a_bit, meta)
    bob = Records(Role.BOB, det, b_basis, b_bit, meta)
    write_records(alice, tmp_path / "a.parquet")
    write_records(bob, tmp_path / "b.parquet")
    rc = main(
        [
            "process",
            "--alice",
            str(tmp_path / "a.parquet"),
            "--bob",
            str(tmp_path / "b.parquet"),
            "--json",
        ]
    )
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert not rep["aborted"] and rep["keys_match"] and rep["secret_bits"] > 0
    # Hardware records (no simulation seed): no simulation oracle; Bob's own count after error
    # correction gives the key's error rate instead.
    assert rep["qber_true"] is None
    assert abs(rep["qber_corrected"] - 0.02) < 5 * (0.02 * 0.98 / rep["key_bits_before_ec"]) ** 0.5
    assert pq.read_metadata(tmp_path / "a.parquet").num_rows == pulses


def _hardware_pair(tmp_path: Path, params: dict) -> list[str]:
    """A small hardware-style pair (no seed) with the given ``params`` metadata."""
    import numpy as np

    from qkdstack.link.recordfile import write_records
    from qkdstack.link.records import RecordMeta, Records
    from qkdstack.typing import Role

    rng = np.random.default_rng(5)
    n, pulses = 60_000, 2_000_000
    index = np.sort(rng.choice(pulses, n, replace=False)).astype(np.int64)
    a_basis, b_basis = rng.integers(0, 2, (2, n), dtype=np.uint8)
    a_bit = rng.integers(0, 2, n, dtype=np.uint8)
    flip = (rng.random(n) < 0.02).astype(np.uint8)
    b_bit = np.where(a_basis == b_basis, a_bit ^ flip, rng.integers(0, 2, n)).astype(np.uint8)
    meta = RecordMeta(protocol="bb84", pulses=pulses, params=params, seed=None)
    write_records(Records(Role.ALICE, index, a_basis, a_bit, meta), tmp_path / "a.parquet")
    write_records(Records(Role.BOB, index.copy(), b_basis, b_bit, meta), tmp_path / "b.parquet")
    return ["--alice", str(tmp_path / "a.parquet"), "--bob", str(tmp_path / "b.parquet")]


def test_hardware_table_is_titled_for_processing_without_oracle_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _hardware_pair(tmp_path, {"source": "single-photon"})
    assert main(["process", *files, "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "qkdstack process: post-processing of two record files" in out
    assert "qkdstack run" not in out
    assert "oracle" not in out and "QBER true" not in out
    assert "QBER of the key, known after EC" in out


def test_simulated_records_keep_the_labelled_oracle_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = _simulate(tmp_path)
    files = ["--alice", str(out_dir / "alice.parquet"), "--bob", str(out_dir / "bob.parquet")]
    capsys.readouterr()
    assert main(["process", *files, "--seed", "2"]) == 0
    assert "QBER true (simulation oracle)" in capsys.readouterr().out


def test_record_file_without_source_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _hardware_pair(tmp_path, {})
    store = tmp_path / "store"
    store.mkdir()
    rc = main(["process", *files, "--store", str(store)])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "a.parquet" in captured.err and "must declare 'source'" in captured.err
    assert list(store.iterdir()) == []
    # Declaring it on the command line is enough; a laser then needs its mean photon number.
    assert main(["process", *files, "--source", "single-photon", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["secret_bits"] > 0
    rc = main(["process", *files, "--source", "laser"])
    err = capsys.readouterr().err
    assert rc == 2 and "'params.mu'" in err


def test_laser_declaration_gets_the_laser_proof_not_the_single_photon_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Hardware records draw their sample from secrets; --insecure-seeded-keys fixes it from the
    # seed, so both runs disclose the same sample and only the proof differs.
    single = _hardware_pair(tmp_path, {"source": "single-photon"})
    assert main(["process", *single, "--seed", "1", "--insecure-seeded-keys", "--json"]) == 0
    rep_single = json.loads(capsys.readouterr().out)
    laser_dir = tmp_path / "laser"
    laser_dir.mkdir()
    laser = _hardware_pair(laser_dir, {"source": "laser", "mu": 0.01})
    assert main(["process", *laser, "--seed", "1", "--insecure-seeded-keys", "--json"]) == 0
    rep_laser = json.loads(capsys.readouterr().out)
    assert rep_single["key_length_formula"].startswith("Shor-Preskill")
    assert rep_laser["key_length_formula"].startswith("GLLP")
    # GLLP keeps only the single-photon share: 1 - P(n >= 2) / gain, gain = detections / pulses.
    gain = rep_laser["detections"] / rep_laser["pulses"]
    share = 1 - (1 - (1 + 0.01) * math.exp(-0.01)) / gain
    assert rep_laser["single_photon_fraction"] == pytest.approx(share)
    assert rep_laser["secret_bits"] < rep_single["secret_bits"]
