"""Lim et al. 2014 finite key: known answers, published numbers, and sampled runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.theory.entropy import binary_entropy
from qkdstack.theory.finite_key import (
    Lim2014Settings,
    lim2014_expected_counts,
    lim2014_key_length,
    optimise_lim2014,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "theory.json").read_text())
LIM = {
    "dark_count_prob": 6e-7,
    "afterpulse_prob": 0.04,
    "misalignment_error": 0.005,
}
OPT = {**LIM, "ec_efficiency": 1.16, "epsilon_sec": 1e-10, "epsilon_cor": 1e-15}


def _eta_sys(distance_km: float) -> float:
    return 0.1 * 10 ** (-0.2 * distance_km / 10)


@pytest.mark.parametrize("row", VECTORS["lim2014"]["fixed"])
def test_key_length_matches_independent_vectors(row: dict) -> None:  # type: ignore[type-arg]
    res = lim2014_key_length(
        intensities=row["intensities"],
        intensity_probs=row["intensity_probs"],
        key_counts=row["key_counts"],
        test_counts=row["test_counts"],
        test_errors=row["test_errors"],
        leak_ec_bits=row["leak_ec_bits"],
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    assert res.vacuum_events_lower == pytest.approx(row["s_x0"], rel=1e-9, abs=1e-9)
    assert res.single_photon_events_lower == pytest.approx(row["s_x1"], rel=1e-9)
    assert res.phase_error_upper == pytest.approx(row["phi_x"], rel=1e-9)
    assert res.test_single_photon_errors_upper == pytest.approx(row["v_z1"], rel=1e-9)
    assert res.length_bits == int(np.floor(row["length_real"]))
    assert "Lim" in res.formula and "022307" in res.formula


@pytest.mark.parametrize("row", VECTORS["lim2014"]["fixed"])
def test_expected_counts_match_independent_model(row: dict) -> None:  # type: ignore[type-arg]
    settings = Lim2014Settings(tuple(row["intensities"]), tuple(row["intensity_probs"]), row["q_x"])
    counts = lim2014_expected_counts(
        settings, system_transmittance=_eta_sys(row["distance_km"]), block_bits=row["n_x"], **LIM
    )
    assert counts.pulses == pytest.approx(row["pulses"], rel=1e-12)
    assert counts.test_errors == pytest.approx(row["test_errors"], rel=1e-12)
    leak = 1.16 * row["n_x"] * float(binary_entropy(counts.key_qber))
    assert leak == pytest.approx(row["leak_ec_bits"], rel=1e-12)


def test_published_ratio_of_block_sizes_at_100_km() -> None:
    # Lim 2014, Sec. IV: at 100 km R(n_X = 1e9) is about 1.75 times R(n_X = 1e7).
    r7 = optimise_lim2014(system_transmittance=_eta_sys(100.0), block_bits=1e7, **OPT)[1]
    r9 = optimise_lim2014(system_transmittance=_eta_sys(100.0), block_bits=1e9, **OPT)[1]
    ratio = r9 / r7
    assert ratio == pytest.approx(1.75, abs=0.1)  # read off a log plot: +-0.1
    ref = {(o["n_x"], o["distance_km"]): o["rate"] for o in VECTORS["lim2014"]["optimised"]}
    # The independent optimiser (random search + Nelder-Mead) finds the same optimum to 1%.
    assert r7 == pytest.approx(ref[(1e7, 100.0)], rel=0.01)
    assert r9 == pytest.approx(ref[(1e9, 100.0)], rel=0.01)


def test_small_block_still_gives_key_near_135_km() -> None:
    # Lim 2014, Sec. IV: with n_X = 1e4, keys still reach 135 km. The independent script finds
    # the limit at VECTORS["lim2014"]["max_distance_km_1e4"]; we require a key 5 km short of it
    # and none 5 km beyond it.
    dmax = VECTORS["lim2014"]["max_distance_km_1e4"]
    assert dmax == pytest.approx(135.0, abs=5.0)
    inside = optimise_lim2014(system_transmittance=_eta_sys(dmax - 5.0), block_bits=1e4, **OPT)[1]
    outside = optimise_lim2014(system_transmittance=_eta_sys(dmax + 5.0), block_bits=1e4, **OPT)[1]
    assert inside > 0.0
    assert outside <= 0.0


def _sample_counts(
    settings: Lim2014Settings, distance_km: float, pulses: int, rng: np.random.Generator
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Draw a run's counts from the paper's per-pulse probabilities (binomial per class)."""
    eta = _eta_sys(distance_km)
    q = settings.basis_prob_key
    nx, mx, nz, mz = [], [], [], []
    for k, p in zip(settings.intensities, settings.intensity_probs, strict=True):
        det = 1 - (1 - 2 * LIM["dark_count_prob"]) * np.exp(-eta * k)
        r_k = det * (1 + LIM["afterpulse_prob"])
        e_k = LIM["dark_count_prob"] + LIM["misalignment_error"] * (1 - np.exp(-eta * k))
        e_k += LIM["afterpulse_prob"] * det / 2
        for basis_p, counts, errors in ((q * q, nx, mx), ((1 - q) ** 2, nz, mz)):
            n = int(rng.binomial(pulses, basis_p * p * r_k))
            counts.append(n)
            errors.append(int(rng.binomial(n, e_k / r_k)))
    return nx, mx, nz, mz


def test_sampled_run_key_length_matches_prediction() -> None:
    rng = np.random.default_rng(2014)
    # The independent script's optimum for n_X = 1e6 at 50 km.
    opt = {(o["n_x"], o["distance_km"]): o["x"] for o in VECTORS["lim2014"]["optimised"]}
    q, p1, p2, mu1, mu2 = opt[(1e6, 50.0)]
    settings = Lim2014Settings((mu1, mu2, 2e-4), (p1, p2, 1 - p1 - p2), q)
    expected = lim2014_expected_counts(
        settings, system_transmittance=_eta_sys(50.0), block_bits=1e6, **LIM
    )
    pulses = round(expected.pulses)
    nx, mx, nz, mz = _sample_counts(settings, 50.0, pulses, rng)
    leak = 1.16 * sum(nx) * float(binary_entropy(sum(mx) / sum(nx)))
    observed = lim2014_key_length(
        intensities=settings.intensities,
        intensity_probs=settings.intensity_probs,
        key_counts=nx,
        test_counts=nz,
        test_errors=mz,
        leak_ec_bits=leak,
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    predicted = lim2014_key_length(
        intensities=settings.intensities,
        intensity_probs=settings.intensity_probs,
        key_counts=expected.key_counts,
        test_counts=expected.test_counts,
        test_errors=expected.test_errors,
        leak_ec_bits=1.16 * 1e6 * float(binary_entropy(expected.key_qber)),
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    assert predicted.length_bits > 0
    # Binomial fluctuations of the counts move l by a few percent at n_X = 1e6: allow 10%.
    assert observed.length_bits == pytest.approx(predicted.length_bits, rel=0.10)


def test_too_few_pulses_give_no_key() -> None:
    rng = np.random.default_rng(7)
    settings = Lim2014Settings((0.45, 0.17, 2e-4), (0.75, 0.17, 0.08), 0.9)
    nx, mx, nz, mz = _sample_counts(settings, 50.0, 200_000, rng)
    res = lim2014_key_length(
        intensities=settings.intensities,
        intensity_probs=settings.intensity_probs,
        key_counts=nx,
        test_counts=nz,
        test_errors=mz,
        leak_ec_bits=1.16 * sum(nx) * float(binary_entropy(max(sum(mx), 1) / max(sum(nx), 1))),
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    assert res.length_bits <= 0


def test_more_leakage_means_shorter_key() -> None:
    row = VECTORS["lim2014"]["fixed"][2]
    kwargs = {
        "intensities": row["intensities"],
        "intensity_probs": row["intensity_probs"],
        "key_counts": row["key_counts"],
        "test_counts": row["test_counts"],
        "test_errors": row["test_errors"],
        "epsilon_sec": 1e-10,
        "epsilon_cor": 1e-15,
    }
    a = lim2014_key_length(leak_ec_bits=1000.0, **kwargs)
    b = lim2014_key_length(leak_ec_bits=2000.0, **kwargs)
    assert a.length_bits - b.length_bits == pytest.approx(1000, abs=1)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"intensities": (0.1, 0.2, 0.0)}, "intensities"),
        ({"intensity_probs": (0.5, 0.5, 0.0)}, "intensity_probs"),
        ({"test_errors": (10.0**9, 0.0, 0.0)}, "test_errors"),
        ({"key_counts": (-1.0, 0.0, 0.0)}, "key_counts"),
        ({"leak_ec_bits": -1.0}, "leak_ec_bits"),
        ({"epsilon_sec": 0.0}, "epsilon_sec"),
    ],
)
def test_bad_inputs_are_named(change: dict, name: str) -> None:  # type: ignore[type-arg]
    kwargs = {
        "intensities": (0.5, 0.1, 2e-4),
        "intensity_probs": (0.8, 0.1, 0.1),
        "key_counts": (1e6, 1e5, 1e3),
        "test_counts": (1e5, 1e4, 1e2),
        "test_errors": (1e3, 1e2, 50.0),
        "leak_ec_bits": 1e5,
        "epsilon_sec": 1e-10,
        "epsilon_cor": 1e-15,
    }
    kwargs.update(change)
    with pytest.raises(ParameterError, match=f"'{name}'"):
        lim2014_key_length(**kwargs)  # type: ignore[arg-type]


def test_single_photon_yield_bound_is_below_and_near_the_truth() -> None:
    settings = Lim2014Settings((0.45, 0.17, 2e-4), (0.6, 0.2, 0.2), 0.5)
    eta = _eta_sys(50.0)
    c = lim2014_expected_counts(settings, system_transmittance=eta, block_bits=1e9, **LIM)
    res = lim2014_key_length(
        intensities=settings.intensities,
        intensity_probs=settings.intensity_probs,
        key_counts=c.key_counts,
        test_counts=c.test_counts,
        test_errors=c.test_errors,
        leak_ec_bits=0.0,
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    # True single-photon yield of the model, after-pulses included: R_1 = D_1 (1 + p_ap).
    true_y1 = (1 - (1 - 2 * LIM["dark_count_prob"]) * (1 - eta)) * (1 + LIM["afterpulse_prob"])
    y1 = res.single_photon_yield_lower(c.pulses * 0.5**2)
    assert 0.8 * true_y1 < y1 <= true_y1
    with pytest.raises(ParameterError, match="'key_basis_pulses'"):
        res.single_photon_yield_lower(0)


@pytest.mark.parametrize("row", VECTORS["lim2014"]["optimised"])
def test_optimiser_matches_independent_optimum(row: dict) -> None:  # type: ignore[type-arg]
    settings, rate = optimise_lim2014(
        system_transmittance=_eta_sys(row["distance_km"]), block_bits=row["n_x"], **OPT
    )
    # Two different optimisers on the same objective: the same optimum within 1%.
    assert rate == pytest.approx(row["rate"], rel=0.01)
    assert settings.intensities[2] == 2e-4
