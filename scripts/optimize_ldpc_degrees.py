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

The Gaussian approximation is not exact, and at high rates the LP exploits its errors at high
check degrees (rate 0.85: GA p* 0.0211, true p* < 0.0200). So the distributions kept
(``ldpc_distributions.py``) come from **discretised density evolution** (exact up to
quantisation; the section below :func:`mc_threshold` states the method and its references) and a
**successive linear programme** on its trajectory (:func:`improve`, :func:`optimise`): the
check-to-variable densities of each iteration are fixed at those of DE of the current ``lambda``,
which makes the next error probability linear in ``lambda``; the programme asks it to fall at every
iteration at a slightly worse channel, at a fixed rate and check mean, with a step limit; the
result is kept when DE confirms it. Monte-Carlo density evolution (population dynamics,
:func:`mc_threshold`) is an independent check, and the final word is the frame error rate of the
built codes (BENCHMARKS.md).

Usage, from the repository root (one process; ``nice`` it on a shared machine)::

    .venv/bin/python scripts/optimize_ldpc_degrees.py ga RATE [RATE ...] [--dmax D] [--mc]
    .venv/bin/python scripts/optimize_ldpc_degrees.py optimise RATE [RATE ...] [--dc MEAN]
    .venv/bin/python scripts/optimize_ldpc_degrees.py threshold RATE [RATE ...] [--fine] [--mc]

``ga`` prints the GA-LP design; ``optimise`` the DE-optimised ``lambda`` (start: Elkouss et al.
ISIT 2009 Table I, degrees above 30 moved to 30, its check mean); ``threshold`` the DE thresholds
of the Elkouss and the optimised (``ldpc_distributions.OPTIMISED``) distributions.
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


# --------------------------------------------------------------------------------------------
# Discretised density evolution (exact up to quantisation)
# --------------------------------------------------------------------------------------------
#
# T. J. Richardson, R. L. Urbanke, "Modern Coding Theory" (Cambridge, 2008), Sec. 4.5 (density
# evolution for BMS channels, the G-domain of the check node), and S.-Y. Chung, G. D. Forney,
# T. J. Richardson, R. L. Urbanke, "On the design of low-density parity-check codes within
# 0.0045 dB of the Shannon limit", IEEE Commun. Lett. 5, 58 (2001) (discretised DE).
#
# * Variable-to-check messages ``v`` are pmfs on the LLR grid ``k * step``, ``|k| <= nh``
#   (clipped at ``+-nh * step``); ``step = L / round(L / step0)`` puts the channel LLR
#   ``L = ln((1 - p) / p)`` exactly on the grid. A degree-``i`` variable sends
#   ``channel * u^{*(i - 1)}`` (MCT Eq. (4.99)): the convolution powers are taken by FFT at full
#   length (no wrap), then clipped.
# * Check node (MCT Sec. 4.1.4, the G-domain): a message ``x != 0`` is
#   ``(sign x, g = -ln tanh(|x| / 2))``; signs multiply and ``g`` adds. With ``P+-(g)`` the
#   G-densities of the two signs, ``S = P+ + P-`` and ``D = P+ - P-`` turn into ``S^{*(j - 1)}``
#   and ``D^{*(j - 1)}`` at a degree-``j`` check (the sum/difference trick: the sign of a product
#   is a parity, and ``D`` carries ``E[sign]``). ``g`` is quantised on a uniform grid ``k * gstep``;
#   beyond ``gmax`` (where the LLR ``2 atanh(e^-g)`` rounds to 0) the mass goes to LLR 0, as do
#   the inputs at LLR 0 (a product with a zero ``tanh``). Powers by binary powering with FFT
#   convolutions truncated at ``gmax`` (``g`` only grows, so the truncation is exact).
# * Success: the error probability ``P(v < 0) + P(v = 0) / 2`` falls below ``1e-7``, or the
#   Bhattacharyya functional ``B(v) = E[e^{-v/2}]`` is small enough that the erasure-channel
#   recursion ``x <- B(channel) lambda(1 - rho(1 - x))`` started from ``B(v)`` goes to 0: it bounds
#   the Bhattacharyya functionals of all later iterations (MCT Sec. 4.10: ``B`` multiplies at
#   variable nodes, and ``B(a [+] b) <= B(a) + B(b) - B(a) B(b)`` at check nodes), so true DE
#   converges from there. This skips the error floor that clipping the LLRs creates (clipped
#   messages stop growing, and then degree-2 variables keep wrong ones alive whenever
#   ``lambda_2 rho'(1) > 1``), without claiming more than the bound. Failure: the error
#   probability stops decreasing (relative decrease below ``1e-6`` in an iteration) or
#   ``max_iter`` iterations.


class Quantiser:
    """Grids and index maps of the discretised DE on BSC(``p``) (see the section comment)."""

    def __init__(self, p: float, step: float = 0.04, gstep: float = 1e-3, vmax: float = 14.0):
        self.p = p
        llr = math.log((1 - p) / p)
        self.kch = max(1, round(llr / step))
        self.step = llr / self.kch
        self.nh = math.ceil(vmax / self.step)
        self.n = 2 * self.nh + 1
        self.x = np.arange(-self.nh, self.nh + 1) * self.step
        self.bhat_weight = np.exp(-self.x / 2)
        # G-domain: bins k * gstep, k < ng; g beyond maps to LLR 0.
        gmax = -math.log(math.tanh(self.step / 4))
        self.ng = math.ceil(gmax / gstep) + 1
        self.gstep = gstep
        g = -np.log(np.tanh(self.x[self.nh + 1 :] / 2))
        self.g_index = np.minimum(np.rint(g / gstep).astype(np.int64), self.ng)
        centres = np.arange(self.ng) * gstep
        centres[0] = gstep / 4  # bin 0 holds g in [0, gstep / 2)
        back = np.log1p(np.exp(-centres)) - np.log1p(-np.exp(-centres))  # 2 atanh(e^-g)
        self.x_index = np.minimum(np.rint(back / self.step).astype(np.int64), self.nh)
        self.nfft_g = 1 << math.ceil(math.log2(2 * self.ng))
        self.channel = np.zeros(self.n)
        self.channel[self.nh + self.kch] = 1 - p
        self.channel[self.nh - self.kch] = p
        self.bhattacharyya_channel = 2 * math.sqrt(p * (1 - p))

    def error_probability(self, v: np.ndarray) -> float:
        """``P(v < 0) + P(v = 0) / 2`` of an LLR pmf."""
        return float(v[: self.nh].sum() + 0.5 * v[self.nh])

    def check(self, v: np.ndarray, rho: dict[int, float]) -> np.ndarray:
        """Check-to-variable pmf from the variable-to-check pmf ``v`` (check distribution rho)."""
        nh, ng, nf = self.nh, self.ng, self.nfft_g
        plus = np.bincount(self.g_index, weights=v[nh + 1 :], minlength=ng + 1)[:ng]
        minus = np.bincount(self.g_index, weights=v[nh - 1 :: -1][:nh], minlength=ng + 1)[:ng]
        s_out = np.zeros(ng)
        d_out = np.zeros(ng)
        for power, (s_pow, d_pow) in _truncated_powers(
            plus + minus, plus - minus, sorted(j - 1 for j in rho), ng, nf
        ).items():
            w = rho[power + 1]
            s_out += w * s_pow
            d_out += w * d_pow
        u = np.zeros(self.n)
        np.add.at(u, nh + self.x_index, np.maximum(0.5 * (s_out + d_out), 0.0))
        np.add.at(u, nh - self.x_index, np.maximum(0.5 * (s_out - d_out), 0.0))
        u[nh] += max(0.0, 1.0 - float(u.sum()))
        return u

    def variable(self, u: np.ndarray, degrees: np.ndarray) -> np.ndarray:
        """Variable-to-check pmfs of each degree in ``degrees`` (rows) from the pmf ``u``."""
        nh, k = self.nh, self.kch
        span = (int(degrees.max()) - 1) * nh + k
        nf = 1 << math.ceil(math.log2(2 * span + 1))
        centred = np.zeros(nf)
        centred[: nh + 1] = u[nh:]
        centred[nf - nh :] = u[:nh]
        fu = np.fft.rfft(centred)
        phase = np.exp(-2j * np.pi * np.arange(fu.size) * k / nf)
        fch = (1 - self.p) * phase + self.p * np.conj(phase)
        spectra = fu[None, :] ** (degrees[:, None] - 1) * fch[None, :]
        out = np.maximum(np.fft.irfft(spectra, nf, axis=1), 0.0)
        v = np.zeros((degrees.size, self.n))
        v[:, nh:] = out[:, : nh + 1]
        v[:, :nh] = out[:, nf - nh :]
        v[:, -1] += out[:, nh + 1 : span + 1].sum(axis=1)
        v[:, 0] += out[:, nf - span : nf - nh].sum(axis=1)
        return v


def _truncated_powers(
    s: np.ndarray, d: np.ndarray, powers: list[int], ng: int, nf: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``(s^{*e}, d^{*e})`` truncated to ``ng`` bins for each ``e`` in ``powers`` (ascending).

    Binary powering for the first power, then one convolution per unit step to the next (the
    check degrees are consecutive).
    """

    def conv(a: np.ndarray, fb: np.ndarray) -> np.ndarray:
        return np.fft.irfft(np.fft.rfft(a, nf) * fb, nf)[:ng]

    fs, fd = np.fft.rfft(s, nf), np.fft.rfft(d, nf)
    e = powers[0]
    res_s: np.ndarray | None = None
    res_d: np.ndarray | None = None
    base_s, base_d, fbs, fbd = s, d, fs, fd
    while True:
        if e & 1:
            if res_s is None or res_d is None:
                res_s, res_d = base_s.copy(), base_d.copy()
            else:
                res_s, res_d = conv(res_s, fbs), conv(res_d, fbd)
        e >>= 1
        if not e:
            break
        base_s = np.fft.irfft(fbs * fbs, nf)[:ng]
        base_d = np.fft.irfft(fbd * fbd, nf)[:ng]
        fbs, fbd = np.fft.rfft(base_s, nf), np.fft.rfft(base_d, nf)
    assert res_s is not None and res_d is not None
    out = {powers[0]: (res_s, res_d)}
    for e in range(powers[0] + 1, powers[-1] + 1):
        res_s, res_d = conv(res_s, fs), conv(res_d, fd)
        out[e] = (res_s, res_d)
    return {e: out[e] for e in powers}


def _bec_bound_converges(
    x: float, erasure: float, lam: dict[int, float], rho: dict[int, float]
) -> bool:
    """Whether ``x <- erasure * lambda(1 - rho(1 - x))`` from ``x`` goes to 0 (MCT Sec. 4.10)."""
    for _ in range(2000):
        y = 1.0 - sum(w * (1.0 - x) ** (j - 1) for j, w in rho.items())
        x_new = erasure * sum(w * y ** (i - 1) for i, w in lam.items())
        if x_new < 1e-12:
            return True
        if x_new >= x * (1 - 1e-9):
            return False
        x = x_new
    return False


def density_evolution(
    lam: dict[int, float],
    rho: dict[int, float],
    p: float,
    max_iter: int = 1500,
    trace: bool = False,
    **grid: float,
) -> tuple[bool, int, list[float], list[np.ndarray]]:
    """Discretised DE on BSC(``p``): (converged, iterations, error probabilities, e-matrix).

    With ``trace``, also the error probability of every variable degree 2..30 (one row per
    iteration): row ``l`` holds ``P(error)`` of a degree-``i`` variable's outgoing message given
    the check-to-variable density of iteration ``l + 1`` (the linearisation used by
    :func:`improve`); ``errors[l]`` is the error probability of the mixture entering it.
    """
    q = Quantiser(p, **grid)
    degrees = np.array(sorted(lam), dtype=np.int64)
    weights = np.array([lam[int(i)] for i in degrees])
    all_degrees = np.arange(2, DMAX + 1)
    v = q.channel.copy()
    errors = [q.error_probability(v)]
    rows: list[np.ndarray] = []
    for it in range(1, max_iter + 1):
        u = q.check(v, rho)
        if trace:
            per_degree = q.variable(u, all_degrees)
            err = per_degree[:, : q.nh].sum(axis=1) + 0.5 * per_degree[:, q.nh]
            rows.append(err)
            v = weights @ per_degree[degrees - 2]
        else:
            v = weights @ q.variable(u, degrees)
        pe = q.error_probability(v)
        errors.append(pe)
        if pe < 1e-7 or _bec_bound_converges(
            float(v @ q.bhat_weight), q.bhattacharyya_channel, lam, rho
        ):
            return True, it, errors, rows
        if pe > errors[-2] * (1 - 1e-6):
            return False, it, errors, rows
    return False, max_iter, errors, rows


def de_threshold(
    lam: dict[int, float],
    rho: dict[int, float],
    lo: float,
    hi: float,
    steps: int = 10,
    **grid: float,
) -> float:
    """Largest ``p`` in ``[lo, hi]`` where discretised DE converges (bisection, ``steps``)."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if density_evolution(lam, rho, mid, **grid)[0]:
            lo = mid
        else:
            hi = mid
    return lo


DMAX = 30
STABILITY_MARGIN = 0.95  # lambda_2 rho'(1) B(p) <= this (MCT Thm 4.127; margin for the DE above)


def _lambda_bounds(dc: float, p: float, rho: dict[int, float]) -> float:
    """Largest ``lambda_2``: at most ``M`` degree-2 variables and stability with a margin."""
    rho_prime = sum(w * (j - 1) for j, w in rho.items())
    staircase = 2.0 / dc  # lambda_2 / 2 <= sum_j rho_j / j = 1 / dc
    stability = STABILITY_MARGIN / (rho_prime * 2 * math.sqrt(p * (1 - p)))
    return min(staircase, stability)


def project(lam: dict[int, float], rate: float, dc: float, p: float) -> dict[int, float]:
    """The distribution on degrees 2..DMAX nearest (L1) to ``lam`` with check mean ``dc``."""
    degrees = np.arange(2, DMAX + 1)
    k = degrees.size
    target = np.array([lam.get(int(i), 0.0) for i in degrees])
    target[-1] += sum(w for i, w in lam.items() if i > DMAX)
    rho = rho_two(dc)
    # variables: lambda (k), slack s >= |lambda - target| (k)
    c = np.concatenate([np.zeros(k), np.ones(k)])
    eye = np.eye(k)
    a_ub = np.block([[eye, -eye], [-eye, -eye]])
    b_ub = np.concatenate([target, -target])
    a_eq = np.vstack(
        [np.concatenate([np.ones(k), np.zeros(k)]), np.concatenate([1.0 / degrees, np.zeros(k)])]
    )
    b_eq = [1.0, 1.0 / (dc * (1 - rate))]
    bounds = [(0.0, 1.0)] * k + [(0.0, None)] * k
    bounds[0] = (0.0, _lambda_bounds(dc, p, rho))
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"no distribution with check mean {dc}: {res.message}")
    return {int(i): float(x) for i, x in zip(degrees, res.x[:k], strict=True) if x > 1e-9}


def improve(
    lam: dict[int, float], rate: float, dc: float, p: float, delta: float, **grid: float
) -> tuple[dict[int, float], float] | None:
    """One successive-LP step at BSC(``p``): the ``lambda'`` that speeds up DE's worst iteration.

    The check-to-variable densities of every iteration are fixed at those of DE of the current
    ``lambda`` on BSC(``p``); the next error probability is then linear in ``lambda'``:
    ``P'_{l+1} = sum_i lambda'_i e_i(l)``. Minimise ``t`` subject to ``P'_{l+1} <= t P_l`` at
    every iteration (the error probability must fall at every step, by the factor ``t``), the rate
    (``sum lambda_i / i = 1 / (dc (1 - R))``, check mean ``dc`` fixed), ``sum lambda_i = 1``, the
    ``lambda_2`` bounds of :func:`_lambda_bounds` and a step limit ``|lambda' - lambda| <= delta``
    (the linearisation is local). DE of ``lambda`` may fail at ``p``: its trajectory up to the
    fixed point it sticks at is used, and ``t < 1`` asks ``lambda'`` to pass it. Returns
    ``(lambda', t)``, or None if the programme is infeasible.
    """
    rho = rho_two(dc)
    _, _, errors, rows = density_evolution(lam, rho, p, trace=True, **grid)
    e = np.array(rows)  # (iterations, degrees 2..DMAX)
    prev = np.array(errors[: e.shape[0]])
    degrees = np.arange(2, DMAX + 1)
    k = degrees.size
    current = np.array([lam.get(int(i), 0.0) for i in degrees])
    a_ub = np.hstack([e, -prev[:, None]])
    b_ub = np.zeros(e.shape[0])
    a_eq = np.vstack([np.append(np.ones(k), 0.0), np.append(1.0 / degrees, 0.0)])
    b_eq = [1.0, 1.0 / (dc * (1 - rate))]
    bounds = [(max(0.0, x - delta), min(1.0, x + delta)) for x in current]
    lam2_max = _lambda_bounds(dc, p, rho)
    bounds[0] = (min(bounds[0][0], lam2_max), min(bounds[0][1], lam2_max))
    bounds.append((0.0, 2.0))
    cost = np.zeros(k + 1)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    new = {int(i): float(x) for i, x in zip(degrees, res.x[:k], strict=True) if x > 1e-7}
    total = sum(new.values())
    return {i: x / total for i, x in new.items()}, float(res.x[-1])


def optimise(
    rate: float,
    dc: float,
    start: dict[int, float],
    p_guess: float,
    rounds: int = 60,
    log: bool = True,
    **grid: float,
) -> tuple[dict[int, float], float]:
    """Successive LP (:func:`improve`) from ``start``; returns ``(lambda, DE threshold)``.

    Each round aims at a crossover probability a little above the current threshold
    (``p* (1 + step)``), linearises there, and keeps ``lambda'`` if DE then converges at that
    ``p``; otherwise the step limit ``delta`` halves, and when it is small the aim comes closer.
    """
    rho = rho_two(dc)
    lam = project(start, rate, dc, p_guess)
    p_star = de_threshold(lam, rho, 0.8 * p_guess, 1.1 * p_guess, steps=9, **grid)
    if log:
        print(f"  dc {dc:.2f} start p* {p_star:.5f}", flush=True)
    delta, aim, failures = 0.05, 0.004, 0
    for _ in range(rounds):
        p_try = p_star * (1 + aim)
        got = improve(lam, rate, dc, p_try, delta, **grid)
        ok = got is not None and density_evolution(got[0], rho, p_try, **grid)[0]
        if log:
            t = got[1] if got is not None else float("nan")
            print(f"    aim {p_try:.5f} delta {delta:.4f} t {t:.4f} {ok}", flush=True)
        if ok and got is not None:
            lam, p_star, failures = got[0], p_try, 0
            delta, aim = min(0.1, delta * 1.5), min(0.01, aim * 1.5)
        else:
            failures += 1
            delta /= 2
            if failures >= 4:
                delta, aim, failures = 0.05, aim / 2, 0
                if aim < 1e-3:
                    break
    p_star = de_threshold(lam, rho, p_star, p_star * (1 + 2 * aim), steps=4, **grid)
    return lam, p_star


def rounded(lam: dict[int, float], decimals: int = 5) -> dict[int, float]:
    """``lam`` rounded to ``decimals``, summing to 1 exactly (the largest entry absorbs the rest).

    ``lambda_2`` is rounded down: it sits at the staircase bound (at most ``M`` degree-2 nodes).
    """
    out = {i: round(w, decimals) for i, w in sorted(lam.items()) if round(w, decimals) > 0}
    if 2 in lam:
        out[2] = math.floor(lam[2] * 10**decimals) / 10**decimals
    top = max(out, key=lambda i: out[i])
    out[top] = round(1.0 - sum(w for i, w in out.items() if i != top), decimals)
    return out


def mean_check_degree(lam: dict[int, float], rate: float) -> float:
    """Mean check degree fixed by ``lambda`` and the rate: ``1 / ((1 - R) sum_i lambda_i / i)``."""
    return 1.0 / ((1.0 - rate) * sum(w / i for i, w in lam.items()))


def _table_row(rate: float, lam: dict[int, float], lo: float, hi: float, **grid: float) -> str:
    dc = mean_check_degree(lam, rate)
    p = de_threshold(lam, rho_two(dc), lo, hi, steps=10, **grid)
    return f"{rate:.2f}: dc {dc:.3f}, p*_DE {p:.5f}, f {(1 - rate) / binary_entropy(p):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ga = sub.add_parser("ga", help="GA linear programme (Chung et al. 2001)")
    ga.add_argument("rates", type=float, nargs="+")
    ga.add_argument("--dmax", type=int, default=24)
    ga.add_argument("--mc", action="store_true", help="also the Monte-Carlo threshold")
    opt = sub.add_parser("optimise", help="successive LP with discretised DE")
    opt.add_argument("rates", type=float, nargs="+")
    opt.add_argument("--dc", type=float, default=None, help="check mean (default: Elkouss's)")
    thr = sub.add_parser("threshold", help="DE thresholds of the Elkouss and optimised tables")
    thr.add_argument("rates", type=float, nargs="+")
    thr.add_argument("--fine", action="store_true", help="finer grid (step 0.02, gstep 5e-4)")
    thr.add_argument("--mc", action="store_true", help="also the Monte-Carlo threshold")
    args = parser.parse_args()
    if args.command == "ga":
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
        return
    # The tables live beside this script (neither imports qkdstack).
    from ldpc_distributions import OPTIMISED
    from make_ldpc_codes import LAMBDA, THRESHOLD

    for rate in args.rates:
        elkouss = {i: w / sum(LAMBDA[rate].values()) for i, w in LAMBDA[rate].items()}
        if args.command == "optimise":
            capped = {i: w for i, w in elkouss.items() if i <= DMAX}
            capped[DMAX] = capped.get(DMAX, 0.0) + sum(w for i, w in elkouss.items() if i > DMAX)
            dc = args.dc if args.dc is not None else mean_check_degree(capped, rate)
            lam, p = optimise(rate, dc, elkouss, THRESHOLD[rate])
            lam = rounded(lam)
            print(f"{rate:.2f}: {lam}", flush=True)
            print("  " + _table_row(rate, lam, 0.95 * p, 1.02 * p), flush=True)
            continue
        grid = {"step": 0.02, "gstep": 5e-4} if args.fine else {}
        p_table = THRESHOLD[rate]
        print("Elkouss   " + _table_row(rate, elkouss, 0.85 * p_table, 1.05 * p_table, **grid))
        if rate in OPTIMISED:
            lam = OPTIMISED[rate]
            print("optimised " + _table_row(rate, lam, 0.9 * p_table, 1.15 * p_table, **grid))
            if args.mc:
                dc = mean_check_degree(lam, rate)
                p_mc = mc_threshold(lam, rho_two(dc), 0.9 * p_table, 1.15 * p_table)
                print(f"  p*_MC {p_mc:.5f} (f {(1 - rate) / binary_entropy(p_mc):.4f})")


if __name__ == "__main__":
    main()
