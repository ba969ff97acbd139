"""Protocols as objects: one :class:`ProtocolSpec` per protocol, in one registry.

Every layer reads a protocol from here - the link its event table, the post-processing its
sifting rule, estimation, QBER limit and key-length proof, theory its rate model, the CLI its
names and help - so adding a protocol is one :func:`register` call (docs/adding-a-protocol.md).
This package imports nothing above :mod:`qkdstack.errors`: implementations are named by
``"module:attribute"`` references and imported when first used.

>>> from qkdstack.protocol import get, names
>>> names()
('bb84', 'decoy-bb84', 'six-state', 'b92', 'bbm92', 'e91')
>>> get("di").name
'e91'
"""

from __future__ import annotations

from qkdstack.protocol import builtin as _builtin  # noqa: F401  (registers the six protocols)
from qkdstack.protocol.names import ALIASES, ProtocolName
from qkdstack.protocol.registry import (
    get,
    is_registered,
    names,
    register,
    registered,
    resolve,
    unregister,
)
from qkdstack.protocol.spec import Emission, Estimation, Family, ProtocolSpec, Ref, resolve_ref

__all__ = [
    "ALIASES",
    "Emission",
    "Estimation",
    "Family",
    "ProtocolName",
    "ProtocolSpec",
    "Ref",
    "get",
    "help_list",
    "is_registered",
    "names",
    "register",
    "registered",
    "resolve",
    "resolve_ref",
    "unregister",
]


def help_list(first: str | None = None) -> str:
    """The registered names for a help text, ``first`` (a default) leading: ``"a, b, c"``."""
    ordered = list(names())
    if first is not None and first in ordered:
        ordered.remove(first)
        ordered.insert(0, first)
    return ", ".join(ordered)
