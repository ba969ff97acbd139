"""The protocol registry: every protocol's :class:`~qkdstack.protocol.spec.ProtocolSpec` by name.

>>> get("di").name
'e91'

The six built-in protocols (:mod:`qkdstack.protocol.builtin`) are registered on import; another
one is one :func:`register` call (docs/adding-a-protocol.md). An unknown name raises
:class:`~qkdstack.errors.ParameterError` listing the known ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qkdstack.errors import ParameterError
from qkdstack.protocol.spec import ProtocolSpec

__all__ = ["get", "is_registered", "names", "register", "registered", "resolve", "unregister"]

_SPECS: dict[str, ProtocolSpec] = {}
_ALIASES: dict[str, str] = {}


def register(spec: ProtocolSpec, *, replace: bool = False) -> ProtocolSpec:
    """Add ``spec`` under its name and aliases; a taken name is refused unless ``replace``."""
    taken = [n for n in (spec.name, *spec.aliases) if n in _SPECS or n in _ALIASES]
    if taken and not replace:
        raise ParameterError(
            f"Argument 'spec' names a protocol that is already registered: {taken[0]!r}."
        )
    if replace and spec.name in _SPECS:
        unregister(spec.name)
    _SPECS[spec.name] = spec
    for alias in spec.aliases:
        _ALIASES[alias] = spec.name
    return spec


def unregister(name: str) -> None:
    """Remove the protocol ``name`` (not an alias) and its aliases; unknown names are an error."""
    spec = get(name)
    if spec.name != name:
        raise ParameterError(f"Argument 'name' must be a protocol's name, not its alias {name!r}.")
    del _SPECS[name]
    for alias in spec.aliases:
        _ALIASES.pop(alias, None)


@contextmanager
def registered(spec: ProtocolSpec) -> Iterator[ProtocolSpec]:
    """Register ``spec`` for the duration of a ``with`` block (tests, experiments)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.name)


def resolve(name: str, *, argument: str = "protocol") -> str:
    """The registry name of ``name`` (itself, or the protocol an alias stands for).

    Raises
    ------
    ParameterError
        Naming ``argument`` and listing the known names, for a name nothing is registered under.
    """
    if name in _SPECS:
        return name
    if isinstance(name, str) and name in _ALIASES:
        return _ALIASES[name]
    known = ", ".join(sorted(names()))
    aliases = ", ".join(f"{a} = {n}" for a, n in sorted(_ALIASES.items()))
    raise ParameterError(
        f"Argument '{argument}' must be one of {known}"
        + (f" (aliases: {aliases})" if aliases else "")
        + f", not {name!r}."
    )


def get(name: str, *, argument: str = "protocol") -> ProtocolSpec:
    """The spec of ``name`` (a registry name or an alias); an unknown name lists the known ones."""
    return _SPECS[resolve(name, argument=argument)]


def is_registered(name: str) -> bool:
    """``name`` is a registered protocol or alias."""
    return name in _SPECS or name in _ALIASES


def names() -> tuple[str, ...]:
    """The registered protocols' names, in registration order (the built-ins first)."""
    return tuple(_SPECS)
