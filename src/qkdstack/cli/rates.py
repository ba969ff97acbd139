"""``qkd rates``: secret key rate against distance, beside the PLOB bound.

A thin layer over :mod:`qkdstack.theory.curves`: it reads a named parameter set (with ``--set``
overrides), turns it into a :class:`~qkdstack.theory.curves.SystemModel` with the library's
adapter (:func:`qkdstack.model.system_model`, re-exported here) and prints, for each
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
from qkdstack.cli.validation import parse_grid
from qkdstack.errors import ParameterError
from qkdstack.model import check_rate_params, system_model
from qkdstack.params import LinkParams, get_param_set, parse_assignment
from qkdstack.theory.curves import (
    DECOY_METHODS,
    PROTOCOLS,
    CurvePoint,
    key_rate_curve,
    max_distance_km,
)

__all__ = ["curve_label", "parse_distances", "register", "system_model"]

_MAX_POINTS = 10_000


def parse_distances(text: str) -> list[float]:
    """``"0,25,50"`` (a list) or ``"0:150:5"`` (start:stop:step, stop included) into floats."""
    values = parse_grid("--distance-km", text, example="0,25,50", max_points=_MAX_POINTS)
    for v in values:
        if not v >= 0:
            raise ParameterError(f"Argument '--distance-km' must be >= 0, not {v!r}.")
    return values


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
            if not (n >= 1 and math.isfinite(n) and n.is_integer()):
                raise ParameterError(
                    f"Argument '--block-bits' must be an integer >= 1, not {part!r}."
                )
            out.append(n)
    return out


def _tex_number(value: float) -> str:
    """``1e8`` as ``10^{8}``, ``2.5e-3`` as ``2.5 \\times 10^{-3}`` (mathtext)."""
    mantissa, _, exponent = f"{value:.3g}".partition("e")
    if not exponent:
        return mantissa
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


def curve_label(
    protocol: str,
    params: LinkParams,
    *,
    decoy: str,
    block_bits: float | None,
    fixed_mu: float | None,
    max_km: float,
) -> str:
    """What a curve assumes, in words (the plot legend): proof, source, decoys, block, optimum."""
    mu_text = "optimised" if fixed_mu is None else f"{fixed_mu:g}"
    if block_bits is not None:
        text = (
            f"finite key (Lim 2014), $n_X = {_tex_number(block_bits)}$, two decoys, "
            f"$\\varepsilon_{{sec}} = {_tex_number(params.epsilon_sec)}$; "
            f"$\\mu_1$ {mu_text}, $\\mu_2$, $p_k$, basis bias $q_X$ optimised"
        )
    elif protocol == "decoy-bb84":
        method = "infinite decoys" if decoy == "infinite" else "vacuum + weak decoy (MQZL 2005)"
        text = f"asymptotic, {method}, bases 50:50, $\\mu$ {mu_text}"
    elif protocol == "bb84" and params.source == "laser":
        text = f"bb84, laser without decoys (GLLP), asymptotic, $\\mu$ {mu_text}"
    elif protocol in ("bb84", "six-state"):
        proof = "Shor-Preskill" if protocol == "bb84" else "Lo 2001"
        text = f"{protocol}, single photons ({proof}), asymptotic"
    elif protocol == "bbm92":
        text = f"bbm92, thermal pairs, asymptotic, $\\mu_{{pair}}$ {mu_text}"
    else:
        text = f"{protocol} (Acin et al. 2007), asymptotic"
    return f"{text}; max {max_km:.1f} km"


def _plot(
    path: Path,
    protocol: str,
    params_name: str,
    params: LinkParams,
    curves: list[tuple[str, list[CurvePoint], float]],
    *,
    finite: bool,
) -> None:
    """Rate against distance: PLOB, each curve with its maximum distance marked, assumptions in
    the legend (below the axes, so that it hides no data)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 5.6))
    # PLOB is infinite on a lossless link (0 km): those points are left out of the log plot.
    bound = [p for p in curves[0][1] if math.isfinite(p.plob_bits_per_pulse)]
    ax.semilogy(
        [p.distance_km for p in bound],
        [p.plob_bits_per_pulse for p in bound],
        "k--",
        label=r"PLOB bound $-\log_2(1-\eta)$ (no repeater)",
    )
    for i, (label, points, dmax) in enumerate(curves):
        xs = [p.distance_km for p in points if p.rate_bits_per_pulse > 0]
        ys = [p.rate_bits_per_pulse for p in points if p.rate_bits_per_pulse > 0]
        colour = f"C{i}"
        ax.semilogy(xs, ys, "-", color=colour, label=label)
        if 0 < dmax:
            ax.axvline(dmax, color=colour, ls=":", lw=1)
            ax.annotate(
                f"{dmax:.1f} km",
                (dmax, 0.02 + 0.06 * i),
                xycoords=("data", "axes fraction"),
                color=colour,
                fontsize=7,
                rotation=90,
                ha="right",
                va="bottom",
            )
    ax.set_xlabel("Fibre length (km)")
    ax.set_ylabel("Secret key rate (bits per pulse)")
    ax.set_title(
        f"qkd rates: {protocol}, params {params_name}\n"
        f"$\\alpha$ = {params.attenuation_db_per_km:g} dB/km, "
        f"$\\eta_d$ = {params.detector_efficiency:g}, $p_{{dc}}$ = {params.dark_count_prob:.2g}, "
        f"$e_{{mis}}$ = {params.misalignment_error:g}, $f_{{EC}}$ = {params.ec_efficiency:g}",
        fontsize=9,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
    if finite:
        fig.text(
            0.01,
            0.005,
            "Dotted lines: maximum distance of each curve. A finite-key curve may lie above the "
            "asymptotic one at short range:\nit optimises the basis bias $q_X$ (key fraction "
            "$q_X^2$ up to 0.8) where the asymptotic curve keeps half of the detections.",
            fontsize=6.5,
        )
    else:
        fig.text(0.01, 0.005, "Dotted lines: maximum distance of each curve.", fontsize=6.5)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, bbox_inches="tight")
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
        decoy_given: Annotated[
            str | None,
            typer.Option(
                "--decoy",
                help=f"Decoy method of the asymptotic decoy-bb84 curve: {', '.join(DECOY_METHODS)} "
                "[default infinite]; not with --block-bits (Lim 2014 uses two decoys).",
            ),
        ] = None,
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
        decoy = "infinite" if decoy_given is None else decoy_given
        if decoy not in DECOY_METHODS:
            raise ParameterError(
                f"Argument '--decoy' must be one of {', '.join(DECOY_METHODS)}, not {decoy!r}."
            )
        if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
            raise ParameterError(f"Argument '--plot' must end in .png or .svg, not {str(plot)!r}.")
        if plot is not None:
            from qkdstack.cli.validation import check_new_file

            check_new_file("--plot", plot, force=True)  # before the curves are computed
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
        if decoy_given is not None and protocol != "decoy-bb84":
            raise ParameterError(
                f"Argument '--decoy' needs --protocol decoy-bb84, not {protocol!r}."
            )
        if decoy_given is not None and blocks:
            raise ParameterError(
                "Argument '--decoy' must not be given with --block-bits: the finite-key curve "
                f"(Lim 2014) always uses a vacuum and a weak decoy, not {decoy_given!r}."
            )
        check_rate_params(protocol, link)
        # mu is optimised unless the user fixed it with --set.
        fixed_mu: float | None = None
        if protocol == "bbm92" and "mu_pair" in changes:
            fixed_mu = link.mu_pair
        elif protocol != "bbm92" and "mu" in changes:
            fixed_mu = link.mu
        runs: list[float | None] = list(blocks) if blocks else [None]
        curves: list[tuple[float | None, list[CurvePoint], float]] = []
        for block in runs:
            progress = None
            if block is not None:

                def progress(i: int, d: float, block: float = block) -> None:
                    typer.echo(
                        f"qkd rates: finite-key curve n_X = {block:.3g}: optimising "
                        f"{d:g} km ({i + 1}/{len(distances)})",
                        err=True,
                    )

                typer.echo(
                    f"qkd rates: finite-key curve n_X = {block:.3g}: five settings optimised at "
                    "each distance, then the maximum distance by bisection",
                    err=True,
                )
            points = key_rate_curve(
                protocol,
                distances,
                model,
                mu=fixed_mu,
                decoy=decoy,
                block_bits=block,
                progress=progress,
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

        asymptotic: tuple[list[CurvePoint], float] | None = None
        if blocks:  # the asymptotic curve, beside the finite-key ones
            asymptotic = (
                key_rate_curve(protocol, distances, model, mu=fixed_mu, decoy=decoy),
                max_distance_km(protocol, model, mu=fixed_mu, decoy=decoy),
            )

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
                assert asymptotic is not None
                doc["asymptotic"] = {
                    "decoy": decoy,
                    "points": [point_json(p) for p in asymptotic[0]],
                    "max_distance_km": asymptotic[1],
                }
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

            def label(block: float | None, dmax: float) -> str:
                return curve_label(
                    protocol,
                    link,
                    decoy=decoy,
                    block_bits=block,
                    fixed_mu=fixed_mu,
                    max_km=dmax,
                )

            drawn = [(label(b, d), pts, d) for b, pts, d in curves]
            if asymptotic is not None:  # beside the finite-key ones
                drawn.insert(0, (label(None, asymptotic[1]), *asymptotic))
            _plot(plot, protocol, params, link, drawn, finite=bool(blocks))
            if not as_json:
                typer.echo(f"plot written to {plot}")
