"""Build the LDPC parity-check matrices shipped with qkdstack (written independently of the library).

Degree distributions: Table I of D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, "Efficient
reconciliation protocol for discrete-variable quantum key distribution", ISIT 2009 (arXiv:0901.2140),
optimised for the binary symmetric channel by differential evolution with discretised density
evolution, for the rates 0.50, 0.55, ..., 0.90. ``LAMBDA`` below lists their edge-perspective
variable-node coefficients ``lambda_i`` (the fraction of edges on degree-``i`` variables; the paper
writes ``lambda(x) = sum_i lambda_i x^(i-1)``) and ``THRESHOLD`` their BSC thresholds. Node counts
follow from ``Lambda_i = (lambda_i / i) / sum_j (lambda_j / j)`` (Richardson and Urbanke, "Modern
Coding Theory", 2008, the node/edge perspective conversion), rounded to whole nodes.

Degree-2 variables: a graph with more degree-2 variables than checks has cycles through degree-2
variables only, i.e. codewords of weight ~ the cycle length, which BP decoding converges to (we
saw weight-4 wrong words at rate 0.9, where the published distribution has 1.9 M of them at this
length). So at most ``M - 1`` are kept (the surplus is made degree 3, a departure from the
published distribution at rates 0.9 and wherever it applies, printed below) and they are laid out
as a staircase, variable ``i`` joining checks ``c_i`` and ``c_{i+1}`` of a random check order, a
tree without cycles (the degree-2 part of irregular repeat-accumulate codes: H. Jin, A. Khandekar,
R. McEliece, "Irregular repeat-accumulate codes", 2000).

Check nodes: the paper's check distributions ``rho`` are (nearly) concentrated on two consecutive
degrees; we do not impose them. Progressive edge growth (below) always connects to a check of the
lowest current degree among the candidates, which concentrates the check degrees around the mean
``E / M`` fixed by the variable degrees and the rate; the resulting check degrees are printed.

Graph: progressive edge growth (X.-Y. Hu, E. Eleftheriou, D.-M. Arnold, "Regular and irregular
progressive edge-growth Tanner graphs", IEEE Trans. Inf. Theory 51, 386 (2005)). Variable nodes are
connected in ascending order of degree, one edge at a time. The first edge of a variable goes to a
check of lowest degree; each further edge goes to a check of lowest degree among those the
breadth-first tree of the variable does not reach, grown until it stops growing or until one more
level would reach every check (then the checks of the last level are the candidates), or until
``MAX_DEPTH`` check levels. This maximises the local girth as in the paper's algorithm, cut at
``MAX_DEPTH`` levels (girth at least 6; deeper trees cost minutes per code at this length); ties are broken at
random (numba's generator, seeded; among unreached checks, the first unreached one from a random
point of the lowest-degree bucket).

Quasi-cyclic codes of 2^18 bits (``qc``): a base graph of ``N_BASE = 1024`` columns and
``round(1024 (1 - R))`` rows is grown by the same progressive edge growth (the full breadth-first
tree: the base graph is small) from the same degree distribution, with the degree-2 columns as a
staircase; every base edge then becomes a ``LIFT x LIFT`` (256) circulant permutation matrix: base
edge ``(c, v)`` with shift ``s`` joins column ``v Z + j`` to row ``c Z + (j + s) mod Z``. A cycle of
the base graph lifts to cycles of the same length exactly when the alternating sum of the shifts
along it is 0 mod Z (M. P. C. Fossorier, "Quasi-cyclic low-density parity-check codes from
circulant permutation matrices", IEEE Trans. Inf. Theory 50, 1788 (2004), Theorem 2); the shifts
are chosen edge by edge, in the order the base graph was grown, among the values closing the fewest
4-cycles (none, for all nine codes) and then the fewest 6-cycles, ties at random. A lift of a tree
is a forest, so the degree-2 staircase stays free of cycles. The base graph is dense (check
degrees up to ~50 of 1024 columns), so 4-cycle freedom is what the lifting buys; the code length
is what buys the efficiency (BENCHMARKS.md).

Output: one compressed ``ldpc_R<rate>_N<N>.npz`` per rate and length under
``src/qkdstack/processing/reconciliation/codes/`` with ``rows`` (uint16, the check of every one of H,
sorted by column then row), ``degrees`` (uint8, the number of ones of each column) and the scalars
``n``, ``m``, ``seed``; the quasi-cyclic ones hold the base graph so (``n = 1024``, ``m`` base
rows) plus ``shifts`` (uint16, one per base edge) and ``lift``.

Usage, from the repository root (the project's own environment, ``make install``): ``make codes``
runs all three (about 25 s for the 27 codes on the 2-core machine kind, load 2, 2026-12-02: 13 s
for 65536 bits, 6 s for 2^18, 5 s for 2^20, numba compilation included), or one kind at a time:
``.venv/bin/python scripts/make_ldpc_codes.py [rate ...]`` (65536 bits),
``.venv/bin/python scripts/make_ldpc_codes.py qc [rate ...]`` (2^18 bits) and
``.venv/bin/python scripts/make_ldpc_codes.py qc20 [rate ...]`` (2^20 bits). Deterministic for a
given seed: the files it writes are byte for byte the committed ones.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

N = 65536
SEED = 20261127
MAX_DEPTH = 1
N_BASE = 1024  # columns of the quasi-cyclic codes' base graph
LIFT = 256  # circulant size: quasi-cyclic codes of N_BASE * LIFT = 262144 bits
LIFT_20 = 1024  # circulant size of the 2^20-bit codes (same base graphs, shifts s + LIFT r)
QC_DEPTH = 64  # the base graph is small: grow the full tree
OUT = Path(__file__).resolve().parents[1] / "src/qkdstack/processing/reconciliation/codes"

# Rate 0.85, lambda_5: the table prints 0.094274, with which the rate-0.85 coefficients sum to
# 1.0515 (every other column sums to 1 within 2e-5); 0.04274 makes them sum to 1.00000, so we read
# the extra digit as a typo. The 65536-bit codes (built before this was noticed) used the printed
# value, renormalised; the quasi-cyclic codes use 0.04274.
LAMBDA_5_R085 = 0.04274
PRINTED_LAMBDA_5_R085 = 0.094274

# Elkouss et al. 2009, Table I: {degree i: lambda_i} (lambda(x) = sum lambda_i x^(i-1)).
LAMBDA: dict[float, dict[int, float]] = {
    0.90: {2: 0.07689, 3: 0.28096, 5: 0.08933, 9: 0.19620, 12: 0.30631, 21: 0.05031},
    0.85: {
        2: 0.04528, 3: 0.20537, 4: 0.05878, 5: LAMBDA_5_R085, 6: 0.08454, 7: 0.01176, 9: 0.05137,
        21: 0.50015,
    },
    0.80: {2: 0.09420, 3: 0.18088, 6: 0.11972, 7: 0.08550, 8: 0.09816, 17: 0.07194, 26: 0.34960},
    0.75: {
        2: 0.10805, 3: 0.09511, 4: 0.01449, 5: 0.13764, 6: 0.10667, 7: 0.05288, 28: 0.01107,
        31: 0.47408,
    },
    0.70: {
        2: 0.05343, 3: 0.29406, 6: 0.00896, 9: 0.15571, 12: 0.12189, 25: 0.19872, 46: 0.09572,
        62: 0.02741, 65: 0.04056, 73: 0.00354,
    },
    0.65: {
        2: 0.10451, 3: 0.15652, 4: 0.08057, 5: 0.00056, 9: 0.12151, 13: 0.10485, 15: 0.10719,
        21: 0.00771, 51: 0.31656,
    },
    0.60: {
        2: 0.11040, 3: 0.20804, 8: 0.14163, 9: 0.14858, 26: 0.14438, 27: 0.08909, 46: 0.00748,
        71: 0.15038,
    },
    0.55: {
        2: 0.16880, 3: 0.20994, 6: 0.18095, 15: 0.03846, 16: 0.02635, 18: 0.23454, 19: 0.05815,
        31: 0.08280,
    },
    0.50: {
        2: 0.14438, 3: 0.19026, 4: 0.01836, 5: 0.00233, 6: 0.04697, 8: 0.053943, 9: 0.05590,
        10: 0.01290, 11: 0.00162, 14: 0.06159, 15: 0.13115, 17: 0.01481, 47: 0.00879,
        49: 0.00650, 55: 0.00210, 56: 0.00099, 57: 0.11178, 58: 0.06238, 59: 0.05094,
        66: 0.02230,
    },
}  # fmt: skip
# 2^20-bit codes: where listed, the base graph is grown from this distribution instead of Table I's.
# Rate 0.85: optimised by discretised density evolution (scripts/optimize_ldpc_degrees.py, successive
# linear programming on the density-evolution trajectory from Table I's rate-0.85 column; at most
# M degree-2 variables, stability with margin), threshold p* = 0.02041 (f = 1.043) against 0.01981
# (f = 1.069) for Table I's column by the same density evolution.
# Rate 0.80: scripts/ldpc_distributions.py's OPTIMISED[0.80] (p* = 0.02963, f = 1.039). Table I's
# column has lambda_2 = 0.094, above the staircase bound 0.068 (at most M degree-2 variables), so
# the code built from it had fewer degree-2 variables than its threshold assumes; at Q = 3% that
# 2^20-bit code failed 4 of 3069 frames at f* = 1.10 and 47 of 48 at 1.07, this one 11 of 48 at
# 1.07 (2026-11-27, BENCHMARKS.md).
LAMBDA_20: dict[float, dict[int, float]] = {
    0.85: {2: 0.04789, 3: 0.25577, 9: 0.28735, 10: 0.07123, 29: 0.11265, 30: 0.22511},
    0.80: {
        2: 0.0678, 3: 0.25652, 8: 0.06261, 9: 0.21016, 10: 0.07421, 26: 0.10265, 29: 0.01589,
        30: 0.21016,
    },
}  # fmt: skip
THRESHOLD = {
    0.90: 0.0109, 0.85: 0.0199, 0.80: 0.0298, 0.75: 0.0392, 0.70: 0.0504, 0.65: 0.0633,
    0.60: 0.0766, 0.55: 0.0904, 0.50: 0.1071,
}  # fmt: skip


def variable_degrees(n: int, lam: dict[int, float]) -> np.ndarray:
    """Node degrees (length n, ascending) realising the edge-perspective distribution ``lam``."""
    degrees = np.array(sorted(lam), dtype=np.int64)
    node = np.array([lam[int(d)] / d for d in degrees])
    node /= node.sum()
    counts = np.floor(node * n).astype(np.int64)
    rest = n - int(counts.sum())
    # Give the leftover nodes to the largest fractional parts.
    counts[np.argsort(-(node * n - counts))[:rest]] += 1
    return np.repeat(degrees, counts)


@njit(cache=True)
def _peg(
    n: int, m: int, degrees: np.ndarray, cap: int, max_depth: int, n_chain: int, seed: int
) -> np.ndarray:
    np.random.seed(seed)  # noqa: NPY002 (numba supports only the legacy generator)
    chain = np.random.permutation(m)  # noqa: NPY002
    dmax = degrees.max()
    var_adj = np.full((n, dmax), -1, dtype=np.int64)
    check_adj = np.full((m, cap), -1, dtype=np.int64)
    check_deg = np.zeros(m, dtype=np.int64)
    check_mark = np.zeros(m, dtype=np.int64)  # stamp of the BFS that reached the check
    var_mark = np.zeros(n, dtype=np.int64)
    frontier = np.empty(m, dtype=np.int64)
    nxt = np.empty(m, dtype=np.int64)
    # Checks sorted by degree: bucket d is by_deg[start[d]:start[d + 1]], pos[c] is c's index.
    by_deg = np.random.permutation(m).astype(np.int64)  # noqa: NPY002
    pos = np.empty(m, dtype=np.int64)
    for i in range(m):
        pos[by_deg[i]] = i
    start = np.zeros(cap + 2, dtype=np.int64)
    start[1:] = m
    stamp = 0
    for v in range(n):
        for k in range(degrees[v]):
            stamp += 1
            chosen = -1
            n_cand = 0
            if v < n_chain:  # degree-2 staircase: variable v joins checks chain[v], chain[v+1]
                chosen = chain[v + k]
            elif k > 0:
                size = 0
                for j in range(k):
                    c = var_adj[v, j]
                    check_mark[c] = stamp
                    frontier[size] = c
                    size += 1
                covered = size
                var_mark[v] = stamp
                for _depth in range(max_depth):
                    n_next = 0
                    for i in range(size):
                        c = frontier[i]
                        for j in range(check_deg[c]):
                            u = check_adj[c, j]
                            if var_mark[u] == stamp:
                                continue
                            var_mark[u] = stamp
                            for jj in range(degrees[u]):
                                c2 = var_adj[u, jj]
                                if c2 < 0:
                                    break
                                if check_mark[c2] != stamp:
                                    check_mark[c2] = stamp
                                    nxt[n_next] = c2
                                    n_next += 1
                    if n_next == 0:
                        break
                    if covered + n_next == m:
                        n_cand = n_next  # one more level reaches everything: pick from it
                        break
                    covered += n_next
                    for i in range(n_next):
                        frontier[i] = nxt[i]
                    size = n_next
            if n_cand > 0:
                best = 1 << 60
                ties = 0
                for i in range(n_cand):
                    d = check_deg[nxt[i]]
                    if d < best:
                        best = d
                        ties = 0
                    if d == best:
                        nxt[ties] = nxt[i]
                        ties += 1
                chosen = nxt[np.random.randint(ties)]  # noqa: NPY002
            elif chosen < 0:
                # Lowest degree among the unreached checks: scan the degree buckets upwards from
                # a random point of each (ties broken at random up to the bucket's order).
                for d in range(cap + 1):
                    lo = start[d]
                    width = start[d + 1] - lo
                    if width <= 0:
                        continue
                    offset = np.random.randint(width)  # noqa: NPY002
                    for i in range(width):
                        c = by_deg[lo + (offset + i) % width]
                        if k == 0 or check_mark[c] != stamp:
                            chosen = c
                            break
                    if chosen >= 0:
                        break
            c = chosen
            d = check_deg[c]
            if d + 1 >= cap:
                raise RuntimeError("check capacity exceeded")
            # Move c to the end of bucket d, then shrink bucket d by one (c joins d + 1).
            last = start[d + 1] - 1
            other = by_deg[last]
            by_deg[pos[c]] = other
            pos[other] = pos[c]
            by_deg[last] = c
            pos[c] = last
            start[d + 1] -= 1
            var_adj[v, k] = c
            check_adj[c, d] = v
            check_deg[c] = d + 1
    return var_adj


def build(rate: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(rows, degrees, m) of the code of ``rate``."""
    m = round(N * (1 - rate))
    lam = dict(LAMBDA[rate])
    if rate == 0.85:
        lam[5] = PRINTED_LAMBDA_5_R085  # as the shipped 65536-bit code was built
    degrees = variable_degrees(N, lam)
    # At most M - 1 degree-2 variables (the surplus becomes degree 3), laid as a staircase.
    n_chain = min(int(np.sum(degrees == 2)), m - 1)
    degrees[n_chain : int(np.sum(degrees == 2))] = 3
    edges = int(degrees.sum())
    cap = 2 * (-(-edges // m)) + 8
    var_adj = _peg(N, m, degrees, cap, MAX_DEPTH, n_chain, SEED + round(rate * 100))
    rows = np.concatenate([np.sort(var_adj[v, : degrees[v]]) for v in range(N)])
    return rows.astype(np.uint16), degrees.astype(np.uint8), m


@njit(cache=True)
def _lift_shifts(
    var_adj: np.ndarray, degrees: np.ndarray, m: int, lift: int, cap: int, seed: int
) -> np.ndarray:
    """Circulant shifts of the base edges ``var_adj`` (-1 padded), greedily against short cycles.

    A closed walk ``c_1 v_1 c_2 v_2 ... c_k v_k c_1`` of the base graph lifts to a cycle of length
    ``2k`` exactly when the alternating sum of the shifts along it vanishes mod ``lift``
    (M. P. C. Fossorier, "Quasi-cyclic low-density parity-check codes from circulant permutation
    matrices", IEEE Trans. Inf. Theory 50, 1788 (2004), Theorem 2). Edges are given shifts in the
    order the base graph was grown; each takes, among the values that close the fewest 4-cycles
    (zero where possible), one that closes the fewest 6-cycles, ties broken at random.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba supports only the legacy generator)
    n = var_adj.shape[0]
    shift = np.full((m, n), -1, dtype=np.int64)
    check_adj = np.full((m, cap), -1, dtype=np.int64)
    check_deg = np.zeros(m, dtype=np.int64)
    out = np.full(var_adj.shape, -1, dtype=np.int64)
    cnt4 = np.zeros(lift, dtype=np.int64)
    cnt6 = np.zeros(lift, dtype=np.int64)
    for v in range(n):
        for k in range(degrees[v]):
            c = var_adj[v, k]
            cnt4[:] = 0
            cnt6[:] = 0
            for k2 in range(k):
                c2 = var_adj[v, k2]
                a = shift[c2, v]
                # 4-cycles v - c2 - v2 - c - v: s(c,v) = s(c2,v) - s(c2,v2) + s(c,v2).
                for i in range(check_deg[c]):
                    v2 = check_adj[c, i]
                    if shift[c2, v2] >= 0:
                        cnt4[(a - shift[c2, v2] + shift[c, v2]) % lift] += 1
                # 6-cycles v - c2 - v2 - c3 - v3 - c - v.
                for i in range(check_deg[c2]):
                    v2 = check_adj[c2, i]
                    if v2 == v:
                        continue
                    b = a - shift[c2, v2]
                    for j in range(degrees[v2]):
                        c3 = var_adj[v2, j]
                        if c3 < 0:
                            break
                        if c3 == c2 or c3 == c or shift[c3, v2] < 0:
                            continue
                        e = b + shift[c3, v2]
                        for t in range(check_deg[c]):
                            v3 = check_adj[c, t]
                            if v3 != v2 and shift[c3, v3] >= 0:
                                cnt6[(e - shift[c3, v3] + shift[c, v3]) % lift] += 1
            best4 = cnt4.min()
            best6 = 1 << 62
            for s in range(lift):
                if cnt4[s] == best4 and cnt6[s] < best6:
                    best6 = cnt6[s]
            ties = 0
            for s in range(lift):
                if cnt4[s] == best4 and cnt6[s] == best6:
                    ties += 1
            pick = np.random.randint(ties)  # noqa: NPY002
            chosen = -1
            for s in range(lift):
                if cnt4[s] == best4 and cnt6[s] == best6:
                    if pick == 0:
                        chosen = s
                        break
                    pick -= 1
            shift[c, v] = chosen
            out[v, k] = chosen
            check_adj[c, check_deg[c]] = v
            check_deg[c] += 1
    return out


def build_qc(
    rate: float, lam: dict[int, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(rows, degrees, shifts, m_base) of the quasi-cyclic code of ``rate``.

    The base graph (``N_BASE`` columns) is grown by the same progressive edge growth as the
    65536-bit codes, with the full breadth-first tree (``QC_DEPTH`` levels), degree-2 columns as
    a staircase (lifted, a staircase stays a forest: no cycle through degree-2 variables only).
    """
    m = round(N_BASE * (1 - rate))
    degrees = variable_degrees(N_BASE, LAMBDA[rate] if lam is None else lam)
    n_chain = min(int(np.sum(degrees == 2)), m - 1)
    degrees[n_chain : int(np.sum(degrees == 2))] = 3
    edges = int(degrees.sum())
    cap = 2 * (-(-edges // m)) + 8
    seed = SEED + round(rate * 100)
    var_adj = _peg(N_BASE, m, degrees, cap, QC_DEPTH, n_chain, seed)
    shifts = _lift_shifts(var_adj, degrees, m, LIFT, cap, seed + 1)
    rows, vals = [], []
    for v in range(N_BASE):
        order = np.argsort(var_adj[v, : degrees[v]])
        rows.append(var_adj[v, : degrees[v]][order])
        vals.append(shifts[v, : degrees[v]][order])
    return (
        np.concatenate(rows).astype(np.uint16),
        degrees.astype(np.uint8),
        np.concatenate(vals).astype(np.uint16),
        m,
    )


def main_qc(rates: list[float]) -> None:
    """Write ``ldpc_R<rate>_N<N_BASE * LIFT>.npz`` quasi-cyclic codes (base graph and shifts)."""
    OUT.mkdir(parents=True, exist_ok=True)
    for rate in rates:
        start = time.perf_counter()
        rows, degrees, shifts, m = build_qc(rate)
        path = OUT / f"ldpc_R{rate:.2f}_N{N_BASE * LIFT}.npz"
        np.savez_compressed(
            path, rows=rows, degrees=degrees, shifts=shifts, n=N_BASE, m=m, lift=LIFT, seed=SEED
        )
        check = np.bincount(rows.astype(np.int64), minlength=m)
        print(
            f"{path.name}: threshold {THRESHOLD[rate]}, base {N_BASE} x {m}, {rows.size} base "
            f"edges, variable degrees {degrees.min()}-{degrees.max()}, check degrees "
            f"{check.min()}-{check.max()}, {time.perf_counter() - start:.0f} s",
            flush=True,
        )


def main_qc20(rates: list[float]) -> None:
    """Write ``ldpc_R<rate>_N1048576.npz``: quasi-cyclic codes of 2^20 bits (lift ``LIFT_20``).

    The base graph is grown as for the 2^18-bit codes, from ``LAMBDA_20[rate]`` where that lists
    the rate (discretised density evolution, a higher threshold than Table I) and from Table I
    otherwise; each base edge's shift ``s`` (chosen
    against 4- and 6-cycles for ``LIFT``) becomes ``s + LIFT r`` with ``r`` uniform in
    ``0 .. LIFT_20 / LIFT - 1`` (seeded). A cycle that closes for ``LIFT_20`` has an alternating
    shift sum ``= 0 mod LIFT_20``, hence ``= 0 mod LIFT``: it closed for ``LIFT`` too, so the
    lift has no 4-cycle and no more short cycles per base cycle than the 2^18-bit one
    (Fossorier 2004, Theorem 2).
    """
    OUT.mkdir(parents=True, exist_ok=True)
    for rate in rates:
        start = time.perf_counter()
        lam = LAMBDA_20.get(rate)
        rows, degrees, shifts, m = build_qc(rate, lam)
        rng = np.random.default_rng(SEED + round(rate * 100) + 2)
        wide = shifts.astype(np.int64) + LIFT * rng.integers(0, LIFT_20 // LIFT, shifts.size)
        path = OUT / f"ldpc_R{rate:.2f}_N{N_BASE * LIFT_20}.npz"
        np.savez_compressed(
            path,
            rows=rows,
            degrees=degrees,
            shifts=wide.astype(np.uint16),
            n=N_BASE,
            m=m,
            lift=LIFT_20,
            seed=SEED,
        )
        source = "density evolution" if lam is not None else "Table I"
        print(
            f"{path.name}: lambda from {source}, base {N_BASE} x {m}, {rows.size} base edges, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )


def main(rates: list[float]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for rate in rates:
        start = time.perf_counter()
        rows, degrees, m = build(rate)
        path = OUT / f"ldpc_R{rate:.2f}_N{N}.npz"
        np.savez_compressed(path, rows=rows, degrees=degrees, n=N, m=m, seed=SEED)
        check = np.bincount(rows.astype(np.int64), minlength=m)
        print(
            f"{path.name}: threshold {THRESHOLD[rate]}, {rows.size} edges, "
            f"{int(np.sum(degrees == 2))} of degree 2 (M = {m}), variable degrees "
            f"{degrees.min()}-{degrees.max()}, check degrees {check.min()}-{check.max()}, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["qc20"]:
        main_qc20([float(r) for r in sys.argv[2:]] or sorted(LAMBDA))
    elif sys.argv[1:2] == ["qc"]:
        main_qc([float(r) for r in sys.argv[2:]] or sorted(LAMBDA))
    else:
        main([float(r) for r in sys.argv[1:]] or sorted(LAMBDA))
