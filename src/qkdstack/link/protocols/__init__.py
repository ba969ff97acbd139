"""The link's view of the protocol registry: each protocol turns :class:`LinkParams` into an event table.

Each protocol's :class:`~qkdstack.protocol.ProtocolSpec` names its table builder (``events``);
the built-in ones are ``bb84``, ``decoy-bb84``, ``six-state``, ``b92``, ``bbm92``, ``e91``. Record
conventions (basis codes, bit meanings) are documented in
:mod:`qkdstack.link.protocols.prepare_measure` and :mod:`qkdstack.link.protocols.entangled`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet

from qkdstack.errors import ParameterError
from qkdstack.link.events import EventTable
from qkdstack.params import LinkParams
from qkdstack.protocol import registry

__all__ = ["ENTANGLED", "PROTOCOLS", "check_protocol_params", "event_table"]

TableBuilder = Callable[[LinkParams], tuple[EventTable, tuple[float, ...]]]


class _TableView(Mapping[str, TableBuilder]):
    """Every registered protocol's table builder by name (a read-only view of the registry)."""

    def __getitem__(self, protocol: str) -> TableBuilder:
        if not registry.is_registered(protocol):
            raise KeyError(protocol)
        builder: TableBuilder = registry.get(protocol).event_builder()
        return builder

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names())

    def __len__(self) -> int:
        return len(registry.names())


class _EntangledView(AbstractSet[str]):
    """The registered entanglement-based protocols (evaluated on each use)."""

    def __contains__(self, protocol: object) -> bool:
        return (
            isinstance(protocol, str)
            and registry.is_registered(protocol)
            and registry.get(protocol).entangled
        )

    def __iter__(self) -> Iterator[str]:
        return iter([n for n in registry.names() if registry.get(n).entangled])

    def __len__(self) -> int:
        return sum(1 for _ in self)


PROTOCOLS: Mapping[str, TableBuilder] = _TableView()
"""Each registered protocol's event-table builder."""

ENTANGLED: AbstractSet[str] = _EntangledView()
"""Protocols in which both parties measure halves of entangled pairs (``family`` of the spec)."""


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
    spec = registry.get(protocol)  # an unknown name lists the known ones
    if spec.entangled and params.source == "laser":
        raise ParameterError(
            f"Argument 'source' must be 'spdc' for protocol {protocol!r} (it measures the halves "
            f"of SPDC pairs), not 'laser'."
        )
    if spec.emission == "intensities":
        from qkdstack.theory.finite_key import check_lim2014_intensities

        check_lim2014_intensities(params.intensities, params.intensity_probs)


def event_table(protocol: str, params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """Event table and intensity list of ``protocol``; an unknown name lists the known ones, and
    parameters the protocol cannot use are refused (:func:`check_protocol_params`)."""
    check_protocol_params(protocol, params)
    return PROTOCOLS[registry.resolve(protocol)](params)
