"""The pipeline's protocol-specific stages on simulated links: decoy-state finite key, E91's CHSH
test, six-state and B92."""

from __future__ import annotations

import math

import pytest

from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams
from qkdstack.processing.pipeline import PipelineOptions
from qkdstack.theory.finite_key import lim2014_key_length

LASER = LinkParams(source="laser")


def test_decoy_key_length_is_the_lim2014_formula_on_the_observed_counts() -> None:
    res = run_experiment("decoy-bb84", LASER, 10**8, seed=21)
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    rows = rep["counts"]
    by = {(r["basis"], r["intensity"]): r for r in rows}
    # The key comes from the Z basis, the test from the X basis (Lim's X and Z swapped).
    key_counts = [by[("Z", k)]["detected"] for k in range(3)]
    test_counts = [by[("X", k)]["detected"] for k in range(3)]
    test_errors = [by[("X", k)]["errors"] for k in range(3)]
    assert sum(key_counts) == rep["key_bits_before_ec"]
    expected = lim2014_key_length(
        intensities=LASER.intensities,
        intensity_probs=LASER.intensity_probs,
        key_counts=key_counts,
        test_counts=test_counts,
        test_errors=test_errors,
        leak_ec_bits=rep["leaked_ec_bits"],  # the tag is paid by log2(2/eps_cor) once
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
    )
    assert rep["secret_bits"] == expected.length_bits > 0
    assert rep["single_photon_events_lower"] == pytest.approx(expected.single_photon_events_lower)
    assert rep["phase_error_upper"] == pytest.approx(expected.phase_error_upper)
    # The yield bound is a lower bound on the true single-photon yield, and not a loose one.
    eta = 10 ** (-0.2 * 25 / 10) * 0.1
    y1_true = 1 - (1 - eta) * (1 - 1e-6) ** 2
    assert 0.5 * y1_true < rep["single_photon_yield_lower"] <= y1_true
    # Sent counts are Alice's, per intensity and basis, and add up to the pulses.
    assert sum(r["sent"] for r in rows) == rep["pulses"]


def test_decoy_run_with_too_few_pulses_gives_no_key() -> None:
    res = run_experiment("decoy-bb84", LASER, 3 * 10**6, seed=5)
    rep = res.report
    assert rep["aborted"] and rep["secret_bits"] == 0
    assert res.pipeline.alice_key is None and res.pipeline.bob_key is None


def test_e91_reports_chsh_and_yields_a_device_dependent_key() -> None:
    params = LinkParams(
        mu_pair=0.01, distance_km=0.0, detector_efficiency=0.8, misalignment_error=0.0
    )
    res = run_experiment("e91", params, 10**7, seed=2)
    rep = res.report
    assert rep["chsh_s"] is not None and rep["chsh_s_std"] > 0
    # Without loss and with a near-ideal source S approaches 2 sqrt(2) V, V = 1 - multi-pair noise.
    assert 2.5 < rep["chsh_s"] < 2 * math.sqrt(2) + 5 * rep["chsh_s_std"]
    assert rep["chsh_s_lower"] < rep["chsh_s"]
    assert not rep["aborted"], rep["abort_reason"]
    # Post-selected coincidences prove nothing device-independent: the key is labelled for what
    # it is, and its length is the BBM92 (Shor-Preskill) rule on the matching settings.
    formula = rep["key_length_formula"]
    assert "device-dependent" in formula and "not device-independent" in formula
    assert "Acin" not in formula and rep["secret_bits"] > 0 and rep["keys_match"]


def test_e91_gives_a_key_by_default_where_bbm92_does_and_refuses_device_independence() -> None:
    params = LinkParams(mu_pair=0.02, distance_km=10.0, detector_efficiency=0.5)
    bbm92 = run_experiment("bbm92", params, 10**7, seed=3).report
    e91 = run_experiment("e91", params, 10**7, seed=3).report
    assert not bbm92["aborted"] and bbm92["secret_bits"] > 0
    assert not e91["aborted"], e91["abort_reason"]
    assert e91["secret_bits"] > 0 and e91["keys_match"]
    # The device-independent bound is an option that refuses to claim what it cannot.
    opts = PipelineOptions(e91_bound="device-independent")
    di = run_experiment("e91", params, 10**7, seed=3, options=opts).report
    assert di["aborted"] and di["secret_bits"] == 0
    assert "refused" in di["key_length_formula"]
    assert "post-selected coincidences" in di["key_length_formula"]


def test_default_e91_gives_a_key_at_default_settings_where_bbm92_does() -> None:
    # Default link (25 km): the device-independent bound gave no key even at 10^9 pulses
    # (S = 2.53, its lower bound 2.33); the device-dependent default gives one where BBM92 does.
    bbm92 = run_experiment("bbm92", LinkParams(), 10**9, seed=3).report
    e91 = run_experiment("e91", LinkParams(), 10**9, seed=3).report
    assert not bbm92["aborted"] and bbm92["secret_bits"] > 0
    assert not e91["aborted"], e91["abort_reason"]
    assert e91["secret_bits"] > 0 and e91["keys_match"]
    assert "device-dependent" in e91["key_length_formula"]


def test_e91_without_enough_violation_aborts() -> None:
    params = LinkParams(visibility=0.7)  # 2 sqrt(2) * 0.7 = 1.98 < 2: no violation
    res = run_experiment("e91", params, 10**8, seed=4)
    assert res.report["aborted"] and "BellViolationTooSmall" in res.report["abort_reason"]
    assert res.pipeline.bob_key is None


def test_six_state_uses_lo2001_and_b92_gives_no_key_over_a_lossy_link() -> None:
    six = run_experiment("six-state", LinkParams(), 10**7, seed=1).report
    assert not six["aborted"] and "Lo" in six["key_length_formula"] and six["keys_match"]
    # 25 km and efficiency 0.1: transmittance 0.03 < 1 - 1/sqrt(2), so Eve's unambiguous state
    # discrimination reproduces every statistic and the numerical bound is empty.
    b92 = run_experiment("b92", LinkParams(), 10**7, seed=1).report
    assert b92["aborted"] and b92["secret_bits"] == 0
    assert "numerical" in b92["abort_reason"] and b92["abort_stage"] == "estimation"


def test_authentication_can_be_switched_off() -> None:
    opts = PipelineOptions(authenticate=False)
    rep = run_experiment("bb84", LinkParams(), 10**6, seed=1, options=opts).report
    assert rep["authenticated"] is False and rep["auth_key_bits_used"] == 0 and not rep["aborted"]
