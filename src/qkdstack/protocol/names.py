"""The names of the built-in protocols, and the other names they are known by.

A protocol is named once, here: the link, the post-processing, the theory curves and the CLI all
take these strings (a :class:`ProtocolName` is a ``str``, so either spelling works). The
device-independent protocol that theory calls ``di`` is the link's ``e91``: ``di`` is an alias.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["ALIASES", "ProtocolName"]


class ProtocolName(StrEnum):
    """The six built-in protocols (the registry may hold more, registered at run time)."""

    BB84 = "bb84"  #: Bennett and Brassard (1984)
    DECOY_BB84 = "decoy-bb84"  #: BB84 with decoy states (Lo, Ma, Chen 2005; Lim et al. 2014)
    SIX_STATE = "six-state"  #: Bruss (1998)
    B92 = "b92"  #: Bennett (1992)
    BBM92 = "bbm92"  #: Bennett, Brassard, Mermin (1992)
    E91 = "e91"  #: Ekert (1991)


ALIASES: Final[dict[str, ProtocolName]] = {"di": ProtocolName.E91}
"""Other names of built-in protocols: ``di`` (device-independent, as theory calls it) is ``e91``."""
