"""Make the figures of docs/attacks.md: QBER and Eve's information against each attack's strength.

Each point is one simulated link (qkdstack.link.attacks) with a fixed seed; the lines are the
closed forms of the literature (see docs/attacks.md). Run from the repository root:

    .venv/bin/python scripts/make_attack_plots.py [--pulses N] [--out docs/img]

(or ``make figures``, which also rewrites the example record files of docs/records.md).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from qkdstack.link.attacks import parse_attack
from qkdstack.params import LinkParams
from qkdstack.processing.eve import (
    BREIDBART_INFORMATION,
    fuchs_information,
    shannon_information,
)
from qkdstack.theory.entropy import binary_entropy

CLEAN = LinkParams(
    distance_km=5.0, misalignment_error=0.0, dark_count_prob=0.0, detector_efficiency=0.5
)


def measure(spec: str, params: LinkParams, pulses: int, seed: int, protocol: str = "bb84"):  # type: ignore[no-untyped-def]
    """QBER and Eve's Shannon information per sifted bit of one simulated run."""
    out = parse_attack(spec).simulate(protocol, params, pulses, np.random.default_rng(seed))
    keep = out.alice.basis == out.bob.basis
    n = int(keep.sum())
    qber = float(np.mean(out.alice.bit[keep] != out.bob.bit[keep]))
    info = shannon_information(out.eve.error_prob[keep]) / n
    known = float(np.mean(out.eve.certain[keep]))
    return qber, info, known, out


def plot_intercept_resend(pulses: int, out_dir: Path) -> None:
    fractions = np.linspace(0.0, 1.0, 11)
    fig, ax = plt.subplots(figsize=(6, 4))
    for basis, colour, info_per_bit in (
        ("random", "C0", 0.5),
        ("breidbart", "C1", BREIDBART_INFORMATION),
    ):
        pts = [
            measure(f"intercept-resend:fraction={f},basis={basis}", CLEAN, pulses, 1)
            for f in fractions
        ]
        ax.plot(
            fractions, [p[0] for p in pts], "o", color=colour, label=f"QBER ({basis}), simulated"
        )
        ax.plot(
            fractions,
            [p[1] for p in pts],
            "s",
            color=colour,
            mfc="none",
            label=f"Eve info ({basis}), simulated",
        )
        ax.plot(fractions, fractions / 4, "-", color="k", lw=0.8)
        ax.plot(fractions, fractions * info_per_bit, "--", color=colour, lw=0.8)
    ax.set_xlabel("fraction of pulses attacked")
    ax.set_ylabel("per sifted bit")
    ax.set_title("Intercept-resend (lines: f/4, f/2, 0.399 f)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "attack_intercept_resend.png", dpi=120)
    plt.close(fig)


def plot_cloner(pulses: int, out_dir: Path) -> None:
    ds = np.linspace(0.0, 0.5, 11)
    pts = [measure(f"cloner:disturbance={d}", CLEAN, pulses, 2) for d in ds]
    grid = np.linspace(0.0, 0.5, 201)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ds, [p[0] for p in pts], "o", label="QBER, simulated")
    ax.plot(ds, [p[1] for p in pts], "s", label="Eve's information, simulated")
    ax.plot(grid, grid, "k-", lw=0.8, label="QBER = D")
    ax.plot(grid, [fuchs_information(d) for d in grid], "C1-", lw=1, label="Fuchs et al. 1997")
    ax.plot(grid, 1 - np.asarray(binary_entropy(grid)), "C2--", lw=1, label="Bob: 1 - h(D)")
    ax.axvline((1 - 1 / math.sqrt(2)) / 2, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("disturbance D")
    ax.set_ylabel("per sifted bit")
    ax.set_title("Optimal individual attack (phase-covariant cloner)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "attack_cloner.png", dpi=120)
    plt.close(fig)


def plot_beam_splitting(pulses: int, out_dir: Path) -> None:
    distances = np.array([0, 10, 25, 50, 75, 100])
    mu = 0.5
    fig, ax = plt.subplots(figsize=(6, 4))
    pts = [
        measure(
            "beam-splitting",
            LinkParams(source="laser", mu=mu, distance_km=float(d)),
            pulses * 10,
            3,
        )
        for d in distances
    ]
    honest = [
        measure("mitm", LinkParams(source="laser", mu=mu, distance_km=float(d)), pulses * 10, 3)[0]
        for d in distances
    ]
    grid = np.linspace(0, 100, 101)
    t = 10 ** (-0.2 * grid / 10)
    ax.plot(distances, [p[0] for p in pts], "o", label="QBER under attack")
    ax.plot(distances, honest, "x", label="QBER honest")
    ax.plot(distances, [p[1] for p in pts], "s", label="Eve's information, simulated")
    ax.plot(grid, 1 - np.exp(-(1 - t) * mu), "C2-", lw=0.8, label="1 - exp(-(1-t) mu)")
    ax.set_xlabel("distance (km) = attack strength (share of photons lost)")
    ax.set_ylabel("per sifted bit")
    ax.set_title(f"Beam splitting, laser mu = {mu}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "attack_beam_splitting.png", dpi=120)
    plt.close(fig)


def _y1_lower(out, params: LinkParams) -> float:  # type: ignore[no-untyped-def]
    """Vacuum + weak decoy bound on Y1 (Ma, Qi, Zhao, Lo 2005, Eq. 34)."""
    sent = out.alice.meta.sent_counts.sum(axis=1)
    q = [np.count_nonzero(out.alice.intensity == k) / sent[k] for k in range(3)]
    mu, nu, _ = params.intensities
    return (
        mu
        / (mu * nu - nu**2)
        * (
            q[1] * math.exp(nu)
            - q[0] * math.exp(mu) * nu**2 / mu**2
            - (mu**2 - nu**2) / mu**2 * q[2]
        )
    )


def plot_pns(pulses: int, out_dir: Path) -> None:
    distances = np.array([25, 40, 60, 80, 100])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    qa, qh, info, y1a, y1h = [], [], [], [], []
    for d in distances:
        params = LinkParams(
            source="laser", mu=0.5, distance_km=float(d), intensity_probs=(0.6, 0.3, 0.1)
        )
        a = measure("pns", params, pulses * 20, 4)
        h = measure("mitm", params, pulses * 20, 4)
        qa.append(a[0])
        qh.append(h[0])
        info.append(a[1])
        da = measure("pns", params, pulses * 20, 5, protocol="decoy-bb84")[3]
        dh = measure("mitm", params, pulses * 20, 5, protocol="decoy-bb84")[3]
        eta = 10 ** (-0.2 * d / 10) * params.detector_efficiency
        y1a.append(_y1_lower(da, params) / eta)
        y1h.append(_y1_lower(dh, params) / eta)
    ax.plot(distances, qa, "o", label="QBER under PNS")
    ax.plot(distances, qh, "x", label="QBER honest")
    ax.plot(distances, info, "s", label="Eve's information (bb84)")
    ax.set_xlabel("distance (km)")
    ax.set_ylabel("per sifted bit")
    ax.set_title("PNS against plain BB84 (laser, mu = 0.5)")
    ax.legend(fontsize=7)
    bx.plot(distances, y1h, "x-", label="honest")
    bx.plot(distances, y1a, "o-", label="under PNS")
    bx.axhline(0, color="grey", lw=0.6)
    bx.set_xlabel("distance (km)")
    bx.set_ylabel("decoy bound Y1^L / (t eta_d)")
    bx.set_title("Decoy-state estimate of the single-photon yield")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "attack_pns.png", dpi=120)
    plt.close(fig)


def plot_mitm(pulses: int, out_dir: Path) -> None:
    """Outcome of pipeline runs under a man in the middle, with and without authentication."""
    from qkdstack.errors import AuthenticationError, QKDError
    from qkdstack.link.attacks.registry import classical_tamper
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
    axes[0].set_ylabel(f"runs (of {runs})")
    axes[1].legend(fontsize=7)
    fig.suptitle("Man in the middle: every tampered round aborts when messages are authenticated")
    fig.tight_layout()
    fig.savefig(out_dir / "attack_mitm.png", dpi=120)
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
