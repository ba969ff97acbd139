"""The key-length rules of the protocols' proofs, over one typed input: what Alice observed.

Each protocol's :class:`~qkdstack.protocol.ProtocolSpec` names one rule ``LengthInputs ->
KeyDecision``. Alice evaluates it from her own observations and the leakage she counted
(:class:`LengthInputs`); ``scale`` multiplies every count and the leakage to ask what a ``scale``
times longer run at the same rates would get (only to explain an abort,
:func:`~qkdstack.processing.key_length.no_key_reason`).

The rules themselves live with their proofs: Shor-Preskill, GLLP and Lo 2001 in
:mod:`qkdstack.processing.key_length`, Lim et al. 2014 (:func:`~qkdstack.processing.key_length.decoy_key_length`),
E91 in :mod:`qkdstack.processing.e91`, B92's numerical bound in
:mod:`qkdstack.processing.key_length_numerical`.

References
----------
P. W. Shor, J. Preskill, PRL 85, 441 (2000); D. Gottesman, H.-K. Lo, N. Lutkenhaus, J. Preskill,
Quantum Inf. Comput. 4, 325 (2004); H.-K. Lo, Quantum Inf. Comput. 1, 81 (2001); C. C. W. Lim et
al., PRA 89, 022307 (2014); M. Tomamichel et al., Nat. Commun. 3, 634 (2012).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from qkdstack.processing import key_length as kl
from qkdstack.processing import key_length_numerical as kln
from qkdstack.processing.e91 import e91_key_length
from qkdstack.typing import Basis

__all__ = [
    "DECOY_KEY_BASIS",
    "OPTIONAL_DETAIL_FIELDS",
    "KeyDecision",
    "LengthInputs",
    "LengthRule",
    "b92_length",
    "bb84_length",
    "decision_details",
    "decoy_length",
    "e91_length",
    "six_state_length",
]

KeyDecision: TypeAlias = kl.KeyLength | kl.DecoyKeyLength | kln.NumericalKeyLength
"""What a length rule decides: the secret length, its formula and the bounds behind it."""

DECOY_KEY_BASIS = int(Basis.Z)
"""Decoy-state BB84 takes its key from Z-basis detections and tests with the X basis (the roles of
X and Z in Lim et al. 2014 are swapped: their key basis is called X)."""


@dataclass(frozen=True)
class LengthInputs:
    """What Alice observed, as a length rule reads it.

    Attributes
    ----------
    n_key, k_sample, leak_bits : int
        Key bits before error correction, disclosed sample bits and bits disclosed by error
        correction, each already times ``scale``. The verification tag is not in ``leak_bits``:
        the proof's ``log2(2 / eps_cor)`` term is its cost (Tomamichel et al. 2012, Eq. (1)).
    sample_error_fraction : float
        Errors over disclosed sample bits (1 without a sample).
    scale : int
        How many times the observed run the counts stand for (1: the run itself).
    detections, pulses : int
        Bob's announced detections and the pulses sent (the gain, for GLLP).
    params : mapping
        Alice's record metadata ``params`` (the declared link).
    intensities : tuple of float
        Alice's intensity classes (decoy states).
    sent_counts : int64 array (classes, bases) or None
        Pulses Alice sent per intensity class and basis, when her records count them.
    key_intensity : uint8 array
        The intensity class of each of Alice's key bits (not scaled).
    test_detected, test_errors : tuple of int
        Test-basis detections and errors per intensity class (decoy BB84; not scaled).
    b92_counts : int64 array of 9 or None
        B92's test statistics.
    chsh_lower : float or None
        The CHSH value's lower confidence bound (E91).
    source : str or None
        The photon source whose proof applies (:func:`~qkdstack.processing.key_length.proof_source`).
    mu : float or None
        The laser's mean photon number given as an option (else ``params["mu"]``).
    epsilon_sec, epsilon_cor : float
    e91_bound, b92_attack_model : str
        The options that select among a protocol's rules.
    """

    n_key: int
    k_sample: int
    sample_error_fraction: float
    leak_bits: int
    scale: int
    detections: int
    pulses: int
    params: Mapping[str, Any]
    epsilon_sec: float
    epsilon_cor: float
    intensities: tuple[float, ...] = ()
    sent_counts: npt.NDArray[np.int64] | None = None
    key_intensity: npt.NDArray[np.uint8] = field(
        default_factory=lambda: np.zeros(0, dtype=np.uint8)
    )
    test_detected: tuple[int, ...] = ()
    test_errors: tuple[int, ...] = ()
    b92_counts: npt.NDArray[np.int64] | None = None
    chsh_lower: float | None = None
    source: str | None = None
    mu: float | None = None
    e91_bound: str = "device-dependent"
    b92_attack_model: str = "collective"


LengthRule: TypeAlias = Callable[[LengthInputs], KeyDecision]
"""A protocol's key-length rule."""


def _gllp(x: LengthInputs) -> kl.KeyLength:
    mu = x.mu if x.mu is not None else float(x.params.get("mu", 0.0))
    gain = x.detections / x.pulses
    return kl.gllp_key_length(
        x.n_key,
        x.k_sample,
        x.sample_error_fraction,
        x.leak_bits,
        mu,
        gain,
        x.epsilon_sec,
        x.epsilon_cor,
    )


def bb84_length(x: LengthInputs) -> KeyDecision:
    """BB84 and BBM92: Shor-Preskill with the sampling bound, or GLLP for a laser source."""
    if x.source == "laser":
        return _gllp(x)
    return kl.shor_preskill_key_length(
        x.n_key, x.k_sample, x.sample_error_fraction, x.leak_bits, x.epsilon_sec, x.epsilon_cor
    )


def six_state_length(x: LengthInputs) -> KeyDecision:
    """Six-state: Lo 2001 for single photons, GLLP for a laser source."""
    if x.source == "laser":
        return _gllp(x)
    return kl.six_state_key_length(
        x.n_key, x.k_sample, x.sample_error_fraction, x.leak_bits, x.epsilon_sec, x.epsilon_cor
    )


def decoy_length(x: LengthInputs) -> KeyDecision:
    """Lim et al. 2014 finite-key length from the observed decoy counts (times ``scale``)."""
    s = x.scale
    key_detected = np.bincount(x.key_intensity, minlength=len(x.intensities))
    return kl.decoy_key_length(
        intensities=tuple(float(m) for m in x.intensities),
        intensity_probs=tuple(float(p) for p in x.params.get("intensity_probs", ())),
        key_detected=[int(v) * s for v in key_detected],
        test_detected=[int(v) * s for v in x.test_detected],
        test_errors=[int(v) * s for v in x.test_errors],
        leak_bits=x.leak_bits,
        epsilon_sec=x.epsilon_sec,
        epsilon_cor=x.epsilon_cor,
        key_basis_sent=None
        if x.sent_counts is None
        else [int(v) * s for v in np.asarray(x.sent_counts)[:, DECOY_KEY_BASIS]],
        bob_key_basis_prob=float(x.params.get("basis_prob_z", 0.5)),
    )


def e91_length(x: LengthInputs) -> KeyDecision:
    """E91 under the chosen bound (:func:`~qkdstack.processing.e91.e91_key_length`)."""
    if x.chsh_lower is None:
        raise ValueError("E91's length rule needs the CHSH lower bound")  # pragma: no cover
    return e91_key_length(
        x.e91_bound,
        n_key=x.n_key,
        k_sample=x.k_sample,
        sample_error_fraction=x.sample_error_fraction,
        chsh_lower=x.chsh_lower,
        leak_bits=x.leak_bits,
        epsilon_sec=x.epsilon_sec,
        epsilon_cor=x.epsilon_cor,
        params=x.params,
    )


def b92_length(x: LengthInputs) -> KeyDecision:
    """B92: the numerical finite-size bound on the full test statistics (George et al. 2021)."""
    counts = x.b92_counts if x.b92_counts is not None else np.zeros(9, dtype=np.int64)
    return kln.b92_key_length(
        counts,
        n_key_rounds=x.pulses - int(counts.sum()),
        n_sifted=x.n_key,
        leak_bits=x.leak_bits,
        epsilon_sec=x.epsilon_sec,
        epsilon_cor=x.epsilon_cor,
        attack=x.b92_attack_model,
    )


_DETAIL_FIELDS: tuple[str, ...] = (
    "phase_error_upper",
    "single_photon_fraction",
    "vacuum_events_lower",
    "single_photon_events_lower",
    "single_photon_yield_lower",
    *kln.REPORT_FLOAT_FIELDS,
)
"""The public bounds and estimates of a decision that the amplify reply and the report show."""

OPTIONAL_DETAIL_FIELDS: tuple[str, ...] = (*_DETAIL_FIELDS[2:], "attack_model")
"""The details only some rules give: the report shows each one only when the decision had it
(``phase_error_upper`` and ``single_photon_fraction`` are always shown, None when unknown)."""


def decision_details(decision: KeyDecision) -> dict[str, Any]:
    """The public, JSON-ready details of a length decision (bounds, estimated parameters)."""
    out: dict[str, Any] = {}
    for name in _DETAIL_FIELDS:
        value = getattr(decision, name, None)
        if value is not None:
            out[name] = float(value)
    attack_model = getattr(decision, "attack_model", None)
    if attack_model is not None:
        out["attack_model"] = str(attack_model)
    return out
