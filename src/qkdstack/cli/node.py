"""``qkd node``: Alice and Bob as two processes over TCP (``init-psk``, ``alice``, ``bob``).

The command wires the node (:mod:`qkdstack.node`) to the key store (:mod:`qkdstack.kms.store`);
the authentication pool lives beside the store (``DB.authpool``, 0600).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import typer

from qkdstack.errors import ParameterError

__all__ = ["register"]

_DEFAULT_PSK_BITS = 1 << 18  # qkdstack.node.DEFAULT_PSK_BITS (not imported: help stays light)


def _pool_path(store: Path) -> Path:
    return Path(str(store) + ".authpool")


def _check_psk_bits(bits: int) -> None:
    if bits < 256 or bits % 128:
        raise ParameterError(
            f"Argument '--bits' must be a multiple of 128 and at least 256, not {bits}."
        )


def _printer(as_json: bool) -> Any:
    """One JSON object per round, or one rich progress line per round."""
    if as_json:
        from qkdstack.cli.report import print_json

        def on_round(report: dict[str, Any]) -> None:
            print_json({k: v for k, v in report.items() if k != "role"})
            sys.stdout.flush()

        return on_round
    from rich.console import Console

    console = Console()
    totals = {"rounds": 0, "bits": 0, "start": time.perf_counter()}

    def show(report: dict[str, Any]) -> None:
        totals["rounds"] += 1
        totals["bits"] += int(report["secret_bits"])
        rate = totals["bits"] / max(time.perf_counter() - totals["start"], 1e-9)
        qber = "-" if report["qber"] is None else f"{report['qber']:.4f}"
        status = (
            f"[red]aborted[/red] {report['abort_reason']}" if report["aborted"] else "[green]ok"
        )
        console.print(
            f"round {report['round']:>5}  QBER {qber}  secret {report['secret_bits']:>8,} bits  "
            f"rate {rate:,.0f} bit/s  auth pool {report['auth_pool_bits']:,} bits  {status}",
            highlight=False,
        )

    return show


def _event_printer(verbose: bool) -> Any:
    def on_event(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return on_event


def _link_source(
    protocol: str,
    pulses: str,
    distance_km: float | None,
    params: str | None,
    assignments: list[str],
    config: Path | None,
    seed: int | None,
    records: list[Path],
) -> Any:
    """The per-round record source from ``qkd run``'s link options (same parsing, same checks)."""
    from qkdstack.cli.run import parse_count, resolve_cli_params
    from qkdstack.model import protocol_params
    from qkdstack.node.fibre import RoundSource

    n_pulses = parse_count("--pulses", pulses)
    link_params = resolve_cli_params(
        params, assignments, config, {"distance_km": distance_km, "source": None}
    )
    link_params = protocol_params(protocol, link_params)  # decoy-bb84 runs a laser (model.py)
    if seed is not None and seed < 0:
        raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
    for path in records:
        if not path.is_file():
            raise ParameterError(f"Argument '--records' must be an existing file, not '{path}'.")
    return RoundSource(protocol, link_params, n_pulses, seed, list(records)), link_params


def _options(ec_method: str, link_params: Any) -> Any:
    from qkdstack.cli.run import _check_ec_method
    from qkdstack.processing.pipeline import PipelineOptions

    _check_ec_method(ec_method)
    return PipelineOptions(
        ec_method=ec_method,
        authenticate=True,
        auth_scope="stage",
        secure_randomness=True,
        epsilon_sec=link_params.epsilon_sec,
        epsilon_cor=link_params.epsilon_cor,
    )


def _parse_window(value: str) -> int | None:
    """``--window``: ``auto`` (None) or a number of rounds in [1, 256]."""
    if value.strip().lower() == "auto":
        return None
    try:
        rounds = int(value)
    except ValueError:
        rounds = 0
    if not 1 <= rounds <= 256:
        raise ParameterError(f"Argument '--window' must be 'auto' or in [1, 256], not {value!r}.")
    return rounds


def _run(
    role: str,
    address: str,
    address_option: str,
    fibre: str | None,
    psk: Path,
    store: Path,
    rounds: int | None,
    window: str,
    timeout_s: float,
    link: tuple[Any, ...],
    ec_method: str,
    as_json: bool,
    verbose: bool,
) -> None:
    from qkdstack.node.transport import parse_address

    host, port = parse_address(address_option, address)
    if fibre is None:
        fibre_host, fibre_port = host, port + 1 if port else 0
    else:
        fibre_host, fibre_port = parse_address("--fibre", fibre)
    if rounds is not None and rounds < 1:
        raise ParameterError(f"Argument '--rounds' must be >= 1, not {rounds}.")
    window_rounds = _parse_window(window)
    if not timeout_s > 0:
        raise ParameterError(f"Argument '--timeout' must be > 0, not {timeout_s}.")
    if not psk.is_file():
        raise ParameterError(f"Argument '--psk' must be an existing file, not '{psk}'.")
    if not store.parent.is_dir():
        raise ParameterError(f"Argument '--store' must be in an existing directory, not '{store}'.")
    source, link_params = _link_source(*link)
    if rounds is None and len(source.record_files) > 1:
        rounds = len(source.record_files)  # one round per hardware record file
    options = _options(ec_method, link_params)

    from qkdstack.kms.store import KeyStore
    from qkdstack.node import AuthPool, NodeConfig, read_psk, run_node

    secret = read_psk(psk)
    config = NodeConfig(
        host=host,
        port=port,
        fibre_host=fibre_host,
        fibre_port=fibre_port,
        source=source,
        options=options,
        rounds=rounds,
        window=window_rounds,
        timeout_s=timeout_s,
        on_round=_printer(as_json),
        on_event=_event_printer(verbose),
    )
    with KeyStore(store) as sink:
        os.chmod(store, 0o600)
        pool = AuthPool(_pool_path(store), secret)
        del secret
        try:
            run_node(role, config, pool, sink)  # type: ignore[arg-type]
        finally:
            pool.close()


def register(app: typer.Typer) -> None:
    """Add ``qkd node`` to the application."""
    node = typer.Typer(
        name="node",
        help="Alice and Bob as two processes over TCP: authenticated, crash-safe key rounds.",
        no_args_is_help=True,
    )
    app.add_typer(node, name="node")

    @node.command("init-psk")
    def init_psk(
        out: Path = typer.Option(..., "--out", help="New file for the pre-shared secret (0600)."),
        bits: int = typer.Option(
            _DEFAULT_PSK_BITS, "--bits", help="Secret bits: 128 of hash key, the rest pads."
        ),
    ) -> None:
        """Write a pre-shared authentication secret (give both nodes a copy); never overwrites."""
        import secrets

        from qkdstack.node import write_psk

        _check_psk_bits(bits)
        if out.exists() or out.is_symlink():
            raise ParameterError(
                f"Argument '--out' must not exist (never overwritten), not '{out}'."
            )
        if not out.parent.is_dir():
            raise ParameterError(f"Argument '--out' must be in an existing directory, not '{out}'.")
        write_psk(out, secrets.token_bytes(bits // 8))
        print(f"wrote {bits:,} secret bits to {out} (mode 0600)")

    for role in ("alice", "bob"):
        _register_role(node, role)


def _register_role(node: typer.Typer, role: str) -> None:
    address_option = "--listen" if role == "alice" else "--connect"
    help_text = (
        "Alice: listen for Bob, simulate each round's link, answer the post-processing."
        if role == "alice"
        else "Bob: connect to Alice, drive each round, coordinate what both sides store."
    )

    def command(
        address: str = typer.Option(
            ..., address_option, help="HOST:PORT of the classical channel."
        ),
        fibre: str | None = typer.Option(
            None, "--fibre", help="HOST:PORT of the fibre connection [default: port + 1]."
        ),
        psk: Path = typer.Option(..., "--psk", help="Pre-shared secret (qkd node init-psk)."),
        store: Path = typer.Option(..., "--store", help="Key store database (0600)."),
        rounds: int | None = typer.Option(None, "--rounds", help="Rounds to run [until stopped]."),
        protocol: str = typer.Option("decoy-bb84", help="Protocol (as in qkd run)."),
        pulses: str = typer.Option("1e8", help="Pulses per round."),
        distance_km: float | None = typer.Option(None, "--distance-km", help="Fibre length in km."),
        params: str | None = typer.Option(None, "--params", help="Named parameter set."),
        assignments: list[str] = typer.Option([], "--set", help="name=value (repeatable)."),
        config: Path | None = typer.Option(None, "--config", help="TOML parameter file."),
        ec_method: str = typer.Option("cascade", "--ec-method", help="Error correction."),
        seed: int | None = typer.Option(None, help="Simulation seed (rounds differ by id)."),
        records: list[Path] = typer.Option(
            [], "--records", help="Hardware records, one file per round (repeatable)."
        ),
        window: str = typer.Option(
            "auto",
            "--window",
            help="Rounds in flight at once (Bob): 1-256, or auto (sized from the measured "
            "round-trip time and CPU per round).",
        ),
        timeout_s: float = typer.Option(30.0, "--timeout", help="Seconds to wait for a frame."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per round."),
        verbose: bool = typer.Option(False, "--verbose", help="Connection events on stderr."),
    ) -> None:
        _run(
            role,
            address,
            address_option,
            fibre,
            psk,
            store,
            rounds,
            window,
            timeout_s,
            (protocol, pulses, distance_km, params, assignments, config, seed, records),
            ec_method,
            as_json,
            verbose,
        )

    command.__doc__ = help_text
    node.command(role)(command)
