"""``qkd run``: simulate a link end to end and print the report."""

from __future__ import annotations

from pathlib import Path

import typer

from qkdstack.cli.report import print_json, print_report
from qkdstack.cli.validation import parse_count
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.typing import BitArray

__all__ = ["parse_count", "register", "resolve_cli_params"]

# Options that set a LinkParams field directly: option name -> field name.
_DIRECT = {
    "--distance-km": "distance_km",
    "--source": "source",
    "--mu": "mu",
    "--detector-efficiency": "detector_efficiency",
    "--dark-count-prob": "dark_count_prob",
    "--misalignment-error": "misalignment_error",
    "--attenuation-db-per-km": "attenuation_db_per_km",
}


def resolve_cli_params(
    params_name: str | None,
    assignments: list[str],
    config: Path | None,
    direct: dict[str, object],
) -> LinkParams:
    """Build LinkParams from ``--params``, ``--config``, ``--set`` and the direct options (in that
    order of precedence, last wins); an error names the option that carried the bad value."""
    from qkdstack.link.config import resolve_params

    base = resolve_params(params_name, assignments, config)
    changes = {field: value for field, value in direct.items() if value is not None}
    try:
        return base.replace(**changes)
    except ParameterError as exc:
        message = str(exc)
        for option, field in _DIRECT.items():
            if field in changes:
                message = message.replace(f"'{field}'", f"'{option}'")
        raise ParameterError(message) from None


def _check_ec_method(name: str) -> None:
    """Fail before any simulation when the error-correction method is unknown."""
    from qkdstack.processing.reconciliation import METHODS

    if name not in METHODS:
        raise ParameterError(
            f"Argument '--ec-method' must be one of {', '.join(sorted(METHODS))}, not {name!r}."
        )


def _check_auth_scope(scope: str) -> None:
    """Fail before any simulation when ``--auth-scope`` names no scope."""
    from qkdstack.processing.channel import AUTH_SCOPES

    if scope not in AUTH_SCOPES:
        raise ParameterError(
            f"Argument '--auth-scope' must be one of {', '.join(AUTH_SCOPES)}, not {scope!r}."
        )


def register(app: typer.Typer) -> None:
    """Add ``qkd run`` to the application."""

    @app.command("run")
    def run(
        protocol: str = typer.Option(
            "decoy-bb84", help="Protocol: decoy-bb84, bb84, six-state, b92, bbm92, e91."
        ),
        distance_km: float | None = typer.Option(
            None, "--distance-km", help="Fibre length in km [default 25]."
        ),
        pulses: str = typer.Option("1e8", help="Pulses Alice sends (1e8, 10**8 or 100000000)."),
        seed: int | None = typer.Option(
            None, help="Simulation seed (reproducible runs); random if omitted."
        ),
        params: str | None = typer.Option(
            None, "--params", help="Named parameter set: gys, lim2014."
        ),
        assignments: list[str] = typer.Option(
            [], "--set", help="Override one parameter: name=value (repeatable)."
        ),
        config: Path | None = typer.Option(
            None, "--config", help="TOML file of parameter names and values."
        ),
        source: str | None = typer.Option(None, help="Photon source: single-photon, laser, spdc."),
        mu: float | None = typer.Option(
            None, help="Mean photon number of the laser's signal pulses."
        ),
        detector_efficiency: float | None = typer.Option(
            None, help="Bob's detection efficiency in (0, 1]."
        ),
        dark_count_prob: float | None = typer.Option(None, help="Dark count probability per gate."),
        misalignment_error: float | None = typer.Option(
            None, help="Optical misalignment error in [0, 0.5]."
        ),
        attenuation_db_per_km: float | None = typer.Option(None, help="Fibre loss in dB/km."),
        sample_fraction: float = typer.Option(
            0.1, help="Share of sifted bits disclosed to estimate the QBER."
        ),
        ec_method: str = typer.Option(
            "cascade", help="Error-correction method (see 'qkd reconcile --help')."
        ),
        attack: str | None = typer.Option(None, help="Eavesdropper: NAME[:param=value,...]."),
        no_auth: bool = typer.Option(
            False, "--no-auth", help="Do not authenticate the classical channel."
        ),
        auth_scope: str = typer.Option(
            "stage",
            "--auth-scope",
            help="What one Wegman-Carter tag covers: stage (each stage's transcript, 256 key "
            "bits per stage) or message (every message, 128 key bits each).",
        ),
        insecure_seeded_keys: bool = typer.Option(
            False,
            "--insecure-seeded-keys",
            help="Draw hash and PA seeds from --seed: reproducible keys, NOT SECURE.",
        ),
        store: Path | None = typer.Option(
            None, "--store", help="Directory: deposit the final keys in alice.db and bob.db (0600)."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print one JSON object instead of a table."
        ),
    ) -> None:
        """Simulate a QKD link end to end: quantum phase, sifting, estimation, error correction,
        verification and privacy amplification, then print what happened."""
        from qkdstack.blocked import run_in_blocks
        from qkdstack.processing.pipeline import PipelineOptions

        n_pulses = parse_count("--pulses", pulses)
        link_params = resolve_cli_params(
            params,
            assignments,
            config,
            {
                "distance_km": distance_km,
                "source": source,
                "mu": mu,
                "detector_efficiency": detector_efficiency,
                "dark_count_prob": dark_count_prob,
                "misalignment_error": misalignment_error,
                "attenuation_db_per_km": attenuation_db_per_km,
            },
        )
        if protocol == "decoy-bb84" and link_params.source == "single-photon":
            # Decoy states are intensities of an attenuated laser.
            link_params = link_params.replace(source="laser")
        if seed is not None and seed < 0:
            raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
        if store is not None:
            from qkdstack.cli.validation import check_store_allowed
            from qkdstack.kms.store import check_store_dir

            check_store_allowed(store, no_auth=no_auth, insecure_seeded_keys=insecure_seeded_keys)
            check_store_dir(store, option="--store")
        if not 0.0 < sample_fraction < 1.0:
            raise ParameterError(
                f"Argument '--sample-fraction' must be in (0, 1), not {sample_fraction!r}."
            )
        _check_ec_method(ec_method)
        _check_auth_scope(auth_scope)
        options = PipelineOptions(
            sample_fraction=sample_fraction,
            ec_method=ec_method,
            authenticate=not no_auth,
            auth_scope=auth_scope,
            secure_randomness=not insecure_seeded_keys,
            epsilon_sec=link_params.epsilon_sec,
            epsilon_cor=link_params.epsilon_cor,
        )
        attack_obj = None
        if attack is not None:
            from qkdstack.link.attacks.registry import parse_attack

            attack_obj = parse_attack(attack)
        deposit = None
        if store is not None:
            from qkdstack.kms.store import deposit_pair

            def deposit(alice_key: BitArray, bob_key: BitArray) -> int:
                return len(deposit_pair(store, alice_key, bob_key))

        # Blocks of bounded detections: bounded memory at any --pulses (one block: one run).
        report = run_in_blocks(
            protocol,
            link_params,
            n_pulses,
            seed=seed,
            options=options,
            attack=attack_obj,
            deposit=deposit,
        )
        if as_json:
            print_json(report)
        else:
            print_report(report)
