"""``qkd run --plot FILE``: one run's story in three panels, drawn from its report alone.

1. Counts per intensity and basis: pulses sent, detections and errors (log scale), from the
   report's ``counts``.
2. Error rates: the QBER of each intensity and basis (``errors / detected``, with a binomial
   standard error), the estimate from the sample and its upper bound.
3. The key budget, from sifted bits to secret bits: what the sample disclosed, what error
   correction leaked, what verification took, and what privacy amplification removed, as a
   waterfall; an aborted run says why.

The figure holds no key material: only counts and the report's numbers.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["budget_steps", "draw_run_story"]


def _int(report: dict[str, Any], key: str) -> int:
    value = report.get(key)
    return int(value) if isinstance(value, int | float) and math.isfinite(value) else 0


def budget_steps(report: dict[str, Any]) -> list[tuple[str, int]]:
    """The key budget: ``[(stage, bits it took)]`` from the sifted bits down to the secret bits.

    ``sifted - sample - EC leak - verification - privacy amplification = secret``; the last term is
    whatever the others leave above the secret bits (0 when the run aborted before it).
    """
    sifted = _int(report, "sifted_bits")
    sample = _int(report, "sample_bits")
    key = _int(report, "key_bits_before_ec") or max(sifted - sample, 0)
    other = max(sifted - sample - key, 0)  # sifted bits that are neither sample nor key
    leak = _int(report, "leaked_ec_bits")
    verification = _int(report, "verification_bits")
    secret = _int(report, "secret_bits")
    pa = max(key - leak - verification - secret, 0)
    steps = [("sample (QBER estimate)", sample)]
    if other:
        steps.append(("not used for key", other))
    steps += [
        ("error correction leak", leak),
        ("verification tag", verification),
        ("privacy amplification", pa),
    ]
    return steps


def draw_run_story(report: dict[str, Any], out: Path) -> Path:
    """Draw the story of one run (a ``qkd run --json`` report) to ``out`` (.png, .svg or .pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(15.0, 4.6))
    counts = report.get("counts") or []
    means = (report.get("params") or {}).get("intensities") or []

    def label(c: dict[str, Any]) -> str:
        k = c.get("intensity")
        if isinstance(k, int) and 0 <= k < len(means):
            return f"{c.get('basis')}, mu = {means[k]:g}"
        return f"{c.get('basis')}, intensity {k}"

    labels = [label(c) for c in counts]
    ax = axes[0]
    if counts:
        pos = np.arange(len(counts))
        width = 0.27
        for j, (field, name) in enumerate(
            (("sent", "pulses sent"), ("detected", "detections"), ("errors", "errors"))
        ):
            values = [max(int(c.get(field) or 0), 0) for c in counts]
            ax.bar(
                pos + (j - 1) * width,
                [v if v > 0 else np.nan for v in values],
                width,
                label=name,
                color=f"C{j}",
            )
        ax.set_yscale("log")
        ax.set_xticks(pos, labels, rotation=25, fontsize=8)
        ax.legend(fontsize=8)
    else:
        ax.bar(
            ["detections", "sifted bits"], [_int(report, "detections"), _int(report, "sifted_bits")]
        )
        ax.text(
            0.5,
            0.9,
            "no per-intensity counts for this protocol",
            transform=ax.transAxes,
            ha="center",
            fontsize=8,
        )
    ax.set_ylabel("Count (pulses or detections)")
    ax.set_title("Counts per basis and intensity", fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)

    ax = axes[1]
    if counts:
        rates, errs = [], []
        for c in counts:
            n = int(c.get("detected") or 0)
            e = int(c.get("errors") or 0)
            p = e / n if n else np.nan
            rates.append(p)
            errs.append(math.sqrt(p * (1 - p) / n) if n else np.nan)
        ax.errorbar(
            np.arange(len(counts)),
            rates,
            yerr=errs,
            fmt="o",
            capsize=3,
            label="errors / detections (±1 s.e.)",
        )
        ax.set_xticks(np.arange(len(counts)), labels, rotation=25, fontsize=8)
    for key, style, name in (
        ("qber", "-", "QBER estimated from the sample"),
        ("qber_upper", "--", "QBER upper bound used for the key"),
        ("qber_true", ":", "QBER true (simulation oracle)"),
    ):
        value = report.get(key)
        if isinstance(value, float):
            ax.axhline(value, ls=style, color="0.3", lw=1, label=f"{name}: {value:.4f}")
    ax.set_ylabel("Error rate (fraction of detections)")
    ax.set_title("Error rates", fontsize=10)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7.5)
    ax.grid(True, alpha=0.3)

    ax = axes[2]
    sifted = _int(report, "sifted_bits")
    level = sifted
    ax.barh(0, sifted, color="C0")
    ax.text(sifted, 0, f" {sifted:,}", va="center", fontsize=8)
    names = ["sifted bits"]
    for i, (name, bits) in enumerate(budget_steps(report), start=1):
        ax.barh(i, bits, left=level - bits, color="C3", alpha=0.75)
        ax.text(level, i, f" -{bits:,}", va="center", fontsize=8)
        level -= bits
        names.append(name)
    secret = _int(report, "secret_bits")
    last = len(names)
    ax.barh(last, secret, color="C2")
    ax.text(secret, last, f" {secret:,}", va="center", fontsize=8)
    names.append("secret bits")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Bits")
    ax.set_xlim(left=0, right=max(sifted, 1) * 1.25)
    title = "Key budget: sifted bits to secret bits"
    if report.get("aborted"):
        title += "\n" + textwrap.fill(f"ABORTED: {report.get('abort_reason')}", 60)
    ax.set_title(title, fontsize=9 if report.get("aborted") else 10)
    ax.grid(True, axis="x", alpha=0.3)
    head = (
        f"qkd run: {report.get('protocol')}, {report.get('distance_km')} km, "
        f"{_int(report, 'pulses'):,} pulses, seed {report.get('seed')}, "
        f"EC {report.get('ec_method')}, {_int(report, 'secret_bits'):,} secret bits"
    )
    fig.suptitle(head, fontsize=10)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
