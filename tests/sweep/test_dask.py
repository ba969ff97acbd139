"""Sweeps on real Dask: a local cluster and a `dask scheduler` with `dask worker` processes on
loopback (started here, stopped at the end) give the same rows; a worker killed mid-sweep does not
stop it; an interrupted sweep resumes without recomputing what it finished."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from qkdstack.cli.main import main
from qkdstack.cli.sweep import QKD_COMMANDS
from qkdstack.sweep import load_study, run_sweep
from qkdstack.sweep.runner import TIMING_COLUMNS

distributed = pytest.importorskip("distributed")

DASK = str(Path(sys.executable).with_name("dask"))
# Without a dashboard the HTTP endpoints still listen (on 0.0.0.0:8787 by default): loopback only.
LOOPBACK_HTTP = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]

STUDY = """\
command = "run"
repeats = 1
seed = 2026
[fixed]
protocol = "bb84"
source = "single-photon"
pulses = 2e5
[axes]
distance_km = [0, 15]
ec_method = ["cascade", "ldpc"]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A scheduler and worker processes on 127.0.0.1."""

    def __init__(self, tmp: Path) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, *LOOPBACK_HTTP], "sched"
        )
        self.workers = [self.add_worker() for _ in range(2)]
        self.client = distributed.Client(self.address, timeout="60s")
        self.client.wait_for_workers(2, timeout=120)

    def _spawn(self, argv: list[str], name: str) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"{name}-{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def add_worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(
            [
                DASK,
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                *LOOPBACK_HTTP,
                "--local-directory",
                str(self.tmp),
            ],
            "worker",
        )

    def close(self) -> None:
        self.client.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c
    finally:
        c.close()


def _rows(path: Path) -> list[dict[str, object]]:
    table = pq.read_table(path)
    keep = [n for n in table.column_names if n.split(".")[0] not in TIMING_COLUMNS]
    return table.select(keep).to_pylist()


def _study_file(tmp_path: Path, text: str = STUDY) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def test_local_cluster_and_remote_workers_give_identical_rows(
    cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = _study_file(tmp_path)
    local, remote = tmp_path / "local.parquet", tmp_path / "remote.parquet"
    assert main(["sweep", str(study), "--out", str(local), "--workers", "1"]) == 0
    err = capsys.readouterr().err  # the progress bar: runs done, failures, time left
    assert "4/4" in err and "0 failed" in err and "ETA" in err
    assert "4 runs computed, 0 already done, 0 failed" in err
    assert main(["sweep", str(study), "--out", str(remote), "--scheduler", cluster.address]) == 0
    a, b = _rows(local), _rows(remote)
    assert len(a) == 4 and all(r["error"] is None for r in a)
    assert a == b
    assert len({r["seed"] for r in a}) == 4
    assert {r["ec_method"] for r in a} == {"cascade", "ldpc"}
    assert all(r["detections"] > 0 for r in a)
    # the rows are the very reports `qkd run --json` prints for those options and seeds
    seeded = a[3]
    argv = ["run", "--protocol", "bb84", "--source", "single-photon", "--pulses", "200000"]
    argv += ["--distance-km", str(seeded["distance_km"]), "--ec-method", str(seeded["ec_method"])]
    argv += ["--seed", str(seeded["seed"]), "--insecure-seeded-keys", "--json"]
    capsys.readouterr()
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    for key in (
        "detections",
        "sifted_bits",
        "qber",
        "secret_bits",
        "leaked_ec_bits",
        "round_trips",
    ):
        assert seeded[key] == report[key], key


def test_killing_a_worker_mid_sweep_still_completes(cluster: Cluster, tmp_path: Path) -> None:
    study = load_study(
        _study_file(tmp_path, STUDY.replace("repeats = 1", "repeats = 3")), commands=QKD_COMMANDS
    )
    victim = cluster.add_worker()
    cluster.client.wait_for_workers(3, timeout=120)
    out = tmp_path / "r.parquet"
    parts = tmp_path / "r.parquet.parts"
    result: dict[str, object] = {}

    def sweep() -> None:
        result["summary"] = run_sweep(study, out, cluster.client.get_executor(pure=False))

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.monotonic() + 120
    while not list(parts.glob("run-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = study.n_runs - len(list(parts.glob("run-*.parquet")))
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    thread.join(timeout=300)
    assert left > 0, "the sweep ended before the worker was killed"
    summary = result["summary"]
    assert summary.computed == study.n_runs and summary.failed == 0  # type: ignore[attr-defined]
    rows = _rows(out)
    assert [r["run_index"] for r in rows] == list(range(12))
    assert all(r["error"] is None for r in rows)


class _StopAfter:
    def __init__(self, n: int) -> None:
        self.n = n

    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, failed: bool) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def test_interrupted_sweep_resumes_without_recomputing(cluster: Cluster, tmp_path: Path) -> None:
    path = _study_file(tmp_path, STUDY.replace("repeats = 1", "repeats = 2"))
    out = tmp_path / "r.parquet"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            load_study(path, commands=QKD_COMMANDS),
            out,
            cluster.client.get_executor(pure=False),
            progress=_StopAfter(3),
        )
    parts = sorted((tmp_path / "r.parquet.parts").glob("run-*.parquet"))
    assert len(parts) == 3
    before = {int(p.stem[4:]): pq.read_table(p).to_pylist()[0] for p in parts}
    assert main(["sweep", str(path), "--out", str(out), "--scheduler", cluster.address]) == 0
    rows = {r["run_index"]: r for r in pq.read_table(out).to_pylist()}
    assert sorted(rows) == list(range(8))
    for index, row in before.items():
        # a recomputed run would have measured its own wall time
        assert rows[index]["wall_s"] == row["wall_s"]
        assert rows[index]["timings_s.link"] == row["timings_s.link"]
