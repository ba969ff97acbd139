"""Finite-size numerical key length: the confidence ball, the AEP term, and the bound's order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.theory.numerical import (
    b92,
    depolarizing_statistics,
    leak_ec_bits,
    numerical_key_rate,
)
from qkdstack.theory.numerical.finite import aep_correction, confidence_radius, finite_key_length

# Every no-click in one observation, whatever Alice sent (B92 test rounds as qkd run sees them).
GROUPS = np.array([[0, 1, 2, 3, 8], [4, 5, 6, 7, 8]])


def _grouped(table: np.ndarray) -> np.ndarray:
    out = np.zeros(9)
    np.add.at(out, GROUPS.reshape(-1), table.reshape(-1))
    return out


def test_confidence_radius_and_aep_formulas() -> None:
    # mu^2 = 2 (ln(1/eps) + |Sigma| ln(m+1)) / m, written out for m = 10^6, |Sigma| = 9.
    m, eps = 10**6, 1e-10
    assert confidence_radius(m, 9, eps) == pytest.approx(
        math.sqrt(2 * (23.02585093 + 9 * 13.81551156) / 1e6), rel=1e-8
    )
    # delta = 2 log2(5) sqrt(log2(2/eps) / n) for a binary key.
    assert aep_correction(10**6, 2, eps) == pytest.approx(
        2 * 2.321928095 * math.sqrt(34.21928095 / 1e6), rel=1e-8
    )
    with pytest.raises(ParameterError, match="m_test"):
        confidence_radius(0, 9, eps)


def test_finite_bound_is_below_asymptotic_and_grows_with_the_sample() -> None:
    proto = b92()
    table = depolarizing_statistics(proto, 0.02, 1.0)
    asym = numerical_key_rate(proto, table)
    lowers, lengths = [], []
    for n in (10**6, 10**7):
        m = n // 10
        res = finite_key_length(
            proto,
            np.round(_grouped(table) * m),
            n_key_rounds=n - m,
            n_sifted=int((n - m) * asym.sifting_probability),
            leak_bits=(n - m) * 1.1 * asym.leak_ec_bits,
            epsilon_sec=1e-10,
            epsilon_cor=1e-15,
            obs_groups=GROUPS,
        )
        assert res.privacy_bits_per_round_lower <= asym.privacy_bits_lower + 1e-9
        assert res.gap < 1e-5
        lowers.append(res.privacy_bits_per_round_lower)
        lengths.append(res.length_bits)
    assert lowers[0] < lowers[1]
    assert 0 < lengths[0] < lengths[1]
    assert "George" in res.formula and "collective" in res.attack_model


def test_no_key_when_the_noise_is_too_high() -> None:
    proto = b92()
    table = depolarizing_statistics(proto, 0.12, 1.0)
    n = 10**7
    res = finite_key_length(
        proto,
        np.round(_grouped(table) * n // 10),
        n_key_rounds=n - n // 10,
        n_sifted=n // 5,
        leak_bits=(n - n // 10) * leak_ec_bits(proto, table),
        epsilon_sec=1e-10,
        epsilon_cor=1e-15,
        obs_groups=GROUPS,
    )
    assert res.length_bits == 0


def test_impossible_frequencies_raise() -> None:
    bad = np.zeros((2, 5))
    bad[0, 1], bad[1, 3] = 1000, 1000  # |0> always gives |1> and |+> always |->: not quantum
    with pytest.raises(ParameterError, match="no quantum state"):
        finite_key_length(
            b92(), bad, n_key_rounds=10**6, n_sifted=10**5, leak_bits=0.0,
            epsilon_sec=1e-10, epsilon_cor=1e-15,
        )  # fmt: skip


def test_coherent_attacks_cost_the_postselection_factor() -> None:
    proto = b92()
    table = depolarizing_statistics(proto, 0.02, 1.0)
    asym = numerical_key_rate(proto, table)
    lengths = {}
    for attack in ("collective", "coherent"):
        for n in (10**7, 10**8):
            m = n // 10
            res = finite_key_length(
                proto,
                np.round(_grouped(table) * m),
                n_key_rounds=n - m,
                n_sifted=int((n - m) * asym.sifting_probability),
                leak_bits=(n - m) * 1.1 * asym.leak_ec_bits,
                epsilon_sec=1e-10,
                epsilon_cor=1e-15,
                obs_groups=GROUPS,
                attack=attack,  # type: ignore[arg-type]
            )
            lengths[attack, n] = res.length_bits
            if attack == "coherent":
                assert "postselection" in res.attack_model
                # (N + 1)^(d^2 - 1) with d = 2 x 3: 35 log2(N + 1) bits more in each log2(1/eps).
                assert res.mu == pytest.approx(
                    math.sqrt(
                        2 * (math.log(4e10) + 35 * math.log(n + 1) + 9 * math.log(m + 1)) / m
                    ),
                    rel=1e-9,
                )
    assert lengths["coherent", 10**7] == 0 < lengths["collective", 10**7]
    assert 0 < lengths["coherent", 10**8] < lengths["collective", 10**8]
    with pytest.raises(ParameterError, match="attack"):
        finite_key_length(
            proto, np.ones(9), n_key_rounds=10, n_sifted=5, leak_bits=0.0,
            epsilon_sec=1e-10, epsilon_cor=1e-15, obs_groups=GROUPS, attack="bogus",  # type: ignore[arg-type]
        )  # fmt: skip
