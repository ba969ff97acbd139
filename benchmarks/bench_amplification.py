"""Privacy amplification throughput: Toeplitz hashing by FFT against the explicit GF(2) product.

Prints the median time of each over repeats, the FFT hash's throughput at several input sizes, and
the ratio to the explicit (bit-packed, O(n m)) product measured in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from qkdstack.processing.amplification import toeplitz_hash, toeplitz_matrix


def _median_s(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    rng = np.random.default_rng(0)

    n = 1 << 13
    m = n // 2
    key = rng.integers(0, 2, n, dtype=np.uint8)
    seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    t_matrix = _median_s(lambda: toeplitz_matrix(seed, n, m) @ key % 2, repeats)
    t_fft = _median_s(lambda: toeplitz_hash(key, seed, m), repeats)
    print(
        f"n = {n}: explicit product {t_matrix * 1e3:.1f} ms, FFT {t_fft * 1e3:.2f} ms, "
        f"ratio {t_matrix / t_fft:.0f}x"
    )

    sizes = [1 << 16, 1 << 20] if args.quick else [1 << 16, 1 << 20, 1 << 22, 10**7]
    for n in sizes:
        m = n // 2
        key = rng.integers(0, 2, n, dtype=np.uint8)
        seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
        t = _median_s(lambda key=key, seed=seed, m=m: toeplitz_hash(key, seed, m), repeats)
        print(f"n = {n:>9,}: FFT Toeplitz hash {t * 1e3:8.1f} ms  ->  {n / t / 1e6:6.2f} Mbit/s in")


if __name__ == "__main__":
    main()
