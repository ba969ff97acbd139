"""LDPC decoder throughput: the lane decoder (`decode_syndromes`) against one frame at a time.

Same frames, same code, same iteration limit; the two decoders alternate ``--repeats`` times and
the medians are reported, with their ratio (the machine is shared and noisy). Frames: random words
of the 2^18-bit rate-0.85 code with Bernoulli errors at the Q where ``M / (N h(Q)) = --efficiency``
(no shortening or puncturing), i.e. what a frame of a long key costs at that efficiency.

Usage: ``PYTHONPATH=src python benchmarks/bench_ldpc_decoder.py [--frames 48] [--repeats 3]
[--efficiency 1.15] [--rate 0.85] [--length 262144] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np
from scipy.optimize import brentq

from qkdstack.processing.reconciliation.ldpc import (
    decode_syndrome,
    decode_syndromes,
    load_code,
    syndrome,
)


def _h(p: float) -> float:
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--efficiency", type=float, default=1.15)
    parser.add_argument("--rate", type=float, default=0.85)
    parser.add_argument("--length", type=int, default=262144)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--quick", action="store_true", help="32 frames, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.repeats = 32, 1
    code = load_code(args.rate, args.length)
    q = brentq(lambda p: code.m / (code.n * _h(p)) - args.efficiency, 1e-4, 0.3)
    rng = np.random.default_rng(args.seed)
    x = rng.integers(0, 2, (args.frames, code.n), dtype=np.uint8)
    y = x ^ (rng.random((args.frames, code.n)) < q).astype(np.uint8)
    llrs = (math.log((1 - q) / q) * (1.0 - 2.0 * y)).astype(np.float32)
    targets = np.stack([syndrome(code, row) for row in x])
    decode_syndromes(code, llrs[:1], targets[:1], 1)  # compile
    decode_syndrome(code, llrs[0], targets[0], 1)
    lane_s, one_s = [], []
    for _ in range(args.repeats):
        start = time.process_time()
        words, iterations, ok = decode_syndromes(code, llrs, targets, args.max_iter)
        lane_s.append((time.process_time() - start) / args.frames)
        start = time.process_time()
        single = [
            decode_syndrome(code, llrs[f], targets[f], args.max_iter) for f in range(args.frames)
        ]
        one_s.append((time.process_time() - start) / args.frames)
        assert [s[1] for s in single] == ok.tolist()
    wrong = sum(not np.array_equal(words[f], x[f]) for f in range(args.frames))
    lane, one = statistics.median(lane_s), statistics.median(one_s)
    print(
        f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
        f"code R {args.rate} N {code.n} ({code.edge_check.size} edges), Q {q:.5f} "
        f"(f {args.efficiency}), {args.frames} frames, median iterations "
        f"{int(np.median(iterations))}, frames in error {wrong}\n"
        f"one frame at a time: {one:.3f} CPU-s/frame; lanes: {lane:.3f} CPU-s/frame; "
        f"ratio {one / lane:.2f} (medians of {args.repeats})"
    )


if __name__ == "__main__":
    main()
