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

__all__ = ["ENTANGLED", "PROTOCOLS", "event_table"]

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


def event_table(protocol: str, params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """Event table and intensity list of ``protocol``; an unknown name lists the known ones."""
    try:
        builder = PROTOCOLS[protocol]
    except KeyError:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(PROTOCOLS)}, not {protocol!r}."
        ) from None
    return builder(params)
