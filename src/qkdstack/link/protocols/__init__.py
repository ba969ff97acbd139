"""Protocol registry of the link simulator: each protocol turns :class:`LinkParams` into an event table.

Registry names: ``bb84``, ``decoy-bb84``, ``six-state``, ``b92``, ``bbm92``, ``e91``. Record
conventions (basis codes, bit meanings) are documented in
:mod:`qkdstack.link.protocols.prepare_measure` and :mod:`qkdstack.link.protocols.entangled`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from qkdstack.errors import ParameterError
from qkdstack.link.events import EventTable
from qkdstack.link.protocols.entangled import bbm92_table, e91_table
from qkdstack.link.protocols.prepare_measure import (
    b92_table,
    bb84_table,
    decoy_bb84_table,
    six_state_table,
)
from qkdstack.params import LinkParams

__all__ = ["ENTANGLED", "PROTOCOLS", "check_protocol_params", "event_table"]

TableBuilder = Callable[[LinkParams], tuple[EventTable, tuple[float, ...]]]

PROTOCOLS: Mapping[str, TableBuilder] = {
    "bb84": bb84_table,
    "decoy-bb84": decoy_bb84_table,
    "six-state": six_state_table,
    "b92": b92_table,
    "bbm92": bbm92_table,
    "e91": e91_table,
}

ENTANGLED: frozenset[str] = frozenset({"bbm92", "e91"})
"""Protocols in which both parties measure halves of entangled pairs."""


def check_protocol_params(protocol: str, params: LinkParams) -> None:
    """Refuse, before any simulation, a protocol and parameters that cannot make a key together.

    - an unknown protocol name (the known ones are listed);
    - an attenuated laser for an entanglement-based protocol (``bbm92``, ``e91`` measure the
      halves of SPDC pairs; a prepare-and-measure source refuses ``spdc`` in its own table);
    - for ``decoy-bb84``, intensities the Lim et al. 2014 bounds cannot use (three values with
      ``mu_1 > mu_2 + mu_3``, ``mu_2 > mu_3 >= 0``, each drawn with probability > 0).

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014), Sec. III.
    """
    if protocol not in PROTOCOLS:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(PROTOCOLS)}, not {protocol!r}."
        )
    if protocol in ENTANGLED and params.source == "laser":
        raise ParameterError(
            f"Argument 'source' must be 'spdc' for protocol {protocol!r} (it measures the halves "
            f"of SPDC pairs), not 'laser'."
        )
    if protocol == "decoy-bb84":
        from qkdstack.theory.finite_key import check_lim2014_intensities

        check_lim2014_intensities(params.intensities, params.intensity_probs)


def event_table(protocol: str, params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """Event table and intensity list of ``protocol``; an unknown name lists the known ones, and
    parameters the protocol cannot use are refused (:func:`check_protocol_params`)."""
    check_protocol_params(protocol, params)
    return PROTOCOLS[protocol](params)
