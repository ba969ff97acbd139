"""The attack registry: attacks by name, and the parser of ``--attack NAME[:param=value,...]``.

>>> parse_attack("intercept-resend:fraction=0.5,basis=random")
InterceptResend(fraction=0.5, basis='random', name='intercept-resend')

Unknown attack names and unknown or malformed parameters raise
:class:`~qkdstack.errors.ParameterError` listing the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qkdstack.adversary.tamper import MitmTamper
from qkdstack.errors import ParameterError
from qkdstack.link.attack import Attack

from .beam_splitting import BeamSplitting
from .cloner import Cloner
from .intercept_resend import BASIS_CHOICES, InterceptResend
from .man_in_the_middle import ManInTheMiddle
from .pns import PhotonNumberSplitting

__all__ = ["ATTACKS", "AttackSpec", "classical_tamper", "parse_attack"]


@dataclass(frozen=True)
class AttackSpec:
    """One registered attack: its factory, parameters with their types, and a one-line summary."""

    name: str
    factory: Callable[..., Attack]
    parameters: Mapping[str, type]
    summary: str

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


_MITM_MODES = ("flip", "basis", "replace", "bytes")

ATTACKS: Mapping[str, AttackSpec] = {
    "intercept-resend": AttackSpec(
        "intercept-resend",
        InterceptResend,
        {"fraction": float, "basis": str},
        f"measure a share of pulses and resend (basis: {', '.join(BASIS_CHOICES)})",
    ),
    "beam-splitting": AttackSpec(
        "beam-splitting",
        BeamSplitting,
        {},
        "replace the fibre by a lossless one and keep the photons it would lose",
    ),
    "pns": AttackSpec(
        "pns",
        PhotonNumberSplitting,
        {},
        "photon-number splitting tuned to the honest signal gain",
    ),
    "cloner": AttackSpec(
        "cloner",
        Cloner,
        {"disturbance": float},
        "optimal individual attack on BB84 (Fuchs et al. 1997) at Bob's error rate 'disturbance'",
    ),
    "mitm": AttackSpec(
        "mitm",
        ManInTheMiddle,
        {"mode": str, "sender": str, "kind": str},
        f"rewrite classical messages (mode: {', '.join(_MITM_MODES)})",
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
    if isinstance(attack, ManInTheMiddle):
        return attack.tamper(seed)
    return None
