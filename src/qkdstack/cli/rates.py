"""``qkd rates``: secret key rate against distance, beside the PLOB bound.

A thin layer over :mod:`qkdstack.theory.curves`: it reads a named parameter set (with ``--set``
overrides), turns it into a :class:`~qkdstack.theory.curves.SystemModel` and prints, for each
distance, the key rate per pulse, the PLOB bound and the (optimised unless set) mean photon
number, then the maximum distance with a positive rate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from qkdstack.cli.rates_numerical import run_numerical_rates
from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams, get_param_set, parse_assignment
from qkdstack.theory.curves import (
    DECOY_METHODS,
    PROTOCOLS,
    CurvePoint,
    SystemModel,
    key_rate_curve,
    max_distance_km,
)

__all__ = ["parse_distances", "register", "system_model"]

_MAX_POINTS = 10_000


def parse_distances(text: str) -> list[float]:
    """``"0,25,50"`` (a list) or ``"0:150:5"`` (start:stop:step, stop included) into floats."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if not step > 0 or stop < start:
                raise ValueError
            count = math.floor((stop - start) / step + 1e-9) + 1
            if count > _MAX_POINTS:
                raise ValueError
            values = [start + i * step for i in range(count)]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
            if not values:
                raise ValueError
    except ValueError:
        raise ParameterError(
            "Argument '--distance-km' must be a list like 0,25,50 or a range start:stop:step "
            f"with step > 0, not {text!r}."
        ) from None
    for v in values:
        if not v >= 0 or not math.isfinite(v):
            raise ParameterError(f"Argument '--distance-km' must be >= 0, not {v!r}.")
    return values


def system_model(params: LinkParams) -> SystemModel:
    """The theory's view of a parameter set (plain numbers; theory does not import params)."""
    intensities = params.intensities
    weak = intensities[1] if len(intensities) >= 2 and intensities[1] > 0 else 0.1
    weakest = intensities[2] if len(intensities) >= 3 else 2e-4
    return SystemModel(
        attenuation_db_per_km=params.attenuation_db_per_km,
        insertion_loss_db=params.insertion_loss_db,
        detector_efficiency=params.detector_efficiency,
        dark_count_prob=params.dark_count_prob,
        afterpulse_prob=params.afterpulse_prob,
        misalignment_error=params.misalignment_error,
        ec_efficiency=params.ec_efficiency,
        source=params.source,
        pair_mean=params.mu_pair,
        source_position=params.source_position,
        visibility=params.visibility,
        weak_decoy_mu=weak,
        weakest_intensity=weakest,
        epsilon_sec=params.epsilon_sec,
        epsilon_cor=params.epsilon_cor,
    )


def _block_sizes(values: list[str]) -> list[float]:
    out: list[float] = []
    for text in values:
        for part in text.split(","):
            if not part.strip():
                continue
            try:
                n = float(part)
            except ValueError:
                n = math.nan
            if not (n >= 1 and math.isfinite(n)):
                raise ParameterError(
                    f"Argument '--block-bits' must be a number >= 1, not {part!r}."
                )
            out.append(n)
    return out


def _plot(
    path: Path,
    protocol: str,
    params_name: str,
    curves: list[tuple[float | None, list[CurvePoint]]],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    # PLOB is infinite on a lossless link (0 km): those points are left out of the log plot.
    bound = [p for p in curves[0][1] if math.isfinite(p.plob_bits_per_pulse)]
    ax.semilogy(
        [p.distance_km for p in bound],
        [p.plob_bits_per_pulse for p in bound],
        "k--",
        label="PLOB bound",
    )
    for block, points in curves:
        xs = [p.distance_km for p in points if p.rate_bits_per_pulse > 0]
        ys = [p.rate_bits_per_pulse for p in points if p.rate_bits_per_pulse > 0]
        label = protocol if block is None else f"{protocol}, n_X = {block:.0e}"
        ax.semilogy(xs, ys, "-", label=label)
    ax.set_xlabel("Fibre length (km)")
    ax.set_ylabel("Secret key rate (bits per pulse)")
    ax.set_title(f"qkd rates: {protocol}, params {params_name}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def register(app: typer.Typer) -> None:
    """Add the ``rates`` command to ``app``."""

    @app.command("rates")
    def rates(
        protocol: Annotated[
            str, typer.Option("--protocol", help=f"One of: {', '.join(PROTOCOLS)}.")
        ] = "decoy-bb84",
        params: Annotated[
            str, typer.Option("--params", help="Named parameter set: gys or lim2014.")
        ] = "gys",
        assignments: Annotated[
            list[str] | None,
            typer.Option("--set", help="Override one parameter, name=value (repeatable)."),
        ] = None,
        distance_km: Annotated[
            str,
            typer.Option("--distance-km", help="Distances: 0,25,50 or start:stop:step (km)."),
        ] = "0:150:10",
        decoy: Annotated[
            str,
            typer.Option("--decoy", help=f"Decoy method: {', '.join(DECOY_METHODS)}."),
        ] = "infinite",
        block_bits: Annotated[
            list[str] | None,
            typer.Option(
                "--block-bits",
                help="Finite-key block size n_X (Lim 2014); repeatable or comma-separated.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        plot: Annotated[
            Path | None, typer.Option("--plot", help="Write a plot (.png or .svg).")
        ] = None,
        channel: Annotated[
            str | None,
            typer.Option(
                "--channel",
                help="Numerical rates against channel noise (depolarizing); b92, bb84, six-state.",
            ),
        ] = None,
        noise: Annotated[
            str | None,
            typer.Option("--noise", help="With --channel: noise p, 0,0.05 or start:stop:step."),
        ] = None,
        transmittance: Annotated[
            float | None, typer.Option("--transmittance", help="With --channel: eta in (0, 1].")
        ] = None,
        ec_efficiency: Annotated[
            float | None,
            typer.Option("--ec-efficiency", help="With --channel: EC inefficiency f >= 1."),
        ] = None,
    ) -> None:
        """Key rate per pulse against distance, the PLOB bound and the maximum distance."""
        if channel is not None or protocol == "b92":
            run_numerical_rates(
                protocol=protocol,
                channel="" if channel is None else channel,
                noise="0:0.1:0.01" if noise is None else noise,
                transmittance=1.0 if transmittance is None else transmittance,
                ec_efficiency=1.0 if ec_efficiency is None else ec_efficiency,
                as_json=as_json,
                plot=plot,
            )
            return
        for name, value in (
            ("--noise", noise),
            ("--transmittance", transmittance),
            ("--ec-efficiency", ec_efficiency),
        ):
            if value is not None:
                raise ParameterError(
                    f"Argument '{name}' needs --channel depolarizing, not {value!r} alone."
                )
        if protocol not in PROTOCOLS:
            raise ParameterError(
                f"Argument '--protocol' must be one of {', '.join(PROTOCOLS)}, not {protocol!r}."
            )
        if decoy not in DECOY_METHODS:
            raise ParameterError(
                f"Argument '--decoy' must be one of {', '.join(DECOY_METHODS)}, not {decoy!r}."
            )
        if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
            raise ParameterError(f"Argument '--plot' must end in .png or .svg, not {str(plot)!r}.")
        link = get_param_set(params)
        changes = dict(parse_assignment(a) for a in (assignments or []))
        if changes:
            link = link.replace(**changes)
        model = system_model(link)
        distances = parse_distances(distance_km)
        blocks = _block_sizes(block_bits or [])
        if blocks and protocol != "decoy-bb84":
            raise ParameterError(
                f"Argument '--block-bits' needs --protocol decoy-bb84, not {protocol!r}."
            )
        if protocol == "bbm92" and link.pair_statistics != "thermal":
            raise ParameterError(
                "Argument 'pair_statistics' must be 'thermal' for the bbm92 rate, "
                f"not {link.pair_statistics!r}."
            )
        # mu is optimised unless the user fixed it with --set.
        fixed_mu: float | None = None
        if protocol == "bbm92" and "mu_pair" in changes:
            fixed_mu = link.mu_pair
        elif protocol != "bbm92" and "mu" in changes:
            fixed_mu = link.mu
        runs: list[float | None] = list(blocks) if blocks else [None]
        curves: list[tuple[float | None, list[CurvePoint], float]] = []
        for block in runs:
            points = key_rate_curve(
                protocol, distances, model, mu=fixed_mu, decoy=decoy, block_bits=block
            )
            dmax = max_distance_km(
                protocol,
                model,
                mu=fixed_mu,
                decoy=decoy,
                block_bits=block,
                tolerance_km=0.05 if block is None else 0.5,
            )
            curves.append((block, points, dmax))

        def point_json(p: CurvePoint) -> dict[str, float | None]:
            return {
                "distance_km": p.distance_km,
                "rate_bits_per_pulse": p.rate_bits_per_pulse,
                # A lossless link (0 km, no insertion loss) has no finite bound: null in JSON.
                "plob_bits_per_pulse": (
                    p.plob_bits_per_pulse if math.isfinite(p.plob_bits_per_pulse) else None
                ),
                "mu": p.mu,
            }

        if as_json:
            doc: dict[str, object] = {
                "protocol": protocol,
                "params": params,
                "points": [point_json(p) for p in curves[0][1]],
                "max_distance_km": curves[0][2],
            }
            if protocol == "decoy-bb84" and not blocks:
                doc["decoy"] = decoy
            if blocks:
                doc["block_bits"] = curves[0][0]
                doc["curves"] = [
                    {
                        "block_bits": b,
                        "points": [point_json(p) for p in pts],
                        "max_distance_km": d,
                    }
                    for b, pts, d in curves
                ]
            typer.echo(json.dumps(doc, indent=1))
        else:
            for block, points, dmax in curves:
                title = f"protocol {protocol}, params {params}"
                if block is not None:
                    title += f", block n_X = {block:.3g}"
                elif protocol == "decoy-bb84":
                    title += f", decoy {decoy}"
                typer.echo(title)
                typer.echo(
                    f"{'distance_km':>12} {'rate_bits_per_pulse':>20} {'plob_bits_per_pulse':>20} {'mu':>8}"
                )
                for p in points:
                    mu_text = "-" if p.mu is None else f"{p.mu:.4f}"
                    typer.echo(
                        f"{p.distance_km:12.2f} {p.rate_bits_per_pulse:20.6e} "
                        f"{p.plob_bits_per_pulse:20.6e} {mu_text:>8}"
                    )
                typer.echo(f"max_distance_km: {dmax:.2f}")
        if plot is not None:
            _plot(plot, protocol, params, [(b, pts) for b, pts, _ in curves])
            if not as_json:
                typer.echo(f"plot written to {plot}")
