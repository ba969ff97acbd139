"""``qkd sweep``: run a study file's grid on Dask and write one Parquet row per run."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qkdstack.errors import ParameterError

if TYPE_CHECKING:
    from qkdstack.sweep.study import OptionInfo

__all__ = ["QKD_COMMANDS", "QkdCommands", "register"]


class QkdCommands:
    """The ``qkd`` command line as a study's :class:`~qkdstack.sweep.study.Commands`.

    The sweep runs the very command a user would type, in-process; it is handed this object (it
    never imports the CLI: the CLI sits above it). Stateless, so it pickles to Dask workers.
    """

    def options(self, command: str) -> Mapping[str, OptionInfo]:
        """The options of ``qkd COMMAND`` by study name (``--distance-km`` -> ``distance_km``)."""
        from qkdstack.cli.main import app
        from qkdstack.sweep.study import OptionInfo

        group = typer.main.get_command(app)
        cmd = group.commands[command]  # type: ignore[attr-defined]
        out: dict[str, OptionInfo] = {}
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    name = opt[2:].replace("-", "_")
                    out[name] = OptionInfo(
                        flag=opt,
                        is_flag=bool(getattr(param, "is_flag", False)),
                        multiple=bool(getattr(param, "multiple", False)),
                    )
        return out

    def run(self, argv: list[str]) -> None:
        """Run ``qkd ARGV`` in this process (its report goes to ``sys.stdout``)."""
        from qkdstack.cli.main import app

        command = typer.main.get_command(app)
        command.main(args=argv, prog_name="qkd", standalone_mode=False)


QKD_COMMANDS: QkdCommands = QkdCommands()
"""The ``qkd`` command line, for :func:`qkdstack.sweep.parse_study` and :func:`~qkdstack.sweep.load_study`."""


class _RichProgress:
    """Runs done, failures and the time left, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("runs, {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self.task = self.bar.add_task("sweep", total=0, failed=0)
        self.failed = 0

    def start(self, total: int, done: int) -> None:
        self.bar.start()
        self.bar.update(self.task, total=total, completed=done)

    def advance(self, failed: bool) -> None:
        self.failed += int(failed)
        self.bar.update(self.task, advance=1, failed=self.failed)

    def stop(self) -> None:
        self.bar.stop()


def register(app: typer.Typer) -> None:
    """Add ``qkd sweep`` to the application."""

    @app.command("sweep")
    def sweep(
        study_path: Path = typer.Argument(
            ...,
            metavar="STUDY.toml",
            help="Study file: command, repeats, seed, and the fixed and axes tables.",
        ),
        out: Path = typer.Option(..., "--out", help="Parquet file of results (one row per run)."),
        scheduler: str | None = typer.Option(
            None,
            "--scheduler",
            help="Dask scheduler address, tcp://HOST:8786 (default: a local cluster).",
        ),
        workers: int | None = typer.Option(
            None,
            "--workers",
            help="Worker processes of the local cluster (default: one per CPU core).",
        ),
    ) -> None:
        """Run a study (a grid of `qkd run` or `qkd rates` runs) on a Dask cluster; an interrupted
        sweep resumes where it stopped when run again."""
        from qkdstack.sweep import dask_executor, load_study, run_sweep
        from qkdstack.sweep.results import ResultStore

        if workers is not None and workers < 1:
            raise ParameterError(f"Argument '--workers' must be >= 1, not {workers}.")
        if workers is not None and scheduler is not None:
            raise ParameterError(
                f"Argument '--workers' applies to the local cluster only, not with "
                f"--scheduler {scheduler!r}."
            )
        if scheduler is not None and "://" not in scheduler:
            raise ParameterError(
                f"Argument '--scheduler' must be an address like tcp://HOST:8786, not {scheduler!r}."
            )
        if out.suffix.lower() != ".parquet":
            raise ParameterError(f"Argument '--out' must end in .parquet, not '{out}'.")
        study = load_study(study_path, commands=QKD_COMMANDS)
        store = ResultStore(study, out)
        store.check()
        pending = study.n_runs - len(store.finished())
        progress = _RichProgress()
        try:
            # A finished study is only merged again: no cluster to start.
            executor = (
                dask_executor(scheduler, workers)
                if pending
                else contextlib.nullcontext(cf.ThreadPoolExecutor(1))
            )
            with executor as pool:
                summary = run_sweep(study, out, pool, progress=progress)
        except ConnectionError as exc:
            print(f"qkd sweep: error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            progress.stop()
            print(
                f"qkd sweep: interrupted; finished runs are kept in {store.parts}: run the same "
                "command again to resume",
                file=sys.stderr,
            )
            raise typer.Exit(130) from None
        finally:
            progress.stop()
        print(
            f"{summary.computed} runs computed, {summary.skipped} already done, "
            f"{summary.failed} failed: {summary.out}",
            file=sys.stderr,
        )
