"""Printing run reports: one JSON object (``--json``) or a readable rich table."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

__all__ = ["print_json", "print_report", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


def print_json(report: dict[str, Any]) -> None:
    """Print ``report`` as one JSON object on stdout."""
    print(json.dumps(to_jsonable(report)))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-3 or abs(value) >= 1e6:
            return f"{value:.3e}"
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


_ROWS: list[tuple[str, str]] = [
    ("protocol", "protocol"),
    ("distance_km", "distance (km)"),
    ("pulses", "pulses sent"),
    ("seed", "seed"),
    ("detections", "detections at Bob"),
    ("sifted_bits", "sifted bits (bases matched)"),
    ("sample_bits", "bits disclosed to estimate errors"),
    ("qber", "QBER estimated from sample"),
    ("qber_true", "QBER true (simulation oracle)"),
    ("qber_corrected", "QBER of the key, known after EC"),
    ("chsh_s", "CHSH S"),
    ("chsh_s_std", "CHSH S standard error"),
    ("ec_method", "error correction"),
    ("leaked_ec_bits", "bits leaked by error correction"),
    ("ec_efficiency", "EC efficiency f = leak / (n h(Q))"),
    ("single_photon_yield_lower", "single-photon yield, lower bound"),
    ("phase_error_upper", "phase error rate, upper bound"),
    ("key_length_formula", "key length from"),
    ("attack_model", "attack model"),
    ("certified_gap_bits", "certified gap (bits per round)"),
    ("secret_bits", "secret key bits"),
    ("rate_bits_per_pulse", "secret bits per pulse"),
    ("keys_match", "Alice's and Bob's keys identical"),
    ("aborted", "aborted"),
    ("abort_reason", "abort reason"),
]


_EVE_ROWS: list[tuple[str, str]] = [
    ("attack", "attack"),
    ("parameters", "attack parameters"),
    ("intercepted_pulses", "pulses Eve acted on"),
    ("tampered_messages", "classical messages rewritten"),
    ("key_bits", "key bits (after the QBER sample)"),
    ("known_sifted_bits", "key bits Eve knows for sure"),
    ("eve_agreement_sifted", "Eve's guesses right, key bits"),
    ("eve_info_quantum_bits", "Eve's information from the link (bits)"),
    ("leaked_bits", "bits disclosed (EC + verification)"),
    ("eve_info_bits_before_pa", "Eve's information before PA (bits)"),
    ("final_bits", "final key bits"),
    ("eve_agreement_final", "Eve's guesses right, final key"),
    ("eve_agreement_final_expected", "  expected from her error probabilities"),
    ("eve_agreement_final_z", "  z-score against 1/2"),
    ("eve_agreement_final_consistent", "  consistent with guessing (|z| < 5)"),
]
"""The ``eve`` block (simulation oracle: what the eavesdropper knew before and after PA)."""


def _eve_value(key: str, value: Any) -> str:
    if key == "parameters" and isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    if "_bits" in key and isinstance(value, float):
        return f"{value:,.1f}"
    return _fmt(value)


def print_report(
    report: dict[str, Any], console: Console | None = None, *, title: str = "qkdstack run"
) -> None:
    """Print the run report as a two-column table (never any key material)."""
    console = console or Console()
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    from qkdstack.cli.security import report_warnings

    for warning in report_warnings(report):
        table.add_row("[bold red]WARNING[/]", f"[bold red]{warning}[/]")
    for key, label in _ROWS:
        if key in report and (report[key] is not None or key in ("qber", "abort_reason")):
            table.add_row(label, _fmt(report[key]))
    timings = report.get("timings_s") or {}
    if timings:
        table.add_row("time per stage (s)", ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    console.print(table)
    eve = report.get("eve")
    if isinstance(eve, dict):
        eve_table = Table(
            title="eve (simulation oracle: what the eavesdropper knew)",
            show_header=True,
            header_style="bold",
        )
        eve_table.add_column("quantity")
        eve_table.add_column("value", justify="right")
        for key, label in _EVE_ROWS:
            if eve.get(key) is not None:
                eve_table.add_row(label, _eve_value(key, eve[key]))
        console.print(eve_table)
