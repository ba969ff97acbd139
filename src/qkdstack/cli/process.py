"""``qkd process``: post-process Alice's and Bob's detection-record files (simulated or hardware)."""

from __future__ import annotations

from pathlib import Path

import typer

from qkdstack.cli.report import print_json, print_report
from qkdstack.cli.run import _check_auth_scope, _check_ec_method
from qkdstack.errors import ParameterError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``qkd process`` to the application."""

    @app.command("process")
    def process(
        alice: Path = typer.Option(..., "--alice", help="Alice's record file (Parquet)."),
        bob: Path = typer.Option(..., "--bob", help="Bob's record file (Parquet)."),
        seed: int | None = typer.Option(None, help="Seed for the parties' public random choices."),
        sample_fraction: float = typer.Option(
            0.1, help="Share of sifted bits disclosed for the QBER."
        ),
        ec_method: str = typer.Option("cascade", help="Error-correction method."),
        source: str | None = typer.Option(
            None, help="Override the source for the key-length proof: single-photon or laser."
        ),
        mu: float | None = typer.Option(None, help="Signal mean photon number (laser, GLLP)."),
        no_auth: bool = typer.Option(False, "--no-auth", help="Do not authenticate the channel."),
        auth_scope: str = typer.Option(
            "stage",
            "--auth-scope",
            help="What one Wegman-Carter tag covers: stage (each stage's transcript, 256 key "
            "bits per stage) or message (every message, 128 key bits each).",
        ),
        store: Path | None = typer.Option(
            None, "--store", help="Directory: deposit the final keys in alice.db and bob.db (0600)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Run sifting, estimation, error correction, verification and privacy amplification on
        two record files. Malformed or mismatched files are rejected before anything is written."""
        from qkdstack.cli.validation import (
            check_process_options,
            check_records_usable,
            check_store_allowed,
        )
        from qkdstack.experiment import build_report
        from qkdstack.kms.store import check_store_dir
        from qkdstack.link.recordfile import check_pair, read_records
        from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

        if store is not None:
            check_store_allowed(store, no_auth=no_auth, insecure_seeded_keys=False)
            check_store_dir(store, option="--store")
        if seed is not None and seed < 0:
            raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
        check_process_options(sample_fraction=sample_fraction, source=source, mu=mu)
        alice_records = read_records(alice)
        bob_records = read_records(bob)
        check_pair(alice_records, bob_records)
        check_records_usable(alice_records)
        _check_ec_method(ec_method)
        _check_auth_scope(auth_scope)
        options = PipelineOptions(
            sample_fraction=sample_fraction,
            ec_method=ec_method,
            authenticate=not no_auth,
            auth_scope=auth_scope,
            source=source,
            mu=mu,
        )
        result = run_postprocessing(alice_records, bob_records, options, seed=seed)
        distance = alice_records.meta.params.get("distance_km")
        report = build_report(
            alice_records,
            bob_records,
            result,
            distance_km=None if distance is None else float(distance),
            seed=seed,
        )
        if store is not None and result.alice_key is not None and result.bob_key is not None:
            from qkdstack.kms.store import deposit_pair

            ids = deposit_pair(store, result.alice_key, result.bob_key)
            report["stored_keys"] = len(ids)
        if as_json:
            print_json(report)
        else:
            print_report(report)
