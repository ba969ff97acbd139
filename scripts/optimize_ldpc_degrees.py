"""Optimise LDPC degree distributions for the binary symmetric channel (BSC).

Method: linear programming on a one-dimensional density-evolution recursion, as in S.-Y. Chung,
T. J. Richardson, R. L. Urbanke, "Analysis of sum-product decoding of low-density parity-check codes
using a Gaussian approximation", IEEE Trans. Inf. Theory 47, 657 (2001), Sec. V, with the BSC's
channel kept exact at the variable nodes:

* state ``r = 1 - E[tanh(v / 2)]`` of the variable-to-check messages ``v`` (all-zero word sent);
  ``r_0 = 1 - (1 - 2p)^2 = 4 p (1 - p)`` before the first iteration;
* check node (exact on a tree): ``E[tanh(u / 2)] = (1 - r)^(j - 1)`` for a degree-``j`` check;
  the check-to-variable message is taken as a consistent Gaussian ``N(mu, 2 mu)`` (the Gaussian
  approximation) of mean ``mu(r) = sum_j rho_j phi^-1(1 - (1 - r)^(j - 1))``, where
  ``phi(mu) = 1 - E[tanh(X / 2)]``, ``X ~ N(mu, 2 mu)`` (Chung et al., Eq. (6));
* variable node of degree ``i``: the channel LLR ``+-L`` (``L = ln((1 - p) / p)``, sign ``-`` with
  probability ``p``) plus ``i - 1`` such messages, so
  ``r' = sum_i lambda_i phi_i(mu)`` with ``phi_i(mu) = 1 - E[tanh((C + N((i - 1) mu, 2 (i - 1) mu)) / 2)]``,
  computed by Gauss-Hermite quadrature.

For a fixed check distribution ``rho`` the recursion is linear in ``lambda``, so decoding converges
(``r' < r`` on ``(0, r_0]``) under linear constraints; maximising the rate
``1 - (sum rho_j / j) / (sum lambda_i / i)`` is a linear programme in ``lambda`` (maximise
``sum lambda_i / i``). Extra linear constraints: at most ``M - 1`` degree-2 variables
(``lambda_2 / 2 <= sum_j rho_j / j``; they are laid as a staircase by ``make_ldpc_codes.py``) and
the stability condition ``lambda_2 rho'(1) < 1 / B``, ``B = 2 sqrt(p (1 - p))`` (T. J. Richardson,
M. A. Shokrollahi, R. L. Urbanke, "Design of capacity-approaching irregular low-density parity-check
codes", IEEE Trans. Inf. Theory 47, 619 (2001), Theorem 5). ``rho`` is concentrated on two
consecutive degrees (ibid., Sec. II); its mean is scanned. The threshold ``p*`` of a target rate is
found by bisection: the largest ``p`` whose best LP rate reaches the target.

The Gaussian approximation is not exact; every distribution kept is re-checked by Monte-Carlo
density evolution (population dynamics, :func:`mc_threshold`, exact up to sampling) and the final
word is the frame error rate of the built codes (BENCHMARKS.md).

Usage: ``python scripts/optimize_ldpc_degrees.py RATE [RATE ...] [--dmax D]`` prints, per rate, the
distribution, its GA threshold and its Monte-Carlo threshold, as Python literals.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from numba import njit
from scipy.optimize import linprog

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(96)
_GH_W = _GH_W / math.sqrt(math.pi)


def _mean_tanh(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``E[tanh(X / 2)]`` for ``X ~ N(mean, var)`` (Gauss-Hermite; broadcast)."""
    mean = np.asarray(mean, dtype=float)[..., None]
    sd = np.sqrt(2.0 * np.asarray(var, dtype=float))[..., None]
    return np.sum(_GH_W * np.tanh((mean + sd * _GH_X) / 2.0), axis=-1)


_MU_GRID = np.concatenate([[0.0], np.geomspace(1e-6, 150.0, 4000)])
_PHI_GRID = 1.0 - _mean_tanh(_MU_GRID, 2.0 * _MU_GRID)


def phi(mu: np.ndarray) -> np.ndarray:
    """``1 - E[tanh(X/2)]`` for a consistent Gaussian ``X ~ N(mu, 2 mu)`` (Chung et al. 2001)."""
    return 1.0 - _mean_tanh(mu, 2.0 * np.asarray(mu))


def phi_inv(y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`phi` (interpolated in log scale; ``phi`` decreases from 1)."""
    y = np.clip(np.asarray(y, dtype=float), _PHI_GRID[-1], 1.0)
    # phi decreasing: interpolate log(mu) against log(phi) on the reversed grid.
    xs = np.log(_PHI_GRID[1:][::-1])
    ys = np.log(_MU_GRID[1:][::-1])
    out = np.exp(np.interp(np.log(np.maximum(y, 1e-300)), xs, ys))
    return np.where(y >= 1.0, 0.0, out)


def check_mean(r: np.ndarray, rho: dict[int, float]) -> np.ndarray:
    """Mean of the check-to-variable Gaussian after a check iteration from state ``r``."""
    return sum(w * phi_inv(1.0 - (1.0 - r) ** (j - 1)) for j, w in rho.items())


def var_phi(degrees: np.ndarray, mu: np.ndarray, p: float) -> np.ndarray:
    """``phi_i(mu)`` for every degree ``i`` (rows) and mean ``mu`` (columns) on the BSC(p)."""
    llr = math.log((1 - p) / p)
    k = (degrees[:, None] - 1) * mu[None, :]
    plus = _mean_tanh(llr + k, 2 * k)
    minus = _mean_tanh(-llr + k, 2 * k)
    return 1.0 - ((1 - p) * plus + p * minus)


def rho_two(mean_degree: float) -> dict[int, float]:
    """Check distribution (edge perspective) on two consecutive degrees with node mean ``mean``."""
    lo = math.floor(mean_degree)
    frac_hi = mean_degree - lo  # node fraction of degree lo + 1
    nodes = {lo: 1 - frac_hi, lo + 1: frac_hi}
    edges = {j: n * j for j, n in nodes.items() if n > 0}
    total = sum(edges.values())
    return {j: e / total for j, e in edges.items()}


def best_lambda(
    p: float, rho: dict[int, float], dmax: int, margin: float = 1e-3, points: int = 160
) -> tuple[float, np.ndarray] | None:
    """The rate-maximising ``lambda`` (degrees 2..dmax) converging on BSC(p) under the GA."""
    r0 = 4 * p * (1 - p)
    rs = np.geomspace(1e-7, r0, points)
    degrees = np.arange(2, dmax + 1)
    mu = check_mean(rs, rho)
    a = var_phi(degrees, mu, p).T  # rows: r points, columns: degrees
    a_ub = [a]
    b_ub = [rs * (1 - margin)]
    rho_inv = sum(w / j for j, w in rho.items())
    rho_prime = sum(w * (j - 1) for j, w in rho.items())
    row = np.zeros(degrees.size)
    row[0] = 0.5
    a_ub.append(row[None, :])
    b_ub.append(np.array([rho_inv]))
    row = np.zeros(degrees.size)
    row[0] = rho_prime
    a_ub.append(row[None, :])
    b_ub.append(np.array([0.999 / (2 * math.sqrt(p * (1 - p)))]))
    res = linprog(
        -1.0 / degrees,
        A_ub=np.vstack(a_ub),
        b_ub=np.concatenate(b_ub),
        A_eq=np.ones((1, degrees.size)),
        b_eq=[1.0],
        bounds=[(0, 1)] * degrees.size,
        method="highs",
    )
    if res.status != 0:
        return None
    lam = np.maximum(res.x, 0)
    rate = 1 - rho_inv / float(np.sum(lam / degrees))
    return rate, lam


def best_for_p(p: float, dmax: int, means: np.ndarray) -> tuple[float, np.ndarray, float]:
    best = (-1.0, np.zeros(0), 0.0)
    for mean in means:
        got = best_lambda(p, rho_two(mean), dmax)
        if got is not None and got[0] > best[0]:
            best = (got[0], got[1], float(mean))
    return best


def design(rate: float, dmax: int) -> tuple[float, np.ndarray, float]:
    """Bisect the BSC crossover ``p`` for the largest one reaching ``rate``; scan rho's mean."""
    h_target = 1 - rate
    lo, hi = 0.5 * _inv_h(h_target), _inv_h(h_target)  # p* lies below capacity
    coarse = np.arange(6.0, 80.0, 0.5)
    found = None
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        r, lam, mean = best_for_p(mid, dmax, coarse)
        if r >= rate:
            lo, found = mid, (lam, mean)
            # refine the scan around the best mean
            coarse = np.arange(max(4.0, mean - 3), mean + 3, 0.1)
        else:
            hi = mid
    assert found is not None
    return lo, found[0], found[1]


def _inv_h(h: float) -> float:
    lo, hi = 1e-9, 0.5
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if -mid * math.log2(mid) - (1 - mid) * math.log2(1 - mid) < h:
            lo = mid
        else:
            hi = mid
    return lo


def binary_entropy(p: float) -> float:
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


@njit(cache=True)
def _mc_converges(
    p: float,
    lam_deg: np.ndarray,
    lam_cum: np.ndarray,
    rho_deg: np.ndarray,
    rho_cum: np.ndarray,
    pop: int,
    iters: int,
    seed: int,
) -> bool:  # pragma: no cover
    np.random.seed(seed)  # noqa: NPY002 (numba supports only the legacy generator)
    llr = math.log((1 - p) / p)
    v = np.empty(pop)
    for k in range(pop):
        v[k] = -llr if np.random.random() < p else llr  # noqa: NPY002
    u = np.empty(pop)
    for _ in range(iters):
        for k in range(pop):
            j = rho_deg[np.searchsorted(rho_cum, np.random.random())]  # noqa: NPY002
            prod = 1.0
            for _t in range(j - 1):
                x = v[np.random.randint(pop)]  # noqa: NPY002
                prod *= math.tanh(0.5 * max(min(x, 40.0), -40.0))
            prod = max(min(prod, 1 - 1e-15), -1 + 1e-15)
            u[k] = math.log((1 + prod) / (1 - prod))
        errors = 0
        for k in range(pop):
            i = lam_deg[np.searchsorted(lam_cum, np.random.random())]  # noqa: NPY002
            s = -llr if np.random.random() < p else llr  # noqa: NPY002
            for _t in range(i - 1):
                s += u[np.random.randint(pop)]  # noqa: NPY002
            v[k] = s
            if s <= 0:
                errors += 1
        if errors == 0:
            return True
    return False


def mc_threshold(
    lam: dict[int, float], rho: dict[int, float], lo: float, hi: float, pop: int = 100_000
) -> float:
    """Monte-Carlo density evolution threshold (population dynamics) by bisection on ``p``."""
    ld = np.array(sorted(lam), dtype=np.int64)
    lc = np.cumsum([lam[d] for d in ld])
    lc /= lc[-1]
    rd = np.array(sorted(rho), dtype=np.int64)
    rc = np.cumsum([rho[d] for d in rd])
    rc /= rc[-1]
    for step in range(12):
        mid = 0.5 * (lo + hi)
        if _mc_converges(mid, ld, lc, rd, rc, pop, 400, 1 + step):
            lo = mid
        else:
            hi = mid
    return lo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rates", type=float, nargs="+")
    parser.add_argument("--dmax", type=int, default=24)
    parser.add_argument("--mc", action="store_true", help="also the Monte-Carlo threshold")
    args = parser.parse_args()
    for rate in args.rates:
        p, lam, mean = design(rate, args.dmax)
        keep = {i + 2: round(float(x), 5) for i, x in enumerate(lam) if x > 1e-5}
        total = sum(keep.values())
        keep = {d: round(x / total, 5) for d, x in keep.items()}
        rho = rho_two(mean)
        f_ga = (1 - rate) / binary_entropy(p)
        line = f"{rate:.3f}: p*_GA {p:.5f} (f {f_ga:.4f}), rho mean {mean:.2f}, lambda {keep}"
        if args.mc:
            p_mc = mc_threshold(keep, rho, 0.7 * p, min(0.5, 1.2 * p))
            line += f", p*_MC {p_mc:.5f} (f {(1 - rate) / binary_entropy(p_mc):.4f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
