"""The fail-closed check of a run's statistics, against independent arithmetic."""

from __future__ import annotations

import math

import pytest

from qkdstack.errors import ImplausibleStatistics
from qkdstack.link.records import RecordMeta
from qkdstack.params import LinkParams
from qkdstack.processing.sanity import check_statistics, max_click_probability, plob_key_rate_limit


def _meta(protocol: str = "bb84", pulses: int = 10**6, **params: object) -> RecordMeta:
    p = LinkParams().replace(**params) if params else LinkParams()
    intensities = p.intensities if protocol == "decoy-bb84" else (p.mu,)
    if protocol in ("bbm92", "e91"):
        intensities = (p.mu_pair,)
    elif p.source == "single-photon" and protocol != "decoy-bb84":
        intensities = (1.0,)
    return RecordMeta(protocol=protocol, pulses=pulses, intensities=intensities, params=p.to_dict())


def test_click_bounds_match_the_detector_model() -> None:
    # Lim et al. 2014: D = 1 - (1 - 2 p_dc) G(1 - eta_d); one afterpulse at most per click.
    assert max_click_probability(_meta()) == pytest.approx(1 - (1 - 2e-6) * 0.9)
    laser = _meta(source="laser", mu=0.5, afterpulse_prob=0.04)
    assert max_click_probability(laser) == pytest.approx((1 - (1 - 2e-6) * math.exp(-0.05)) * 1.04)
    pairs = _meta("bbm92", mu_pair=0.1)
    assert max_click_probability(pairs) == pytest.approx(1 - (1 - 2e-6) / (1 + 0.1 * 0.1))
    assert max_click_probability(RecordMeta(protocol="bb84", pulses=10)) is None  # no params


def test_plob_limit_of_the_declared_link() -> None:
    assert plob_key_rate_limit(_meta(distance_km=100)) == pytest.approx(-math.log2(1 - 0.01))
    # A middle source: each 50 km arm is a cut, t = 10^-1.
    middle = _meta("bbm92", distance_km=100)
    assert plob_key_rate_limit(middle) == pytest.approx(-math.log2(1 - 0.1))


def test_each_impossibility_aborts_and_an_honest_run_passes() -> None:
    meta = _meta(distance_km=100)  # PLOB 0.0145 bits per pulse; at most 0.1 clicks per pulse
    ok = {"qber": 0.02}
    check_statistics(meta, detections=100_000, secret_bits=10_000, statistics=ok)
    with pytest.raises(ImplausibleStatistics, match="PLOB"):
        check_statistics(meta, detections=100_000, secret_bits=20_000, statistics=ok)
    with pytest.raises(ImplausibleStatistics, match="detections"):
        check_statistics(meta, detections=110_000, secret_bits=1, statistics=ok)
    with pytest.raises(ImplausibleStatistics, match="'qber' is inf"):
        check_statistics(meta, detections=1, secret_bits=1, statistics={"qber": math.inf})


def test_the_proofs_source_override_is_respected() -> None:
    # Records declared single-photon, processed with --source laser --mu 5: up to
    # 1 - e^{-0.5} = 0.39 clicks per pulse are possible.
    meta = _meta()
    check_statistics(meta, detections=300_000, secret_bits=0, statistics={}, source="laser", mu=5.0)
    with pytest.raises(ImplausibleStatistics):
        check_statistics(meta, detections=300_000, secret_bits=0, statistics={})
