"""``qkd reconcile``: corrects the key, reports the contract fields, rejects bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qkdstack.cli.main import main

from helpers import h2, noisy_pair


def _write_pair(tmp_path: Path, n: int = 5000, errors: int = 100) -> tuple[Path, Path, np.ndarray]:
    alice, bob = noisy_pair(np.random.default_rng(8), n, errors)
    np.save(tmp_path / "a.npy", alice)
    np.save(tmp_path / "b.npy", bob)
    return tmp_path / "a.npy", tmp_path / "b.npy", alice


def test_reconcile_json_report_and_corrected_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, alice = _write_pair(tmp_path)
    out = tmp_path / "c.npy"
    rc = main(
        [
            "reconcile",
            "--alice",
            str(a),
            "--bob",
            str(b),
            "--qber",
            "0.02",
            "--out",
            str(out),
            "--method",
            "cascade-opt7",
            "--seed",
            "4",
            "--json",
        ]
    )
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {
        "bits",
        "leaked_bits",
        "efficiency",
        "round_trips",
        "frames",
        "frames_failed",
        "seconds",
    }
    assert report["bits"] == 5000
    assert np.array_equal(np.load(out), alice)
    # f = leaked / (n h(Q)) with the true Q = 0.02 (independent arithmetic).
    h = -(0.02 * np.log2(0.02) + 0.98 * np.log2(0.98))
    assert report["efficiency"] == pytest.approx(report["leaked_bits"] / (5000 * h), rel=1e-5)
    assert report["leaked_bits"] > 5000 * h


def test_reconcile_text_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = _write_pair(tmp_path)
    rc = main(
        [
            "reconcile",
            "--alice",
            str(a),
            "--bob",
            str(b),
            "--qber",
            "0.02",
            "--out",
            str(tmp_path / "c.npy"),
        ]
    )
    assert rc == 0
    assert "leaked_bits" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("case", "qber", "method", "message"),
    [
        ("lengths", "0.02", "cascade", "equal lengths"),
        ("values", "0.02", "cascade", "0/1"),
        ("ok", "0.5", "cascade", "--qber"),
        ("ok", "0", "cascade", "--qber"),
        ("ok", "0.02", "nonsense", "cascade-original"),
        ("missing", "0.02", "cascade", "existing"),
    ],
)
def test_reconcile_rejects_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    qber: str,
    method: str,
    message: str,
) -> None:
    a, b, _ = _write_pair(tmp_path, n=100, errors=2)
    if case == "lengths":
        np.save(b, np.zeros(99, dtype=np.uint8))
    if case == "values":
        np.save(b, np.full(100, 3, dtype=np.uint8))
    if case == "missing":
        b = tmp_path / "nope.npy"
    rc = main(
        [
            "reconcile",
            "--alice",
            str(a),
            "--bob",
            str(b),
            "--qber",
            qber,
            "--method",
            method,
            "--out",
            str(tmp_path / "c.npy"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_reconcile_ldpc_target_efficiency_sets_the_leakage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 60,000 bits with exactly 4% errors: one 65536-bit frame whose syndrome leaks
    # ceil(f* h(Q) n) bits, so the efficiency is f* up to rounding (the puncturing cap is not hit
    # at these f*).
    a, b, alice = _write_pair(tmp_path, n=60_000, errors=2_400)
    reports = {}
    for f_star in ("1.3", "1.5"):
        out = tmp_path / f"c{f_star}.npy"
        args = ["reconcile", "--alice", str(a), "--bob", str(b), "--qber", "0.04"]
        args += ["--out", str(out), "--method", "ldpc", "--target-efficiency", f_star, "--json"]
        assert main(args) == 0
        reports[f_star] = json.loads(capsys.readouterr().out)
        assert np.array_equal(np.load(out), alice)
    for f_star, report in reports.items():
        assert report["leaked_bits"] == np.ceil(float(f_star) * h2(0.04) * 60_000)
        assert report["efficiency"] == pytest.approx(float(f_star), abs=1e-4)


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [("cascade", "1.2", "ldpc only"), ("ldpc", "1.0", "must be > 1, not 1.0")],
)
def test_reconcile_rejects_a_bad_target_efficiency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str, value: str, message: str
) -> None:
    a, b, _ = _write_pair(tmp_path, n=100, errors=2)
    args = ["reconcile", "--alice", str(a), "--bob", str(b), "--qber", "0.02", "--method", method]
    rc = main([*args, "--out", str(tmp_path / "c.npy"), "--target-efficiency", value])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "'--target-efficiency'" in err and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "c.npy").exists()
