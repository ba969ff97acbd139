"""Runtime of one point of the numerical B92 key-rate curve (asymptotic and finite-size).

Prints the cold first call (QICS's numba kernels compile on first use), then warm medians of one
B92 point (depolarising p = 0.06, lossless and with eta = 0.5), its two steps (QICS step 1, the
certified step 2), the finite-size B92 bound used by ``qkd run``, and as a baseline in the same
process one BB84 point of the same engine (its analytic value 1 - 2h(Q) is checked by the tests).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from qkdstack.processing.key_length_numerical import B92_TEST_GROUPS
from qkdstack.theory.numerical import (
    KeyRateProblem,
    b92,
    bb84,
    depolarizing_statistics,
    finite_key_length,
    numerical_key_rate,
)
from qkdstack.theory.numerical.solver import _single_threaded_numba, _step1, certified_lower_bound


def _median_s(fn: Callable[[], object], repeats: int) -> float:
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
    repeats = 3 if args.quick else 9
    proto_b92, proto_bb84 = b92(), bb84()
    tab = depolarizing_statistics(proto_b92, 0.06)
    t0 = time.perf_counter()
    numerical_key_rate(proto_b92, tab)
    print(f"cold first B92 point (compiles QICS kernels): {time.perf_counter() - t0:.2f} s")

    t_b92 = _median_s(lambda: numerical_key_rate(proto_b92, tab), repeats)
    lossy = depolarizing_statistics(proto_b92, 0.02, 0.5)
    t_b92_lossy = _median_s(lambda: numerical_key_rate(proto_b92, lossy), repeats)
    problem = KeyRateProblem.build(proto_b92, tab)
    t_step1_threads = _median_s(lambda: _step1(problem), repeats)
    with _single_threaded_numba():
        t_step1 = _median_s(lambda: _step1(problem), repeats)
        rho = _step1(problem)
        t_step2 = _median_s(lambda: certified_lower_bound(problem, rho), repeats)

    grouped = np.zeros(9)
    np.add.at(grouped, B92_TEST_GROUPS.reshape(-1), tab.reshape(-1))
    m = 10**5

    def finite() -> object:
        return finite_key_length(
            proto_b92, np.round(grouped * m), n_key_rounds=9 * 10**5, n_sifted=2 * 10**5,
            leak_bits=0.0, epsilon_sec=1e-10, epsilon_cor=1e-15, obs_groups=B92_TEST_GROUPS,
        )  # fmt: skip

    t_finite = _median_s(finite, repeats)
    tab_bb84 = depolarizing_statistics(proto_bb84, 0.06)
    t_bb84 = _median_s(lambda: numerical_key_rate(proto_bb84, tab_bb84), repeats)
    print(f"medians of {repeats}")
    print(f"B92 point, p = 0.06, eta = 1:     {t_b92 * 1e3:8.1f} ms")
    print(f"B92 point, p = 0.02, eta = 0.5:   {t_b92_lossy * 1e3:8.1f} ms")
    print(f"  step 1 (QICS QKD cone):         {t_step1 * 1e3:8.1f} ms")
    print(f"  step 1, numba's default threads:{t_step1_threads * 1e3:8.1f} ms")
    print(f"  step 2 (certified dual SDP):    {t_step2 * 1e3:8.1f} ms")
    print(f"B92 finite-size bound (m = 1e5):  {t_finite * 1e3:8.1f} ms")
    print(f"baseline BB84 point, p = 0.06:    {t_bb84 * 1e3:8.1f} ms")
    print(f"ratio B92 / BB84: {t_b92 / t_bb84:.2f}")
    print(f"ratio step 1 default threads / one thread: {t_step1_threads / t_step1:.1f}")


if __name__ == "__main__":
    main()
