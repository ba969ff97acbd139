"""Running a study's runs on an executor: a local Dask cluster, a given scheduler, or any
:class:`concurrent.futures.Executor`.

The driver submits every run that has no row yet, writes each row as soon as its run finishes
(:class:`~qkdstack.sweep.results.ResultStore`), and merges the rows into one Parquet file at the
end. A worker that dies takes its running tasks with it; the Dask scheduler hands them to the
remaining workers (``distributed.scheduler.allowed-failures``), so the sweep still completes. An
interrupted sweep (Ctrl-C, a lost client) leaves the rows it has; running it again computes only the
others.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qkdstack.errors import ParameterError
from qkdstack.sweep.grid import RunSpec, study_runs
from qkdstack.sweep.results import ResultStore
from qkdstack.sweep.runner import execute_run, failed_row
from qkdstack.sweep.study import Study

__all__ = ["Progress", "SweepSummary", "dask_executor", "run_sweep"]

Execute = Callable[[RunSpec], dict[str, Any]]


class Progress(Protocol):
    """What the driver tells a progress display."""

    def start(self, total: int, done: int) -> None:
        """``total`` runs in the study, ``done`` of them already finished before this sweep."""

    def advance(self, failed: bool) -> None:
        """One more run finished (``failed``: its row has an error)."""


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did.

    Attributes
    ----------
    total : int
        Runs in the study.
    skipped : int
        Runs that already had a row (not run again).
    computed : int
        Runs executed by this sweep.
    failed : int
        Rows with an error, in the whole results file.
    out : Path
        The Parquet file.
    """

    total: int
    skipped: int
    computed: int
    failed: int
    out: Path


def run_sweep(
    study: Study,
    out: Path,
    executor: cf.Executor,
    *,
    progress: Progress | None = None,
    execute: Execute = execute_run,
) -> SweepSummary:
    """Run every run of ``study`` that has no row yet on ``executor``; merge all rows into ``out``.

    Parameters
    ----------
    study : Study
    out : Path
        The Parquet file to write (``OUT.parts/`` holds the rows while the sweep runs).
    executor : concurrent.futures.Executor
        Where runs execute: ``Client.get_executor()`` of a Dask client (see
        :func:`dask_executor`), or a local thread or process pool.
    progress : Progress, optional
    execute : callable
        ``RunSpec -> row``; the default runs the ``qkd`` command.

    Returns
    -------
    SweepSummary

    Raises
    ------
    ParameterError
        ``out`` holds another study's results (checked before anything runs).
    """
    store = ResultStore(study, out)
    store.check()
    done = store.finished()
    todo = [spec for spec in study_runs(study) if spec.index not in done]
    if progress is not None:
        progress.start(study.n_runs, len(done))
    store.begin()
    futures = {executor.submit(execute, spec): spec for spec in todo}
    try:
        for future in cf.as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:  # the task itself died (e.g. it killed every worker it ran on)
                row = failed_row(futures[future], exc)
            store.add(row)
            if progress is not None:
                progress.advance(row.get("error") is not None)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    table = store.merge()
    ok = table.column("error").null_count if "error" in table.column_names else table.num_rows
    return SweepSummary(
        total=study.n_runs,
        skipped=len(done),
        computed=len(todo),
        failed=table.num_rows - ok,
        out=out,
    )


@contextlib.contextmanager
def dask_executor(
    scheduler: str | None = None, workers: int | None = None
) -> Iterator[cf.Executor]:
    """A Dask executor: on ``scheduler`` (``tcp://HOST:8786``) or on a new local cluster.

    The local cluster has ``workers`` single-threaded worker processes (default: one per CPU core)
    on 127.0.0.1 (its HTTP endpoints too, on free ports); it is closed on exit.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError(
            "Argument '--scheduler' needs Dask: install the 'sweep' extra "
            "(pip install 'qkdstack[sweep]'), not found."
        ) from None
    import os

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    # The HTTP endpoints start even without a dashboard: loopback, free ports.
                    dashboard_address="127.0.0.1:0",
                    worker_dashboard_address="127.0.0.1:0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except (OSError, TimeoutError) as exc:
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}"
                ) from None
        yield client.get_executor(pure=False)
