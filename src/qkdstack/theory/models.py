"""Expected detection statistics of the link models the papers use to draw their key-rate curves.

These are the *expected* gains and error rates of a given physical link: they feed the proven
formulas of :mod:`qkdstack.theory.rates` to draw rate-versus-distance curves. A protocol run uses
its *observed* statistics instead.

Notation (Ma, Qi, Zhao, Lo 2005, Sec. II): ``eta`` is the overall transmittance (channel times
Bob's detection efficiency), ``Y_0`` the background yield (dark counts of both detectors,
``Y_0 = 2 p_dc``), ``e_d`` the misalignment error, ``e_0 = 1/2`` the error of a background count.
An ``i``-photon pulse is detected with ``Y_i = Y_0 + eta_i - Y_0 eta_i``, ``eta_i = 1 - (1 -
eta)^i``, and errs with ``e_i Y_i = e_0 Y_0 + e_d eta_i``.

References
----------
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Sec. II (channel model:
``Y_i``, ``e_i``, ``Q_mu``, ``E_mu``).
X. Ma, C.-H. F. Fung, H.-K. Lo, Phys. Rev. A 76, 012307 (2007), Eq. (9) (thermal
entangled-pair source: gain ``Q_lambda``) and the error-rate expression ``E_lambda Q_lambda`` that
follows it.
A. Acín et al., Phys. Rev. Lett. 98, 230501 (2007) (CHSH value of a Werner state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "PoissonStatistics",
    "chsh_statistics",
    "poisson_statistics",
    "single_photon_statistics",
    "thermal_pair_statistics",
]

BACKGROUND_ERROR = 0.5
"""``e_0``: a background (dark) count is a random bit."""


@dataclass(frozen=True)
class PoissonStatistics:
    """Expected statistics of a phase-randomised coherent source of mean ``mu``.

    Attributes
    ----------
    gain, qber : float
        ``Q_mu`` and ``E_mu``.
    single_photon_gain, single_photon_error : float
        ``Q_1 = Y_1 mu exp(-mu)`` and ``e_1``.
    """

    gain: float
    qber: float
    single_photon_gain: float
    single_photon_error: float


def single_photon_statistics(
    eta: float, background_yield: float, misalignment_error: float
) -> tuple[float, float]:
    """``(Y_1, e_1)`` of a single photon: ``Y_1 = Y_0 + eta - Y_0 eta``, ``e_1 Y_1 = e_0 Y_0 + e_d eta``.

    References
    ----------
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Sec. II (``Y_i`` and ``e_i`` with ``i = 1``).
    """
    y1 = background_yield + eta - background_yield * eta
    e1 = (BACKGROUND_ERROR * background_yield + misalignment_error * eta) / y1 if y1 > 0 else 0.5
    return y1, e1


def poisson_statistics(
    mu: float, eta: float, background_yield: float, misalignment_error: float
) -> PoissonStatistics:
    """Expected ``Q_mu, E_mu, Q_1, e_1`` of a Poisson source of mean ``mu``.

    ``Q_mu = 1 - (1 - Y_0) exp(-eta mu)``; ``E_mu Q_mu = e_0 Y_0 + e_d (1 - exp(-eta mu))``.

    References
    ----------
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Sec. II (sums of ``Y_i`` and ``e_i Y_i`` over the
    Poisson distribution).
    """
    clicks = -math.expm1(-eta * mu)
    gain = 1.0 - (1.0 - background_yield) * math.exp(-eta * mu)
    qber = (
        (BACKGROUND_ERROR * background_yield + misalignment_error * clicks) / gain if gain else 0.5
    )
    y1, e1 = single_photon_statistics(eta, background_yield, misalignment_error)
    return PoissonStatistics(gain, qber, y1 * mu * math.exp(-mu), e1)


def thermal_pair_statistics(
    mu_pair: float,
    eta_alice: float,
    eta_bob: float,
    background_alice: float,
    background_bob: float,
    misalignment_error: float,
) -> tuple[float, float]:
    """Coincidence gain and error rate ``(Q_lambda, E_lambda)`` of a thermal entangled-pair source.

    With ``lambda = mu_pair / 2`` (half the mean number of pairs per pulse, ``mu_pair`` as in
    :class:`~qkdstack.params.LinkParams`),

    ``Q = 1 - (1 - Y_0A)/(1 + eta_A lambda)^2 - (1 - Y_0B)/(1 + eta_B lambda)^2
    + (1 - Y_0A)(1 - Y_0B)/(1 + eta_A lambda + eta_B lambda - eta_A eta_B lambda)^2``,

    ``E Q = e_0 Q - 2 (e_0 - e_d) eta_A eta_B lambda (1 + lambda) /
    [(1 + eta_A lambda)(1 + eta_B lambda)(1 + eta_A lambda + eta_B lambda - eta_A eta_B lambda)]``.

    References
    ----------
    Ma, Fung, Lo, PRA 76, 012307 (2007), Eq. (9) (gain) and the ``E_lambda Q_lambda`` expression
    after it; ``lambda`` is half the mean pair number.
    """
    lam = mu_pair / 2.0
    a = 1.0 + eta_alice * lam
    b = 1.0 + eta_bob * lam
    ab = 1.0 + eta_alice * lam + eta_bob * lam - eta_alice * eta_bob * lam
    gain = (
        1.0
        - (1.0 - background_alice) / a**2
        - (1.0 - background_bob) / b**2
        + (1.0 - background_alice) * (1.0 - background_bob) / ab**2
    )
    err = BACKGROUND_ERROR * gain - 2.0 * (BACKGROUND_ERROR - misalignment_error) * (
        eta_alice * eta_bob * lam * (1.0 + lam)
    ) / (a * b * ab)
    return gain, (err / gain if gain > 0 else 0.5)


def chsh_statistics(eta_alice: float, eta_bob: float, visibility: float) -> tuple[float, float]:
    """``(S, Q)`` of a Werner pair measured with lossy detectors, no-clicks counted as +1.

    With visibility ``V`` the quantum correlators are ``V/sqrt(2)`` (CHSH settings) and ``V`` (key
    settings); a lost photon gives the deterministic outcome +1, so each correlator becomes
    ``eta_A eta_B E + (1 - eta_A)(1 - eta_B)`` (marginals of a maximally entangled state vanish).
    Hence ``S = 2 sqrt(2) V eta_A eta_B + 2 (1 - eta_A)(1 - eta_B)`` and
    ``Q = (1 - eta_A eta_B V - (1 - eta_A)(1 - eta_B)) / 2``.

    References
    ----------
    Acín et al., PRL 98, 230501 (2007) (``S = 2 sqrt(2) (1 - 2Q)`` for the Werner state);
    Pironio et al., New J. Phys. 11, 045021 (2009), Sec. 6 (losses with deterministic outcomes).
    """
    both = eta_alice * eta_bob
    neither = (1.0 - eta_alice) * (1.0 - eta_bob)
    s = 2.0 * math.sqrt(2.0) * visibility * both + 2.0 * neither
    q = (1.0 - both * visibility - neither) / 2.0
    return s, q
