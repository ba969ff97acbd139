"""Rate-versus-distance curves against the independent vectors and published distances."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qkdstack.errors import ParameterError
from qkdstack.theory.curves import SystemModel, key_rate, key_rate_curve, max_distance_km

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "theory.json").read_text())
# GYS as in Ma, Qi, Zhao, Lo 2005 Table I (Y0 = 1.7e-6 over two detectors).
GYS = SystemModel(
    attenuation_db_per_km=0.21,
    detector_efficiency=0.045,
    dark_count_prob=8.5e-7,
    misalignment_error=0.033,
    ec_efficiency=1.22,
)


def test_gys_infinite_decoy_reaches_142_km_at_mu_048() -> None:
    dmax = max_distance_km("decoy-bb84", GYS)
    assert dmax == pytest.approx(VECTORS["gys"]["infinite_decoy_max_distance_km"], abs=0.1)
    assert dmax == pytest.approx(142.0, abs=1.0)  # published: about 142 km
    for row in VECTORS["gys"]["infinite_decoy_points"]:
        rate, mu, _ = key_rate("decoy-bb84", row["distance_km"], GYS)
        assert rate == pytest.approx(row["rate"], rel=1e-6)
        assert mu == pytest.approx(row["mu_opt"], abs=2e-3)
    mu_100 = key_rate("decoy-bb84", 100.0, GYS)[1]
    assert mu_100 == pytest.approx(0.48, abs=0.01)  # published: mu about 0.48


def test_gys_without_decoys_reaches_about_40_km() -> None:
    dmax = max_distance_km("bb84", GYS)
    assert dmax == pytest.approx(VECTORS["gys"]["gllp_max_distance_km"], abs=0.1)
    assert dmax == pytest.approx(40.0, abs=3.0)


@pytest.mark.parametrize("row", VECTORS["gys"]["vacuum_weak"])
def test_gys_vacuum_weak_distances(row: dict[str, float]) -> None:
    model = dataclasses.replace(GYS, weak_decoy_mu=row["nu"])
    dmax = max_distance_km("decoy-bb84", model, decoy="vacuum-weak")
    assert dmax == pytest.approx(row["max_distance_km"], abs=0.1)
    assert dmax < VECTORS["gys"]["infinite_decoy_max_distance_km"]
    rate, _mu, _ = key_rate("decoy-bb84", 50.0, model, decoy="vacuum-weak")
    assert rate == pytest.approx(row["rate_50km"], rel=1e-6)


@pytest.mark.parametrize("row", VECTORS["bbm92_gys"])
def test_bbm92_thermal_source_matches_pair_number_sum(row: dict[str, float]) -> None:
    rate, _, _ = key_rate("bbm92", row["distance_km"], GYS, mu=row["pair_mean"])
    assert rate == pytest.approx(row["rate"], rel=1e-6)


def test_curve_clips_at_zero_and_reports_plob() -> None:
    points = key_rate_curve("decoy-bb84", [0.0, 100.0, 200.0], GYS)
    assert points[0].rate_bits_per_pulse > points[1].rate_bits_per_pulse > 0.0
    assert points[2].rate_bits_per_pulse == 0.0
    for p in points:
        assert p.rate_bits_per_pulse < p.plob_bits_per_pulse


def test_di_needs_near_perfect_detectors() -> None:
    assert max_distance_km("di", GYS) == 0.0
    good = dataclasses.replace(GYS, detector_efficiency=0.99, misalignment_error=0.0)
    assert 0.0 < max_distance_km("di", good, step_km=0.5) < 10.0


def test_unknown_protocol_is_named() -> None:
    with pytest.raises(ParameterError, match="'protocol'"):
        key_rate("b92", 0.0, GYS)
    with pytest.raises(ParameterError, match="'block_bits'"):
        key_rate("bb84", 0.0, GYS, block_bits=1e6)


def test_fixed_mu_never_beats_the_optimum() -> None:
    lim = SystemModel(
        detector_efficiency=0.1,
        dark_count_prob=6e-7,
        afterpulse_prob=0.04,
        misalignment_error=0.005,
        ec_efficiency=1.16,
    )
    best, mu_best, _ = key_rate("decoy-bb84", 100.0, lim, block_bits=1e7)
    for mu in (0.2, 0.7):
        rate, used, settings = key_rate("decoy-bb84", 100.0, lim, block_bits=1e7, mu=mu)
        assert used == mu and settings is not None and settings.intensities[0] == mu
        assert rate < best
    for mu in (0.2, 0.8):
        assert key_rate("decoy-bb84", 60.0, GYS, mu=mu)[0] < key_rate("decoy-bb84", 60.0, GYS)[0]
    assert mu_best is not None


def test_system_model_rejects_bad_values() -> None:
    with pytest.raises(ParameterError, match="'detector_efficiency'"):
        SystemModel(detector_efficiency=0.0)
    with pytest.raises(ParameterError, match="'ec_efficiency'"):
        SystemModel(ec_efficiency=0.9)
