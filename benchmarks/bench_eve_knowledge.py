"""Eve's exact linear knowledge: the GF(2) rank by the Method of Four Russians against plain
Gaussian elimination, on the stacked matrix of a real attacked run.

Simulates one BB84 run under an attack (10 km, single photons, 10^6 pulses, 40% sample: a corrected
key of ~19,000 bits, at the exact limit), records the reconciliation transcript, and times
:func:`qkdstack.adversary.eve_knowledge.linear_knowledge` and the rank of its largest matrix
(Cascade's parities and the Toeplitz rows, certain bits projected out) by
:func:`qkdstack.processing.gf2.packed_rank` and by a plain column-by-column elimination written
here (one XOR per pivot and row), both compiled with numba, in the same process. Medians of repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from qkdstack.adversary import eve_knowledge as ek
from qkdstack.adversary import parse_attack
from qkdstack.params import LinkParams
from qkdstack.processing.gf2 import packed_rank
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` (warm: call it once before)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


@njit(cache=True)
def _plain_rank(m: np.ndarray, n_cols: int) -> int:  # pragma: no cover - compiled
    n_rows, n_words = m.shape
    rank = 0
    for c in range(n_cols):
        if rank == n_rows:
            break
        word = c >> 6
        bit = np.uint64(1) << np.uint64(c & 63)
        pivot = -1
        for r in range(rank, n_rows):
            if m[r, word] & bit:
                pivot = r
                break
        if pivot < 0:
            continue
        for k in range(word, n_words):
            tmp = m[pivot, k]
            m[pivot, k] = m[rank, k]
            m[rank, k] = tmp
        for r in range(rank + 1, n_rows):
            if m[r, word] & bit:
                for k in range(word, n_words):
                    m[r, k] ^= m[rank, k]
        rank += 1
    return rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    for spec in ("intercept-resend:fraction=0.1", "beam-splitting"):
        attack = parse_attack(spec)
        params = LinkParams(source="single-photon", distance_km=10.0)
        link = attack.simulate("bb84", params, 10**6, np.random.default_rng(61))
        tap = ek.Wiretap()
        opts = PipelineOptions(secure_randomness=False, sample_fraction=0.4, observer=tap)
        res = run_postprocessing(link.alice, link.bob, opts, seed=61)
        bob = res.bob
        assert bob.corrected_key is not None and bob.toeplitz_seed is not None
        key = bob.corrected_key
        n = int(key.shape[0])
        m = int(bob.toeplitz_seed.shape[0]) - n + 1
        pos = link.eve.positions_of(bob.key_index)
        certain = link.eve.certain[pos] & (link.eve.guess[pos] == key)
        functionals = ek.disclosed_functionals(tap.messages, n)
        unknown = np.flatnonzero(~certain).astype(np.int64)
        column = np.full(n, -1, dtype=np.int64)
        column[unknown] = np.arange(unknown.size)
        width = int(unknown.size)
        stacked = np.concatenate(
            [
                ek._pack_functionals(functionals.rows, column, width),
                ek._toeplitz_packed(bob.toeplitz_seed, n, m, unknown, width),
            ]
        )
        packed_rank(stacked[:64], width)  # compile
        _plain_rank(stacked[:64].copy(), width)
        t_m4ri = _median_s(lambda: packed_rank(stacked, width), repeats)  # noqa: B023
        t_plain = _median_s(lambda: _plain_rank(stacked.copy(), width), repeats)  # noqa: B023
        t_all = _median_s(
            lambda: ek.linear_knowledge(certain, functionals, bob.toeplitz_seed, m),  # noqa: B023
            repeats,
        )
        print(
            f"{spec}: n = {n}, m = {m}, {len(functionals.rows)} parities, stacked "
            f"{stacked.shape[0]} x {width}: M4RI {t_m4ri:.2f} s, plain {t_plain:.2f} s "
            f"({t_plain / t_m4ri:.1f}x); linear_knowledge {t_all:.2f} s"
        )


if __name__ == "__main__":
    main()
