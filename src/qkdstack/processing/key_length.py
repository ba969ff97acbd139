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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qkdstack.errors import ParameterError, RecordError
from qkdstack.processing.estimation import sampling_deviation
from qkdstack.protocol import registry
from qkdstack.protocol.builtin import BB84_QBER_LIMIT
from qkdstack.theory.entropy import binary_entropy

if TYPE_CHECKING:
    from qkdstack.processing.key_length_numerical import NumericalKeyLength

__all__ = [
    "BB84_QBER_LIMIT",
    "DecoyKeyLength",
    "KeyLength",
    "chsh_key_length",
    "decoy_key_length",
    "gllp_key_length",
    "no_key_reason",
    "proof_source",
    "shor_preskill_key_length",
    "six_state_key_length",
]


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


_SCALES = tuple(10**i for i in range(1, 9))
"""How many times more data :func:`no_key_reason` tries before it calls a no-key verdict final."""


def no_key_reason(
    decision: KeyLength | DecoyKeyLength | NumericalKeyLength,
    length_at_scale: Callable[[int], KeyLength | DecoyKeyLength | NumericalKeyLength] | None,
    *,
    key_bits: int,
    leak_bits: int,
    pulses: int,
    observed_error: float,
    epsilon_sec: float,
    empty_classes: bool = False,
) -> str:
    """Say, in one sentence, why a length rule gave no key and what would change that.

    The rule is evaluated again on the same rates with ``10x, 100x, ...`` the data
    (``length_at_scale(s)``: every count and the leakage times ``s``, which is what sending ``s``
    times the pulses over the same link gives). If a larger block has a key, the block was too
    small for its statistical bounds (finite size); otherwise the cause is physical: no certified
    single-photon detections, a phase-error bound of 1/2, or more leakage than the privacy left.

    Parameters
    ----------
    decision : KeyLength, DecoyKeyLength or NumericalKeyLength
        The rule's outcome for the block (``length_bits <= 0``).
    length_at_scale : callable or None
        The same rule at ``s`` times the data; None for a rule that has no proof (B92).
    key_bits, leak_bits, pulses : int
        The block's key bits before error correction, disclosed bits and pulses sent.
    observed_error : float
        The error rate the parties observed (sample or test basis).
    epsilon_sec : float
        The secrecy parameter the bounds hold with.
    empty_classes : bool
        Some intensity class had no detections (scaling zero counts cannot fill it: the verdict
        is then "too few detections", never a physical limit).
    """
    phi = decision.phase_error_upper
    if length_at_scale is None or phi is None or decision.formula.endswith(": no key"):
        return decision.formula
    scale = next((s for s in _SCALES if length_at_scale(s).length_bits > 0), None)
    more = ""
    if scale is not None:
        more = (
            f"; about {scale}x the pulses would give a key at the observed rates: try --pulses "
            f"{_count_text(pulses * scale)}"
        )
    single = getattr(decision, "single_photon_events_lower", None)
    what = "key bits" if single is None else "key-basis detections"
    if single is not None and single <= 0:
        where, why = "at this distance", ""
        if empty_classes:
            where, why = (
                "with these statistics",
                "an intensity class had no detections in a basis: ",
            )
            more = more or f"; try more than --pulses {pulses:,}"
        elif scale is not None:
            where = "with these statistics"
        return (
            f"single-photon yield lower bound is 0 {where} ({why}the decoy analysis cannot "
            f"certify any single-photon detections among the {key_bits:,} {what}){more}"
        )
    if single is None and decision.single_photon_fraction <= 0:
        return (
            "GLLP: multi-photon pulses could account for every detection (the single-photon "
            "share of the detections is bounded by 0), so no detection is certified secure; "
            "lower --mu or the distance"
        )
    bound = f"up to {phi:.4f}" if phi < 0.5 else "of 1/2 or more"
    if scale is not None:
        return (
            f"finite size: {key_bits:,} {what} are too few for eps_sec = {epsilon_sec:g} (the "
            f"statistical bounds give a phase error rate {bound} where {observed_error:.4f} was "
            f"observed, and {leak_bits:,} bits were disclosed){more}"
        )
    if phi >= 0.5:
        return (
            f"the phase error rate bound reaches 1/2 (observed error rate {observed_error:.4f}): "
            "Eve may know every key bit"
        )
    shannon = key_bits * float(binary_entropy(observed_error)) if 0 < observed_error < 1 else 0.0
    efficiency = f" ({leak_bits / shannon:.2f} times n h(e))" if shannon > 0 else ""
    return (
        f"error correction disclosed {leak_bits:,} bits{efficiency}, more than the privacy the "
        f"bounds leave for the {key_bits:,} {what} (observed error rate {observed_error:.4f}, "
        f"phase error rate up to {phi:.4f}): too much noise for this link and error correction, "
        "at any block size"
    )


def _count_text(count: int) -> str:
    """``1000000000`` as ``1e9``, ``20000000`` as ``2e7`` (what ``--pulses`` accepts)."""
    mantissa, _, exponent = f"{count:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


SOURCE_PROOFS: tuple[str, ...] = tuple(n for n in registry.names() if registry.get(n).source_proof)
"""Built-in protocols whose key-length rule depends on the photon source (single photons or a
laser: Shor-Preskill / Lo 2001, or GLLP): ``source_proof`` in their spec, which
:func:`proof_source` reads. decoy-bb84 always assumes a laser (its ``intensities``), bbm92 and e91
an entangled source, and b92's numerical proof has no source model."""


def proof_source(
    protocol: str,
    params: Mapping[str, Any],
    source: str | None = None,
    mu: float | None = None,
) -> str | None:
    """The photon source whose proof sets the key length, as declared by Alice's record metadata.

    A record file from hardware that does not say what its source is must not get the
    single-photon proof by default: for an attenuated laser that overstates the key (every
    multi-photon pulse could be split). So an undeclared source is refused, and so is a laser
    without its mean photon number (GLLP needs it).

    Parameters
    ----------
    protocol : str
        The records' protocol.
    params : mapping
        Alice's ``meta.params`` (``source``, and ``mu`` for a laser).
    source, mu : optional
        Overrides (``qkd process --source/--mu``), taking precedence over the metadata.

    Returns
    -------
    str or None
        ``"single-photon"`` or ``"laser"``; None for a protocol whose rule ignores the source.

    Raises
    ------
    RecordError
        Naming the metadata field that is missing or invalid.
    """
    if not registry.get(protocol).source_proof:
        return None
    chosen = source if source is not None else params.get("source")
    if chosen is None:
        raise RecordError(
            f"metadata 'params' must declare 'source' ('single-photon' or 'laser') for "
            f"protocol {protocol}: the single-photon proof would overstate the key of a laser; "
            "declare it in the file or give --source."
        )
    if chosen not in ("single-photon", "laser"):
        raise RecordError(
            f"metadata 'params.source' must be 'single-photon' or 'laser' for protocol "
            f"{protocol}, not {chosen!r}."
        )
    if chosen == "laser":
        mean = mu if mu is not None else params.get("mu")
        if not isinstance(mean, int | float) or isinstance(mean, bool) or not mean > 0:
            raise RecordError(
                "metadata 'params.mu' (the laser's mean photon number, for GLLP) must be a "
                f"number > 0, not {mean!r}; declare it in the file or give --mu."
            )
    return str(chosen)
