"""Reproduce Fig. 1 of Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014).

Optimised finite-key rate per pulse against fibre length for n_X = 10^4 ... 10^9 (dedicated fibre,
the paper's Sec. IV system), the asymptotic infinite-decoy curve, and the PLOB bound. Prints the
maximum distance of each block size, the ratio R(10^9)/R(10^7) at 100 km (published: about 1.75)
and the optimiser's time per point; writes ``benchmarks/out/lim2014_fig1.png``.

Run: PYTHONPATH=src python benchmarks/bench_lim2014.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from qkdstack.theory.curves import SystemModel, key_rate, key_rate_curve, max_distance_km

LIM2014 = SystemModel(
    attenuation_db_per_km=0.2,
    detector_efficiency=0.1,
    dark_count_prob=6e-7,
    afterpulse_prob=0.04,
    misalignment_error=0.005,
    ec_efficiency=1.16,
    epsilon_sec=1e-10,
    epsilon_cor=1e-15,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer block sizes and distances")
    args = parser.parse_args()
    exponents = [4, 7, 9] if args.quick else [4, 5, 6, 7, 8, 9]
    step = 20.0 if args.quick else 5.0
    distances = [i * step for i in range(int(200 / step) + 1)]
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    plob = key_rate_curve("decoy-bb84", distances[1:], LIM2014)
    ax.semilogy(
        [p.distance_km for p in plob], [p.plob_bits_per_pulse for p in plob], "k:", label="PLOB"
    )
    asym = [p for p in plob if p.rate_bits_per_pulse > 0]
    ax.semilogy(
        [p.distance_km for p in asym],
        [p.rate_bits_per_pulse for p in asym],
        "k--",
        label="asymptotic",
    )
    print(f"{'n_X':>8} {'max_distance_km':>16} {'s/point':>8}")
    for e in exponents:
        t0 = time.perf_counter()
        points = key_rate_curve("decoy-bb84", distances, LIM2014, block_bits=10.0**e)
        per_point = (time.perf_counter() - t0) / len(distances)
        dmax = max_distance_km(
            "decoy-bb84", LIM2014, block_bits=10.0**e, step_km=5.0, tolerance_km=0.5
        )
        good = [p for p in points if p.rate_bits_per_pulse > 0]
        ax.semilogy(
            [p.distance_km for p in good],
            [p.rate_bits_per_pulse for p in good],
            label=f"n_X = 1e{e}",
        )
        print(f"{'1e' + str(e):>8} {dmax:16.1f} {per_point:8.3f}")
    r7 = key_rate("decoy-bb84", 100.0, LIM2014, block_bits=1e7)[0]
    r9 = key_rate("decoy-bb84", 100.0, LIM2014, block_bits=1e9)[0]
    print(f"R(1e9)/R(1e7) at 100 km: {r9 / r7:.3f} (published: about 1.75)")
    ax.set_xlim(0, 200)
    ax.set_ylim(1e-7, 1e-1)
    ax.set_xlabel("Fibre length (km)")
    ax.set_ylabel("Secret key rate per pulse")
    ax.set_title("Lim et al. 2014, Fig. 1 (reproduced)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "lim2014_fig1.png", dpi=120)
    print(f"wrote {out / 'lim2014_fig1.png'}")


if __name__ == "__main__":
    main()
