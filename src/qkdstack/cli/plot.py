"""``qkd plot``: a figure of a sweep's results (``qkd sweep --out results.parquet``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import typer

from qkdstack.errors import ParameterError

__all__ = ["register"]


def _title(study: dict[str, object] | None) -> str | None:
    if not study:
        return None
    fixed = study.get("fixed") or {}
    assert isinstance(fixed, dict)
    shown = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in fixed.items()
    )
    text = f"qkd {study.get('command')}: {shown}; {study.get('repeats')} repeats per point"
    return textwrap.fill(text, 72)


def register(app: typer.Typer) -> None:
    """Add ``qkd plot`` to the application."""

    @app.command("plot")
    def plot(
        results: Path = typer.Argument(..., metavar="RESULTS.parquet", help="Output of qkd sweep."),
        x: str = typer.Option(..., "--x", help="Column on the horizontal axis (distance_km...)."),
        y: str = typer.Option(
            ..., "--y", help="Column on the vertical axis (rate_bits_per_pulse...)."
        ),
        hue: str | None = typer.Option(
            None, "--hue", help="Column that splits the points by colour."
        ),
        theory: bool = typer.Option(
            False,
            "--theory",
            help="Draw the qkd rates curve and the PLOB bound (or the QBER theory).",
        ),
        out: Path = typer.Option(..., "--out", help="Figure file: .png, .svg or .pdf."),
    ) -> None:
        """Plot a sweep's results: mean and spread across repeats, log axes where values span
        decades, and with --theory what theory expects beside the simulated points."""
        from qkdstack.figures.results import check_figure_path, plot_results
        from qkdstack.sweep.results import read_results, study_of

        check_figure_path("--out", out)
        if not results.is_file():
            raise ParameterError(f"Argument 'RESULTS' must be an existing file, not '{results}'.")
        table = read_results(results)
        for option, column in (("--x", x), ("--y", y), ("--hue", hue)):
            if column is not None and column not in table.column_names:
                raise ParameterError(
                    f"Argument '{option}' must be a column of {results.name} "
                    f"({', '.join(table.column_names[:30])}...), not {column!r}."
                )
        plot_results(
            table.to_pylist(), out, x=x, y=y, hue=hue, theory=theory, title=_title(study_of(table))
        )
        typer.echo(f"figure written to {out}")
