"""The Lim 2014 key length applied to counts the link simulator observed.

Cross-layer check: the simulator (``qkdstack.link``) and the theory's expected-count model are
written separately; the key length computed from a simulated run's observed counts must agree with
the length predicted from the expected counts, and a run too short for the formula gives no key.
"""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.link.simulator import simulate
from qkdstack.params import get_param_set
from qkdstack.theory.entropy import binary_entropy
from qkdstack.theory.finite_key import (
    Lim2014Settings,
    lim2014_expected_counts,
    lim2014_key_length,
)

SETTINGS = Lim2014Settings((0.45, 0.2, 2e-4), (0.5, 0.3, 0.2), 0.6)
DISTANCE_KM = 25.0
KEY_BASIS, TEST_BASIS = 0, 1  # Basis.Z carries the key (probability basis_prob_z), X tests.


def _params():  # type: ignore[no-untyped-def]
    return get_param_set("lim2014").replace(
        distance_km=str(DISTANCE_KM),
        afterpulse_prob="0",
        basis_prob_z=str(SETTINGS.basis_prob_key),
        intensities=",".join(map(str, SETTINGS.intensities)),
        intensity_probs=",".join(map(str, SETTINGS.intensity_probs)),
    )


def _observed(pulses: int, seed: int) -> dict[str, list[int]]:
    out = simulate("decoy-bb84", _params(), pulses, seed=seed)
    a, b = out.alice, out.bob
    assert a.intensity is not None
    sift = a.basis == b.basis
    err = a.bit != b.bit
    counts: dict[str, list[int]] = {"nx": [], "mx": [], "nz": [], "mz": []}
    for k in range(3):
        key = sift & (a.basis == KEY_BASIS) & (a.intensity == k)
        test = sift & (a.basis == TEST_BASIS) & (a.intensity == k)
        counts["nx"].append(int(np.count_nonzero(key)))
        counts["mx"].append(int(np.count_nonzero(key & err)))
        counts["nz"].append(int(np.count_nonzero(test)))
        counts["mz"].append(int(np.count_nonzero(test & err)))
    return counts


def _length(nx: list[float], mx: list[float], nz: list[float], mz: list[float]) -> int:
    leak = 1.16 * sum(nx) * float(binary_entropy(sum(mx) / sum(nx)))
    return lim2014_key_length(
        intensities=SETTINGS.intensities,
        intensity_probs=SETTINGS.intensity_probs,
        key_counts=nx,
        test_counts=nz,
        test_errors=mz,
        leak_ec_bits=leak,
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    ).length_bits


def test_simulated_run_matches_finite_key_prediction() -> None:
    pulses = 500_000_000
    eta_sys = 0.1 * 10 ** (-0.2 * DISTANCE_KM / 10)
    expected = lim2014_expected_counts(
        SETTINGS,
        system_transmittance=eta_sys,
        block_bits=1.0,
        dark_count_prob=6e-7,
        afterpulse_prob=0.0,
        misalignment_error=0.005,
    )
    scale = pulses / expected.pulses
    nx = [scale * v for v in expected.key_counts]
    mx = [scale * v for v in expected.key_errors]
    nz = [scale * v for v in expected.test_counts]
    mz = [scale * v for v in expected.test_errors]
    predicted = _length(nx, mx, nz, mz)
    assert predicted > 0

    # The prediction's range: every count moved by 5 standard deviations (Poisson) in the
    # direction that shortens (or lengthens) the key. Eq. (2)-(4) grow with n_mu2 and m_mu3 and
    # shrink with n_mu1, n_mu3 and m_mu2; the leak grows with the key errors.
    def shifted(values: list[float], signs: tuple[int, int, int], z: float) -> list[float]:
        return [max(v + sg * z * np.sqrt(v), 0.0) for v, sg in zip(values, signs, strict=True)]

    bounds = []
    for z in (5.0, -5.0):
        nz_z = shifted(nz, (1, -1, 1), z)
        mz_z = [min(m, n) for m, n in zip(shifted(mz, (-1, 1, -1), z), nz_z, strict=True)]
        bounds.append(_length(shifted(nx, (1, -1, 1), z), shifted(mx, (1, 1, 1), z), nz_z, mz_z))
    low, high = min(bounds), max(bounds)
    assert low < predicted < high
    for seed in (1, 2, 3):
        c = _observed(pulses, seed)
        # The raw key counts are binomial: 5 sigma of the largest class.
        assert c["nx"][0] == pytest.approx(nx[0], abs=5 * np.sqrt(nx[0]))
        observed = _length(c["nx"], c["mx"], c["nz"], c["mz"])
        assert low <= observed <= high


def test_too_few_pulses_give_no_key() -> None:
    c = _observed(4_000_000, seed=4)
    assert sum(c["nx"]) > 10_000  # plenty of raw key, yet the finite-key terms eat all of it
    assert _length(c["nx"], c["mx"], c["nz"], c["mz"]) <= 0
