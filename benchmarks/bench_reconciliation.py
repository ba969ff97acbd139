"""Error correction: efficiency, frame error rate and throughput of every registered method.

Every run goes through the classical channel (Alice's half behind it), so leakage is what crossed
the channel and the time includes message encoding. Prints, per method and QBER, the mean
efficiency f = leaked / (n h(Q)) (Q the true error fraction) with its standard error, the frame
error rate (runs with residual errors), the median round trips and the median wall time, and the
throughput ratio to ``cascade-original`` measured in the same process. Then the cost of the
verification hash next to error correction, and where the default method spends its time.

Usage: ``python benchmarks/bench_reconciliation.py [--quick] [--only SECTION ...]`` with sections
``variants`` (all Cascades at n = 10^4), ``large`` (10^5 and 10^6), ``ldpc``, ``verify``,
``profile`` (where ``cascade`` spends its time at n = 10^6, Q = 2%, and the share of the channel:
the same runs with messages handed over without encoding, in the same process).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

import numpy as np

from qkdstack.processing.reconciliation import METHODS, reconcile
from qkdstack.processing.verification import collision_probability, verification_tag


def _pair(rng: np.random.Generator, n: int, q: float) -> tuple[np.ndarray, np.ndarray]:
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.choice(n, size=max(1, round(q * n)), replace=False)] ^= 1
    return alice, bob


def _measure(method: str, n: int, q: float, repeats: int, seed: int) -> dict[str, float]:
    """Runs with residual errors count as frame errors."""
    rng = np.random.default_rng(seed)
    effs, secs, cpus, trips, fails = [], [], [], [], 0
    for r in range(repeats):
        alice, bob = _pair(rng, n, q)
        c0 = time.process_time()
        res = reconcile(alice, bob, q, method=method, seed=r)
        cpus.append(time.process_time() - c0)
        fails += int(not np.array_equal(res.key, alice))
        effs.append(res.efficiency)
        secs.append(res.seconds)
        trips.append(res.round_trips)
    return {
        "f": float(np.mean(effs)),
        "f_se": float(np.std(effs) / np.sqrt(len(effs))),
        "fer": fails / repeats,
        "trips": float(statistics.median(trips)),
        "seconds": float(statistics.median(secs)),
        "cpu": float(statistics.median(cpus)),
    }


def _measure_frames(method: str, n: int, q: float, repeats: int, seed: int) -> dict[str, float]:
    """Like :func:`_measure`, with the frame error rate counted per frame (LDPC)."""
    from qkdstack.processing.channel import ClassicalChannel
    from qkdstack.processing.reconciliation import alice_responder, efficiency, get_method

    rng = np.random.default_rng(seed)
    effs, secs, trips, frames, failed = [], [], [], 0, 0
    for r in range(repeats):
        alice, bob = _pair(rng, n, q)
        channel = ClassicalChannel(alice_responder(alice))
        t0 = time.perf_counter()
        with channel.in_stage("reconciliation"):
            out = get_method(method).make_bob(seed=r).reconcile(bob, q, channel)
        secs.append(time.perf_counter() - t0)
        frames += out.frames
        failed += out.frames_failed
        effs.append(efficiency(channel.stats.leaked_bits("reconciliation"), n, q))
        trips.append(channel.stats.round_trips)
    return {
        "f": float(np.mean(effs)),
        "f_se": float(np.std(effs) / np.sqrt(len(effs))),
        "fer": failed / frames,
        "trips": float(statistics.median(trips)),
        "seconds": float(statistics.median(secs)),
    }


def _row(
    method: str,
    n: int,
    q: float,
    m: dict[str, float],
    base_s: float,
    clock: str = "seconds",
    base_name: str = "original",
) -> str:
    mbps = n / m["seconds"] / 1e6
    cpu = (
        f"cpu={m['cpu'] * 1e3:7.1f} ms ({n / m['cpu'] / 1e6:5.2f} Mbit/CPU-s)  "
        if "cpu" in m
        else ""
    )
    return (
        f"{method:17s} {n:>9,} {q:5.3f}  f={m['f']:.4f}±{m['f_se']:.4f}  FER={m['fer']:.3f}  "
        f"trips={m['trips']:6.0f}  t={m['seconds'] * 1e3:8.1f} ms  {mbps:6.2f} Mbit/s  {cpu}"
        f"x{base_s / m[clock]:.2f} vs {base_name}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    sections = ("variants", "large", "ldpc", "verify", "profile")
    parser.add_argument("--only", nargs="+", choices=sections, default=list(sections))
    args = parser.parse_args()
    only = set(args.only)
    qbers = (0.01, 0.02, 0.03, 0.05)
    methods = [m for m in sorted(METHODS) if m.startswith("cascade")]
    ldpc_methods = [m for m in sorted(METHODS) if m.startswith("ldpc")]

    # Warm the numba caches so compile time is not measured.
    rng = np.random.default_rng(0)
    for m in methods:
        a, b = _pair(rng, 2000, 0.02)
        reconcile(a, b, 0.02, method=m, seed=0)

    if "variants" in only:
        _variants(methods, qbers, 10 if args.quick else 200)
    if "large" in only:
        _large(qbers, [(100_000, 3)] if args.quick else [(100_000, 40), (1_000_000, 8)])
    if "ldpc" in only:
        _ldpc(ldpc_methods, args.quick)
    if "verify" in only or "profile" in only:
        _verify_and_profile(args.quick, only)


def _variants(methods: list[str], qbers: tuple[float, ...], reps: int) -> None:
    print(f"== all methods, n = 10^4, {reps} runs each (mean f ± standard error) ==")
    for q in qbers:
        base = _measure("cascade-original", 10_000, q, reps, seed=int(q * 1e4))
        for m in methods:
            res = base if m == "cascade-original" else _measure(m, 10_000, q, reps, int(q * 1e4))
            print(_row(m, 10_000, q, res, base["seconds"]))


def _large(qbers: tuple[float, ...], sizes: list[tuple[int, int]]) -> None:
    print("\n== default and baseline at large n ==")
    for n, reps in sizes:
        for q in qbers:
            base = _measure("cascade-original", n, q, reps, seed=n + int(q * 1e4))
            print(_row("cascade-original", n, q, base, base["seconds"]))
            for m in ("cascade-opt7", "cascade"):
                res = _measure(m, n, q, reps, seed=n + int(q * 1e4))
                print(_row(m, n, q, res, base["seconds"]))


def _ldpc(ldpc_methods: list[str], quick: bool) -> None:
    n_ldpc, reps = (20_000, 1) if quick else (100_000, 3)
    print(f"\n== LDPC, n = {n_ldpc:,}, {reps} runs each (FER here = failed frames / frames) ==")
    for q in (0.02, 0.04, 0.06, 0.08):
        base = _measure("cascade-original", n_ldpc, q, reps, seed=7)
        for m in ldpc_methods:
            res = _measure_frames(m, n_ldpc, q, reps, seed=7)
            print(_row(m, n_ldpc, q, res, base["seconds"]))


def _verify_and_profile(quick: bool, only: set[str]) -> None:
    n = 1_000_000
    a, b = _pair(np.random.default_rng(5), n, 0.02)
    if "verify" in only:
        _verify(a, n, quick)
    if "profile" in only:
        _profile(a, b)


def _verify(a: np.ndarray, n: int, quick: bool) -> None:
    print("\n== verification hash (Poly1305) next to error correction, n = 10^6, Q = 2% ==")
    t_ec = _measure("cascade", n, 0.02, 1 if quick else 3, seed=5)["seconds"]
    hash_key = bytes(range(16))
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        verification_tag(a, hash_key)
        times.append(time.perf_counter() - t0)
    t_ver = statistics.median(times)
    print(
        f"verification {t_ver * 1e3:.2f} ms vs cascade {t_ec * 1e3:.1f} ms "
        f"({100 * t_ver / t_ec:.2f}%), epsilon_cor = {collision_probability(n):.2e}"
    )


def _profile(a: np.ndarray, b: np.ndarray) -> None:
    from qkdstack.processing.channel import ClassicalChannel, Message
    from qkdstack.processing.reconciliation import alice_responder, get_method

    class _HandOver(ClassicalChannel):
        """Hands Bob's message object to Alice without encoding (for the split only)."""

        def ask(self, request: Message) -> Message:
            reply = self._responder(request)
            self.stats.round_trips += 1
            return reply

    print("\n== where cascade spends its time (n = 10^6, Q = 2%) ==")
    rows = []
    for seed in range(1, 8):  # the same runs with and without encoding, interleaved
        cpu = []
        for factory in (ClassicalChannel, _HandOver):
            channel = factory(alice_responder(a))
            c0 = time.process_time()
            with channel.in_stage("reconciliation"):
                get_method("cascade").make_bob(seed=seed).reconcile(b, 0.02, channel)
            cpu.append(time.process_time() - c0)
        rows.append((cpu[0], cpu[1], channel.stats.round_trips))
    full, bare, trips = (statistics.median(r[i] for r in rows) for i in range(3))
    print(
        f"CPU median of 7 runs: {full * 1e3:.1f} ms with the channel, {bare * 1e3:.1f} ms with "
        f"messages handed over unencoded; {trips:.0f} round trips; the channel costs "
        f"{(full - bare) / trips * 1e6:.1f} us per round trip ({100 * (full - bare) / full:.0f}%)"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    reconcile(a, b, 0.02, method="cascade", seed=1)
    profiler.disable()
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in table.values())
    groups = {
        "public shuffles (Fisher-Yates, coins)": (
            "_splitmix_fisher_yates", "_coin_words", "_compose_two_blocks",
        ),
        "Bob's inverse permutations": ("inverse_permutation",),
        "channel (encode, decode, tag, count)": ("encode_message", "decode_message", "_carry"),
        "Alice's answers (Python + kernels)": ("handle",),
        "Bob's BINARY levels (kernel)": ("advance_searches",),
        "cascade effect (tree walks)": ("walk_flips", "walk_roots"),
        "parities at pass open": (
            "prefix_xor", "shuffle_bits", "chunk_parities", "halving_parities",
        ),
    }  # fmt: skip
    for label, names in groups.items():
        # Own time, except Alice's handler: cumulative (it calls the kernels).
        own = sum(
            row[3] if func == "handle" else row[2]
            for (_, _, func), row in table.items()
            if func in names
        )
        print(f"{label:42s} {own * 1e3:8.1f} ms  ({100 * own / total:4.1f}% of profiled time)")


if __name__ == "__main__":
    main()
