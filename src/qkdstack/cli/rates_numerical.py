"""``qkd rates --channel depolarizing``: numerical key rates against channel noise.

A thin layer over :mod:`qkdstack.theory.numerical`: for each noise value ``p`` of the
depolarising channel (then transmittance ``eta``) it prints the certified key rate per signal
sent, the upper value, the certificate's gap, and the noise threshold where the certified rate
reaches zero (bisection between grid points).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import typer

from qkdstack.cli.validation import parse_grid
from qkdstack.errors import ParameterError
from qkdstack.theory.numerical import (
    NUMERICAL_PROTOCOLS,
    builtin_protocol,
    depolarizing_statistics,
    numerical_key_rate,
)

__all__ = ["CHANNELS", "NumericalRow", "numerical_rate_rows", "parse_noise", "run_numerical_rates"]

CHANNELS: tuple[str, ...] = ("depolarizing",)
_MAX_POINTS = 1_000
_THRESHOLD_TOL = 1e-4
PROOF = (
    "numerical (Coles, Metodiev & Lutkenhaus 2016; certified lower bound of Winick, "
    "Lutkenhaus & Coles 2018), collective attacks, asymptotic"
)


@dataclass(frozen=True)
class NumericalRow:
    """One row of the table (the JSON fields are a contract)."""

    noise: float
    transmittance: float
    rate_bits_per_signal: float
    rate_upper: float
    gap: float


def parse_noise(text: str) -> list[float]:
    """``"0:0.1:0.01"`` (start:stop:step, stop included) or ``"0,0.05"`` into noise values."""
    values = parse_grid("--noise", text, example="0,0.05", max_points=_MAX_POINTS, digits=12)
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise ParameterError(f"Argument '--noise' must be in [0, 1], not {v!r}.")
    return values


def _check(protocol: str, channel: str, transmittance: float, ec_efficiency: float) -> None:
    if protocol not in NUMERICAL_PROTOCOLS:
        raise ParameterError(
            f"Argument '--protocol' must be one of {', '.join(NUMERICAL_PROTOCOLS)} with "
            f"--channel, not {protocol!r}."
        )
    if not channel:
        raise ParameterError(
            f"Argument '--channel' is required with --protocol {protocol} "
            f"(one of {', '.join(CHANNELS)}), not missing."
        )
    if channel not in CHANNELS:
        raise ParameterError(
            f"Argument '--channel' must be one of {', '.join(CHANNELS)}, not {channel!r}."
        )
    if not 0.0 < transmittance <= 1.0:
        raise ParameterError(
            f"Argument '--transmittance' must be in (0, 1], not {transmittance!r}."
        )
    if not (ec_efficiency >= 1.0 and math.isfinite(ec_efficiency)):
        raise ParameterError(f"Argument '--ec-efficiency' must be >= 1, not {ec_efficiency!r}.")


def _row(protocol: str, noise: float, transmittance: float, ec_efficiency: float) -> NumericalRow:
    proto = builtin_protocol(protocol)
    r = numerical_key_rate(
        proto, depolarizing_statistics(proto, noise, transmittance), ec_efficiency=ec_efficiency
    )
    return NumericalRow(noise, transmittance, r.rate_bits_per_signal, r.rate_upper, r.gap)


def numerical_rate_rows(
    protocol: str, noises: list[float], transmittance: float, ec_efficiency: float
) -> tuple[list[NumericalRow], float | None]:
    """The rows and ``threshold_noise`` (``None`` when the rate does not reach zero in range,
    or is already zero at the first point)."""
    rows = [_row(protocol, p, transmittance, ec_efficiency) for p in noises]
    threshold: float | None = None
    for lo_row, hi_row in itertools.pairwise(rows):
        if lo_row.rate_bits_per_signal > 0.0 and hi_row.rate_bits_per_signal <= 0.0:
            lo, hi = lo_row.noise, hi_row.noise
            while hi - lo > _THRESHOLD_TOL:
                mid = 0.5 * (lo + hi)
                if _row(protocol, mid, transmittance, ec_efficiency).rate_bits_per_signal > 0:
                    lo = mid
                else:
                    hi = mid
            threshold = 0.5 * (lo + hi)
            break
    return rows, threshold


def _plot(path: Path, protocol: str, rows: list[NumericalRow], threshold: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xs = [r.noise for r in rows]
    ax.plot(xs, [r.rate_bits_per_signal for r in rows], "o-", label="certified lower bound")
    ax.plot(xs, [r.rate_upper for r in rows], "k--", label="upper value (step 1)")
    if threshold is not None:
        ax.axvline(threshold, color="grey", lw=0.8, label=f"threshold p = {threshold:.4f}")
    ax.set_xlabel("Depolarising noise p")
    ax.set_ylabel("Secret key rate (bits per signal)")
    ax.set_title(f"qkd rates: {protocol}, eta = {rows[0].transmittance:g}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_numerical_rates(
    *,
    protocol: str,
    channel: str,
    noise: str,
    transmittance: float,
    ec_efficiency: float,
    as_json: bool,
    plot: Path | None,
) -> None:
    """Body of ``qkd rates --channel ...`` (every check before any work)."""
    _check(protocol, channel, transmittance, ec_efficiency)
    noises = parse_noise(noise)
    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise ParameterError(f"Argument '--plot' must end in .png or .svg, not {str(plot)!r}.")
    if plot is not None and not plot.resolve().parent.is_dir():
        raise ParameterError(
            f"Argument '--plot' must be in an existing directory, not {str(plot)!r}."
        )
    rows, threshold = numerical_rate_rows(protocol, noises, transmittance, ec_efficiency)
    if as_json:
        doc = {
            "protocol": protocol,
            "channel": channel,
            "transmittance": transmittance,
            "ec_efficiency": ec_efficiency,
            "proof": PROOF,
            "points": [r.__dict__ for r in rows],
            "threshold_noise": threshold,
        }
        typer.echo(json.dumps(doc, indent=1))
    else:
        typer.echo(f"protocol {protocol}, channel {channel}, transmittance {transmittance:g}")
        typer.echo(f"proof: {PROOF}")
        typer.echo(
            f"{'noise':>8} {'transmittance':>13} {'rate_bits_per_signal':>21} "
            f"{'rate_upper':>12} {'gap':>9}"
        )
        for r in rows:
            typer.echo(
                f"{r.noise:8.4f} {r.transmittance:13.4f} {r.rate_bits_per_signal:21.6e} "
                f"{r.rate_upper:12.6e} {r.gap:9.1e}"
            )
        typer.echo(
            "threshold_noise: " + ("none in range" if threshold is None else f"{threshold:.4f}")
        )
    if plot is not None:
        _plot(plot, protocol, rows, threshold)
        if not as_json:
            typer.echo(f"plot written to {plot}")
