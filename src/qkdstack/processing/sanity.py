"""A fail-closed check of a finished run's statistics against physics, before any key is output.

A key may be released only when the numbers that produced it could have come from the declared
link. The check refuses (with :class:`~qkdstack.errors.ImplausibleStatistics`, a protocol abort):

* any NaN or infinity among the statistics (error rates, bounds, counts);
* more detections than the source and detectors allow: per pulse, Bob's two detectors click with
  probability at most ``1 - (1 - 2 p_dc) G(1 - eta_d)`` even over a lossless fibre (``G`` the
  source's photon-number generating function, :mod:`qkdstack.link.sources`), plus at most one
  afterpulse per click (``1 + p_ap``); the count may exceed the mean by statistical fluctuation only
  (ten standard deviations and ten counts are allowed);
* a key rate above the PLOB bound ``-log2(1 - t)`` of the link's transmittance ``t`` (for an
  entanglement-based link, of each arm: a key cannot beat the capacity of any cut).

Before any work, :func:`check_records_usable` refuses records whose declared proof inputs cannot
give a key (decoy intensities the Lim et al. 2014 bounds cannot use), so that ``qkd process`` and
:func:`~qkdstack.processing.pipeline.run_postprocessing` refuse the same records.

The link is the one declared in Alice's record metadata (``meta.params``); a check whose parameter
is absent there (hardware records without a ``params`` block) is skipped, except the NaN check.

References
----------
S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, Nat. Commun. 8, 15043 (2017) (PLOB bound).
C. C. W. Lim et al., Phys. Rev. A 89, 022307 (2014), Sec. IV (detector model
``D_k = 1 - (1 - 2 p_dc) e^{-eta k}`` and afterpulses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qkdstack.errors import ImplausibleStatistics, ParameterError, RecordError
from qkdstack.link.records import RecordMeta, Records
from qkdstack.link.sources import no_photon_probability
from qkdstack.protocol import registry
from qkdstack.theory.bounds import plob_bound
from qkdstack.units import fibre_transmittance

__all__ = [
    "check_records_usable",
    "check_statistics",
    "max_click_probability",
    "plob_key_rate_limit",
]

_SIGMAS = 10.0


def _number(params: Mapping[str, Any], name: str) -> float | None:
    value = params.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def max_click_probability(
    meta: RecordMeta, *, source: str | None = None, mu: float | None = None
) -> float | None:
    """Largest click probability per pulse of Bob's detectors for the declared source, over a
    lossless channel (None when the metadata lacks a parameter it needs). ``source`` and ``mu``
    override the metadata, as the post-processing's options do for the proof.

    References
    ----------
    Lim et al., Phys. Rev. A 89, 022307 (2014), Sec. IV: ``D_k = 1 - (1 - 2 p_dc) e^{-eta k}``.
    """
    params = meta.params
    eta_d = _number(params, "detector_efficiency")
    p_dc = _number(params, "dark_count_prob")
    p_ap = _number(params, "afterpulse_prob") or 0.0
    if eta_d is None or p_dc is None:
        return None
    spec = registry.get(meta.protocol)
    if spec.entangled:
        mean = _number(params, "mu_pair")
        stats = "poisson" if params.get("pair_statistics") == "poisson" else "thermal"
    elif (source or params.get("source")) == "laser" or spec.emission == "intensities":
        declared = max(meta.intensities) if meta.intensities else _number(params, "mu")
        mean = declared if mu is None else max(mu, declared or 0.0)
        stats = "poisson"
    else:
        mean, stats = 1.0, "single-photon"
    if mean is None:
        return None
    no_photon = float(no_photon_probability(stats, mean, eta_d))  # type: ignore[arg-type]
    click = 1.0 - max(1.0 - 2.0 * p_dc, 0.0) * no_photon
    return min(1.0, click * (1.0 + p_ap))


def plob_key_rate_limit(meta: RecordMeta) -> float | None:
    """The PLOB bound (bits per pulse) of the declared link, or None when it is not declared.

    References
    ----------
    Pirandola et al., Nat. Commun. 8, 15043 (2017): ``K = -log2(1 - t)``.
    """
    params = meta.params
    distance = _number(params, "distance_km")
    alpha = _number(params, "attenuation_db_per_km")
    insertion = _number(params, "insertion_loss_db") or 0.0
    if distance is None or alpha is None:
        return None
    if registry.get(meta.protocol).entangled and params.get("source_position", "middle") != "alice":
        t = fibre_transmittance(distance / 2, alpha, insertion / 2)  # each arm is a cut
    else:
        t = fibre_transmittance(distance, alpha, insertion)
    return float(plob_bound(min(max(t, 0.0), 1.0)))


def check_statistics(
    meta: RecordMeta,
    *,
    detections: int,
    secret_bits: int,
    statistics: Mapping[str, Any],
    source: str | None = None,
    mu: float | None = None,
) -> None:
    """Raise :class:`~qkdstack.errors.ImplausibleStatistics` unless the run could be physical.

    Parameters
    ----------
    meta : RecordMeta
        Alice's record metadata: protocol, pulses, intensities and the declared link ``params``.
    detections : int
        Detection events (coincidences for entanglement-based protocols).
    secret_bits : int
        Length of the key about to be released.
    statistics : mapping
        Named statistics of the run (error rates, bounds); numbers and None.
    source, mu : optional
        The proof's source and signal mean photon number when they override the metadata.
    """
    for name, value in statistics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ImplausibleStatistics(
                f"the statistic {name!r} is {value!r}: no key is output", stage="sanity"
            )
    pulses = meta.pulses
    if pulses <= 0:
        return
    p_max = max_click_probability(meta, source=source, mu=mu)
    if p_max is not None:
        allowed = pulses * p_max + _SIGMAS * math.sqrt(pulses * p_max * (1.0 - p_max)) + 10.0
        if detections > allowed:
            raise ImplausibleStatistics(
                f"{detections} detections in {pulses} pulses exceed what the source and detectors "
                f"allow (at most {p_max:.3g} per pulse over a lossless fibre): no key is output",
                stage="sanity",
            )
    limit = plob_key_rate_limit(meta)
    if limit is not None and secret_bits / pulses > limit:
        raise ImplausibleStatistics(
            f"a key rate of {secret_bits / pulses:.3g} bits per pulse exceeds the PLOB bound "
            f"{limit:.3g} of the link's loss: no key is output",
            stage="sanity",
        )


def check_records_usable(alice: Records) -> None:
    """Refuse, before the post-processing, records whose proof inputs cannot give a key: decoy
    intensities (and their probabilities, from the metadata) that Lim et al. 2014 cannot use.

    Raises
    ------
    RecordError
        Naming Alice's record metadata and the values the bounds cannot use.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014), Sec. III (three intensities
    ``mu_1 > mu_2 + mu_3``, ``mu_2 > mu_3 >= 0``, each chosen with a probability ``p_k > 0``).
    """
    from qkdstack.protocol import registry

    if registry.get(alice.meta.protocol).emission != "intensities":
        return
    from qkdstack.theory.finite_key import check_lim2014_intensities

    probs = alice.meta.params.get("intensity_probs", [])
    try:
        check_lim2014_intensities(
            alice.meta.intensities, [float(p) for p in probs] if isinstance(probs, list) else []
        )
    except (ParameterError, TypeError, ValueError) as exc:
        raise RecordError(f"Record metadata of 'alice': {exc}") from None
