"""E91's key-length rules: device-dependent by default, device-independent only where its
assumptions hold."""

from __future__ import annotations

import math

import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.e91 import (
    CHSH_DETECTION_THRESHOLD,
    device_independence_refusal,
    e91_key_length,
)

from helpers import h2

ARGS = dict(
    n_key=100_000,
    k_sample=10_000,
    sample_error_fraction=0.02,
    chsh_lower=2.7,
    leak_bits=20_000,
    epsilon_sec=1e-10,
    epsilon_cor=1e-15,
)


def test_threshold_is_the_garg_mermin_efficiency() -> None:
    assert CHSH_DETECTION_THRESHOLD == pytest.approx(2 * (math.sqrt(2) - 1))


def test_device_dependent_rule_is_shor_preskill_written_out() -> None:
    res = e91_key_length("device-dependent", params={}, **ARGS)
    n, k = 100_000, 10_000
    mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / 1e-10))
    expected = math.floor(n * (1 - h2(0.02 + mu)) - 20_000 - math.log2(2 / (1e-20 * 1e-15)))
    assert res.length_bits == expected > 0
    assert "device-dependent" in res.formula


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "post-selected"),
        ({"no_click_outcomes_assigned": True, "detection_efficiency": 0.8}, "threshold"),
        ({"no_click_outcomes_assigned": True}, "threshold"),
    ],
)
def test_device_independent_rule_refuses_without_its_assumptions(
    params: dict[str, object], reason: str
) -> None:
    assert reason in (device_independence_refusal(params) or "")
    res = e91_key_length("device-independent", params=params, **ARGS)
    assert res.length_bits == 0 and "refused" in res.formula


def test_device_independent_rule_is_acin_2007_when_its_assumptions_hold() -> None:
    params = {"no_click_outcomes_assigned": True, "detection_efficiency": 0.9}
    assert device_independence_refusal(params) is None
    res = e91_key_length("device-independent", params=params, **ARGS)
    s = 2.7
    eve = h2((1 + math.sqrt((s / 2) ** 2 - 1)) / 2)
    expected = math.floor(100_000 * (1 - eve) - 20_000 - math.log2(2 / (1e-20 * 1e-15)))
    assert res.length_bits == expected and "Acin" in res.formula


def test_unknown_bound_is_named() -> None:
    with pytest.raises(ParameterError, match=r"'bound'.*'loophole'"):
        e91_key_length("loophole", params={}, **ARGS)
