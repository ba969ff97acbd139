"""Numerical key rates against independent analytical formulas and known thresholds.

The reference formulas are written here from the papers, not taken from qkdstack:
BB84 (Shor & Preskill 2000): ``1 - 2 h(Q)`` per sifted bit; six-state (Lo 2001):
``1 + (1 - 3Q/2) log2(1 - 3Q/2) + (3Q/2) log2(Q/2)`` per sifted bit, with ``Q = p/2`` for the
depolarising parameter ``p``. B92 with loss: unambiguous state discrimination of ``|0>`` and
``|+>`` succeeds with probability ``1 - |<0|+>| = 1 - 1/sqrt(2)`` (Ivanovic-Dieks-Peres), so for
``eta <= 1 - 1/sqrt(2)`` Eve's intercept-resend reproduces every statistic and no key exists.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

import qkdstack.theory.numerical as numerical
from qkdstack.errors import ParameterError
from qkdstack.theory.numerical import (
    b92,
    bb84,
    bb84_efficiency_mismatch,
    depolarizing_statistics,
    numerical_key_rate,
    six_state,
)

from helpers import h2


def _lo2001(q: float) -> float:
    a = 1 - 1.5 * q
    return 1 + a * math.log2(a) + (1.5 * q * math.log2(q / 2) if q > 0 else 0.0)


def _raw_rate(r: numerical.NumericalRate) -> float:
    return r.privacy_bits_lower - r.leak_ec_bits


@pytest.mark.parametrize("p", [0.0, 0.04, 0.1, 0.2])
def test_bb84_reproduces_shor_preskill(p: float) -> None:
    proto = bb84()
    r = numerical_key_rate(proto, depolarizing_statistics(proto, p))
    sift = 0.5**2 + 0.5**2
    assert _raw_rate(r) == pytest.approx(sift * (1 - 2 * h2(p / 2)), abs=1e-6)
    assert r.privacy_bits_lower <= r.privacy_bits_upper + 1e-12
    assert r.gap < 1e-6
    assert r.sifting_probability == pytest.approx(sift, abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.06, 0.16, 0.24])
def test_six_state_reproduces_lo2001(p: float) -> None:
    proto = six_state()
    r = numerical_key_rate(proto, depolarizing_statistics(proto, p))
    assert _raw_rate(r) == pytest.approx(_lo2001(p / 2) / 3, abs=1e-6)
    assert r.privacy_bits_lower <= r.privacy_bits_upper + 1e-12
    assert r.gap < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("p", np.linspace(0.0, 0.25, 26).tolist())
def test_bb84_and_six_state_sweep(p: float) -> None:
    for proto, ref in ((bb84(), 0.5 * (1 - 2 * h2(p / 2))), (six_state(), _lo2001(p / 2) / 3)):
        r = numerical_key_rate(proto, depolarizing_statistics(proto, p))
        assert _raw_rate(r) == pytest.approx(ref, abs=1e-6)
        assert r.gap < 1e-6


def test_b92_positive_at_six_percent_and_zero_above_ten() -> None:
    proto = b92()
    at6 = numerical_key_rate(proto, depolarizing_statistics(proto, 0.06))
    assert at6.rate_bits_per_signal > 1e-3
    assert at6.gap < 1e-6
    for p in (0.1, 0.12):
        r = numerical_key_rate(proto, depolarizing_statistics(proto, p))
        assert r.rate_bits_per_signal == 0.0
        assert r.privacy_bits_upper - r.leak_ec_bits < 0.0


def test_b92_noiseless_lossless_keeps_every_conclusive_bit() -> None:
    # P(conclusive) = 2 * (1/2 * 1/2 * 1/2) = 1/4, and without noise Eve knows nothing.
    proto = b92()
    r = numerical_key_rate(proto, depolarizing_statistics(proto, 0.0))
    assert r.rate_bits_per_signal == pytest.approx(0.25, abs=1e-6)
    assert r.leak_ec_bits == pytest.approx(0.0, abs=1e-12)


def test_b92_loss_follows_unambiguous_state_discrimination() -> None:
    proto = b92()
    usd = 1 - 1 / math.sqrt(2)
    below = numerical_key_rate(proto, depolarizing_statistics(proto, 0.0, usd - 0.01))
    at = numerical_key_rate(proto, depolarizing_statistics(proto, 0.0, usd))
    assert below.rate_bits_per_signal < 1e-7
    assert at.rate_bits_per_signal < 1e-7
    rates = [
        numerical_key_rate(proto, depolarizing_statistics(proto, 0.0, eta)).rate_bits_per_signal
        for eta in (usd + 0.02, 0.5, 0.8)
    ]
    assert rates[0] > 0.0
    assert rates[0] < rates[1] < rates[2]


def test_efficiency_mismatch_equal_efficiencies_is_scaled_bb84() -> None:
    eta_d, p = 0.7, 0.05
    proto = bb84_efficiency_mismatch(eta_d, eta_d)
    r = numerical_key_rate(proto, depolarizing_statistics(proto, p))
    assert _raw_rate(r) == pytest.approx(eta_d * 0.5 * (1 - 2 * h2(p / 2)), abs=1e-6)


def test_efficiency_mismatch_costs_key() -> None:
    p = 0.05
    same = bb84_efficiency_mismatch(0.8, 0.8)
    equal = numerical_key_rate(same, depolarizing_statistics(same, p))
    proto = bb84_efficiency_mismatch(1.0, 0.6)
    mismatch = numerical_key_rate(proto, depolarizing_statistics(proto, p))
    assert mismatch.gap < 1e-6
    # Same mean efficiency, but a mismatch lets Eve bias the clicks: less key per click.
    per_click_equal = equal.rate_bits_per_signal / 0.8
    per_click_mismatch = mismatch.rate_bits_per_signal / 0.8
    assert 0 < per_click_mismatch < per_click_equal


def test_ec_efficiency_scales_the_leak() -> None:
    proto = bb84()
    tab = depolarizing_statistics(proto, 0.06)
    r1 = numerical_key_rate(proto, tab)
    r2 = numerical_key_rate(proto, tab, ec_efficiency=1.2)
    assert r2.leak_ec_bits == pytest.approx(1.2 * r1.leak_ec_bits, rel=1e-12)
    assert r1.leak_ec_bits == pytest.approx(0.5 * h2(0.03), abs=1e-12)


def test_bad_inputs_raise_parameter_error() -> None:
    proto = b92()
    with pytest.raises(ParameterError, match="noise"):
        depolarizing_statistics(proto, 1.5)
    with pytest.raises(ParameterError, match="transmittance"):
        depolarizing_statistics(proto, 0.0, 0.0)
    with pytest.raises(ParameterError, match="ec_efficiency"):
        numerical_key_rate(proto, depolarizing_statistics(proto, 0.0), ec_efficiency=0.5)
    with pytest.raises(ParameterError, match="table"):
        numerical_key_rate(proto, np.ones((2, 3)))
    # A table no quantum state produces: Alice's |0> always gives Bob |1> and |->... and |0>.
    bad = np.zeros((2, 5))
    bad[0, 0], bad[1, 1] = 0.5, 0.5
    with pytest.raises(ParameterError, match="no quantum state"):
        numerical_key_rate(proto, bad)


def test_public_names_and_leaf() -> None:
    for name in numerical.__all__:
        assert hasattr(numerical, name)
    root = Path(numerical.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(
                    ("qkdstack.link", "qkdstack.processing", "qkdstack.kms", "qkdstack.cli")
                ), f"{path.name} imports {node.module}"


def _independent_b92_objective(noise: float, eta: float) -> float:
    """``D(G(rho) || Z(G(rho)))`` of the honest state, written with an explicit key register R
    (Winick et al.'s form, no compression, no facial reduction), by eigenvalues. Bits."""
    s = 1 / math.sqrt(2)
    kets = [np.array([1.0, 0, 0]), np.array([s, s, 0])]
    psi = sum(np.kron(np.eye(2)[a], kets[a]) * s for a in range(2))
    rho = np.outer(psi, psi)

    def channel(m: np.ndarray) -> np.ndarray:  # on Bob's 3 levels
        qubit = np.diag([1.0, 1.0, 0.0])
        tr = np.trace(m)
        return eta * ((1 - noise) * m + noise * tr * qubit / 2) + (1 - eta) * tr * np.diag(
            [0, 0, 1.0]
        )

    blocks = rho.reshape(2, 3, 2, 3)
    out = np.zeros_like(rho)
    for i in range(2):
        for j in range(2):
            out.reshape(2, 3, 2, 3)[i, :, j, :] = channel(blocks[i, :, j, :])
    minus = np.array([s, -s, 0])
    conclusive = 0.5 * np.outer([0, 1.0, 0], [0, 1.0, 0]) + 0.5 * np.outer(minus, minus)
    w, v = np.linalg.eigh(conclusive)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    kraus = sum(
        np.kron(np.kron(np.eye(2)[:, [a]], np.outer(np.eye(2)[a], np.eye(2)[a])), root)
        for a in range(2)
    )
    g = kraus @ out @ kraus.T
    z = sum(
        np.kron(np.outer(np.eye(2)[k], np.eye(2)[k]), np.eye(6)) @ g
        @ np.kron(np.outer(np.eye(2)[k], np.eye(2)[k]), np.eye(6))
        for k in range(2)
    )  # fmt: skip

    def xlogx(m: np.ndarray) -> float:
        ev = np.linalg.eigvalsh(m)
        ev = ev[ev > 1e-15]
        return float(np.sum(ev * np.log2(ev)))

    return xlogx(g) - xlogx(z)


@pytest.mark.parametrize(("noise", "eta"), [(0.04, 1.0), (0.02, 0.7)])
def test_b92_bounds_lie_below_the_honest_state(noise: float, eta: float) -> None:
    # The channel's own state is feasible, so the minimum (and its certified bound) is below it.
    proto = b92()
    r = numerical_key_rate(proto, depolarizing_statistics(proto, noise, eta))
    honest = _independent_b92_objective(noise, eta)
    assert r.privacy_bits_lower <= honest + 1e-9
    assert r.privacy_bits_upper <= honest + 1e-6
    assert honest > 0.1  # the honest state itself keeps a secret bit on most conclusive rounds
