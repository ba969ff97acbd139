"""Asymptotic key fractions against the independent vectors and the published thresholds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.optimize import brentq

from qkdstack.errors import ParameterError
from qkdstack.theory.models import poisson_statistics
from qkdstack.theory.rates import (
    bbm92_rate,
    decoy_rate,
    device_independent_rate,
    gllp_rate,
    shor_preskill_rate,
    six_state_rate,
    vacuum_weak_decoy,
)

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "theory.json").read_text())
GYS = {"eta_bob": 0.045, "alpha": 0.21, "y0": 1.7e-6, "e_d": 0.033, "f": 1.22}


def _same_rate(got: float, ref: float) -> bool:
    """The vector script writes -1.0 as its sentinel for 'no key' (omega <= 0 or Y1 <= 0)."""
    if ref == -1.0:
        return got <= 0.0
    return got == pytest.approx(ref, rel=1e-9, abs=1e-15)


def _eta(distance_km: float) -> float:
    return GYS["eta_bob"] * 10 ** (-GYS["alpha"] * distance_km / 10)


def test_shor_preskill_threshold_is_11_percent() -> None:
    root = brentq(lambda e: shor_preskill_rate(e), 0.05, 0.2, xtol=1e-12)
    assert root == pytest.approx(VECTORS["thresholds"]["shor_preskill_qber"], abs=1e-9)
    assert round(root, 3) == 0.110  # published: 11.0%


def test_six_state_threshold_is_12_62_percent() -> None:
    root = brentq(lambda e: six_state_rate(e), 0.05, 0.2, xtol=1e-12)
    assert root == pytest.approx(VECTORS["thresholds"]["six_state_qber"], abs=1e-9)
    assert round(root * 100, 2) == 12.62


def test_device_independent_threshold_is_7_15_percent() -> None:
    def rate(q: float) -> float:
        return device_independent_rate(2 * math.sqrt(2) * (1 - 2 * q), q)

    root = brentq(rate, 0.01, 0.1, xtol=1e-12)
    assert root == pytest.approx(VECTORS["thresholds"]["di_qber"], abs=1e-9)
    assert root == pytest.approx(0.0715, abs=0.0005)


def test_bbm92_threshold_equals_bb84() -> None:
    root = brentq(lambda e: bbm92_rate(e), 0.05, 0.2, xtol=1e-12)
    assert root == pytest.approx(VECTORS["thresholds"]["bbm92_qber"], abs=1e-9)


@pytest.mark.parametrize("row", VECTORS["shor_preskill"])
def test_shor_preskill_values(row: dict[str, float]) -> None:
    got = shor_preskill_rate(row["qber_bit"], row["qber_phase"], row["f"])
    assert got == pytest.approx(row["shor_preskill"], rel=1e-12)


@pytest.mark.parametrize("row", VECTORS["six_state"])
def test_six_state_values(row: dict[str, float]) -> None:
    assert six_state_rate(row["qber"], row["f"]) == pytest.approx(row["rate"], rel=1e-12)


@pytest.mark.parametrize("row", VECTORS["device_independent"])
def test_device_independent_values(row: dict[str, float]) -> None:
    assert device_independent_rate(row["chsh"], row["qber"]) == pytest.approx(
        row["rate"], rel=1e-12
    )


def test_no_bell_violation_gives_no_key() -> None:
    assert device_independent_rate(2.0, 0.0) <= 0.0


@pytest.mark.parametrize("row", VECTORS["gys"]["fixed_mu"])
def test_gys_channel_and_rates_match_photon_number_sums(row: dict[str, float]) -> None:
    eta = _eta(row["distance_km"])
    st = poisson_statistics(row["mu"], eta, GYS["y0"], GYS["e_d"])
    assert st.gain == pytest.approx(row["gain"], rel=1e-10)
    assert st.qber == pytest.approx(row["qber"], rel=1e-10)
    assert st.single_photon_gain == pytest.approx(row["q1"], rel=1e-10)
    assert st.single_photon_error == pytest.approx(row["e1"], rel=1e-10)
    inf = decoy_rate(st.gain, st.qber, st.single_photon_gain, st.single_photon_error, GYS["f"])
    assert _same_rate(inf, row["rate_infinite"])
    assert _same_rate(gllp_rate(st.gain, st.qber, row["mu"], GYS["f"]), row["rate_gllp"])
    weak = poisson_statistics(0.1, eta, GYS["y0"], GYS["e_d"])
    est = vacuum_weak_decoy(
        st.gain, st.qber, weak.gain, weak.qber, GYS["y0"], row["mu"], 0.1, GYS["f"]
    )
    assert _same_rate(est.rate_bits_per_pulse, row["rate_vacuum_weak_nu0.1"])


def test_vacuum_weak_bounds_are_bounds() -> None:
    # With exact expected statistics the estimates must bracket the true single-photon values.
    eta = _eta(60.0)
    mu, nu = 0.48, 0.1
    st = poisson_statistics(mu, eta, GYS["y0"], GYS["e_d"])
    weak = poisson_statistics(nu, eta, GYS["y0"], GYS["e_d"])
    est = vacuum_weak_decoy(st.gain, st.qber, weak.gain, weak.qber, GYS["y0"], mu, nu, GYS["f"])
    assert est.single_photon_gain_lower <= st.single_photon_gain
    assert est.single_photon_gain_lower > 0.9 * st.single_photon_gain
    assert est.single_photon_error_upper >= st.single_photon_error


def test_gllp_gives_nothing_when_multiphotons_explain_all_clicks() -> None:
    mu = 0.5
    p_multi = 1 - (1 + mu) * math.exp(-mu)
    assert gllp_rate(0.9 * p_multi, 0.01, mu) < 0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: shor_preskill_rate(-0.1), "qber_bit"),
        (lambda: shor_preskill_rate(0.01, ec_efficiency=0.9), "ec_efficiency"),
        (lambda: gllp_rate(1e-3, 0.01, 0.0), "mu"),
        (lambda: vacuum_weak_decoy(1e-3, 0.01, 1e-4, 0.02, 1e-6, 0.1, 0.2), "nu"),
        (lambda: device_independent_rate(3.0, 0.01), "chsh_value"),
    ],
)
def test_bad_arguments_are_named(call, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match=f"'{name}'"):
        call()
