"""One run of a study: the ``qkd`` command itself, called in-process, and its report as one row.

A run invokes the very command a user would type (``qkd run ... --json --seed S``) inside the worker
process and reads the JSON report it prints, so a row holds exactly the fields of the command's
report, under their report names, with every option checked as the command checks it. The report is
captured through a per-thread redirection of ``sys.stdout``, so that runs on the threads of one Dask
worker do not mix their output.

A row is flat: a nested report object becomes dotted columns (``timings_s.link``,
``params.mu``); lists (``counts``, ``points``) stay lists. ``key_sha256`` is left out (a digest of
key material is never written to a results file). A ``qkd rates`` report at a single distance also
has its one point's fields at the top (``rate_bits_per_pulse``, ``plob_bits_per_pulse``, ``mu``).

A run that fails (a refused option value, an unexpected error) gives a row with its ``error``
("ParameterError: ...") and no report fields; it never stops the sweep.
"""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from typing import Any, TextIO

from qkdstack._version import __version__
from qkdstack.sweep.grid import RunSpec
from qkdstack.sweep.study import Commands, argv_for

__all__ = ["TIMING_COLUMNS", "execute_run", "failed_row", "flatten_report", "run_argv"]

TIMING_COLUMNS: tuple[str, ...] = ("wall_s", "timings_s")
"""Columns (or prefixes of dotted columns) that measure time: they differ from run to run."""

_LEFT_OUT = frozenset({"key_sha256"})


class _ThreadStdout(io.TextIOBase):
    """``sys.stdout`` stand-in that sends a thread's writes to that thread's buffer, if it set one."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self.local = threading.local()

    def _target(self) -> TextIO:
        return getattr(self.local, "buffer", None) or self.fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False


_install_lock = threading.Lock()


def _thread_stdout() -> _ThreadStdout:
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadStdout):
            sys.stdout = _ThreadStdout(sys.stdout)
        return sys.stdout


def run_argv(spec: RunSpec) -> list[str]:
    """The ``qkd`` arguments of one run (the command, its options, ``--json`` and the seed)."""
    options = spec.commands.options(spec.command)
    argv = [spec.command]
    for key, value in spec.values.items():
        argv += argv_for(key, value, options)
    if spec.command == "run":
        argv += ["--seed", str(spec.seed)]
        # Simulation keys are thrown away: draw the sample and hash seeds from the run's seed so
        # that the rows are reproducible (a study may set insecure_seeded_keys = false).
        if "insecure_seeded_keys" not in spec.values:
            argv.append("--insecure-seeded-keys")
    argv.append("--json")
    return argv


def flatten_report(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects into dotted names; lists and scalars unchanged."""
    out: dict[str, Any] = {}
    for key, value in report.items():
        if not prefix and key in _LEFT_OUT:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten_report(value, f"{name}."))
        elif isinstance(value, dict):
            continue
        else:
            out[name] = value
    return out


def _invoke(commands: Commands, argv: list[str]) -> dict[str, Any]:
    """Run ``qkd ARGV`` in this process and return the JSON object it printed."""
    proxy = _thread_stdout()
    buffer = io.StringIO()
    proxy.local.buffer = buffer
    try:
        commands.run(argv)
    finally:
        proxy.local.buffer = None
    return _report_of(buffer.getvalue(), argv[0])


def _report_of(text: str, command: str) -> dict[str, Any]:
    """The JSON object in a command's output: the first line that opens one and parses."""
    decoder = json.JSONDecoder()
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            try:
                report, _ = decoder.raw_decode(text, offset)
            except json.JSONDecodeError:
                pass
            else:
                if isinstance(report, dict):
                    return report
        offset += len(line)
    raise RuntimeError(f"qkd {command} printed no JSON report")


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _base_row(spec: RunSpec) -> dict[str, Any]:
    return {"run_index": spec.index, **spec.values, "repeat": spec.repeat, "seed": spec.seed}


def failed_row(spec: RunSpec, exc: BaseException) -> dict[str, Any]:
    """The row of a run that could not execute at all (its worker died, for example)."""
    return {
        **_base_row(spec),
        "error": _error_text(exc),
        "wall_s": None,
        "qkdstack_version": __version__,
    }


def execute_run(spec: RunSpec) -> dict[str, Any]:
    """Run one spec and return its row (never raises for a failed run: the row has ``error``)."""
    row = _base_row(spec)
    start = time.perf_counter()
    error: str | None = None
    try:
        report = _invoke(spec.commands, run_argv(spec))
    except Exception as exc:  # a failed run is a row, not the end of the sweep
        error = _error_text(exc)
        report = {}
    points = report.get("points")
    if spec.command == "rates" and isinstance(points, list) and len(points) == 1:
        for key, value in points[0].items():
            report.setdefault(key, value)
    # The report's value wins where a name is both an option and a report field (``pulses = 1e8``
    # becomes the integer the run used); the values are the same number.
    row.update(flatten_report(report))
    row["seed"] = spec.seed
    row["repeat"] = spec.repeat
    row["error"] = error
    row["wall_s"] = time.perf_counter() - start
    row["qkdstack_version"] = __version__
    return row
