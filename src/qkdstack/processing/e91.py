"""E91's key length: which proof the key rests on, and when device independence may be claimed.

E91 keeps the events whose setting codes agree (codes 1 and 2: 22.5° and 45°) as key and tests
the CHSH inequality on the others (:mod:`qkdstack.processing.chsh`). Two rules:

``"device-dependent"`` (the default)
    The key is treated as BBM92's on the matching settings (Bennett, Brassard, Mermin 1992): with
    trusted, characterised measurement devices an entanglement-based protocol reduces to BB84
    (BBM92; Koashi and Preskill 2003), so the Shor-Preskill length with the Serfling bound on the
    sampled error rate applies (:func:`~qkdstack.processing.key_length.shor_preskill_key_length`),
    the phase-error rate taken equal to the sampled bit-error rate of the key settings, as for
    BB84 with symmetric bases. The CHSH test is the entanglement check: the run aborts unless S
    exceeds 2 by its statistical margin. This is *not* a device-independent key.

``"device-independent"``
    The bound of Acín et al. (2007) from the CHSH lower bound
    (:func:`~qkdstack.processing.key_length.chsh_key_length`). It holds only when the Bell test
    closes the detection loophole: every time slot enters the CHSH value, a no-click event being
    assigned an outcome, and the detection efficiency exceeds the CHSH threshold
    ``eta > 2 / (1 + sqrt 2) ~ 0.828`` (Garg and Mermin 1987). A CHSH value from post-selected
    coincidences, as the simulator reports, says nothing device-independent (a detector attack
    fakes it). The rule therefore refuses (no key, the formula says why) unless the records'
    metadata declare ``no_click_outcomes_assigned = true`` and a ``detection_efficiency`` above the
    threshold.

References
----------
C. H. Bennett, G. Brassard, N. D. Mermin, "Quantum cryptography without Bell's theorem", PRL 68,
557 (1992).
M. Koashi and J. Preskill, "Secure quantum key distribution with an uncharacterized source", PRL
90, 057902 (2003).
A. Acín, N. Brunner, N. Gisin, S. Massar, S. Pironio, V. Scarani, PRL 98, 230501 (2007).
A. Garg and N. D. Mermin, "Detector inefficiencies in the Einstein-Podolsky-Rosen experiment",
PRD 35, 3831 (1987).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qkdstack.errors import ParameterError
from qkdstack.processing import key_length as kl

__all__ = [
    "CHSH_DETECTION_THRESHOLD",
    "E91_BOUNDS",
    "device_independence_refusal",
    "e91_key_length",
]

E91_BOUNDS: tuple[str, ...] = ("device-dependent", "device-independent")
"""The names of E91's key-length rules."""

CHSH_DETECTION_THRESHOLD = 2.0 / (1.0 + math.sqrt(2.0))
"""Detection efficiency above which a CHSH test on a maximally entangled state can close the
detection loophole: ``2 / (1 + sqrt 2) = 2 (sqrt 2 - 1) ~ 0.828`` (Garg and Mermin 1987)."""

_DEVICE_DEPENDENT = (
    "E91 device-dependent (not device-independent): BBM92 bound on the matching settings, "
    "Shor-Preskill, PRL 85, 441 (2000), with the Tomamichel et al. (2012) sampling bound; the "
    "CHSH test is the entanglement check"
)


def device_independence_refusal(params: Mapping[str, Any]) -> str | None:
    """Why the records do not support a device-independent claim (None when they do).

    Parameters
    ----------
    params : mapping
        The records' metadata parameters: ``no_click_outcomes_assigned`` (bool) and
        ``detection_efficiency`` (the overall efficiency of each party's detection, in (0, 1]).
    """
    if params.get("no_click_outcomes_assigned") is not True:
        return (
            "the CHSH value comes from post-selected coincidences (no-click events are not "
            "assigned an outcome): the detection loophole is open"
        )
    eta = params.get("detection_efficiency")
    if (
        not isinstance(eta, int | float)
        or isinstance(eta, bool)
        or not eta > CHSH_DETECTION_THRESHOLD
    ):
        return (
            f"the detection efficiency {eta!r} does not exceed the CHSH threshold "
            f"{CHSH_DETECTION_THRESHOLD:.4f}"
        )
    return None


def e91_key_length(
    bound: str,
    *,
    n_key: int,
    k_sample: int,
    sample_error_fraction: float,
    chsh_lower: float,
    leak_bits: int,
    epsilon_sec: float,
    epsilon_cor: float,
    params: Mapping[str, Any],
) -> kl.KeyLength:
    """E91's secure length under ``bound`` (one of :data:`E91_BOUNDS`; see the module docstring).

    The CHSH check itself (S above 2 by its margin) is made before, in estimation; here
    ``chsh_lower`` enters only the device-independent rule.
    """
    if bound == "device-dependent":
        res = kl.shor_preskill_key_length(
            n_key, k_sample, sample_error_fraction, leak_bits, epsilon_sec, epsilon_cor
        )
        return kl.KeyLength(
            res.length_bits,
            _DEVICE_DEPENDENT,
            res.phase_error_upper,
            res.single_photon_fraction,
            res.margin_bits,
        )
    if bound != "device-independent":
        raise ParameterError(
            f"Argument 'bound' must be one of {', '.join(E91_BOUNDS)}, not {bound!r}."
        )
    refusal = device_independence_refusal(params)
    if refusal is not None:
        margin = math.log2(2.0 / (epsilon_sec**2 * epsilon_cor))
        return kl.KeyLength(
            0,
            f"device-independent bound (Acin et al. 2007) refused: {refusal}; no key",
            0.5,
            1.0,
            margin,
        )
    return kl.chsh_key_length(n_key, chsh_lower, leak_bits, epsilon_sec, epsilon_cor)
