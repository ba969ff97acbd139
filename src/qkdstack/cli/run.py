"""``qkd run``: simulate a link end to end and print the report."""

from __future__ import annotations

from pathlib import Path

import typer

from qkdstack import protocol as registry
from qkdstack.cli.report import print_json, print_report
from qkdstack.cli.security import add_key_digest, check_store_allowed
from qkdstack.cli.validation import parse_count
from qkdstack.errors import ParameterError
from qkdstack.model import check_protocol_source, protocol_params
from qkdstack.params import LinkParams, resolve_params
from qkdstack.typing import BitArray

__all__ = ["attack_help", "check_ignored_options", "parse_count", "register", "resolve_cli_params"]

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
    from qkdstack.processing.reconciliation.base import method_names

    if name not in method_names():
        raise ParameterError(
            f"Argument '--ec-method' must be one of {', '.join(method_names())}, not {name!r}."
        )


def _check_auth_scope(scope: str) -> None:
    """Fail before any simulation when ``--auth-scope`` names no scope."""
    from qkdstack.processing.channel import AUTH_SCOPES

    if scope not in AUTH_SCOPES:
        raise ParameterError(
            f"Argument '--auth-scope' must be one of {', '.join(AUTH_SCOPES)}, not {scope!r}."
        )


def _check_e91_bound(bound: str) -> None:
    """Fail before any simulation when ``--e91-bound`` names no rule."""
    from qkdstack.processing.e91 import E91_BOUNDS

    if bound not in E91_BOUNDS:
        raise ParameterError(
            f"Argument '--e91-bound' must be one of {', '.join(E91_BOUNDS)}, not {bound!r}."
        )


def check_ignored_options(
    protocol: str, source: str, *, sample_fraction: float | None, mu: float | None
) -> None:
    """Refuse options that would have no effect on this run, rather than ignore them silently."""
    if sample_fraction is not None and protocol == "decoy-bb84":
        raise ParameterError(
            "Argument '--sample-fraction' must not be given with protocol decoy-bb84, which "
            "discloses every test-basis (X) bit and keeps every key-basis (Z) bit, "
            f"not {sample_fraction!r}."
        )
    if mu is None:
        return
    # Only a source of one mean photon number ``mu`` takes --mu (a spec's ``emission``):
    # decoy-bb84 sends its ``intensities``, bbm92 and e91 pairs of mean number ``mu_pair``.
    emission = registry.get(protocol).emission
    if emission != "mu":
        instead = (
            "set its intensities with --set intensities=...,...,..."
            if emission == "intensities"
            else "set the pair number with --set mu_pair=..."
        )
        raise ParameterError(
            f"Argument '--mu' has no effect with protocol {protocol} ({instead}), not {mu!r}."
        )
    if source != "laser":
        raise ParameterError(
            f"Argument '--mu' needs --source laser (the source is {source}), not {mu!r}."
        )


def attack_help() -> str:
    """The ``--attack`` help: every registered attack with its parameters and what it does."""
    from qkdstack.adversary.registry import ATTACKS

    parts = []
    for spec in ATTACKS.values():
        params = ", ".join(f"{k}={t.__name__}" for k, t in spec.parameters.items())
        parts.append(f"{spec.name} ({params or 'no parameters'}): {spec.summary}")
    return (
        "Eavesdropper, NAME[:param=value,...] (docs/attacks.md); the report adds an 'eve' "
        "block. " + "; ".join(parts) + "."
    )


def register(app: typer.Typer) -> None:
    """Add ``qkd run`` to the application."""

    @app.command("run")
    def run(
        protocol: str = typer.Option(
            "decoy-bb84", help=f"Protocol: {registry.help_list('decoy-bb84')}."
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
            None,
            help="Mean photon number of the laser's pulses (bb84, six-state, b92 with --source "
            "laser; decoy-bb84 uses --set intensities=...).",
        ),
        detector_efficiency: float | None = typer.Option(
            None, help="Bob's detection efficiency in (0, 1]."
        ),
        dark_count_prob: float | None = typer.Option(None, help="Dark count probability per gate."),
        misalignment_error: float | None = typer.Option(
            None, help="Optical misalignment error in [0, 0.5]."
        ),
        attenuation_db_per_km: float | None = typer.Option(None, help="Fibre loss in dB/km."),
        sample_fraction: float | None = typer.Option(
            None,
            help="Share of sifted bits disclosed to estimate the QBER [default 0.1; refused "
            "with decoy-bb84, which discloses every test-basis bit].",
        ),
        ec_method: str = typer.Option(
            "cascade", help="Error-correction method (see 'qkd reconcile --help')."
        ),
        attack: str | None = typer.Option(None, help=attack_help()),
        no_auth: bool = typer.Option(
            False, "--no-auth", help="Do not authenticate the classical channel."
        ),
        auth_scope: str | None = typer.Option(
            None,
            "--auth-scope",
            help="What one Wegman-Carter tag covers: stage (each stage's transcript, 256 key "
            "bits per stage) or message (every message, 128 key bits each) [default stage; "
            "refused with --no-auth].",
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
        key_digest: bool = typer.Option(
            False,
            "--key-digest",
            help="For tests only: add the SHA-256 of the final key (key_sha256) to the report "
            "(a digest of a secret key is a computational leak).",
        ),
        e91_bound: str = typer.Option(
            "device-dependent",
            "--e91-bound",
            help="E91 key length: device-dependent (BBM92 bound, CHSH as entanglement check) or "
            "device-independent (Acin et al. 2007; refused unless its assumptions hold).",
        ),
        plot: Path | None = typer.Option(
            None, "--plot", help="Draw the run's story (counts, QBER, key budget): .png/.svg/.pdf."
        ),
        realtime: bool = typer.Option(
            False,
            "--realtime",
            help="Process the link as a stream of blocks on both cores (same keys as the "
            "block-at-a-time run); the report adds link_seconds, wall_seconds, realtime_factor, "
            "blocks and peak_rss_mib.",
        ),
        block_pulses: str | None = typer.Option(
            None,
            "--block-pulses",
            help="Pulses per block (finite-key statistics apply per block, each at epsilon/k) "
            "[default: blocks of about 2**22 expected detections].",
        ),
    ) -> None:
        """Simulate a QKD link end to end: quantum phase, sifting, estimation, error correction,
        verification and privacy amplification, then print what happened."""
        from qkdstack.blocked import run_in_blocks
        from qkdstack.processing.pipeline import PipelineOptions

        if plot is not None:
            from qkdstack.figures.results import check_figure_path

            check_figure_path("--plot", plot)
        protocol = registry.resolve(protocol)  # an unknown name lists the known ones
        n_pulses = parse_count("--pulses", pulses)
        n_block = None if block_pulses is None else parse_count("--block-pulses", block_pulses)
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
        if source is not None:  # an explicit --source the protocol would overrule is refused
            check_protocol_source(protocol, source, argument="--source")
        # The protocol's rules (decoy-bb84: a laser) are the library's: run_experiment applies
        # them too; applied here so that a refusal comes before any other work.
        link_params = protocol_params(protocol, link_params)
        if seed is not None and seed < 0:
            raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
        check_store_allowed(store, insecure_seeded_keys=insecure_seeded_keys, no_auth=no_auth)
        if store is not None:
            from qkdstack.kms.store import check_store_dir

            check_store_dir(store, option="--store")
        if sample_fraction is not None and not 0.0 < sample_fraction < 1.0:
            raise ParameterError(
                f"Argument '--sample-fraction' must be in (0, 1), not {sample_fraction!r}."
            )
        check_ignored_options(protocol, link_params.source, sample_fraction=sample_fraction, mu=mu)
        _check_ec_method(ec_method)
        if auth_scope is not None and no_auth:
            raise ParameterError(
                "Argument '--auth-scope' has no effect with --no-auth (no message is "
                f"authenticated), not {auth_scope!r}."
            )
        auth_scope = auth_scope or "stage"
        _check_auth_scope(auth_scope)
        _check_e91_bound(e91_bound)
        options = PipelineOptions(
            sample_fraction=0.1 if sample_fraction is None else sample_fraction,
            ec_method=ec_method,
            authenticate=not no_auth,
            auth_scope=auth_scope,
            e91_bound=e91_bound,
            secure_randomness=not insecure_seeded_keys,
        )  # the security parameters are link_params' (qkdstack.experiment.security_options)
        attack_obj = None
        if attack is not None:
            from qkdstack.adversary.registry import parse_attack

            attack_obj = parse_attack(attack)
        digest_keys: list[BitArray] = []  # --key-digest only (tests): Bob's keys, block by block
        deposit = None
        if store is not None or key_digest:
            from qkdstack.kms.store import deposit_pair

            def deposit(alice_key: BitArray, bob_key: BitArray) -> int:
                if key_digest:
                    digest_keys.append(bob_key)
                return len(deposit_pair(store, alice_key, bob_key)) if store is not None else 0

        from qkdstack.cli.progress import RunProgress

        # Blocks of bounded detections: bounded memory at any --pulses (one block: one run);
        # --realtime streams them through two worker processes.
        runner = run_in_blocks
        if realtime:
            from qkdstack.stream import run_streaming as runner
        with RunProgress(n_pulses, enabled=not as_json) as progress:
            report = runner(
                protocol,
                link_params,
                n_pulses,
                seed=seed,
                options=options,
                attack=attack_obj,
                deposit=deposit,
                block_pulses=n_block,
                progress=progress.update,
            )
        if store is None:
            report.pop("stored_keys", None)
        if key_digest:
            import numpy as np

            add_key_digest(report, np.concatenate(digest_keys) if digest_keys else None)
        if as_json:
            print_json(report)
        else:
            print_report(report)
        if plot is not None:
            from qkdstack.figures.run_story import draw_run_story

            draw_run_story(report, plot)
