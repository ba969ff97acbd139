"""LDPC variable degree distributions for the BSC optimised by discretised density evolution.

Drop-in replacements for ``LAMBDA`` in ``make_ldpc_codes.py`` (written independently of qkdstack;
imports nothing). ``OPTIMISED[rate]`` is ``{degree i: lambda_i}``, the edge-perspective variable
distribution (``lambda(x) = sum_i lambda_i x^(i - 1)``), 5 decimals, summing to 1, degrees
``<= 30``. The check distribution is not listed: it is concentrated on the two consecutive degrees
around the mean ``CHECK_MEAN[rate] = 1 / ((1 - R) sum_i lambda_i / i)`` that the rate fixes
(progressive edge growth produces exactly that), and the thresholds below assume it.

Constraints kept (T. J. Richardson, R. L. Urbanke, "Modern Coding Theory", 2008):
at most ``M`` degree-2 variables (``lambda_2 / 2 <= sum_j rho_j / j``, the staircase of
``make_ldpc_codes.py``), and stability with a margin,
``lambda_2 rho'(1) 2 sqrt(p (1 - p)) <= 0.95`` at the threshold (MCT Theorem 4.127).

Provenance: ``python scripts/optimize_ldpc_degrees.py optimise RATE`` (successive linear
programming on the discretised-DE trajectory, started from Elkouss et al. ISIT 2009 Table I with
its check mean), then ``python scripts/optimize_ldpc_degrees.py threshold RATE`` for the
thresholds: ``THRESHOLD_DE[rate]`` is the BSC crossover probability ``p*`` below which
discretised density evolution (LLR step ~0.04, G-domain step 1e-3) converges, bisection to
~1e-5; ``F_DE[rate] = (1 - R) / h(p*)`` is the efficiency at the threshold (1 is capacity), and
``ELKOUSS_THRESHOLD_DE`` the threshold of Elkouss's Table I distribution by the same DE (with the
check mean its ``lambda`` and rate fix). Finite-length loss and the spread of a frame's error count
come on top; the lead measures the frame error rates of the built codes (BENCHMARKS.md).
"""

from __future__ import annotations

OPTIMISED: dict[float, dict[int, float]] = {
    0.85: {2: 0.04789, 3: 0.25577, 9: 0.28735, 10: 0.07123, 29: 0.11265, 30: 0.22511},
}

CHECK_MEAN: dict[float, float] = {
    0.85: 41.760,
}

THRESHOLD_DE: dict[float, float] = {
    0.85: 0.02041,
}

F_DE: dict[float, float] = {
    0.85: 1.0434,
}

ELKOUSS_THRESHOLD_DE: dict[float, float] = {
    0.85: 0.01981,
}
