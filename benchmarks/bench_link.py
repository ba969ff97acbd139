"""Link simulation throughput: aggregate sampling of detection events, in bounded memory.

Prints, for each case, detection events and pulses per CPU-second of this process (wall time too;
the CPU time is the fair figure on a shared machine), and the peak of traced
memory (numpy buffers, via tracemalloc) and of the process (ru_maxrss, measured right after the streams,
before the in-memory cases). The baseline is a direct
per-pulse simulation (vectorised numpy, every pulse drawn) measured in the same process.

Cases: the default ``qkd run`` link (single photons, 25 km, 10^8 pulses, records collected), and
streams of 10^10 and 10^12 pulses at 100 km (BB84, laser mu = 0.5, and decoy BB84 with the lim2014
parameters), counting events without keeping them. ``--quick`` uses 10^9 and 10^10 pulses.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc

import numpy as np

from qkdstack.link import simulate, stream
from qkdstack.params import LinkParams, get_param_set


def _per_pulse_bb84(p: LinkParams, n: int, rng: np.random.Generator) -> int:
    """Baseline: draw every pulse (bases, bits, photon numbers, clicks); return detections."""
    eta = 10 ** (-p.attenuation_db_per_km * p.distance_km / 10) * p.detector_efficiency
    a_basis = rng.random(n) < p.basis_prob_z
    b_basis = rng.random(n) < p.basis_prob_z
    rng.integers(0, 2, n)
    arrived = rng.binomial(rng.poisson(p.mu, n), eta)
    q = np.where(a_basis == b_basis, 1 - p.misalignment_error, 0.5)
    to_c = rng.binomial(arrived, q)
    c = (to_c > 0) | (rng.random(n) < p.dark_count_prob)
    w = (arrived - to_c > 0) | (rng.random(n) < p.dark_count_prob)
    return int(np.count_nonzero(c | w))


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stream_case(name: str, protocol: str, params: LinkParams, pulses: int) -> None:
    tracemalloc.start()
    t0 = time.perf_counter()
    c0 = time.process_time()
    link = stream(protocol, params, pulses, seed=1)
    events = 0
    for chunk in link.chunks():
        events += len(chunk)
    cpu = time.process_time() - c0
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:<30} N = {pulses:.0e}: {events:>12,} events, wall {elapsed:6.2f} s, "
        f"CPU {cpu:6.2f} s -> {events / cpu / 1e6:5.1f} M events/CPU-s, "
        f"{pulses / cpu:.2e} pulses/CPU-s; traced peak {peak / 2**20:5.1f} MiB, "
        f"max RSS {_max_rss_mib():4.0f} MiB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5

    # Streams first, so that the process's max RSS reflects them, not the per-pulse baseline.
    sizes = [10**9, 10**10] if args.quick else [10**10, 10**12]
    far = LinkParams(distance_km=100.0, source="laser", mu=0.5)
    lim = get_param_set("lim2014").replace(distance_km=100.0)
    for _ in stream("decoy-bb84", lim, 10**6, seed=0).chunks():  # warm up (numba compile/cache)
        pass
    for pulses in sizes:
        _stream_case("bb84, laser mu=0.5, 100 km", "bb84", far, pulses)
        _stream_case("decoy-bb84, lim2014, 100 km", "decoy-bb84", lim, pulses)

    # Baseline: per-pulse simulation of the same link, 10^7 pulses (100 km, laser).
    rng = np.random.default_rng(0)
    n_base = 10**7
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _per_pulse_bb84(far, n_base, rng)
        times.append(time.perf_counter() - t0)
    base_pps = n_base / statistics.median(times)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        simulate("bb84", far, n_base, seed=1)
        times.append(time.perf_counter() - t0)
    agg_pps = n_base / statistics.median(times)
    print(
        f"baseline per-pulse numpy, 100 km, N = 1e7: {base_pps:.2e} pulses/s; aggregate "
        f"simulate(): {agg_pps:.2e} pulses/s ({agg_pps / base_pps:.0f}x)",
        flush=True,
    )

    # The default `qkd run` link: single photons, 25 km, 10^8 pulses, records collected.
    default = LinkParams()
    times = []
    detections = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = simulate("bb84", default, 10**8, seed=2)
        times.append(time.perf_counter() - t0)
        detections = len(out.bob)
    t = statistics.median(times)
    print(
        f"default qkd run link (bb84, single photons, 25 km), N = 1e8: {t:.3f} s, "
        f"{detections:,} events -> {detections / t / 1e6:.1f} M events/s (median of {repeats})",
        flush=True,
    )


if __name__ == "__main__":
    main()
