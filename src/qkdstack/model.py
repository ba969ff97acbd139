"""A link's parameters as each layer needs them: the rules a protocol sets, and the view of theory.

:class:`~qkdstack.params.LinkParams` is the one home of a link's parameters: the physical model
(source, fibre, detectors) and the security parameters of its key (``epsilon_sec``,
``epsilon_cor``; ``ec_efficiency`` is the error-correction inefficiency that theory assumes).
This module holds what the library, not the command line, decides about them:

- :func:`protocol_params`: the parameters a protocol runs with. Decoy states are intensities of
  an attenuated laser, so ``decoy-bb84`` on the default single-photon source runs (and reports)
  a laser, and refuses an SPDC source; ``bbm92`` and ``e91`` measure the halves of SPDC pairs and
  report that source. :func:`qkdstack.experiment.run_experiment`,
  :func:`qkdstack.link.simulate`, :func:`qkdstack.link.simulator.simulate_to_files`, ``qkd run``
  and ``qkd simulate`` all apply it, so the library and the CLI report the same source.
- :func:`check_rate_params`: parameters the theory's rate does not model (bbm92's rate is for a
  thermal pair source).
- :func:`system_model`: the one adapter from a link to :class:`qkdstack.theory.curves.SystemModel`
  (theory imports nothing from the rest of the package, so the adapter lives here), used by
  ``qkd rates`` and the figures.

It imports :mod:`qkdstack.params` and, lazily, :mod:`qkdstack.theory`; nothing from link,
processing or cli.

References
----------
W.-Y. Hwang, Phys. Rev. Lett. 91, 057901 (2003); H.-K. Lo, X. Ma, K. Chen, Phys. Rev. Lett. 94,
230504 (2005) (decoy states: intensities of a phase-randomised attenuated laser).
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Eqs. (34) and (37) (the weak
decoy ``nu`` of the vacuum + weak decoy bounds); C. C. W. Lim et al., Phys. Rev. A 89, 022307
(2014), Sec. III and IV (the weakest intensity ``mu_3``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.protocol import registry

if TYPE_CHECKING:
    from qkdstack.theory.curves import SystemModel

__all__ = [
    "DEFAULT_WEAKEST_INTENSITY",
    "DEFAULT_WEAK_DECOY_MU",
    "LASER_PROTOCOLS",
    "MU_PROTOCOLS",
    "check_protocol_source",
    "check_rate_params",
    "protocol_params",
    "system_model",
]


def _laser_only(protocol: str) -> bool:
    """Whether ``protocol``'s spec draws its events from a laser's decoy ``intensities``."""
    return registry.get(protocol).emission == "intensities"


LASER_PROTOCOLS: frozenset[str] = frozenset(n for n in registry.names() if _laser_only(n))
"""The built-in protocols whose source is an attenuated laser whatever ``LinkParams.source``
says: their intensities (``LinkParams.intensities``) are the laser's mean photon numbers (a
view of the registry's ``emission == "intensities"``; the rules below ask the registry)."""

MU_PROTOCOLS: frozenset[str] = frozenset(
    n for n in registry.names() if registry.get(n).emission == "mu"
)
"""The built-in protocols whose laser source (``source="laser"``) sends pulses of mean photon
number ``mu`` (decoy-bb84 sends its ``intensities``, bbm92 and e91 pairs of mean number
``mu_pair``): a view of the registry's ``emission == "mu"``."""

DEFAULT_WEAK_DECOY_MU = 0.1
"""``nu`` of the theory's vacuum + weak decoy rate when the link names no positive second
intensity (Ma, Qi, Zhao, Lo 2005, Eqs. (34), (37))."""

DEFAULT_WEAKEST_INTENSITY = 2e-4
"""``mu_3`` of the theory's finite-key rate when the link names no third intensity (Lim 2014,
Sec. IV)."""


def check_protocol_source(protocol: str, source: str, *, argument: str = "source") -> None:
    """Refuse a source ``protocol`` cannot run with (``decoy-bb84`` needs a laser).

    ``argument`` names the argument in the error (``"--source"`` for the command line, which
    refuses an explicit ``--source single-photon`` too).
    """
    if _laser_only(protocol) and source != "laser":
        raise ParameterError(
            f"Argument '{argument}' must be laser with protocol {protocol} (decoy states are "
            f"intensities of an attenuated laser), not {source!r}."
        )


def protocol_params(protocol: str, params: LinkParams) -> LinkParams:
    """The parameters ``protocol`` runs with: ``params``, with a laser for ``decoy-bb84`` and an
    SPDC pair source for ``bbm92`` and ``e91``.

    The default source, ``"single-photon"``, becomes ``"laser"`` for the protocols of
    :data:`LASER_PROTOCOLS` (their events are always drawn from a laser's intensities, so the
    records and the report say so); any other source that is not a laser is refused. For the
    entanglement-based protocols (the registry's ``entangled`` specs) it becomes ``"spdc"``: their events are
    always drawn from a pair source (``mu_pair``, ``pair_statistics``), and a laser is refused by
    the link's own check. Other protocols get ``params`` unchanged.

    Raises
    ------
    ParameterError
        ``decoy-bb84`` with ``source="spdc"``.
    """
    if registry.get(protocol).entangled:
        return params.replace(source="spdc") if params.source == "single-photon" else params
    if not _laser_only(protocol) or params.source == "laser":
        return params
    if params.source == "single-photon":
        return params.replace(source="laser")
    check_protocol_source(protocol, params.source)
    return params  # pragma: no cover (check_protocol_source raised)


def check_rate_params(protocol: str, params: LinkParams) -> None:
    """Refuse link parameters that the theory's rate of ``protocol`` does not model.

    The ``bbm92`` rate is that of a thermal pair source (Ma, Fung, Lo 2007, Eq. (9)): a link
    with Poisson pair statistics has no rate curve here.

    References
    ----------
    X. Ma, C.-H. F. Fung, H.-K. Lo, Phys. Rev. A 76, 012307 (2007), Eq. (9).
    """
    if protocol == "bbm92" and params.pair_statistics != "thermal":
        raise ParameterError(
            "Argument 'pair_statistics' must be 'thermal' for the bbm92 rate, "
            f"not {params.pair_statistics!r}."
        )


def system_model(params: LinkParams) -> SystemModel:
    """The theory's view of a link: :class:`~qkdstack.theory.curves.SystemModel` from ``params``.

    Every field the two share by name (the physical numbers, ``source``, ``mu_pair``,
    ``ec_efficiency``, ``epsilon_sec``, ``epsilon_cor``) is copied. The decoy intensities give
    the theory's weak decoy ``nu`` (the second intensity when it is positive, else
    :data:`DEFAULT_WEAK_DECOY_MU`) and weakest intensity ``mu_3`` (the third, else
    :data:`DEFAULT_WEAKEST_INTENSITY`); the signal intensity is the curve's ``mu`` (optimised or
    fixed by the caller), not part of the model.
    """
    from qkdstack.theory.curves import SystemModel

    intensities = params.intensities
    weak = intensities[1] if len(intensities) >= 2 and intensities[1] > 0 else DEFAULT_WEAK_DECOY_MU
    weakest = intensities[2] if len(intensities) >= 3 else DEFAULT_WEAKEST_INTENSITY
    return SystemModel(
        attenuation_db_per_km=params.attenuation_db_per_km,
        insertion_loss_db=params.insertion_loss_db,
        detector_efficiency=params.detector_efficiency,
        dark_count_prob=params.dark_count_prob,
        afterpulse_prob=params.afterpulse_prob,
        misalignment_error=params.misalignment_error,
        ec_efficiency=params.ec_efficiency,
        source=params.source,
        mu_pair=params.mu_pair,
        source_position=params.source_position,
        visibility=params.visibility,
        weak_decoy_mu=weak,
        weakest_intensity=weakest,
        epsilon_sec=params.epsilon_sec,
        epsilon_cor=params.epsilon_cor,
    )
