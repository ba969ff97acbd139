"""Finite-size numerical key length (George, Lin & Lütkenhaus 2021), collective attacks.

Of ``N`` signals, each is a test round with probability ``p_test``: on the ``m`` test rounds both
parties announce everything, giving frequencies ``F`` of the observation outcomes; the other
``n_K = N - m`` rounds generate key. With ``epsilon_sec = 2 eps_bar + eps_PA + eps_PE`` the
secret key length against collective (i.i.d.) attacks is (George et al. 2021, their main key-length
result; the same terms as the openQKDsecurity ``finite`` solver)

.. math:: \\ell = \\Big\\lfloor n_K \\big(\\min_{\\rho\\in S_\\mu} f(\\rho) - \\delta\\big)
          - \\mathrm{leak}_{EC} - \\log_2\\frac{2}{\\epsilon_{cor}}
          - 2\\log_2\\frac{2}{\\epsilon_{PA}} \\Big\\rfloor ,

* ``f(rho) = D(G(rho) || Z(G(rho)))`` per key round (it carries the sifting probability);
* ``S_mu = {rho : Tr_B rho = rho_A, ||Omega(rho) - F||_1 <= mu}``: the state's test distribution
  lies within ``mu`` of the observed one except with probability ``eps_PE``, where, by the
  method of types (at most ``(m+1)^|Sigma|`` types, each of probability ``<= exp(-m D(F||P))``)
  and Pinsker's inequality ``||F - P||_1 <= sqrt(2 D(F||P))``,

  .. math:: \\mu = \\sqrt{\\frac{2}{m}\\Big(\\ln\\frac{1}{\\epsilon_{PE}}
            + |\\Sigma| \\ln(m + 1)\\Big)} ;

* ``delta = 2 log2(d_K + 3) sqrt(log2(2/eps_bar) / n)`` is the asymptotic-equipartition
  correction (Scarani & Renner 2008), with ``d_K`` the key alphabet and ``n`` the
  number of sifted key bits (smaller than ``n_K``: a conservative choice, as in openQKDsecurity).

``min_{S_mu} f`` is bounded from below with the certified step 2 of
:mod:`~qkdstack.theory.numerical.solver` (the 1-norm ball enters its dual as ``-mu ||z||_inf``).

References
----------
I. George, J. Lin, N. Lütkenhaus, "Numerical calculations of the finite key rate for general
quantum key distribution protocols", Phys. Rev. Research 3, 013274 (2021).
V. Scarani, R. Renner, "Quantum cryptography with finite resources", Phys. Rev. Lett. 100,
200501 (2008).
M. Christandl, R. König, R. Renner, "Postselection technique for quantum channels with
applications to quantum cryptography", Phys. Rev. Lett. 102, 020504 (2009).
I. Csiszár, "The method of types", IEEE Trans. Inf. Theory 44, 2505 (1998) (type counting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.theory.numerical.protocol import KeyRateProblem, ProtocolDescription
from qkdstack.theory.numerical.solver import solve_relative_entropy

__all__ = [
    "ATTACK_MODEL",
    "ATTACK_MODELS",
    "FINITE_PROOF",
    "FiniteNumericalKeyLength",
    "aep_correction",
    "confidence_radius",
    "finite_key_length",
    "postselection_log2_factor",
]

FINITE_PROOF = (
    "numerical finite-size key length, George, Lin & Lutkenhaus, Phys. Rev. Research 3, 013274 "
    "(2021), with the certified lower bound of Winick, Lutkenhaus & Coles, Quantum 2, 77 (2018)"
)
AttackModel = Literal["collective", "coherent"]
ATTACK_MODELS: tuple[str, ...] = get_args(AttackModel)
ATTACK_MODEL = "collective (i.i.d.) attacks"
ATTACK_DESCRIPTIONS: dict[str, str] = {
    "collective": ATTACK_MODEL,
    "coherent": "coherent attacks (postselection technique, Christandl, Koenig & Renner 2009)",
}


def confidence_radius(m_test: int, n_outcomes: int, epsilon_pe: float) -> float:
    """``mu = sqrt(2 (ln(1/eps_PE) + |Sigma| ln(m + 1)) / m)`` (module docstring)."""
    return _radius(m_test, n_outcomes, -math.log2(epsilon_pe))


def _radius(m_test: int, n_outcomes: int, log2_inv_eps: float) -> float:
    if m_test < 1:
        raise ParameterError(f"Argument 'm_test' must be >= 1, not {m_test!r}.")
    ln_inv = log2_inv_eps * math.log(2.0)
    return math.sqrt(2.0 * (ln_inv + n_outcomes * math.log(m_test + 1)) / m_test)


def aep_correction(n_sifted: int, key_size: int, epsilon_bar: float) -> float:
    """``delta = 2 log2(d_K + 3) sqrt(log2(2/eps_bar) / n)`` (Scarani & Renner 2008)."""
    return _aep(n_sifted, key_size, -math.log2(epsilon_bar))


def _aep(n_sifted: int, key_size: int, log2_inv_eps: float) -> float:
    if n_sifted < 1:
        return math.inf
    return 2.0 * math.log2(key_size + 3) * math.sqrt((1.0 + log2_inv_eps) / n_sifted)


def postselection_log2_factor(n_rounds: int, dim_ab: int) -> float:
    """``log2 (N + 1)^(d^2 - 1)``: the postselection technique turns an ``eps``-secure protocol
    against collective attacks into an ``eps (N + 1)^(d^2 - 1)``-secure one against coherent
    attacks, ``d`` the dimension of one round's ``A (x) B`` (Christandl, König & Renner 2009)."""
    return (dim_ab**2 - 1) * math.log2(n_rounds + 1)


@dataclass(frozen=True)
class FiniteNumericalKeyLength:
    """The finite-size decision and the quantities behind it.

    Attributes
    ----------
    length_bits : int
        Secret bits to keep (``<= 0``: no key).
    privacy_bits_per_round_lower, privacy_bits_per_round_upper : float
        Certified lower bound and step-1 value of ``min_{S_mu} f`` (bits per key round).
    gap : float
        Their difference.
    mu : float
        Radius of the 1-norm confidence ball.
    delta : float
        The AEP correction per key round.
    margin_bits : float
        ``log2(2/eps_cor) + 2 log2(2/eps_PA)``.
    formula, attack_model : str
    """

    length_bits: int
    privacy_bits_per_round_lower: float
    privacy_bits_per_round_upper: float
    gap: float
    mu: float
    delta: float
    margin_bits: float
    formula: str = FINITE_PROOF
    attack_model: str = ATTACK_MODEL


def finite_key_length(
    protocol: ProtocolDescription,
    test_counts: npt.ArrayLike,
    *,
    n_key_rounds: int,
    n_sifted: int,
    leak_bits: float,
    epsilon_sec: float,
    epsilon_cor: float,
    obs_groups: npt.ArrayLike | None = None,
    attack: AttackModel = "collective",
) -> FiniteNumericalKeyLength:
    """Finite-size key length from the observed test counts (George et al. 2021).

    Parameters
    ----------
    protocol : ProtocolDescription
    test_counts : array_like of int
        Counts of the observation outcomes on the ``m`` test rounds: shape (n_a, n_b), or
        (n_groups,) with ``obs_groups``.
    n_key_rounds : int
        ``n_K``, the rounds not used for testing.
    n_sifted : int
        Sifted key bits among them (the ``n`` of the AEP term).
    leak_bits : float
        Bits disclosed by error correction and verification.
    epsilon_sec, epsilon_cor : float
        ``eps_sec`` is split equally into ``eps_bar, eps_bar, eps_PA, eps_PE``.
    obs_groups : array_like of int, optional
        See :meth:`KeyRateProblem.build`.
    attack : {"collective", "coherent"}
        ``"coherent"`` runs the collective analysis at ``eps / (N + 1)^(d^2 - 1)`` for each
        ``eps`` term of the secrecy, so that the postselection technique (Christandl, König &
        Renner 2009) gives ``eps_sec`` against coherent attacks; ``d = n_a d_B`` (source
        replacement) and ``N`` is every round. Expensive: with ``d = 6`` (B92) it needs of the
        order of 10^8 signals for a key.
    """
    if attack not in ATTACK_MODELS:
        raise ParameterError(
            f"Argument 'attack' must be one of {', '.join(ATTACK_MODELS)}, not {attack!r}."
        )
    for name, value in (("epsilon_sec", epsilon_sec), ("epsilon_cor", epsilon_cor)):
        if not 0.0 < value < 1.0:
            raise ParameterError(f"Argument '{name}' must be in (0, 1), not {value!r}.")
    counts = np.asarray(test_counts, dtype=np.float64)
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ParameterError("Argument 'test_counts' must be non-negative counts.")
    m = round(float(counts.sum()))
    if n_key_rounds < 1 or m < 1:
        raise ParameterError(
            f"Arguments 'n_key_rounds' and the test counts must be >= 1, not {n_key_rounds} and {m}."
        )
    log2_inv = -math.log2(epsilon_sec / 4.0)  # each of eps_bar, eps_bar, eps_PA, eps_PE
    if attack == "coherent":
        log2_inv += postselection_log2_factor(n_key_rounds + m, protocol.n_symbols * protocol.dim_b)
    mu = _radius(m, counts.size, log2_inv)
    delta = _aep(n_sifted, protocol.key_size, log2_inv)
    margin = math.log2(2.0 / epsilon_cor) + 2.0 * (1.0 + log2_inv)
    problem = KeyRateProblem.build(
        protocol,
        counts.reshape(-1 if obs_groups is not None else counts.shape) / m,
        obs_radius=mu,
        obs_groups=obs_groups,
    )
    bound = solve_relative_entropy(problem)
    lower = bound.lower_bits
    if not math.isfinite(delta) or lower - delta <= 0:
        length = 0
    else:
        length = math.floor(n_key_rounds * (lower - delta) - leak_bits - margin)
    return FiniteNumericalKeyLength(
        length_bits=max(length, 0),
        privacy_bits_per_round_lower=lower,
        privacy_bits_per_round_upper=bound.upper_bits,
        gap=bound.gap_bits,
        mu=mu,
        delta=delta,
        margin_bits=margin,
        attack_model=ATTACK_DESCRIPTIONS[attack],
    )
