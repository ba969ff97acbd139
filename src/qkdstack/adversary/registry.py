"""The attack registry: attacks by name, and the parser of ``--attack NAME[:param=value,...]``.

>>> parse_attack("intercept-resend:fraction=0.5,basis=random")
InterceptResend(fraction=0.5, basis='random', name='intercept-resend')

Unknown attack names and unknown or malformed parameters raise
:class:`~qkdstack.errors.ParameterError` listing the known ones.

The registry names each attack's class by its module and is read without importing the attacks
(they need the link simulator, numba): ``qkd --help`` lists them from here in a fraction of the
time. A spec's :attr:`AttackSpec.factory` imports its class on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qkdstack.errors import ParameterError

from .choices import BASIS_CHOICES, MITM_MODES

if TYPE_CHECKING:
    from qkdstack.link.attack import Attack

    from .tamper import MitmTamper

__all__ = ["ATTACKS", "AttackSpec", "classical_tamper", "parse_attack"]


@dataclass(frozen=True)
class AttackSpec:
    """One registered attack: its factory, parameters with their types, and a one-line summary."""

    name: str
    target: str
    """The attack's class as ``"module:name"`` (imported on first use)."""
    parameters: Mapping[str, type]
    summary: str

    @property
    def factory(self) -> Callable[..., Attack]:
        """The attack's class (importing its module)."""
        module, _, name = self.target.partition(":")
        factory: Callable[..., Attack] = getattr(importlib.import_module(module), name)
        return factory

    def build(self, values: Mapping[str, str]) -> Attack:
        """Coerce ``values`` (strings) and build the attack; errors name the parameter."""
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in self.parameters:
                known = ", ".join(self.parameters) or "none"
                raise ParameterError(
                    f"Attack {self.name!r} has no parameter {key!r}; known parameters: {known}."
                )
            kind = self.parameters[key]
            try:
                value: Any = kind(raw)
            except ValueError:
                raise ParameterError(
                    f"Argument '{key}' of attack {self.name!r} must be {kind.__name__}-valued, "
                    f"not {raw!r}."
                ) from None
            kwargs[key] = value
        try:
            return self.factory(**kwargs)
        except ParameterError as exc:  # name the option the value came from
            inner = str(exc).removeprefix("Argument ")
            raise ParameterError(f"Argument '--attack' ({self.name}) {inner}") from None


ATTACKS: Mapping[str, AttackSpec] = {
    "intercept-resend": AttackSpec(
        "intercept-resend",
        "qkdstack.adversary.intercept_resend:InterceptResend",
        {"fraction": float, "basis": str},
        f"measure a share of pulses and resend (basis: {', '.join(BASIS_CHOICES)})",
    ),
    "beam-splitting": AttackSpec(
        "beam-splitting",
        "qkdstack.adversary.beam_splitting:BeamSplitting",
        {},
        "replace the fibre by a lossless one and keep the photons it would lose",
    ),
    "pns": AttackSpec(
        "pns",
        "qkdstack.adversary.pns:PhotonNumberSplitting",
        {},
        "photon-number splitting tuned to the honest signal gain",
    ),
    "cloner": AttackSpec(
        "cloner",
        "qkdstack.adversary.cloner:Cloner",
        {"disturbance": float},
        "optimal individual attack on BB84 (Fuchs et al. 1997) at Bob's error rate 'disturbance'",
    ),
    "mitm": AttackSpec(
        "mitm",
        "qkdstack.adversary.man_in_the_middle:ManInTheMiddle",
        {"mode": str, "sender": str, "kind": str},
        f"rewrite classical messages (mode: {', '.join(MITM_MODES)})",
    ),
}


def parse_attack(spec: str) -> Attack:
    """Build an attack from ``NAME[:param=value,...]`` (the ``--attack`` option's syntax).

    Raises
    ------
    ParameterError
        For an unknown attack name, an unknown parameter, a malformed ``param=value`` or a value
        outside the parameter's domain; the message lists the known names.
    """
    text = spec.strip()
    name, _, rest = text.partition(":")
    name = name.strip()
    if name not in ATTACKS:
        raise ParameterError(
            f"Argument '--attack' must name one of {', '.join(ATTACKS)}, not {name!r}."
        )
    values: dict[str, str] = {}
    for item in (part.strip() for part in rest.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(
                f"Argument '--attack' parameters must look like name=value, not {item!r}."
            )
        if key.strip() in values:
            raise ParameterError(
                f"Argument '--attack' must give each parameter once, not {key.strip()!r} twice "
                f"in {spec!r}."
            )
        values[key.strip()] = value.strip()
    return ATTACKS[name].build(values)


def classical_tamper(attack: Attack | None, seed: int | None = None) -> MitmTamper | None:
    """The tamper function an attack puts on the classical channel, or None for quantum attacks."""
    from .man_in_the_middle import ManInTheMiddle

    if isinstance(attack, ManInTheMiddle):
        return attack.tamper(seed)
    return None
