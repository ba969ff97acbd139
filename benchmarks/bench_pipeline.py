"""End-to-end runs: the ``qkd run`` default job (decoy-state BB84) and the single-photon BB84 slice.
Median time per stage over repeats, and secret bits per second of wall time.

The baseline is the link simulation of the same run (ratio of each stage's median to it), so the
figures can be compared across machines.
"""

from __future__ import annotations

import argparse
import statistics

from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    pulses = 10**7 if args.quick else 10**8
    for protocol, params in (
        ("decoy-bb84", LinkParams(source="laser")),
        ("bb84", LinkParams()),
    ):
        stages: dict[str, list[float]] = {}
        secret = []
        for r in range(repeats):
            rep = run_experiment(protocol, params, pulses, seed=100 + r).report
            secret.append(rep["secret_bits"])
            for k, v in rep["timings_s"].items():
                stages.setdefault(k, []).append(v)
        med = {k: statistics.median(v) for k, v in stages.items()}
        total = sum(med.values())
        print(f"{protocol}, {params.source}, 25 km, {pulses:.0e} pulses, {repeats} runs (medians):")
        for k, v in med.items():
            print(f"  {k:15s} {v:7.3f} s   ({v / med['link']:5.1f}x link)")
        rate = statistics.median(secret) / total
        print(
            f"  {'total':15s} {total:7.3f} s;  {statistics.median(secret):,.0f} secret bits, {rate:,.0f} /s"
        )


if __name__ == "__main__":
    main()
