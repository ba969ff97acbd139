"""How many secret bits a finished block may keep: the length rule of each security proof.

Every rule takes only what the parties observed (key length ``n``, sample size ``k``, sampled error
fraction, detections per pulse, disclosed bits) and returns a :class:`KeyLength`. A length that is
not positive means no key (the pipeline aborts with :class:`~qkdstack.errors.InsufficientKey`).

Single photons, Shor-Preskill with the finite-sample phase-error bound of Tomamichel et al. 2012::

    l = floor( n (1 - h(e_U)) - leak - log2( 2 / (eps_sec^2 eps_cor) ) )

where ``e_U = e_obs + mu`` (Serfling, :func:`~qkdstack.processing.estimation.sampling_deviation`)
bounds the phase-error rate of the key bits (for BB84 with symmetric bases the phase-error rate of
the key equals the bit-error rate of a random sample; Shor and Preskill 2000), and ``leak`` is every
key-dependent bit disclosed after sifting (error correction and verification), as counted by the
channel.

Attenuated laser without decoys, GLLP: only the single-photon part of the detections is secure.
Assuming every multi-photon pulse is detected, the multi-photon fraction of the detections is at most
``Delta = P(N >= 2) / Q_mu`` with ``P(N >= 2) = 1 - (1 + mu) e^-mu`` and ``Q_mu`` the observed gain,
and (GLLP 2004, Eq. (10); Lo 2005)::

    l = floor( n (1 - Delta) (1 - h(e_U / (1 - Delta))) - leak - log2( 2 / (eps_sec^2 eps_cor) ) )

References
----------
P. W. Shor and J. Preskill, "Simple proof of security of the BB84 quantum key distribution
protocol", Phys. Rev. Lett. 85, 441 (2000).
D. Gottesman, H.-K. Lo, N. Lütkenhaus, J. Preskill, "Security of quantum key distribution with
imperfect devices", Quantum Inf. Comput. 4, 325 (2004), Eq. (10).
M. Tomamichel, C. C. W. Lim, N. Gisin, R. Renner, Nat. Commun. 3, 634 (2012), Eqs. (1)-(2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qkdstack.errors import ParameterError
from qkdstack.processing.estimation import sampling_deviation
from qkdstack.theory.entropy import binary_entropy

__all__ = [
    "BB84_QBER_LIMIT",
    "KeyLength",
    "gllp_key_length",
    "shor_preskill_key_length",
]

BB84_QBER_LIMIT = 0.110028
"""Shor-Preskill threshold: the root of ``1 - 2 h(e) = 0``; above it no BB84 key is possible."""


@dataclass(frozen=True)
class KeyLength:
    """The outcome of a length rule.

    Attributes
    ----------
    length_bits : int
        Secret bits to keep (``<= 0`` means no key).
    formula : str
        The rule's name and citation.
    phase_error_upper : float
        Upper bound on the phase-error rate used (of the single-photon part for GLLP).
    single_photon_fraction : float
        Lower bound on the fraction of key bits from single photons (1 for a single-photon source).
    margin_bits : float
        The security-parameter term ``log2(2 / (eps_sec^2 eps_cor))``.
    """

    length_bits: int
    formula: str
    phase_error_upper: float
    single_photon_fraction: float
    margin_bits: float


def _margin_bits(epsilon_sec: float, epsilon_cor: float) -> float:
    for name, value in (("epsilon_sec", epsilon_sec), ("epsilon_cor", epsilon_cor)):
        if not 0.0 < value < 1.0:
            raise ParameterError(f"Argument '{name}' must be in (0, 1), not {value!r}.")
    return math.log2(2.0 / (epsilon_sec**2 * epsilon_cor))


def shor_preskill_key_length(
    n_key: int,
    k_sample: int,
    sample_error_fraction: float,
    leak_bits: int,
    epsilon_sec: float,
    epsilon_cor: float,
) -> KeyLength:
    """Key length for single photons (Shor-Preskill 2000 with Tomamichel et al. 2012, Eq. 1-2)."""
    margin = _margin_bits(epsilon_sec, epsilon_cor)
    e_upper = sample_error_fraction + sampling_deviation(n_key, k_sample, epsilon_sec / 2)
    if e_upper >= 0.5:
        length = 0
    else:
        length = math.floor(n_key * (1.0 - float(binary_entropy(e_upper))) - leak_bits - margin)
    return KeyLength(
        length_bits=length,
        formula="Shor-Preskill, PRL 85, 441 (2000), with Tomamichel et al., Nat. Commun. 3, 634 (2012), Eq. (2)",
        phase_error_upper=e_upper,
        single_photon_fraction=1.0,
        margin_bits=margin,
    )


def gllp_key_length(
    n_key: int,
    k_sample: int,
    sample_error_fraction: float,
    leak_bits: int,
    mu: float,
    gain: float,
    epsilon_sec: float,
    epsilon_cor: float,
) -> KeyLength:
    """Key length for an attenuated laser without decoys (GLLP 2004, Eq. 10)."""
    if mu <= 0:
        raise ParameterError(f"Argument 'mu' must be > 0, not {mu!r}.")
    if not 0.0 < gain <= 1.0:
        raise ParameterError(f"Argument 'gain' must be in (0, 1], not {gain!r}.")
    margin = _margin_bits(epsilon_sec, epsilon_cor)
    multi_photon_prob = 1.0 - (1.0 + mu) * math.exp(-mu)
    delta = min(1.0, multi_photon_prob / gain)
    e_upper = sample_error_fraction + sampling_deviation(n_key, k_sample, epsilon_sec / 2)
    single = 1.0 - delta
    if single <= 0.0 or e_upper / single >= 0.5:
        length = 0
        e1 = 0.5
    else:
        e1 = e_upper / single
        length = math.floor(n_key * single * (1.0 - float(binary_entropy(e1))) - leak_bits - margin)
    return KeyLength(
        length_bits=length,
        formula="GLLP, Quantum Inf. Comput. 4, 325 (2004), Eq. (10), with Tomamichel et al. (2012) sampling bound",
        phase_error_upper=e1,
        single_photon_fraction=single,
        margin_bits=margin,
    )
