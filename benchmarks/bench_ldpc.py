"""LDPC reconciliation: efficiency and frame error rate of `ldpc` (for each target f*) or `ldpc-blind`.

Every run goes through the classical channel (Alice's half behind it), so the leakage is what
crossed the channel. Bob's key has exactly round(Q n) errors; the efficiency is
f = leaked / (n h(Q)) with Q the true error fraction. A frame is in error when any of its key bits
differs from Alice's after decoding (reported failures and undetected wrong words both count);
"undetected" counts the wrong frames the decoder declared converged.

Usage: ``python benchmarks/bench_ldpc.py --n 100000 --reps 3 --target 1.2 [--qber 0.02 ...]
[--method ldpc-blind]``.

Frame error rate (``--fer``): runs of ``--n`` key bits at each Q, spread over ``--procs`` worker
processes (seeds spawned from one ``SeedSequence``), until ``--frames`` frames per Q point or
``--seconds`` of wall time (a run started before the deadline is finished; one not started is
skipped, so every Q point gets about the same number of runs). Prints, per Q, the runs, frames,
frames in error (and how many the decoder had declared converged), the efficiency and the
one-sided 95% Clopper-Pearson upper bound on the FER (3.0 / frames when none failed), and with
``--json PATH`` writes the same as JSON::

    python benchmarks/bench_ldpc.py --fer --n 10000000 --target 1.1 --procs 16 --seconds 420

``--pool A.json B.json ...`` adds up the frames of such files (runs with different seeds) point
by point, a point being the same Q, key length, f* and frame plan, and prints the pooled counts
and bound.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import time
from typing import Any

import numpy as np
from scipy.stats import beta

from qkdstack.processing.channel import ClassicalChannel
from qkdstack.processing.reconciliation import alice_responder, efficiency, get_method
from qkdstack.processing.reconciliation.ldpc import (
    CODE_RATES,
    FramePlan,
    decode_syndrome,
    decode_syndromes,
    default_plan,
    load_code,
    plan_blind,
    plan_frames,
    syndrome,
)


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
    parser.add_argument("--fer", action="store_true", help="frame error rate, in parallel")
    parser.add_argument("--procs", type=int, default=1, help="worker processes for --fer")
    parser.add_argument("--frames", type=int, default=3000, help="--fer: frames per Q point")
    parser.add_argument("--seconds", type=float, default=3600.0, help="--fer: wall-time budget")
    parser.add_argument("--seed", type=int, default=20261127, help="--fer: root seed")
    parser.add_argument("--json", default=None, help="--fer: write the results here")
    parser.add_argument(
        "--default", action="store_true", help="--fer: the default f* (ignores --target)"
    )
    parser.add_argument(
        "--pool", nargs="+", metavar="JSON", help="pool the points of earlier --fer --json files"
    )
    args = parser.parse_args()
    if args.pool:
        pool(args.pool)
        return
    if args.fer:
        fer(args)
        return
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
                    _, n_frames, payload, _, _ = plan_frames(args.n, q, target)
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


def _plan(n: int, q: float, target: float | None) -> FramePlan:
    return default_plan(n, q) if target is None else plan_frames(n, q, target)


def _one_run(
    task: tuple[int, float, float | None, int, float, np.random.SeedSequence],
) -> dict[str, Any]:
    """One ``ldpc`` run of ``n`` bits at ``q`` through the channel (skipped past the deadline)."""
    n, q, target, max_iter, deadline, seq = task
    if time.time() > deadline:
        return {"q": q, "skipped": True}
    rng = np.random.default_rng(seq)
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.choice(n, size=round(q * n), replace=False)] ^= 1
    channel = ClassicalChannel(alice_responder(alice))
    half = get_method("ldpc").make_bob(
        seed=int(rng.integers(2**63)), target_efficiency=target, max_iter=max_iter
    )
    t0 = time.perf_counter()
    with channel.in_stage("reconciliation"):
        out = half.reconcile(bob, q, channel)
    seconds = time.perf_counter() - t0
    plan = _plan(n, q, target)
    p = plan.payload
    bad = sum(
        not np.array_equal(out.key[f * p : (f + 1) * p], alice[f * p : (f + 1) * p])
        for f in range(plan.frames)
    )
    return {
        "q": q,
        "skipped": False,
        "frames": plan.frames,
        "wrong": int(bad),
        "reported": int(out.frames_failed),
        "leaked": int(channel.stats.leaked_bits("reconciliation")),
        "seconds": seconds,
    }


def _upper95(failures: int, trials: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound on a failure probability."""
    if trials == 0:
        return 1.0
    if failures >= trials:
        return 1.0
    return float(beta.ppf(0.95, failures + 1, trials - failures))


def fer(args: argparse.Namespace) -> None:
    """Frame error rate of ``ldpc`` at f* = ``args.target[0]`` (or the default) for each Q."""
    target = None if args.default else args.target[0]
    deadline = time.time() + args.seconds
    runs_per_q = [max(1, -(-args.frames // _plan(args.n, q, target).frames)) for q in args.qber]
    seqs = np.random.SeedSequence(args.seed).spawn(len(args.qber))
    children = [seq.spawn(r) for seq, r in zip(seqs, runs_per_q, strict=True)]
    tasks = []  # Q points interleaved, so a deadline cuts all of them about equally
    for i in range(max(runs_per_q)):
        for k, q in enumerate(args.qber):
            if i < runs_per_q[k]:
                tasks.append((args.n, q, target, 100, deadline, children[k][i]))
    print(
        f"ldpc FER: n={args.n:,} f*={target} Q={args.qber} procs={args.procs} "
        f"cpu={platform.processor() or platform.machine()} cores={os.cpu_count()}",
        flush=True,
    )
    # Compile (and cache) the numba kernels once here, not in every worker.
    code = load_code(CODE_RATES[0])
    zeros = np.zeros(code.n, dtype=np.uint8)
    decode_syndrome(code, np.ones(code.n), syndrome(code, zeros), 1)
    decode_syndromes(code, np.ones((1, code.n)), syndrome(code, zeros)[None, :], 1)
    start = time.time()
    results: list[dict[str, Any]] = []
    with multiprocessing.get_context("spawn").Pool(args.procs) as pool:
        for res in pool.imap_unordered(_one_run, tasks):
            results.append(res)
    summary = []
    for q in args.qber:
        done = [r for r in results if r["q"] == q and not r["skipped"]]
        frames = sum(r["frames"] for r in done)
        wrong = sum(r["wrong"] for r in done)
        reported = sum(r["reported"] for r in done)
        leaked = sum(r["leaked"] for r in done)
        h = -q * math.log2(q) - (1 - q) * math.log2(1 - q)
        row = {
            "qber": q,
            "n": args.n,
            "target_efficiency": target,
            "plan": _plan(args.n, q, target)._asdict(),
            "runs": len(done),
            "frames": frames,
            "frames_in_error": wrong,
            "undetected": wrong - reported,
            "efficiency": leaked / (len(done) * args.n * h) if done else None,
            "fer_upper95": _upper95(wrong, frames),
            "seconds_per_frame": sum(r["seconds"] for r in done) / frames if frames else None,
        }
        summary.append(row)
        print(
            f"Q={q:.3f} {row['plan']}  runs {len(done)}  frames {frames}  in error {wrong} "
            f"(undetected {wrong - reported})  f={row['efficiency']}  FER<={row['fer_upper95']:.2e} "
            f"(95%)  {row['seconds_per_frame']} s/frame/proc",
            flush=True,
        )
    print(f"wall {time.time() - start:.0f} s", flush=True)
    if args.json:
        meta = {
            "command": "bench_ldpc.py --fer",
            "argv": vars(args),
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "machine": f"{platform.node()} {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores",
            "wall_seconds": time.time() - start,
        }
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "points": summary}, fh, indent=1)


def pool(paths: list[str]) -> None:
    """Pool the points of ``--fer --json`` files with the same Q, n, f* and plan; print them."""
    pooled: dict[str, dict[str, Any]] = {}
    for path in paths:
        with open(path) as fh:
            points = json.load(fh)["points"]
        for point in points:
            key = json.dumps(
                [point["qber"], point["n"], point["target_efficiency"], point["plan"]],
                sort_keys=True,
            )
            row = pooled.setdefault(key, {"files": 0, "runs": 0, "frames": 0, "wrong": 0})
            row["files"] += 1
            row["runs"] += point["runs"]
            row["frames"] += point["frames"]
            row["wrong"] += point["frames_in_error"]
    for key, row in sorted(pooled.items()):
        qber, n, target, plan = json.loads(key)
        print(
            f"Q={qber:.3f} n={n:,} f*={target} {plan}  files {row['files']}  runs {row['runs']}  "
            f"frames {row['frames']}  in error {row['wrong']}  "
            f"FER<={_upper95(row['wrong'], row['frames']):.2e} (95%)"
        )


if __name__ == "__main__":
    main()
