"""Make the figures of docs/attacks.md: QBER and Eve's information against each attack's strength.

Each point is one simulated link (qkdstack.adversary) with a fixed seed; the lines are the
closed forms of the literature (see docs/attacks.md). Run from the repository root:

    .venv/bin/python scripts/make_attack_plots.py [--pulses N] [--out docs/img]

(or ``make figures``, which also rewrites the example record files of docs/records.md).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from qkdstack.adversary import parse_attack
from qkdstack.adversary.eve import BREIDBART_INFORMATION, fuchs_information
from qkdstack.params import LinkParams
from qkdstack.theory.entropy import binary_entropy

CLEAN = LinkParams(
    distance_km=5.0, misalignment_error=0.0, dark_count_prob=0.0, detector_efficiency=0.5
)
CLEAN_TEXT = r"bb84, single photons, 5 km, $\eta_d$ = 0.5, no dark counts, no misalignment"
LEGEND = {"fontsize": 7, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
"""Legends sit beside the axes, where they hide no data."""
Y_PER_BIT = "per sifted bit: QBER (fraction)\nand Eve's information (bits)"


@dataclass
class Point:
    """One simulated run: QBER and Eve's information per sifted bit, with standard errors."""

    qber: float
    qber_se: float
    info: float
    info_se: float
    known: float
    out: object


def measure(spec: str, params: LinkParams, pulses: int, seed: int, protocol: str = "bb84") -> Point:
    """QBER and Eve's Shannon information per sifted bit of one simulated run.

    Standard errors: binomial for the QBER, ``std(1 - h(p_i)) / sqrt(n)`` for the information.
    """
    out = parse_attack(spec).simulate(protocol, params, pulses, np.random.default_rng(seed))
    keep = out.alice.basis == out.bob.basis
    n = int(keep.sum())
    qber = float(np.mean(out.alice.bit[keep] != out.bob.bit[keep]))
    per_bit = 1.0 - np.asarray(binary_entropy(out.eve.error_prob[keep]), dtype=np.float64)
    known = float(np.mean(out.eve.certain[keep]))
    return Point(
        qber,
        math.sqrt(qber * (1 - qber) / n),
        float(per_bit.mean()),
        float(per_bit.std() / math.sqrt(n)),
        known,
        out,
    )


def _errorbars(ax, x, points, *, colour, qber_label, info_label, info_marker="s"):  # type: ignore[no-untyped-def]
    ax.errorbar(
        x,
        [p.qber for p in points],
        yerr=[p.qber_se for p in points],
        fmt="o",
        color=colour,
        ms=4,
        capsize=2,
        label=qber_label,
    )
    if info_label is not None:
        ax.errorbar(
            x,
            [p.info for p in points],
            yerr=[p.info_se for p in points],
            fmt=info_marker,
            color=colour,
            mfc="none",
            ms=5,
            capsize=2,
            label=info_label,
        )


def _finish(fig, ax, path: Path, title: str, xlabel: str, ylabel: str = Y_PER_BIT) -> None:  # type: ignore[no-untyped-def]
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.legend(**LEGEND)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_intercept_resend(pulses: int, out_dir: Path) -> None:
    fractions = np.linspace(0.0, 1.0, 11)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(fractions, fractions / 4, "-", color="k", lw=0.8, label="QBER $= f/4$ (both bases)")
    for basis, colour, info_per_bit, law in (
        ("random", "C0", 0.5, "$f/2$ (Gisin et al. 2002)"),
        ("breidbart", "C1", BREIDBART_INFORMATION, "$0.399\\,f$ (Bennett et al. 1992)"),
    ):
        pts = [
            measure(f"intercept-resend:fraction={f},basis={basis}", CLEAN, pulses, 1)
            for f in fractions
        ]
        _errorbars(
            ax,
            fractions,
            pts,
            colour=colour,
            qber_label=f"QBER, {basis} basis, simulated",
            info_label=f"Eve's information, {basis} basis, simulated",
        )
        ax.plot(
            fractions,
            fractions * info_per_bit,
            "--",
            color=colour,
            lw=0.8,
            label=f"Eve's information {law}",
        )
    _finish(
        fig,
        ax,
        out_dir / "attack_intercept_resend.png",
        f"Intercept-resend on {CLEAN_TEXT}\n{pulses:,} pulses per point; error bars: 1 s.e.",
        "fraction $f$ of the pulses attacked",
    )


def plot_cloner(pulses: int, out_dir: Path) -> None:
    ds = np.linspace(0.0, 0.5, 11)
    pts = [measure(f"cloner:disturbance={d}", CLEAN, pulses, 2) for d in ds]
    grid = np.linspace(0.0, 0.5, 201)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    _errorbars(
        ax,
        ds,
        pts,
        colour="C0",
        qber_label="QBER, simulated",
        info_label="Eve's information, simulated",
    )
    ax.plot(grid, grid, "k-", lw=0.8, label="QBER $= D$")
    ax.plot(
        grid,
        [fuchs_information(d) for d in grid],
        "C1-",
        lw=1,
        label=r"Eve: $\phi(2\sqrt{D(1-D)})/2$ (Fuchs et al. 1997)",
    )
    ax.plot(grid, 1 - np.asarray(binary_entropy(grid)), "C2--", lw=1, label="Bob: $1 - h(D)$")
    ax.axvline(
        (1 - 1 / math.sqrt(2)) / 2, color="grey", lw=0.6, ls=":", label="$D = 14.6\\%$: equal"
    )
    _finish(
        fig,
        ax,
        out_dir / "attack_cloner.png",
        f"Optimal individual attack (phase-covariant cloner) on {CLEAN_TEXT}\n"
        f"{pulses:,} pulses per point; error bars: 1 s.e.",
        "disturbance $D$ (Bob's error rate the attack is set to)",
    )


def _honest_qber(params: LinkParams, mu: float, distance_km: float) -> float:
    """QBER of a laser link: ``(e_mis (1 - e^{-eta mu}) + Y0 / 2) / Q_mu`` (Ma et al. 2005, Eq. 4)."""
    eta = 10 ** (-params.attenuation_db_per_km * distance_km / 10) * params.detector_efficiency
    y0 = 1 - (1 - params.dark_count_prob) ** 2
    signal = 1 - math.exp(-eta * mu)
    gain = signal + (1 - signal) * y0
    return (params.misalignment_error * signal + y0 / 2 * (1 - signal)) / gain


def plot_beam_splitting(pulses: int, out_dir: Path) -> None:
    distances = np.array([0, 10, 25, 50, 75, 100])
    mu = 0.5
    base = LinkParams(source="laser", mu=mu)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    pts = [
        measure("beam-splitting", base.replace(distance_km=float(d)), pulses * 10, 3)
        for d in distances
    ]
    honest = [
        measure("mitm", base.replace(distance_km=float(d)), pulses * 10, 3) for d in distances
    ]
    grid = np.linspace(0, 100, 101)
    t = 10 ** (-base.attenuation_db_per_km * grid / 10)
    _errorbars(
        ax,
        distances,
        pts,
        colour="C0",
        qber_label="QBER under attack, simulated",
        info_label="Eve's information, simulated",
    )
    _errorbars(ax, distances + 1.5, honest, colour="C1", qber_label="QBER honest", info_label=None)
    ax.plot(
        grid,
        [_honest_qber(base, mu, d) for d in grid],
        "k-",
        lw=0.8,
        label="QBER, theory (Ma et al. 2005)",
    )
    ax.plot(grid, 1 - np.exp(-(1 - t) * mu), "C2-", lw=0.8, label=r"Eve: $1 - e^{-(1-t)\mu}$")
    _finish(
        fig,
        ax,
        out_dir / "attack_beam_splitting.png",
        f"Beam splitting, bb84 with a laser ($\\mu$ = {mu}), {base.attenuation_db_per_km} dB/km, "
        f"$\\eta_d$ = {base.detector_efficiency},\n$p_{{dc}}$ = {base.dark_count_prob:g}, "
        f"$e_{{mis}}$ = {base.misalignment_error}; {pulses * 10:,} pulses per point; "
        "error bars: 1 s.e.",
        "distance (km) = attack strength (share $1 - t$ of the photons lost)",
    )


def _poisson(mean: float, n_max: int = 60) -> np.ndarray:
    n = np.arange(n_max)
    return np.exp(-mean) * mean**n / np.array([math.factorial(int(k)) for k in n], dtype=float)


def _pns_theory(
    params: LinkParams, distance_km: float, means: tuple[float, ...]
) -> tuple[float, list[float]]:
    """Eve's information on plain BB84 and the expected gains per intensity under PNS.

    Eve forwards a share ``r`` of the multi-photon pulses (keeping one photon) and, if that is not
    enough, a share ``s`` of the single photons, so that Bob's signal-click probability equals the
    honest ``1 - exp(-eta mu)`` (Brassard, Lütkenhaus, Mor, Sanders 2000). With ``M_k = sum_{n>=2}
    P_k(n) [1 - (1 - eta_d)^(n-1)]`` and ``S_k = P_k(1) eta_d``, Bob's signal clicks at intensity
    ``k`` are ``C_k = r M_k + s S_k`` and his gain ``C_k + (1 - C_k) Y0``; Eve knows the split clicks:
    her information per sifted bit is ``r M_0 / Q_0``.
    """
    eta_d = params.detector_efficiency
    t = 10 ** (-params.attenuation_db_per_km * distance_km / 10)
    y0 = 1 - (1 - params.dark_count_prob) ** 2
    n = np.arange(60)
    pmfs = [_poisson(m) for m in means]  # Eve tunes on the first (the signal)
    multi = [float(np.dot(p[2:], 1 - (1 - eta_d) ** (n[2:] - 1))) for p in pmfs]
    single = [float(p[1] * eta_d) for p in pmfs]
    honest = 1 - math.exp(-t * eta_d * means[0])
    r = min(1.0, honest / multi[0])
    s = max(0.0, (honest - multi[0]) / single[0]) if r >= 1.0 else 0.0
    clicks = [r * m + s * q for m, q in zip(multi, single, strict=True)]
    gains = [c + (1 - c) * y0 for c in clicks]
    return r * multi[0] / gains[0], gains


def _honest_gains(params: LinkParams, distance_km: float) -> list[float]:
    eta = 10 ** (-params.attenuation_db_per_km * distance_km / 10) * params.detector_efficiency
    y0 = 1 - (1 - params.dark_count_prob) ** 2
    return [1 - (1 - y0) * math.exp(-eta * m) for m in params.intensities]


def _y1_coefficients(params: LinkParams) -> tuple[float, float, float]:
    """``Y1^L = a1 Q_nu + a0 Q_mu + a2 Q_vac``: Ma, Qi, Zhao, Lo 2005, Eq. 34 (vacuum + weak)."""
    mu, nu, _ = params.intensities
    c = mu / (mu * nu - nu**2)
    return c * math.exp(nu), -c * math.exp(mu) * nu**2 / mu**2, -c * (mu**2 - nu**2) / mu**2


def _y1_lower(out, params: LinkParams) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Observed vacuum + weak decoy bound on Y1 and its standard error (binomial gains)."""
    sent = out.alice.meta.sent_counts.sum(axis=1)
    q = [np.count_nonzero(out.alice.intensity == k) / sent[k] for k in range(3)]
    a_nu, a_mu, a_vac = _y1_coefficients(params)
    value = a_nu * q[1] + a_mu * q[0] + a_vac * q[2]
    var = sum(
        a**2 * qk * (1 - qk) / nk for a, qk, nk in zip((a_mu, a_nu, a_vac), q, sent, strict=True)
    )
    return value, math.sqrt(var)


def plot_pns(pulses: int, out_dir: Path) -> None:
    distances = np.array([25, 40, 60, 80, 100])
    params = LinkParams(source="laser", mu=0.5, intensity_probs=(0.6, 0.3, 0.1))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.4))
    attacked, honest, y1a, y1h = [], [], [], []
    for d in distances:
        link = params.replace(distance_km=float(d))
        attacked.append(measure("pns", link, pulses * 20, 4))
        honest.append(measure("mitm", link, pulses * 20, 4))
        da = measure("pns", link, pulses * 20, 5, protocol="decoy-bb84").out
        dh = measure("mitm", link, pulses * 20, 5, protocol="decoy-bb84").out
        eta = 10 ** (-params.attenuation_db_per_km * d / 10) * params.detector_efficiency
        y1a.append([v / eta for v in _y1_lower(da, link)])
        y1h.append([v / eta for v in _y1_lower(dh, link)])
    grid = np.linspace(25, 100, 76)
    _errorbars(
        ax,
        distances,
        attacked,
        colour="C0",
        qber_label="QBER under PNS, simulated",
        info_label="Eve's information (bb84), simulated",
    )
    _errorbars(ax, distances + 1.5, honest, colour="C1", qber_label="QBER honest", info_label=None)
    ax.plot(
        grid,
        [_honest_qber(params, 0.5, d) for d in grid],
        "k-",
        lw=0.8,
        label="QBER, theory (honest = PNS)",
    )
    ax.plot(
        grid,
        [_pns_theory(params, d, (params.mu,))[0] for d in grid],
        "C0--",
        lw=0.8,
        label="Eve: $r M / Q_\\mu$ (split clicks)",
    )
    ax.set_ylim(-0.02, 1.05)
    coef = _y1_coefficients(params)

    def bound(gains: list[float], d: float) -> float:
        eta = 10 ** (-params.attenuation_db_per_km * d / 10) * params.detector_efficiency
        return (coef[0] * gains[1] + coef[1] * gains[0] + coef[2] * gains[2]) / eta

    bx.errorbar(
        distances,
        [v for v, _ in y1h],
        yerr=[e for _, e in y1h],
        fmt="x",
        color="C1",
        capsize=2,
        label="honest, simulated",
    )
    bx.errorbar(
        distances,
        [v for v, _ in y1a],
        yerr=[e for _, e in y1a],
        fmt="o",
        color="C0",
        capsize=2,
        label="under PNS, simulated",
    )
    bx.plot(
        grid,
        [bound(_honest_gains(params, d), d) for d in grid],
        "C1-",
        lw=0.8,
        label="honest, theory",
    )
    bx.plot(
        grid,
        [bound(_pns_theory(params, d, params.intensities)[1], d) for d in grid],
        "C0-",
        lw=0.8,
        label="under PNS, theory",
    )
    bx.axhline(0, color="grey", lw=0.6)
    bx.set_ylim(-0.6, 1.1)
    run = (
        f"plain bb84: laser $\\mu$ = {params.mu}; decoy-bb84: $\\mu$ = {params.intensities[0]}, "
        f"$\\nu$ = {params.intensities[1]}, vacuum; "
        f"$p_k$ = {params.intensity_probs}; {params.attenuation_db_per_km} dB/km, "
        f"$\\eta_d$ = {params.detector_efficiency}, $p_{{dc}}$ = {params.dark_count_prob:g}; "
        f"{pulses * 20:,} pulses per point; error bars: 1 s.e."
    )
    ax.set_xlabel("distance (km)")
    ax.set_ylabel(Y_PER_BIT)
    ax.set_title(f"PNS against plain BB84 (laser $\\mu$ = {params.mu}, no decoys)", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="center right")
    bx.set_xlabel("distance (km)")
    bx.set_ylabel(r"decoy bound $Y_1^L / (t\,\eta_d)$ (1 = honest single-photon yield)")
    bx.set_title(
        "Decoy-state estimate of the single-photon yield (Ma et al. 2005, Eq. 34)", fontsize=9
    )
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=7, loc="lower left")
    fig.suptitle(run, fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "attack_pns.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_mitm(pulses: int, out_dir: Path) -> None:
    """Outcome of pipeline runs under a man in the middle, with and without authentication."""
    from qkdstack.adversary.registry import classical_tamper
    from qkdstack.errors import AuthenticationError, QKDError
    from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

    modes = ["flip", "basis", "replace", "bytes"]
    runs = 3
    outcomes = {"AuthenticationError": "C3", "other abort or error": "C1", "key": "C2"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    params = LinkParams(distance_km=10.0)
    for ax, authenticate in zip(axes, (True, False), strict=True):
        counts = {o: np.zeros(len(modes)) for o in outcomes}
        for i, mode in enumerate(modes):
            attack = parse_attack(f"mitm:mode={mode}")
            for r in range(runs):
                link = attack.simulate("bb84", params, pulses * 5, np.random.default_rng(100 + r))
                opts = PipelineOptions(
                    secure_randomness=False,
                    authenticate=authenticate,
                    tamper=classical_tamper(attack, seed=r),
                )
                try:
                    result = run_postprocessing(link.alice, link.bob, opts, seed=r)
                except (QKDError, IndexError, ValueError):
                    # Unauthenticated rewrites can make a party reject (or trip over) the exchange.
                    counts["other abort or error"][i] += 1
                    continue
                if isinstance(result.error, AuthenticationError):
                    counts["AuthenticationError"][i] += 1
                elif result.error is not None:
                    counts["other abort or error"][i] += 1
                else:
                    counts["key"][i] += 1
        bottom = np.zeros(len(modes))
        for outcome, colour in outcomes.items():
            ax.bar(modes, counts[outcome], bottom=bottom, color=colour, label=outcome)
            bottom += counts[outcome]
        ax.set_title(f"authentication {'on' if authenticate else 'off'}")
        ax.set_xlabel("tamper mode (every message)")
    axes[0].set_ylabel(f"pipeline runs (of {runs} per mode)")
    axes[1].legend(**LEGEND)
    fig.suptitle(
        "Man in the middle: every tampered round aborts when messages are authenticated\n"
        f"bb84, single photons, {params.distance_km:g} km, $\\eta_d$ = "
        f"{params.detector_efficiency}, {pulses * 5:,} pulses per run; Eve rewrites every message",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out_dir / "attack_mitm.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pulses", type=int, default=400_000)
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    plot_intercept_resend(args.pulses, args.out)
    plot_cloner(args.pulses, args.out)
    plot_beam_splitting(args.pulses, args.out)
    plot_pns(args.pulses, args.out)
    plot_mitm(args.pulses, args.out)


if __name__ == "__main__":
    main()
