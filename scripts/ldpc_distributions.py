"""LDPC variable degree distributions for the BSC optimised by discretised density evolution.

Not run on its own: ``make_ldpc_codes.py`` imports it (run that one, from the repository root,
with ``.venv/bin/python scripts/make_ldpc_codes.py ...``).

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

Provenance: ``.venv/bin/python scripts/optimize_ldpc_degrees.py optimise RATE [--dc MEAN]`` (successive
linear programming on the discretised-DE trajectory, started from Elkouss et al. ISIT 2009 Table I
with its check mean; rate 0.75 then re-started from the result at check mean 23, which scored
better than 25.25 and 28; at rate 0.85 check means 37 and 46 scored worse than 41.76), then ``.venv/bin/python scripts/optimize_ldpc_degrees.py threshold RATE`` for the
thresholds: ``THRESHOLD_DE[rate]`` is the BSC crossover probability ``p*`` below which
discretised density evolution (LLR step ~0.04, G-domain step 1e-3) converges, bisection to
~1e-5; ``F_DE[rate] = (1 - R) / h(p*)`` is the efficiency at the threshold (1 is capacity), and
``ELKOUSS_THRESHOLD_DE`` (``ELKOUSS_F_DE``) the threshold of Elkouss's Table I distribution by the same DE (with the
check mean its ``lambda`` and rate fix; Table I's ``lambda_2`` exceeds the staircase bound
``2 / dc`` at most rates, so ``make_ldpc_codes.py`` builds those codes with fewer degree-2 nodes
than that threshold assumes). Degrees above 30 were moved to 30 where Table I has them; at rate
0.55 the optimiser found nothing better than that (the entry is Table I with degree 31 -> 30).
Where the optimised threshold is below Table I's (0.80: Table I's ``lambda_2`` 0.094 breaks the
staircase bound 0.068; 0.65 and 0.50: Table I uses degrees up to 51 and 66, we stop at 30), the
Table I code as built is not the Table I distribution either. Near the stability limit this DE is
conservative (clipped LLRs; see ``optimize_ldpc_degrees.py``): Table I's rate 0.75 is unstable
above p = 0.0378 with its own check mean (its 0.0392 cannot be a BP threshold there), and the DE
gives 0.03605. Finite-length loss and the spread of a frame's error count come on top; the lead measures the frame error rates of the built codes (BENCHMARKS.md).
"""

from __future__ import annotations

OPTIMISED: dict[float, dict[int, float]] = {
    0.85: {2: 0.04789, 3: 0.25577, 9: 0.28735, 10: 0.07123, 29: 0.11265, 30: 0.22511},
    0.75: {2: 0.08695, 3: 0.24501, 8: 0.02526, 9: 0.3109, 30: 0.33188},
    0.80: {
        2: 0.0678,
        3: 0.25652,
        8: 0.06261,
        9: 0.21016,
        10: 0.07421,
        26: 0.10265,
        29: 0.01589,
        30: 0.21016,
    },
    0.70: {2: 0.10032, 3: 0.20663, 7: 0.13147, 8: 0.11641, 30: 0.44517},
    0.90: {2: 0.03993, 3: 0.35696, 9: 0.13739, 10: 0.3443, 11: 0.12142},
    0.65: {2: 0.11502, 3: 0.17314, 6: 0.19024, 30: 0.5216},
    0.60: {2: 0.13323, 3: 0.16615, 6: 0.20642, 30: 0.4942},
    0.55: {
        2: 0.1688,
        3: 0.20994,
        6: 0.18095,
        15: 0.03846,
        16: 0.02635,
        18: 0.23455,
        19: 0.05815,
        30: 0.0828,
    },
    0.50: {2: 0.15824, 3: 0.17417, 5: 0.0103, 6: 0.18453, 30: 0.47276},
}

CHECK_MEAN: dict[float, float] = {
    0.85: 41.760,
    0.75: 23.000,
    0.80: 29.497,
    0.70: 19.935,
    0.90: 50.079,
    0.65: 17.388,
    0.60: 14.461,
    0.55: 10.704,
    0.50: 10.767,
}

THRESHOLD_DE: dict[float, float] = {
    0.85: 0.02041,
    0.75: 0.04007,
    0.80: 0.02963,
    0.70: 0.05113,
    0.90: 0.01138,
    0.65: 0.06218,
    0.60: 0.07573,
    0.55: 0.09059,
    0.50: 0.10523,
}

F_DE: dict[float, float] = {
    0.85: 1.0435,
    0.75: 1.0304,
    0.80: 1.0388,
    0.70: 1.0303,
    0.90: 1.1133,
    0.65: 1.0416,
    0.60: 1.0337,
    0.55: 1.0264,
    0.50: 1.0302,
}

ELKOUSS_THRESHOLD_DE: dict[float, float] = {
    0.85: 0.01981,
    0.75: 0.03605,
    0.80: 0.02970,
    0.70: 0.05047,
    0.90: 0.01088,
    0.65: 0.06313,
    0.60: 0.07552,
    0.55: 0.09054,
    0.50: 0.10718,
}

ELKOUSS_F_DE: dict[float, float] = {
    0.85: 1.0686,
    0.75: 1.1166,
    0.80: 1.0369,
    0.70: 1.0403,
    0.90: 1.1554,
    0.65: 1.0302,
    0.60: 1.0357,
    0.55: 1.0268,
    0.50: 1.0176,
}
