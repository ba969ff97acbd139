"""``qkd warmup``: build or load the compiled kernels' caches now (``make install`` runs it).

Runs each stage's numba kernels once on small seeded inputs (:mod:`qkdstack.processing.warmup`), so
the first real run of a fresh install does not compile them; prints the seconds each stage took.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from qkdstack.errors import ParameterError
from qkdstack.processing.warmup import STAGES, warm_up

__all__ = ["register"]


def _warmup_command(
    stages: Annotated[
        list[str] | None,
        typer.Option("--stage", help=f"Stage to warm (repeatable): {', '.join(STAGES)} (all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compile (first time) or load the numba kernels of each stage."""
    for stage in stages or ():
        if stage not in STAGES:
            raise ParameterError(
                f"Argument '--stage' must be one of {', '.join(STAGES)}, not {stage!r}."
            )
    seconds = warm_up(tuple(stages) if stages else STAGES)
    report = {stage: round(value, 3) for stage, value in seconds.items()}
    if as_json:
        typer.echo(json.dumps({"seconds": report}))
    else:
        for stage, value in report.items():
            typer.echo(f"{stage:>14}: {value} s")


def register(app: typer.Typer) -> None:
    """Add ``qkd warmup`` to ``app``."""
    app.command("warmup")(_warmup_command)
