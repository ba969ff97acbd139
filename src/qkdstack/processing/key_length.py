"""How many secret bits a finished block may keep: the length rule of each security proof.

Every rule takes only what the parties observed (key length ``n``, sample size ``k``, sampled error
fraction, detections per pulse, disclosed bits) and returns a :class:`KeyLength`. A length that is
not positive means no key (the pipeline aborts with :class:`~qkdstack.errors.InsufficientKey`).

Single photons, Shor-Preskill with the finite-sample phase-error bound of Tomamichel et al. 2012::

    l = floor( n (1 - h(e_U)) - leak - log2( 2 / (eps_sec^2 eps_cor) ) )

where ``e_U = e_obs + mu`` (Serfling, :func:`~qkdstack.processing.estimation.sampling_deviation`)
bounds the phase-error rate of the key bits (for BB84 with symmetric bases the phase-error rate of
the key equals the bit-error rate of a random sample; Shor and Preskill 2000), and ``leak`` is every
key-dependent bit error correction disclosed, as counted by the channel. The verification tag is
not in ``leak``: its cost is the ``log2(2 / eps_cor)`` inside the margin (Tomamichel et al. 2012,
Eq. (1)), so it is charged once.

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
    "DecoyKeyLength",
    "KeyLength",
    "chsh_key_length",
    "decoy_key_length",
    "gllp_key_length",
    "shor_preskill_key_length",
    "six_state_key_length",
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


def six_state_key_length(
    n_key: int,
    k_sample: int,
    sample_error_fraction: float,
    leak_bits: int,
    epsilon_sec: float,
    epsilon_cor: float,
) -> KeyLength:
    """Key length for the six-state protocol with single photons (Lo 2001).

    With the Bell-diagonal eigenvalues ``lambda = (1 - 3e/2, e/2, e/2, e/2)`` fixed by the error
    rate ``e`` measured in all three bases, Eve's information on the key is ``H(lambda) - h(e)``
    (Lo 2001, Eq. (5); the key fraction ``1 - H(lambda)`` with ideal error correction vanishes at
    ``e = 12.62%``). The length is ``n (1 - H(lambda(e_U)) + h(e_U)) - leak - margin`` with the
    Serfling bound ``e_U``.

    References
    ----------
    H.-K. Lo, "Proof of unconditional security of six-state quantum key distribution scheme",
    Quantum Inf. Comput. 1, 81 (2001).
    """
    margin = _margin_bits(epsilon_sec, epsilon_cor)
    e_upper = sample_error_fraction + sampling_deviation(n_key, k_sample, epsilon_sec / 2)
    if e_upper >= 2.0 / 3.0:
        return KeyLength(0, _SIX_STATE, e_upper, 1.0, margin)
    lam = [1.0 - 1.5 * e_upper] + [e_upper / 2.0] * 3
    entropy = -sum(x * math.log2(x) for x in lam if x > 0)
    eve = entropy - float(binary_entropy(e_upper))
    length = math.floor(n_key * (1.0 - eve) - leak_bits - margin)
    return KeyLength(length, _SIX_STATE, e_upper, 1.0, margin)


_SIX_STATE = "six-state, Lo, Quantum Inf. Comput. 1, 81 (2001), with the Tomamichel et al. (2012) sampling bound"


def chsh_key_length(
    n_key: int,
    chsh_lower: float,
    leak_bits: int,
    epsilon_sec: float,
    epsilon_cor: float,
) -> KeyLength:
    """Device-independent key length from a lower bound ``S_L`` on the CHSH value.

    Eve's Holevo information on the key is at most ``h((1 + sqrt((S/2)^2 - 1)) / 2)`` (Acín et al.
    2007, main result (Eq. (12) of the arXiv version)), decreasing in ``S``; so ``l = n (1 - h((1 + sqrt((S_L/2)^2 - 1))/2)) - leak -
    margin``. For ``S_L <= 2`` there is no key.

    References
    ----------
    A. Acín, N. Brunner, N. Gisin, S. Massar, S. Pironio, V. Scarani, "Device-independent security
    of quantum cryptography against collective attacks", PRL 98, 230501 (2007), main result (Eq. (12) of the arXiv version).
    """
    margin = _margin_bits(epsilon_sec, epsilon_cor)
    formula = "device-independent CHSH bound, Acin et al., PRL 98, 230501 (2007), main result (Eq. (12) of the arXiv version)"
    s = min(chsh_lower, 2.0 * math.sqrt(2.0))
    if s <= 2.0:
        return KeyLength(0, formula, 0.5, 1.0, margin)
    eve = float(binary_entropy((1.0 + math.sqrt((s / 2.0) ** 2 - 1.0)) / 2.0))
    length = math.floor(n_key * (1.0 - eve) - leak_bits - margin)
    return KeyLength(length, formula, (1.0 - math.sqrt((s / 2.0) ** 2 - 1.0)) / 2.0, 1.0, margin)


@dataclass(frozen=True)
class DecoyKeyLength:
    """Lim et al. (2014) finite-key decision, with the estimates the run report shows."""

    length_bits: int
    formula: str
    phase_error_upper: float
    single_photon_fraction: float
    vacuum_events_lower: float
    single_photon_events_lower: float
    single_photon_yield_lower: float | None


def decoy_key_length(
    *,
    intensities: tuple[float, ...],
    intensity_probs: tuple[float, ...],
    key_detected: list[int],
    test_detected: list[int],
    test_errors: list[int],
    leak_bits: int,
    epsilon_sec: float,
    epsilon_cor: float,
    key_basis_sent: list[int] | None = None,
    bob_key_basis_prob: float = 0.5,
) -> DecoyKeyLength:
    """Decoy-state BB84 key length from the observed counts (Lim et al. 2014, Eqs. (1)-(5)).

    A thin adaptor over :func:`qkdstack.theory.finite_key.lim2014_key_length`; it adds the lower
    bound on the single-photon yield ``Y_1 >= s_X,1 / (q_B sum_k N_k mu_k e^{-mu_k})`` when the number
    ``N_k`` of key-basis pulses sent per intensity is known, ``q_B`` being the probability that Bob
    measures in the key basis (Lo, Ma, Chen, PRL 94, 230504 (2005)).
    """
    from qkdstack.theory.finite_key import lim2014_key_length

    if len(intensities) != 3:
        return DecoyKeyLength(
            0, "Lim et al. 2014 needs exactly three intensities: no key", 0.5, 0.0, 0.0, 0.0, None
        )
    res = lim2014_key_length(
        intensities=intensities,
        intensity_probs=intensity_probs,
        key_counts=key_detected,
        test_counts=test_detected,
        test_errors=test_errors,
        leak_ec_bits=leak_bits,
        epsilon_sec=epsilon_sec,
        epsilon_cor=epsilon_cor,
    )
    yield_lower = None
    if key_basis_sent is not None:
        single_pulses = sum(
            n * m * math.exp(-m) for n, m in zip(key_basis_sent, intensities, strict=True)
        )
        if single_pulses > 0:
            yield_lower = res.single_photon_events_lower / (bob_key_basis_prob * single_pulses)
    return DecoyKeyLength(
        length_bits=res.length_bits,
        formula=res.formula,
        phase_error_upper=res.phase_error_upper,
        single_photon_fraction=res.single_photon_fraction,
        vacuum_events_lower=res.vacuum_events_lower,
        single_photon_events_lower=res.single_photon_events_lower,
        single_photon_yield_lower=yield_lower,
    )
