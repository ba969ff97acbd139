"""Build the LDPC parity-check matrices shipped with qkdstack (written independently of the library).

For each mother-code rate R in RATES we build a binary parity-check matrix H (M = N (1 - R) rows,
N columns) by progressive edge growth (Hu, Eleftheriou, Arnold, "Regular and irregular progressive
edge-growth Tanner graphs", IEEE Trans. Inf. Theory 51, 386 (2005)): variable nodes are connected
one edge at a time, in ascending order of degree, each new edge going to a check node of lowest
current degree among those *not* within distance 2 of the variable (no 4-cycles: girth >= 6).
Choosing lowest-degree checks makes the check degrees concentrated, as good irregular codes want.

Variable-node degrees follow an irregular profile with degrees {2, 3, d_max}, the shape of the
distributions of Richardson, Shokrollahi and Urbanke, "Design of capacity-approaching irregular
low-density parity-check codes", IEEE Trans. Inf. Theory 47, 619 (2001): the fraction of degree-2
edges lambda_2 is set to 80% of the BSC stability bound lambda_2 rho'(1) < 1 / (2 sqrt(p (1-p)))
(ibid., Theorem 5) at the crossover p where the code would run at efficiency 1.1, degree-2
variables are kept below M (so they form no cycle among themselves), and the rest is split between
degree 3 and d_max. These are heuristic profiles, not density-evolution optima.

Output: one compressed ``ldpc_R<rate>_N<N>.npz`` per rate under
``src/qkdstack/processing/reconciliation/codes/`` with arrays ``rows`` and ``cols`` (uint16, the
positions of the ones of H, sorted by column then row) and scalars ``n``, ``m``, ``seed``.

Usage: ``python scripts/make_ldpc_codes.py`` (about a minute). Deterministic for a given seed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

N = 8192
RATES = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
SEED = 20261127
OUT = Path(__file__).resolve().parents[1] / "src/qkdstack/processing/reconciliation/codes"


def _h2(p: float) -> float:
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def _crossover(rate: float, f: float = 1.1) -> float:
    """The p with 1 - rate = f h(p), by bisection."""
    lo, hi = 1e-6, 0.5
    for _ in range(100):
        mid = (lo + hi) / 2
        if f * _h2(mid) < 1 - rate:
            lo = mid
        else:
            hi = mid
    return lo


def variable_degrees(n: int, rate: float) -> np.ndarray:
    """Node degrees (length n) of the {2, 3, d_max} profile described in the module docstring."""
    m = round(n * (1 - rate))
    d_max = 8 if rate < 0.75 else 10
    p = _crossover(rate)
    bound = 0.8 / (2 * math.sqrt(p * (1 - p)))
    best = 0.0
    for v2 in np.linspace(0.0, 0.6, 601):
        v3 = 0.6 * (1 - v2)
        vd = 1 - v2 - v3
        edges = n * (2 * v2 + 3 * v3 + d_max * vd)
        lam2 = 2 * n * v2 / edges
        rho_prime = edges / m - 1
        if lam2 * rho_prime <= bound and v2 * n <= 0.9 * m:
            best = float(v2)
    n2 = round(best * n)
    n3 = round(0.6 * (1 - best) * n)
    degrees = np.full(n, d_max, dtype=np.int64)
    degrees[:n2] = 2
    degrees[n2 : n2 + n3] = 3
    return degrees


def peg(
    n: int, m: int, degrees: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Progressive edge growth with a distance-2 exclusion (girth >= 6); returns (rows, cols)."""
    check_vars: list[list[int]] = [[] for _ in range(m)]
    var_checks: list[list[int]] = [[] for _ in range(n)]
    check_deg = np.zeros(m, dtype=np.float64)
    order = np.argsort(degrees, kind="stable")
    for v in order:
        for k in range(int(degrees[v])):
            score = check_deg.copy()
            near: set[int] = set(var_checks[v])
            if k > 0:
                for c in var_checks[v]:
                    for u in check_vars[c]:
                        near.update(var_checks[u])
            if near:
                score[list(near)] = np.inf
            if not np.isfinite(score.min()):  # every check is near: only avoid double edges
                score = check_deg.copy()
                score[var_checks[v]] = np.inf
            candidates = np.flatnonzero(score == score.min())
            c = int(rng.choice(candidates))
            check_vars[c].append(int(v))
            var_checks[v].append(c)
            check_deg[c] += 1
    rows = np.array([c for v in range(n) for c in sorted(var_checks[v])], dtype=np.uint16)
    cols = np.array([v for v in range(n) for _ in var_checks[v]], dtype=np.uint16)
    return rows, cols


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for i, rate in enumerate(RATES):
        rng = np.random.default_rng([SEED, i])
        m = round(N * (1 - rate))
        degrees = variable_degrees(N, rate)
        rows, cols = peg(N, m, degrees, rng)
        path = OUT / f"ldpc_R{rate:.2f}_N{N}.npz"
        np.savez_compressed(path, rows=rows, cols=cols, n=N, m=m, seed=SEED)
        dc = np.bincount(rows.astype(np.int64), minlength=m)
        print(
            f"{path.name}: M={m} edges={rows.size} var degrees "
            f"{dict(zip(*np.unique(degrees, return_counts=True), strict=True))} check degrees {dc.min()}-{dc.max()}"
        )


if __name__ == "__main__":
    main()
