"""Privacy amplification throughput: blocked Toeplitz hashing against plain FFT baselines.

For each input size n (output m = n/2) this times, interleaved in one process, medians of repeats:
``toeplitz_hash`` (blocked float32 overlap-save, with 1 and 2 FFT workers), a plain ``numpy.fft``
Toeplitz hash (the full linear convolution at a 5-smooth length, float64, rounded, mod 2: the
baseline of issue 16) and the previous implementation (one ``scipy.fft`` float64 circular
convolution of the seed's length). At n = 8192 it also times the explicit GF(2) matrix product.
Every result is checked against the plain one before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import scipy.fft

from qkdstack.processing.amplification import toeplitz_hash, toeplitz_matrix


def plain_numpy_hash(key: np.ndarray, seed: np.ndarray, m: int) -> np.ndarray:
    """The textbook FFT Toeplitz hash: entries n-1 .. n+m-2 of the linear convolution seed * key."""
    n = key.size
    size = scipy.fft.next_fast_len(n + seed.size - 1, real=True)
    spectrum = np.fft.rfft(seed.astype(np.float64), size) * np.fft.rfft(
        key.astype(np.float64), size
    )
    conv = np.fft.irfft(spectrum, size)[n - 1 : n - 1 + m]
    return (np.rint(conv).astype(np.int64) & 1).astype(np.uint8)


def previous_hash(key: np.ndarray, seed: np.ndarray, m: int) -> np.ndarray:
    """The implementation before issue 16: one float64 circular convolution of the seed's length."""
    n = key.size
    size = scipy.fft.next_fast_len(seed.size, real=True)
    spectrum = scipy.fft.rfft(seed.astype(np.float64), size) * scipy.fft.rfft(
        key.astype(np.float64), size
    )
    conv = scipy.fft.irfft(spectrum, size)[n - 1 : n - 1 + m]
    return (np.rint(conv).astype(np.int64) & 1).astype(np.uint8)


def _medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, the calls interleaved so load drifts hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON line per size")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 7)
    rng = np.random.default_rng(0)
    print(f"# load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus, repeats {repeats}")

    n = 1 << 13
    m = n // 2
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    t = _medians(
        {
            "matrix": lambda: toeplitz_matrix(seed, n, m) @ key % 2,
            "hash": lambda: toeplitz_hash(key, seed, m),
        },
        repeats,
    )
    print(
        f"n = {n}: explicit product {t['matrix'] * 1e3:.1f} ms, hash {t['hash'] * 1e3:.2f} ms, "
        f"ratio {t['matrix'] / t['hash']:.0f}x"
    )

    sizes = [1 << 16, 10**6] if args.quick else [1 << 16, 1 << 18, 10**6, 1 << 22]
    for n in sizes:
        m = n // 2
        key = rng.integers(0, 2, n, dtype=np.uint8)
        seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
        reference = plain_numpy_hash(key, seed, m)
        for workers in (1, 2):
            if not np.array_equal(toeplitz_hash(key, seed, m, workers=workers), reference):
                raise SystemExit(f"toeplitz_hash differs from the plain hash at n = {n}")
        if not np.array_equal(previous_hash(key, seed, m), reference):
            raise SystemExit(f"the previous hash differs from the plain hash at n = {n}")
        t = _medians(
            {
                "plain": lambda key=key, seed=seed, m=m: plain_numpy_hash(key, seed, m),
                "previous": lambda key=key, seed=seed, m=m: previous_hash(key, seed, m),
                "w1": lambda key=key, seed=seed, m=m: toeplitz_hash(key, seed, m, workers=1),
                "w2": lambda key=key, seed=seed, m=m: toeplitz_hash(key, seed, m, workers=2),
            },
            repeats,
        )
        row = {
            "bits_in": n,
            "plain_ms": round(t["plain"] * 1e3, 2),
            "previous_ms": round(t["previous"] * 1e3, 2),
            "hash_w1_ms": round(t["w1"] * 1e3, 2),
            "hash_w2_ms": round(t["w2"] * 1e3, 2),
            "mbit_per_s_w1": round(n / t["w1"] / 1e6, 2),
            "mbit_per_s_w2": round(n / t["w2"] / 1e6, 2),
            "ratio_w1": round(t["plain"] / t["w1"], 2),
            "ratio_w2": round(t["plain"] / t["w2"], 2),
            "previous_ratio": round(t["plain"] / t["previous"], 2),
        }
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"n = {n:>9,}: plain numpy {row['plain_ms']:7.1f} ms | previous "
                f"{row['previous_ms']:6.1f} ms ({row['previous_ratio']:.2f}x) | hash 1 worker "
                f"{row['hash_w1_ms']:6.1f} ms ({row['mbit_per_s_w1']:5.1f} Mbit/s, "
                f"{row['ratio_w1']:.2f}x) | 2 workers {row['hash_w2_ms']:6.1f} ms "
                f"({row['mbit_per_s_w2']:5.1f} Mbit/s, {row['ratio_w2']:.2f}x)"
            )
    print(f"# load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
