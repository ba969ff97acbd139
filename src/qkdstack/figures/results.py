"""``qkd plot``: a sweep's results as a figure, mean and spread across repeats.

Rows with an ``error`` are left out (their number is written under the figure). For each value of
``hue`` (one colour each) and each ``x``, the points are the mean of ``y`` over the repeats with error
bars of one standard deviation (the spread of single runs). An axis is logarithmic when its positive
values span more than two decades (points at 0 cannot be shown there and are counted in the footnote).
With ``theory`` the lines that theory expects are drawn beside the points
(:mod:`qkdstack.figures.expected`).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError

__all__ = ["FIGURE_SUFFIXES", "axis_label", "check_figure_path", "group_stats", "plot_results"]

FIGURE_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")

_LABELS = {
    "distance_km": "Fibre length (km)",
    "rate_bits_per_pulse": "Secret key rate (bits per pulse)",
    "plob_bits_per_pulse": "PLOB bound (bits per pulse)",
    "secret_bits": "Secret key (bits)",
    "qber": "QBER estimated from the sample",
    "qber_true": "QBER (true, simulation oracle)",
    "pulses": "Pulses sent",
    "detections": "Detections at Bob",
    "sifted_bits": "Sifted bits",
    "eve.parameters.fraction": "Share of pulses Eve intercepts",
    "ec_efficiency": "EC efficiency f = leak / (n h(Q))",
    "mu": "Mean photon number",
}

_UNITS = (
    ("_bits_per_pulse", "bits per pulse"),
    ("_km", "km"),
    ("_db_per_km", "dB/km"),
    ("_db", "dB"),
    ("_bits", "bits"),
    ("_s", "s"),
    ("_ns", "ns"),
    ("_hz", "Hz"),
)


def axis_label(column: str) -> str:
    """A readable label with the unit, from the column's name (``distance_km`` -> ``(km)``)."""
    if column in _LABELS:
        return _LABELS[column]
    if column.startswith("timings_s."):
        return f"{column.removeprefix('timings_s.')} stage time (s)"
    if "." in column:
        head, _, last = column.rpartition(".")
        return f"{head.replace('.', ' ')}: {axis_label(last)}"
    for suffix, unit in _UNITS:
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def check_figure_path(option: str, path: Path) -> None:
    """Refuse (before any work) a figure path with an unknown suffix or in no writable directory."""
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ParameterError(
            f"Argument '{option}' must end in {', '.join(FIGURE_SUFFIXES)}, not '{path}'."
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(f"Argument '{option}' must be in a writable directory, not '{path}'.")
    if path.is_dir():
        raise ParameterError(
            f"Argument '{option}' must be a file path, not the directory '{path}'."
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def group_stats(
    rows: Sequence[dict[str, Any]], x: str, y: str, hue: str | None
) -> dict[Any, list[tuple[Any, float, float, int]]]:
    """``hue value -> [(x, mean, standard deviation, repeats)]`` sorted by x (rows without y skipped).

    The standard deviation uses ``n - 1`` (0 for a single run).
    """
    groups: dict[Any, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        value = _number(row.get(y))
        if value is None:
            continue
        groups[row.get(hue) if hue else None][row.get(x)].append(value)
    out: dict[Any, list[tuple[Any, float, float, int]]] = {}
    for key, by_x in groups.items():
        points = []
        for xv, values in by_x.items():
            arr = np.asarray(values)
            sd = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
            points.append((xv, float(arr.mean()), sd, int(arr.size)))
        out[key] = sorted(points, key=lambda p: (_number(p[0]) is None, _number(p[0]) or 0.0))
    return out


def _spans_decades(values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0]
    return len(positive) >= 2 and max(positive) / min(positive) > 100.0


def _theory_lines(
    ax: Any, rows: Sequence[dict[str, Any]], x: str, y: str, xs: Sequence[float]
) -> list[str]:
    """Draw what theory expects for ``y`` against ``x``; return notes for the footnote."""
    from qkdstack.figures.expected import (
        asymptotic_reach_km,
        expected_decoy_rate,
        expected_decoy_rate_sigma,
        intercept_resend_qber,
        link_params_of_row,
        plob_curve,
        rates_curve,
    )

    good = [r for r in rows if r.get("error") is None]
    if not good:
        return []
    first = good[0]
    params = link_params_of_row(first)
    protocol = str(first.get("protocol"))
    lo, hi = min(xs), max(xs)
    notes: list[str] = []
    if y == "rate_bits_per_pulse" and x in ("distance_km", "pulses"):
        if x == "distance_km":
            # Out to where the asymptotic rate ends, so the figure shows the whole curve.
            reach = asymptotic_reach_km(protocol, params)
            grid = np.linspace(0.0, max(hi, min(1.05 * reach, 400.0)), 81)
            grid = np.unique(np.concatenate([grid, np.asarray(xs, dtype=float)]))
            distances = grid
        else:
            # From below the smallest block to well beyond the largest: the approach to the
            # asymptotic rate.
            grid = np.geomspace(lo / 2, hi * 20, 50) if lo > 0 else np.linspace(lo, hi, 40)
            distances = np.full_like(grid, params.distance_km)
        fixed_mu = "mu" in first and first.get("mu") is not None
        asym = rates_curve(protocol, params, [float(d) for d in distances], fixed_mu=fixed_mu)
        ax.plot(
            grid,
            np.where(asym > 0, asym, np.nan),
            "-",
            color="0.35",
            lw=1.2,
            label="qkd rates: asymptotic (optimised mu, infinite decoys)",
        )
        bound = plob_curve(params, [float(d) for d in distances])
        ax.plot(
            grid, np.where(np.isfinite(bound), bound, np.nan), "k--", lw=1.0, label="PLOB bound"
        )
        if protocol == "decoy-bb84":
            f = [v for v in (_number(r.get("ec_efficiency")) for r in good) if v is not None]
            tag = [v for v in (_number(r.get("verification_bits")) for r in good) if v is not None]
            f_mean = float(np.mean(f)) if f else params.ec_efficiency
            tag_mean = float(np.mean(tag)) if tag else 0.0
            pulses = _number(first.get("pulses")) or 0.0
            finite, sigma = [], []
            for g, d in zip(grid, distances, strict=True):
                link = params.replace(distance_km=float(d))
                n_pulses = float(g) if x == "pulses" else pulses
                finite.append(
                    expected_decoy_rate(
                        link, float(d), n_pulses, ec_efficiency=f_mean, verification_bits=tag_mean
                    )
                )
                sigma.append(
                    expected_decoy_rate_sigma(
                        link,
                        float(d),
                        n_pulses,
                        ec_efficiency=f_mean,
                        verification_bits=tag_mean,
                        draws=200,
                    )
                )
            finite_arr = np.asarray(finite)
            sigma_arr = np.asarray(sigma)
            ax.fill_between(
                grid,
                np.where(
                    finite_arr > 0, np.maximum(finite_arr - sigma_arr, finite_arr / 10), np.nan
                ),
                np.where(finite_arr > 0, finite_arr + sigma_arr, np.nan),
                color="C3",
                alpha=0.15,
                lw=0,
                label="±1 s.d. of one run (count fluctuations)",
            )
            ax.plot(
                grid,
                np.where(finite_arr > 0, finite_arr, np.nan),
                ":",
                color="C3",
                lw=1.6,
                label=f"Lim 2014 expected, these settings (f = {f_mean:.3f})",
            )
            notes.append(
                "Lim 2014 line: expected counts of the runs' settings, EC leak at the runs' mean f"
            )
    elif y in ("qber", "qber_true") and x == "eve.parameters.fraction":
        grid = np.linspace(0.0, 1.0, 41)
        qber = [intercept_resend_qber(params, params.distance_km, float(f)) for f in grid]
        ax.plot(
            grid, qber, "-", color="0.35", label=f"theory: e0 + f (1/4 - e0/2), e0 = {qber[0]:.4f}"
        )
    else:
        raise ParameterError(
            f"Argument '--theory' has a curve for rate_bits_per_pulse against distance_km or "
            f"pulses, and qber against eve.parameters.fraction, not {y!r} against {x!r}."
        )
    return notes


def plot_results(
    rows: Sequence[dict[str, Any]],
    out: Path,
    *,
    x: str,
    y: str,
    hue: str | None = None,
    theory: bool = False,
    title: str | None = None,
) -> Path:
    """Draw ``y`` against ``x`` (mean and spread across repeats, one colour per ``hue``) to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    failed = sum(1 for r in rows if r.get("error") is not None)
    good = [r for r in rows if r.get("error") is None]
    stats = group_stats(good, x, y, hue)
    if not stats:
        raise ParameterError(f"Argument '--y' has no numeric values in column {y!r}.")
    numeric_x = all(_number(p[0]) is not None for pts in stats.values() for p in pts)
    categories: list[Any] = []
    if not numeric_x:
        for pts in stats.values():
            categories += [p[0] for p in pts if p[0] not in categories]
    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    all_x: list[float] = []
    all_y: list[float] = []
    hidden = 0
    for i, (key, pts) in enumerate(sorted(stats.items(), key=lambda kv: str(kv[0]))):
        xs = [float(p[0]) if numeric_x else float(categories.index(p[0])) for p in pts]
        means = np.array([p[1] for p in pts])
        sds = np.array([p[2] for p in pts])
        all_x += xs
        all_y += list(means)
        label = f"{hue} = {key}" if hue else "simulated"
        repeats = sorted({p[3] for p in pts})
        label += f" (mean ± 1 s.d., {'/'.join(map(str, repeats))} runs)"
        ax.errorbar(xs, means, yerr=sds, fmt="o", ms=5, capsize=3, color=f"C{i}", label=label)
        hidden += int(np.count_nonzero(means <= 0))
    notes: list[str] = []
    if theory:
        notes += _theory_lines(ax, good, x, y, all_x)
    if numeric_x and (_spans_decades(all_x) or x == "pulses") and min(all_x) > 0:
        ax.set_xscale("log")
    log_y = _spans_decades(all_y) or (theory and y == "rate_bits_per_pulse")
    if log_y:
        ax.set_yscale("log")
        if hidden:
            notes.append(f"{hidden} point(s) at 0 not shown on the log axis")
    else:
        hidden = 0
    if not numeric_x:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories], rotation=20)
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(y))
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7.5)
    if failed:
        notes.append(f"{failed} failed run(s) left out")
    if notes:
        fig.text(0.01, 0.01, "; ".join(notes), fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.03 if notes else 0, 1, 1))
    fig.savefig(out)
    plt.close(fig)
    return out
