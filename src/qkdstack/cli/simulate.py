"""``qkd simulate``: simulate a link and write Alice's and Bob's detection records as Parquet files.

``qkd simulate --protocol P [--params NAME] [--set k=v ...] [--config F.toml] --pulses N --seed S
--out DIR`` writes ``DIR/alice.parquet`` and ``DIR/bob.parquet`` (schema:
:mod:`qkdstack.link.recordfile`). Every argument is checked before anything is written; the events are streamed to the files in
chunks, so memory stays bounded for any ``--pulses``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from qkdstack import protocol as registry
from qkdstack.errors import ParameterError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``qkd simulate`` to the application."""

    @app.command("simulate")
    def simulate_command(
        protocol: str = typer.Option("bb84", help=f"Protocol: {registry.help_list('bb84')}."),
        params: str | None = typer.Option(
            None, "--params", help="Named parameter set: gys, lim2014."
        ),
        assignments: list[str] = typer.Option(
            [], "--set", help="Override one parameter: name=value (repeatable)."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="TOML file of parameter names and values."
        ),
        pulses: str = typer.Option("1e6", help="Pulses Alice sends (1e8, 10**8 or 100000000)."),
        seed: int | None = typer.Option(None, help="Simulation seed; random if omitted."),
        out: Path = typer.Option(
            ...,
            "--out",
            help="Directory for alice.parquet and bob.parquet (created if missing).",
        ),
        force: bool = typer.Option(
            False, "--force", help="Overwrite existing alice.parquet and bob.parquet in --out."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Simulate the quantum phase of a link and write each party's detection records."""
        from qkdstack.cli.validation import check_new_file, check_writable_dir, parse_count
        from qkdstack.link.protocols import event_table
        from qkdstack.link.simulator import simulate_to_files
        from qkdstack.model import protocol_params
        from qkdstack.params import resolve_params

        protocol = registry.resolve(protocol)  # an unknown name lists the known ones
        n_pulses = parse_count("--pulses", pulses)
        # The protocol's rules (decoy-bb84: a laser, and the file says so) are the library's:
        # simulate_to_files applies them too; applied here so that a refusal comes first.
        link_params = protocol_params(protocol, resolve_params(params, assignments, config))
        if seed is not None and seed < 0:
            raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
        event_table(protocol, link_params)  # rejects an unknown protocol or source before work
        if out.exists() or out.is_symlink():
            check_writable_dir("--out", out)
            for name in ("alice.parquet", "bob.parquet"):
                check_new_file("--out", out / name, force=force)
        else:  # created by the run: the nearest existing ancestor must be a writable directory
            ancestor = next(p for p in out.absolute().parents if p.exists() or p.is_symlink())
            check_writable_dir("--out", ancestor)
        from qkdstack.cli.progress import RunProgress

        with RunProgress(n_pulses, enabled=not as_json) as progress:
            summary = simulate_to_files(
                protocol, link_params, n_pulses, out, seed=seed, progress=progress.update
            )
        if as_json:
            typer.echo(json.dumps(summary))
        else:
            typer.echo(
                f"{protocol}: {n_pulses} pulses, {summary['detections']} detection events; "
                f"wrote {summary['alice']} and {summary['bob']}"
            )
