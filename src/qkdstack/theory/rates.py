"""Asymptotic secret-key fractions: the proven formulas, from observed (or expected) statistics.

Every function here takes the quantities a protocol run estimates (error rates, gains, the CHSH
value) and returns the asymptotic secret-key rate they prove. Key fractions (per sifted bit) are
dimensionless; ``*_rate_per_pulse`` style results carry the sifting factor and the gain and are in
bits per pulse. A value ``<= 0`` means that no secret key can be extracted; it is returned
unclipped so that thresholds can be located.

Notation: ``h`` is the binary entropy, ``f`` (``ec_efficiency``) the error-correction
inefficiency (``leak_EC = f n h(e)``), ``q`` the sifting factor (1/2 for BB84 with symmetric bases).

References
----------
P. W. Shor, J. Preskill, "Simple proof of security of the BB84 quantum key distribution
protocol", Phys. Rev. Lett. 85, 441 (2000).
H.-K. Lo, "Proof of unconditional security of six-state quantum key distribution scheme",
Quantum Inf. Comput. 1, 81 (2001).
D. Gottesman, H.-K. Lo, N. Lütkenhaus, J. Preskill (GLLP), "Security of quantum key distribution
with imperfect devices", Quantum Inf. Comput. 4, 325 (2004).
H.-K. Lo, X. Ma, K. Chen, "Decoy state quantum key distribution", Phys. Rev. Lett. 94, 230504
(2005).
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key distribution",
Phys. Rev. A 72, 012326 (2005), Eq. (1) (GLLP rate), Eqs. (34) and (37) (vacuum + weak decoy).
X. Ma, C.-H. F. Fung, H.-K. Lo, "Quantum key distribution with entangled photon sources",
Phys. Rev. A 76, 012307 (2007) (BBM92 key rate).
A. Acín, N. Brunner, N. Gisin, S. Massar, S. Pironio, V. Scarani, "Device-independent security of
quantum cryptography against collective attacks", Phys. Rev. Lett. 98, 230501 (2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qkdstack.errors import ParameterError
from qkdstack.theory.entropy import binary_entropy

__all__ = [
    "DecoyEstimate",
    "bbm92_rate",
    "decoy_rate",
    "device_independent_rate",
    "gllp_rate",
    "holevo_bound_chsh",
    "multiphoton_probability",
    "shor_preskill_rate",
    "six_state_rate",
    "vacuum_weak_decoy",
]


def _h(p: float) -> float:
    return float(binary_entropy(p))


def _check_prob(name: str, value: float, upper: float = 1.0) -> None:
    if not (0.0 <= value <= upper) or math.isnan(value):
        raise ParameterError(f"Argument '{name}' must be in [0, {upper:g}], not {value!r}.")


def _check_f(ec_efficiency: float) -> None:
    if not ec_efficiency >= 1.0:
        raise ParameterError(f"Argument 'ec_efficiency' must be >= 1, not {ec_efficiency!r}.")


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0 or not math.isfinite(value):
        raise ParameterError(f"Argument '{name}' must be > 0, not {value!r}.")


def shor_preskill_rate(
    qber_bit: float, qber_phase: float | None = None, ec_efficiency: float = 1.0
) -> float:
    """Key fraction of BB84 with single photons: ``1 - f h(e_bit) - h(e_phase)``.

    Parameters
    ----------
    qber_bit : float
        Bit error rate of the key basis, in [0, 1].
    qber_phase : float, optional
        Phase error rate (the error rate of the other basis); defaults to ``qber_bit``.
    ec_efficiency : float
        Error-correction inefficiency ``f >= 1``.

    Returns
    -------
    float
        Secret bits per sifted bit; ``<= 0`` means no key. With ``f = 1`` and equal error rates it
        vanishes at ``e = 11.0%``.

    References
    ----------
    Shor and Preskill, PRL 85, 441 (2000) (rate ``1 - 2 h(e)``); the ``f`` factor as in
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eq. (1) restricted to single photons.
    """
    _check_prob("qber_bit", qber_bit)
    phase = qber_bit if qber_phase is None else qber_phase
    _check_prob("qber_phase", phase)
    _check_f(ec_efficiency)
    return 1.0 - ec_efficiency * _h(qber_bit) - _h(min(phase, 0.5))


def six_state_rate(qber: float, ec_efficiency: float = 1.0) -> float:
    """Key fraction of the six-state protocol with one-way post-processing.

    With a depolarising error pattern of bit error ``Q`` the Pauli error probabilities are
    ``(1 - 3Q/2, Q/2, Q/2, Q/2)``; the bit and phase errors are correlated, so privacy
    amplification costs only ``H(pauli) - h(Q)``. The key fraction is
    ``1 - f h(Q) - [H(1-3Q/2, Q/2, Q/2, Q/2) - h(Q)]``, which for ``f = 1`` is
    ``1 + (1 - 3Q/2) log2(1 - 3Q/2) + (3Q/2) log2(Q/2)`` and vanishes at ``Q = 12.62%``.

    Parameters
    ----------
    qber : float
        Bit error rate in [0, 2/3].
    ec_efficiency : float
        Error-correction inefficiency ``f >= 1``.

    Returns
    -------
    float
        Secret bits per sifted bit; ``<= 0`` means no key.

    References
    ----------
    H.-K. Lo, Quantum Inf. Comput. 1, 81 (2001) (one-way six-state key rate and its 12.7% threshold).
    """
    _check_prob("qber", qber, 2.0 / 3.0)
    _check_f(ec_efficiency)
    terms = [1.0 - 1.5 * qber] + [qber / 2.0] * 3
    pauli_entropy = -sum(p * math.log2(p) for p in terms if p > 0.0)
    return 1.0 - ec_efficiency * _h(qber) - (pauli_entropy - _h(qber))


def multiphoton_probability(mu: float) -> float:
    """Probability that a Poisson pulse of mean ``mu`` holds two or more photons.

    ``P_multi = 1 - (1 + mu) exp(-mu)``, the Poisson tail GLLP (QIC 4, 325, 2004) and Lo, Ma,
    Chen (PRL 94, 230504, 2005) assume Eve may turn entirely into detections.
    """
    _check_positive("mu", mu)
    return float(-math.expm1(-mu) - mu * math.exp(-mu))


def decoy_rate(
    gain: float,
    qber: float,
    single_photon_gain: float,
    single_photon_error: float,
    ec_efficiency: float = 1.0,
    sifting_factor: float = 0.5,
) -> float:
    """GLLP key rate per pulse from the signal statistics and the single-photon estimates.

    ``R = q [Q_1 (1 - h(e_1)) - f Q_mu h(E_mu)]``. With the exact ``Q_1, e_1`` (the infinite-decoy
    limit of Lo-Ma-Chen) this is the asymptotic decoy-state rate.

    Parameters
    ----------
    gain : float
        Signal gain ``Q_mu`` (detections per signal pulse).
    qber : float
        Signal error rate ``E_mu``.
    single_photon_gain : float
        ``Q_1 = Y_1 mu exp(-mu)`` (or its lower bound).
    single_photon_error : float
        ``e_1`` (or its upper bound); values above 1/2 are treated as 1/2.
    ec_efficiency, sifting_factor : float
        ``f >= 1`` and ``q`` in (0, 1].

    Returns
    -------
    float
        Secret bits per pulse; ``<= 0`` means no key.

    References
    ----------
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eq. (1); GLLP, QIC 4, 325 (2004);
    Lo, Ma, Chen, PRL 94, 230504 (2005).
    """
    _check_prob("gain", gain)
    _check_prob("qber", qber)
    _check_prob("single_photon_gain", max(single_photon_gain, 0.0))
    _check_f(ec_efficiency)
    if not 0.0 < sifting_factor <= 1.0:
        raise ParameterError(
            f"Argument 'sifting_factor' must be in (0, 1], not {sifting_factor!r}."
        )
    e1 = min(max(single_photon_error, 0.0), 0.5)
    q1 = max(single_photon_gain, 0.0)
    return sifting_factor * (q1 * (1.0 - _h(e1)) - ec_efficiency * gain * _h(qber))


def gllp_rate(
    gain: float,
    qber: float,
    mu: float,
    ec_efficiency: float = 1.0,
    sifting_factor: float = 0.5,
) -> float:
    """GLLP key rate per pulse for weak coherent pulses without decoy states.

    Without decoys, Eve may be assumed to block single photons first: the single-photon part of
    the detections is at least ``Omega = 1 - Delta`` with ``Delta = P_multi(mu) / Q_mu``, and all
    errors may sit in it, ``e_1 <= E_mu / Omega``. Hence
    ``R = q Q_mu [Omega (1 - h(E_mu / Omega)) - f h(E_mu)]``.

    Parameters
    ----------
    gain : float
        Observed signal gain ``Q_mu``.
    qber : float
        Observed error rate ``E_mu``.
    mu : float
        Mean photon number of the (Poisson) pulses.
    ec_efficiency, sifting_factor : float
        ``f >= 1`` and ``q``.

    Returns
    -------
    float
        Secret bits per pulse; ``<= 0`` means no key (in particular when ``Q_mu <= P_multi``).

    References
    ----------
    GLLP, Quantum Inf. Comput. 4, 325 (2004) (the key rate with the multiphoton fraction
    ``Delta``); Lo, Ma, Chen, PRL 94, 230504 (2005) (``Delta = P_multi / Q_mu``, worst case);
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eq. (1).
    """
    _check_prob("gain", gain)
    _check_prob("qber", qber)
    _check_positive("mu", mu)
    _check_f(ec_efficiency)
    if gain <= 0.0:
        return 0.0
    omega = 1.0 - multiphoton_probability(mu) / gain
    if omega <= 0.0:
        # Every detection may come from a multiphoton pulse: nothing is secret.
        return sifting_factor * (omega - ec_efficiency * _h(qber)) * gain
    e1 = min(qber / omega, 0.5)
    return sifting_factor * gain * (omega * (1.0 - _h(e1)) - ec_efficiency * _h(qber))


@dataclass(frozen=True)
class DecoyEstimate:
    """Single-photon estimates of the vacuum + weak decoy method, and the key rate they give.

    Attributes
    ----------
    background_yield : float
        ``Y_0``, the vacuum yield (gain of the vacuum decoy).
    single_photon_yield_lower : float
        ``Y_1^L`` (MQZL Eq. (34)).
    single_photon_gain_lower : float
        ``Q_1^L = Y_1^L mu exp(-mu)``.
    single_photon_error_upper : float
        ``e_1^U`` (MQZL Eq. (37)), clipped to [0, 1/2].
    rate_bits_per_pulse : float
        GLLP rate with these estimates (MQZL Eq. (1)); ``<= 0`` means no key.
    """

    background_yield: float
    single_photon_yield_lower: float
    single_photon_gain_lower: float
    single_photon_error_upper: float
    rate_bits_per_pulse: float


def vacuum_weak_decoy(
    gain_signal: float,
    qber_signal: float,
    gain_decoy: float,
    qber_decoy: float,
    gain_vacuum: float,
    mu: float,
    nu: float,
    ec_efficiency: float = 1.0,
    sifting_factor: float = 0.5,
    background_error: float = 0.5,
) -> DecoyEstimate:
    """Vacuum + weak decoy estimates of ``Y_1`` and ``e_1`` and the resulting key rate.

    ``Y_1^L = mu / (mu nu - nu^2) [Q_nu e^nu - Q_mu e^mu nu^2/mu^2 - (mu^2 - nu^2)/mu^2 Y_0]``
    (Eq. (34)), ``Q_1^L = Y_1^L mu e^-mu``, ``e_1^U = (E_nu Q_nu e^nu - e_0 Y_0) /
    (Y_1^L nu)`` (Eq. (37)), with ``Y_0 = Q_vacuum``; valid for ``0 < nu < mu`` and
    ``mu nu - nu^2 > 0``.

    Parameters
    ----------
    gain_signal, qber_signal : float
        Observed ``Q_mu`` and ``E_mu`` of the signal pulses.
    gain_decoy, qber_decoy : float
        Observed ``Q_nu`` and ``E_nu`` of the weak decoy.
    gain_vacuum : float
        Observed gain of the vacuum decoy, the background yield ``Y_0``.
    mu, nu : float
        Signal and weak-decoy mean photon numbers, ``0 < nu < mu``.
    ec_efficiency, sifting_factor : float
        ``f >= 1`` and ``q``.
    background_error : float
        ``e_0``, the error rate of background counts (1/2 for random dark counts).

    Returns
    -------
    DecoyEstimate

    References
    ----------
    Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eqs. (34) and (37) (the bounds) and Eq. (1) (rate).
    """
    for name, value in (
        ("gain_signal", gain_signal),
        ("qber_signal", qber_signal),
        ("gain_decoy", gain_decoy),
        ("qber_decoy", qber_decoy),
        ("gain_vacuum", gain_vacuum),
        ("background_error", background_error),
    ):
        _check_prob(name, value)
    _check_positive("mu", mu)
    _check_positive("nu", nu)
    if not nu < mu:
        raise ParameterError(f"Argument 'nu' must be < mu = {mu!r}, not {nu!r}.")
    y0 = gain_vacuum
    y1 = (mu / (mu * nu - nu * nu)) * (
        gain_decoy * math.exp(nu)
        - gain_signal * math.exp(mu) * nu * nu / (mu * mu)
        - (mu * mu - nu * nu) / (mu * mu) * y0
    )
    y1 = max(y1, 0.0)
    q1 = y1 * mu * math.exp(-mu)
    if y1 > 0.0:
        e1 = (qber_decoy * gain_decoy * math.exp(nu) - background_error * y0) / (y1 * nu)
        e1 = min(max(e1, 0.0), 0.5)
    else:
        e1 = 0.5
    rate = decoy_rate(gain_signal, qber_signal, q1, e1, ec_efficiency, sifting_factor)
    return DecoyEstimate(y0, y1, q1, e1, rate)


def bbm92_rate(qber: float, ec_efficiency: float = 1.0) -> float:
    """Key fraction of BBM92 (entanglement-based BB84): ``1 - f h(E) - h(E)``.

    The squashing of the two-detector measurement makes the entangled source equivalent to BB84
    with an untrusted source, so the phase error equals the bit error of the other basis.

    Parameters
    ----------
    qber : float
        Observed error rate ``E_lambda`` in [0, 1].
    ec_efficiency : float
        ``f >= 1``.

    Returns
    -------
    float
        Secret bits per sifted coincidence; ``<= 0`` means no key (``E >= 11.0%`` for ``f = 1``).

    References
    ----------
    Ma, Fung, Lo, PRA 76, 012307 (2007) (key rate ``R = q Q_lambda [1 - f h(E) - h(E)]``);
    Bennett, Brassard, Mermin, PRL 68, 557 (1992).
    """
    return shor_preskill_rate(qber, qber, ec_efficiency)


def holevo_bound_chsh(chsh_value: float) -> float:
    """Eve's maximal Holevo information on Alice's key bit given the CHSH value ``S``.

    ``chi(B_1:E) <= h((1 + sqrt((S/2)^2 - 1)) / 2)`` for ``2 <= S <= 2 sqrt(2)``; equals 1 for
    ``S <= 2`` (no Bell violation certifies nothing).

    References
    ----------
    Acín et al., PRL 98, 230501 (2007) (the bound on Eve's information for collective attacks);
    Pironio et al., New J. Phys. 11, 045021 (2009), Sec. 2.
    """
    if not 0.0 <= chsh_value <= 2.0 * math.sqrt(2.0) + 1e-12:
        raise ParameterError(
            f"Argument 'chsh_value' must be in [0, 2*sqrt(2)], not {chsh_value!r}."
        )
    if chsh_value <= 2.0:
        return 1.0
    s = min(chsh_value, 2.0 * math.sqrt(2.0))
    return _h((1.0 + math.sqrt(max((s / 2.0) ** 2 - 1.0, 0.0))) / 2.0)


def device_independent_rate(chsh_value: float, qber: float, ec_efficiency: float = 1.0) -> float:
    """Device-independent key fraction from the CHSH value: ``1 - f h(Q) - chi(S)``.

    For a depolarised maximally entangled pair, ``S = 2 sqrt(2) (1 - 2Q)``, and the fraction
    vanishes at ``Q = 7.1%``.

    Parameters
    ----------
    chsh_value : float
        The CHSH value ``S`` in [0, 2 sqrt(2)].
    qber : float
        Error rate of the key measurements ``(A_0, B_0)``.
    ec_efficiency : float
        ``f >= 1``.

    Returns
    -------
    float
        Secret bits per key-measurement round; ``<= 0`` means no key.

    References
    ----------
    Acín, Brunner, Gisin, Massar, Pironio, Scarani, PRL 98, 230501 (2007) (key rate
    ``r >= 1 - h(Q) - h((1 + sqrt((S/2)^2 - 1))/2)``).
    """
    _check_prob("qber", qber)
    _check_f(ec_efficiency)
    return 1.0 - ec_efficiency * _h(qber) - holevo_bound_chsh(chsh_value)
