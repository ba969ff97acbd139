"""Cascade variants against their published efficiencies (docs/cascade.md, "Comparison").

For each variant and error rate with a published value, runs seeded pairs with exactly
``round(Q n)`` errors through the classical channel and prints a Markdown table: the published
``f``, ours (mean and standard error of ``disclosed / (n h(Q))``, the disclosed bits counted on the
wire), and the difference, with the frame error rate.

References (values and where they were read: docs/cascade.md): Martinez-Mateo et al., QIC 15, 453
(2015), Table 3 (option (8), n = 2^14); cascade-python's reproductions of the paper's Figs. 1 and 8
(n = 10^4) for the original, BICONF (mod. (1)) and Yan (opt. (2)) variants.

Usage: ``python benchmarks/bench_cascade_published.py [--runs N] [--quick]``.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from qkdstack.processing.channel import ClassicalChannel, Responder, decode_message
from qkdstack.processing.reconciliation import reconcile
from qkdstack.typing import Role

# (method, n, Q) -> (published f, source)
REFERENCES: dict[tuple[str, int, float], tuple[float, str]] = {
    ("cascade-opt8", 2**14, 0.005): (1.04989, "Table 3"),
    ("cascade-opt8", 2**14, 0.01): (1.04219, "Table 3 (k2 = 512, rule gives 1024)"),
    ("cascade-opt8", 2**14, 0.02): (1.04006, "Table 3"),
    ("cascade-opt8", 2**14, 0.03): (1.03902, "Table 3"),
    ("cascade-opt8", 2**14, 0.04): (1.04313, "Table 3 (k2 = 256, rule gives 512)"),
    ("cascade-opt8", 2**14, 0.05): (1.04313, "Table 3"),
    ("cascade-opt8", 2**14, 0.08): (1.05465, "Table 3 (k1 = 8, rule gives 16)"),
    ("cascade-opt8", 2**14, 0.10): (1.05736, "Table 3"),
    ("cascade-original", 10_000, 0.01): (1.1426, "Fig. 1, cascade-python"),
    ("cascade-original", 10_000, 0.02): (1.1575, "Fig. 1, cascade-python"),
    ("cascade-biconf", 10_000, 0.01): (1.0926, "Fig. 8, cascade-python"),
    ("cascade-biconf", 10_000, 0.02): (1.0817, "Fig. 8, cascade-python"),
    ("cascade-biconf", 10_000, 0.03): (1.0813, "Fig. 8, cascade-python"),
    ("cascade-biconf", 10_000, 0.05): (1.0896, "Fig. 8, cascade-python"),
    ("cascade-yan", 10_000, 0.01): (1.0940, "Fig. 8, cascade-python"),
    ("cascade-yan", 10_000, 0.02): (1.0814, "Fig. 8, cascade-python"),
    ("cascade-yan", 10_000, 0.03): (1.0741, "Fig. 8, cascade-python"),
    ("cascade-yan", 10_000, 0.05): (1.0748, "Fig. 8, cascade-python"),
}


def _h(q: float) -> float:
    return -q * math.log2(q) - (1.0 - q) * math.log2(1.0 - q)


class _WireCount:
    """Disclosed bits, counted on the wire, and the block parities inferred instead of sent (one
    per full pass after the first; cascade-python sends them)."""

    def __init__(self) -> None:
        self.disclosed = 0
        self.inferred = 0

    def __call__(self, sender: Role, wire: bytes) -> bytes:
        message = decode_message(wire)
        if sender is Role.ALICE:
            self.disclosed += sum(int(np.asarray(v).size) for v in message.disclosed.values())
        elif message.kind == "ec.blocks" and message.public["pass"] >= 1:
            self.inferred += int("count" not in message.public)
        return wire

    def channel(self, responder: Responder) -> ClassicalChannel:
        return ClassicalChannel(responder, tamper=self)


def measure(method: str, n: int, q: float, runs: int) -> tuple[float, float, float, int]:
    """Mean f, its standard error, mean f with the inferred parities counted as sent, and failed
    runs."""
    rng = np.random.default_rng(7 + round(q * 1e5) + n)
    errors = round(q * n)
    shannon = n * _h(errors / n)
    wire, sent, failed = [], [], 0
    for seed in range(runs):
        alice = rng.integers(0, 2, n, dtype=np.uint8)
        bob = alice.copy()
        bob[rng.choice(n, size=errors, replace=False)] ^= 1
        spy = _WireCount()
        result = reconcile(alice, bob, q, method=method, seed=seed, channel_factory=spy.channel)
        failed += int(not np.array_equal(result.key, alice))
        wire.append(spy.disclosed / shannon)
        sent.append((spy.disclosed + spy.inferred) / shannon)
    f = np.array(wire)
    return float(f.mean()), float(f.std(ddof=1) / math.sqrt(runs)), float(np.mean(sent)), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 runs per point")
    args = parser.parse_args()
    runs = 20 if args.quick else args.runs
    print(f"runs per point: {runs}\n")
    # The paper infers one block parity per pass after the first (as ours does); cascade-python,
    # whose reproductions stand in for the plotted curves, sends it: against those, compare the
    # count with the inferred parities as sent.
    print("| variant | n | Q | published f (source) | ours f ± s.e. | ours, inferred counted as "
          "sent | compared - published | FER |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (method, n, q), (published, source) in REFERENCES.items():
        f, se, f_sent, failed = measure(method, n, q, runs)
        compared = f_sent if "cascade-python" in source else f
        print(
            f"| {method} | {n} | {q:g} | {published:.4f} ({source}) | {f:.4f} ± {se:.4f} | "
            f"{f_sent:.4f} | {compared - published:+.4f} | {failed}/{runs} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
