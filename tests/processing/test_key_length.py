from __future__ import annotations

import math

import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.key_length import (
    BB84_QBER_LIMIT,
    gllp_key_length,
    shor_preskill_key_length,
)

from helpers import h2


def test_bb84_limit_is_root_of_one_minus_two_h() -> None:
    assert abs(1 - 2 * h2(BB84_QBER_LIMIT)) < 1e-5
    assert abs(BB84_QBER_LIMIT - 0.110) < 0.001


def test_shor_preskill_length_large_n_approaches_asymptotic_rate() -> None:
    n, k = 10**9, 10**8
    leak = int(1.1 * n * h2(0.02))
    res = shor_preskill_key_length(n, k, 0.02, leak_bits=leak, epsilon_sec=1e-10, epsilon_cor=1e-15)
    mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / 1e-10))
    margin = math.log2(2 / (1e-20 * 1e-15))
    assert res.length_bits == math.floor(n * (1 - h2(0.02 + mu)) - leak - margin)
    # and it approaches the asymptotic Shor-Preskill rate 1 - (1 + f) h(Q) as mu -> 0
    assert res.length_bits / n == pytest.approx(1 - 2.1 * h2(0.02), abs=5e-3)
    assert res.margin_bits == pytest.approx(math.log2(2 / (1e-20 * 1e-15)))


def test_lengths_are_not_positive_when_hopeless() -> None:
    assert shor_preskill_key_length(1000, 100, 0.2, 0, 1e-10, 1e-15).length_bits <= 0
    assert (
        gllp_key_length(
            10_000, 1000, 0.01, 0, mu=0.5, gain=0.01, epsilon_sec=1e-10, epsilon_cor=1e-15
        ).length_bits
        <= 0
    )


def test_bad_epsilon() -> None:
    with pytest.raises(ParameterError, match="epsilon_sec"):
        shor_preskill_key_length(1000, 100, 0.01, 0, 0.0, 1e-15)
