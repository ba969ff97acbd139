"""``qkd process``: post-process Alice's and Bob's detection-record files (simulated or hardware)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer

from qkdstack.cli.report import print_json, print_report
from qkdstack.cli.run import (
    _check_auth_scope,
    _check_e91_bound,
    _check_ec_method,
    check_ignored_options,
)
from qkdstack.cli.security import add_key_digest, check_store_allowed
from qkdstack.errors import ParameterError, RecordError

if TYPE_CHECKING:
    from qkdstack.processing.pipeline import PipelineResult

__all__ = ["register"]


def _hardware_report(report: dict[str, Any], result: PipelineResult) -> None:
    """Records without a simulation seed come from hardware: no simulation oracle applies.

    ``qber_true`` (a simulation oracle) becomes null. What Bob learnt legitimately takes its place:
    after error correction and a passed verification he knows which of his key bits were wrong,
    so ``qber_corrected`` is the error rate of the key itself, and ``ec_efficiency`` is computed
    from it.
    """
    from qkdstack.theory.entropy import binary_entropy

    report["qber_true"] = None
    report["ec_efficiency"] = None
    report["qber_corrected"] = None
    bob = result.bob
    if bob.raw_key is None or bob.corrected_key is None or result.bob_key is None:
        return
    n = int(bob.raw_key.shape[0])
    errors = int(np.count_nonzero(bob.raw_key != bob.corrected_key))
    report["qber_corrected"] = errors / n if n else None
    if errors:
        report["ec_efficiency"] = report["leaked_ec_bits"] / (n * float(binary_entropy(errors / n)))


def register(app: typer.Typer) -> None:
    """Add ``qkd process`` to the application."""

    @app.command("process")
    def process(
        alice: Path = typer.Option(..., "--alice", help="Alice's record file (Parquet)."),
        bob: Path = typer.Option(..., "--bob", help="Bob's record file (Parquet)."),
        seed: int | None = typer.Option(None, help="Seed for the parties' public random choices."),
        sample_fraction: float | None = typer.Option(
            None,
            help="Share of sifted bits disclosed for the QBER [default 0.1; refused for "
            "decoy-bb84 records, which disclose every test-basis bit].",
        ),
        ec_method: str = typer.Option("cascade", help="Error-correction method."),
        source: str | None = typer.Option(
            None,
            help="Source for the key-length proof of bb84/six-state records: single-photon or "
            "laser (overrides the file's params.source; a file without one needs it).",
        ),
        mu: float | None = typer.Option(
            None, help="Laser mean photon number for GLLP (overrides the file's params.mu)."
        ),
        no_auth: bool = typer.Option(False, "--no-auth", help="Do not authenticate the channel."),
        auth_scope: str | None = typer.Option(
            None,
            "--auth-scope",
            help="What one Wegman-Carter tag covers: stage (each stage's transcript, 256 key "
            "bits per stage) or message (every message, 128 key bits each) [default stage; "
            "refused with --no-auth].",
        ),
        store: Path | None = typer.Option(
            None, "--store", help="Directory: deposit the final keys in alice.db and bob.db (0600)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        insecure_seeded_keys: bool = typer.Option(
            False,
            "--insecure-seeded-keys",
            help="Draw the sample, hash and PA seeds from --seed: reproducible keys, NOT SECURE "
            "(without it, real records' sample comes from secrets whatever --seed says).",
        ),
        key_digest: bool = typer.Option(
            False,
            "--key-digest",
            help="For tests only: add the SHA-256 of the final key (key_sha256) to the report.",
        ),
        e91_bound: str = typer.Option(
            "device-dependent", "--e91-bound", help="E91 key length (see 'qkd run --help')."
        ),
    ) -> None:
        """Run sifting, estimation, error correction, verification and privacy amplification on
        two record files. Malformed or mismatched files are rejected before anything is written."""
        from qkdstack.cli.validation import check_process_options
        from qkdstack.experiment import build_report
        from qkdstack.kms.store import check_store_dir
        from qkdstack.link.recordfile import check_pair, read_records
        from qkdstack.processing.key_length import proof_source
        from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing
        from qkdstack.processing.sanity import check_records_usable

        check_store_allowed(store, insecure_seeded_keys=insecure_seeded_keys, no_auth=no_auth)
        if store is not None:
            check_store_dir(store, option="--store")
        if seed is not None and seed < 0:
            raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
        _check_e91_bound(e91_bound)
        check_process_options(sample_fraction=sample_fraction, source=source, mu=mu)
        alice_records = read_records(alice)
        bob_records = read_records(bob)
        check_pair(alice_records, bob_records)
        check_records_usable(alice_records)
        _check_ec_method(ec_method)
        if auth_scope is not None and no_auth:
            raise ParameterError(
                "Argument '--auth-scope' has no effect with --no-auth (no message is "
                f"authenticated), not {auth_scope!r}."
            )
        auth_scope = auth_scope or "stage"
        _check_auth_scope(auth_scope)
        protocol = alice_records.meta.protocol
        try:
            proof = proof_source(protocol, alice_records.meta.params, source, mu)
        except RecordError as exc:
            raise RecordError(f"Record file '{alice}': {exc}") from None
        if source is not None and proof is None:
            raise ParameterError(
                f"Argument '--source' has no effect on {protocol} records (its proof does not "
                f"depend on a declared source), not {source!r}."
            )
        check_ignored_options(protocol, proof or "", sample_fraction=sample_fraction, mu=None)
        if mu is not None and proof != "laser":
            raise ParameterError(
                f"Argument '--mu' has no effect on these {protocol} records: their key length "
                f"is not set by GLLP (a laser source without decoys), not {mu!r}."
            )
        options = PipelineOptions(
            sample_fraction=0.1 if sample_fraction is None else sample_fraction,
            ec_method=ec_method,
            authenticate=not no_auth,
            auth_scope=auth_scope,
            source=source,
            mu=mu,
            e91_bound=e91_bound,
            secure_randomness=not insecure_seeded_keys,
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
        if alice_records.meta.seed is None:
            _hardware_report(report, result)
        if store is not None and result.alice_key is not None and result.bob_key is not None:
            from qkdstack.kms.store import deposit_pair

            ids = deposit_pair(store, result.alice_key, result.bob_key)
            report["stored_keys"] = len(ids)
        if key_digest:
            add_key_digest(report, result.bob_key)
        if as_json:
            print_json(report)
        else:
            print_report(report, title="qkdstack process: post-processing of two record files")
