"""The sweep driver on a plain thread pool: rows, failures, refusals and resume (no Dask needed)."""

from __future__ import annotations

import concurrent.futures as cf
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from qkdstack.cli.sweep import QKD_COMMANDS
from qkdstack.errors import ParameterError
from qkdstack.sweep import RunSpec, execute_run, parse_study, run_sweep

STUDY = """\
command = "rates"
repeats = 2
seed = 11
[fixed]
params = "gys"
[axes]
distance_km = [0, 40, 80]
decoy = ["infinite", "vacuum-weak"]
"""


def _study(text: str = STUDY):  # type: ignore[no-untyped-def]
    return parse_study(text, commands=QKD_COMMANDS)


class _Counting:
    """Counts executions per run index (the marker that proves what was recomputed)."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, spec: RunSpec) -> dict[str, Any]:
        with self.lock:
            self.calls.append(spec.index)
        return execute_run(spec)


class _StopAfter:
    """A progress display that interrupts the sweep (like Ctrl-C) after ``n`` rows."""

    def __init__(self, n: int) -> None:
        self.n = n

    def start(self, total: int, done: int) -> None:
        self.total, self.done = total, done

    def advance(self, failed: bool) -> None:
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def test_rows_carry_options_repeat_seed_report_and_version(tmp_path: Path) -> None:
    study = _study()
    out = tmp_path / "r.parquet"
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_sweep(study, out, pool)
    assert (summary.total, summary.computed, summary.failed) == (12, 12, 0)
    rows = pq.read_table(out).to_pylist()
    assert [r["run_index"] for r in rows] == list(range(12))
    assert not (tmp_path / "r.parquet.parts").exists()
    row = rows[7]  # point 3 (40 km, vacuum-weak), repeat 1
    assert (row["distance_km"], row["decoy"], row["repeat"]) == (40.0, "vacuum-weak", 1)
    assert row["params"] == "gys" and row["qkdstack_version"] == "0.1.0"
    assert (
        row["rate_bits_per_pulse"] > 0 and row["plob_bits_per_pulse"] > row["rate_bits_per_pulse"]
    )
    assert row["error"] is None
    # rates is deterministic: repeats agree; the seed column is the spawned one
    assert rows[6]["rate_bits_per_pulse"] == rows[7]["rate_bits_per_pulse"]
    assert rows[6]["seed"] != rows[7]["seed"]
    assert rows[7]["rate_bits_per_pulse"] < rows[5]["rate_bits_per_pulse"]  # vacuum-weak < infinite


def test_failed_run_is_a_row_and_the_sweep_goes_on(tmp_path: Path) -> None:
    study = parse_study(
        'command = "rates"\nseed = 1\n[fixed]\nparams = "gys"\n'
        '[axes]\ndistance_km = [10, 20]\ndecoy = ["infinite", "many"]\n',
        commands=QKD_COMMANDS,
    )
    out = tmp_path / "r.parquet"
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_sweep(study, out, pool)
    assert (summary.computed, summary.failed) == (4, 2)
    rows = pq.read_table(out).to_pylist()
    bad = [r for r in rows if r["error"] is not None]
    assert [r["decoy"] for r in bad] == ["many", "many"]
    assert "Argument '--decoy' must be one of" in bad[0]["error"]
    assert bad[0]["rate_bits_per_pulse"] is None
    assert all(r["rate_bits_per_pulse"] > 0 for r in rows if r["error"] is None)


def test_resume_recomputes_nothing_finished(tmp_path: Path) -> None:
    study = _study()
    out = tmp_path / "r.parquet"
    first = _Counting()
    with cf.ThreadPoolExecutor(1) as pool, pytest.raises(KeyboardInterrupt):
        run_sweep(study, out, pool, progress=_StopAfter(5), execute=first)
    parts = sorted((tmp_path / "r.parquet.parts").glob("run-*.parquet"))
    assert len(parts) == 5 and not out.exists()
    finished = {int(p.stem[4:]): pq.read_table(p).to_pylist()[0] for p in parts}
    second = _Counting()
    with cf.ThreadPoolExecutor(2) as pool:
        summary = run_sweep(study, out, pool, execute=second)
    assert (summary.skipped, summary.computed) == (5, 7)
    assert sorted(second.calls) == sorted(set(range(12)) - set(finished))
    rows = {r["run_index"]: r for r in pq.read_table(out).to_pylist()}
    assert sorted(rows) == list(range(12))
    for index, row in finished.items():
        assert rows[index]["wall_s"] == row["wall_s"]  # the very row written before
    # a third sweep of a finished study runs nothing and keeps the file's rows
    third = _Counting()
    with cf.ThreadPoolExecutor(1) as pool:
        summary = run_sweep(study, out, pool, execute=third)
    assert third.calls == [] and summary.skipped == 12
    assert pq.read_table(out).to_pylist() == list(rows.values())


def test_out_of_another_study_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    with cf.ThreadPoolExecutor(2) as pool:
        run_sweep(_study(), out, pool)
    before = out.read_bytes()
    other = _study(STUDY.replace("seed = 11", "seed = 12"))
    calls = _Counting()
    with cf.ThreadPoolExecutor(1) as pool, pytest.raises(ParameterError, match="'--out'"):
        run_sweep(other, out, pool, execute=calls)
    assert calls.calls == [] and out.read_bytes() == before
    assert not (tmp_path / "r.parquet.parts").exists()
