"""``qkd amplify``: the result is the explicit Toeplitz product; bad input exits 2, writes nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from qkdstack.cli.main import main


def _explicit(key: np.ndarray, seed: np.ndarray, m: int) -> np.ndarray:
    """T key mod 2 with T[i, j] = seed[i - j + n - 1], as an integer matrix product."""
    n = key.size
    t = np.array([[seed[i - j + n - 1] for j in range(n)] for i in range(m)], dtype=np.int64)
    return (t.reshape(m, n) @ key.astype(np.int64) % 2).astype(np.uint8)


def _files(tmp_path: Path, n: int, m: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    np.save(tmp_path / "key.npy", rng.integers(0, 2, n, dtype=np.uint8))
    np.save(tmp_path / "seed.npy", rng.integers(0, 2, n + m - 1, dtype=np.uint8))
    return tmp_path / "key.npy", tmp_path / "seed.npy"


def _args(key: Path, seed: Path, m: int | str, out: Path) -> list[str]:
    return [
        "amplify",
        "--in",
        str(key),
        "--seed",
        str(seed),
        "--out-bits",
        str(m),
        "--out",
        str(out),
    ]


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 0), (7, 7), (300, 123), (1000, 1)])
def test_amplify_equals_explicit_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int, m: int
) -> None:
    key, seed = _files(tmp_path, n, m, seed=n + m)
    out = tmp_path / "final.npy"
    assert main([*_args(key, seed, m, out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bits_in"] == n
    assert report["bits_out"] == m
    got = np.load(out)
    assert got.dtype == np.uint8
    assert got.shape == (m,)
    assert np.array_equal(got, _explicit(np.load(key), np.load(seed), m))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_amplify_text_report_prints_no_key_bits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, seed = _files(tmp_path, 64, 32)
    assert main(_args(key, seed, 32, tmp_path / "o.npy")) == 0
    text = capsys.readouterr().out
    assert "bits_out: 32" in text
    bits = "".join(map(str, np.load(tmp_path / "o.npy")))
    assert bits not in text.replace(" ", "")


def _bad_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    key, seed = _files(tmp_path, 50, 20)
    out = tmp_path / "out.npy"
    np.save(tmp_path / "float.npy", np.zeros(50))
    np.save(tmp_path / "two.npy", np.full(50, 2, dtype=np.uint8))
    np.save(tmp_path / "matrix.npy", np.zeros((5, 10), dtype=np.uint8))
    np.save(tmp_path / "empty.npy", np.zeros(0, dtype=np.uint8))
    (tmp_path / "junk.npy").write_bytes(b"not a numpy file")
    np.save(tmp_path / "short_seed.npy", np.zeros(60, dtype=np.uint8))
    (tmp_path / "adir.npy").mkdir()
    return [
        (_args(tmp_path / "missing.npy", seed, 20, out), "--in"),
        (_args(tmp_path / "float.npy", seed, 20, out), "--in"),
        (_args(tmp_path / "two.npy", seed, 20, out), "--in"),
        (_args(tmp_path / "matrix.npy", seed, 20, out), "--in"),
        (_args(tmp_path / "empty.npy", seed, 20, out), "--in"),
        (_args(tmp_path / "junk.npy", seed, 20, out), "--in"),
        (_args(key, tmp_path / "missing.npy", 20, out), "--seed"),
        (_args(key, tmp_path / "two.npy", 20, out), "--seed"),
        (_args(key, tmp_path / "short_seed.npy", 20, out), "--seed"),
        (_args(key, seed, -1, out), "--out-bits"),
        (_args(key, seed, 51, out), "--out-bits"),
        (_args(key, seed, "ten", out), "--out-bits"),
        (_args(key, seed, 20, tmp_path / "nodir" / "o.npy"), "--out"),
        (_args(key, seed, 20, tmp_path / "adir.npy"), "--out"),
        (_args(key, seed, 20, tmp_path / "o.txt"), "--out"),
        (_args(key, seed, 20, key), "--out"),
        (_args(key, seed, 20, seed), "--out"),
    ]


def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, option in _bad_cases(tmp_path):
        before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert option in err, (option, err)
        assert "Traceback" not in err
        after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
        assert after == before, args


def test_unwritable_output_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory check refuses before any work (os.access stubbed: the tests may run as root)."""
    key, seed = _files(tmp_path, 10, 5)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        "qkdstack.cli.amplify.os.access",
        lambda path, mode: Path(path) != locked and real_access(path, mode),
    )
    assert main(_args(key, seed, 5, locked / "o.npy")) == 2
    err = capsys.readouterr().err
    assert "--out" in err
    assert "writable" in err
    assert list(locked.iterdir()) == []
