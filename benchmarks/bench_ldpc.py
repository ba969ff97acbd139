"""LDPC reconciliation: efficiency and frame error rate of `ldpc` (for each target f*) or `ldpc-blind`.

Every run goes through the classical channel (Alice's half behind it), so the leakage is what
crossed the channel. Bob's key has exactly round(Q n) errors; the efficiency is
f = leaked / (n h(Q)) with Q the true error fraction. A frame is in error when any of its key bits
differs from Alice's after decoding (reported failures and undetected wrong words both count);
"undetected" counts the wrong frames the decoder declared converged.

Usage: ``python benchmarks/bench_ldpc.py --n 100000 --reps 3 --target 1.2 [--qber 0.02 ...]
[--method ldpc-blind]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qkdstack.processing.channel import ClassicalChannel
from qkdstack.processing.reconciliation import alice_responder, efficiency, get_method
from qkdstack.processing.reconciliation.ldpc import plan_blind, plan_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--target", type=float, nargs="+", default=[1.2])
    parser.add_argument("--qber", type=float, nargs="+", default=[0.02, 0.04, 0.06, 0.08])
    parser.add_argument(
        "--method", default="ldpc", choices=["ldpc", "ldpc-blind"], help="blind ignores --target"
    )
    parser.add_argument("--quick", action="store_true", help="one run of 2*10^4 bits per point")
    args = parser.parse_args()
    if args.quick:
        args.n, args.reps = 20_000, 1
    for target in args.target:
        for q in args.qber:
            rng = np.random.default_rng(7)
            effs, secs = [], []
            frames = wrong = undetected = 0
            for r in range(args.reps):
                alice = rng.integers(0, 2, args.n, dtype=np.uint8)
                bob = alice.copy()
                bob[rng.choice(args.n, size=round(q * args.n), replace=False)] ^= 1
                channel = ClassicalChannel(alice_responder(alice))
                options = {"target_efficiency": target} if args.method == "ldpc" else {}
                half = get_method(args.method).make_bob(seed=r, **options)
                t0 = time.perf_counter()
                with channel.in_stage("reconciliation"):
                    out = half.reconcile(bob, q, channel)
                secs.append(time.perf_counter() - t0)
                effs.append(efficiency(channel.stats.leaked_bits("reconciliation"), args.n, q))
                if args.method == "ldpc":
                    _, n_frames, payload, _ = plan_frames(args.n, q, target)
                else:
                    _, _, payload = plan_blind(args.n, q, 1.0, 0.1)
                    n_frames = out.frames
                bad = sum(
                    not np.array_equal(
                        out.key[f * payload : (f + 1) * payload],
                        alice[f * payload : (f + 1) * payload],
                    )
                    for f in range(n_frames)
                )
                frames += n_frames
                wrong += bad
                undetected += bad - out.frames_failed
            print(
                f"{args.method} f*={target:.3f} n={args.n:,} Q={q:.3f}  f={np.mean(effs):.4f}  "
                f"frames in error {wrong}/{frames} (undetected {undetected})  "
                f"t={np.median(secs):.1f} s/run",
                flush=True,
            )


if __name__ == "__main__":
    main()
