"""Frame error rate of the default Cascade (``cascade``) over many seeded runs, in parallel.

Each run draws Alice's key and Bob's copy with exactly ``round(Q n)`` errors (seeded per run) and
reconciles them through the classical channel; a run whose corrected key differs from Alice's is a
frame error (verification would catch it and the block would be discarded). Prints, per QBER, the
runs, the frame errors, the exact (Clopper-Pearson) 95% upper bound on the frame error rate, the
mean efficiency and the CPU time per run.

Usage: ``python benchmarks/bench_cascade_fer.py [--n N] [--runs R] [--procs P] [--qber Q ...]
[--first F] [--quick]`` (runs ``F .. F + R - 1``: calls with disjoint ranges pool by adding).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import numpy as np
from scipy.stats import beta

from qkdstack.processing.reconciliation import reconcile


def _chunk(args: tuple[int, float, int, int, str]) -> tuple[int, list[int], float, float]:
    """Runs ``[first, first + count)``: (runs, the failed runs, sum of f, CPU seconds)."""
    n, q, first, count, method = args
    failures: list[int] = []
    f_sum = 0.0
    c0 = time.process_time()
    for run in range(first, first + count):
        rng = np.random.default_rng([run, round(q * 1e6), n])
        alice = rng.integers(0, 2, n, dtype=np.uint8)
        bob = alice.copy()
        bob[rng.choice(n, size=round(q * n), replace=False)] ^= 1
        result = reconcile(alice, bob, q, method=method, seed=run)
        if not np.array_equal(result.key, alice):
            failures.append(run)
        f_sum += result.efficiency
    return count, failures, f_sum, time.process_time() - c0


def upper_bound(failures: int, runs: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a binomial rate (``3 / runs`` for 0 failures)."""
    return float(beta.ppf(confidence, failures + 1, runs - failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3_000)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument(
        "--first", type=int, default=0, help="first run index (to pool runs of several calls)"
    )
    parser.add_argument("--qber", type=float, nargs="+", default=[0.01, 0.02, 0.03, 0.05])
    parser.add_argument("--method", default="cascade")
    parser.add_argument("--quick", action="store_true", help="n = 10^4, 200 runs")
    args = parser.parse_args()
    n, runs = (10_000, 200) if args.quick else (args.n, args.runs)
    reconcile(*(np.zeros(2000, np.uint8),) * 2, 0.02, method=args.method, seed=0)  # warm numba
    print(f"{args.method}, n = {n:,}, {runs:,} runs per QBER, {args.procs} process(es)")
    print("| Q | runs | frame errors | FER 95% upper bound | mean f | CPU ms per run |")
    print("| --- | --- | --- | --- | --- | --- |")
    step = max(1, runs // (20 * args.procs))
    with multiprocessing.Pool(args.procs) as pool:
        for q in args.qber:
            jobs = [
                (n, q, args.first + s, min(step, runs - s), args.method)
                for s in range(0, runs, step)
            ]
            done, failed, f_sum, cpu = 0, [], 0.0, 0.0
            for count, bad, fs, seconds in pool.imap_unordered(_chunk, jobs):
                done, f_sum, cpu = done + count, f_sum + fs, cpu + seconds
                failed += bad
            print(
                f"| {q:g} | {done:,} | {len(failed)} (runs {sorted(failed)}) | "
                f"{upper_bound(len(failed), done):.2e} | {f_sum / done:.4f} | "
                f"{1e3 * cpu / done:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
