"""Eavesdropping attacks on the quantum link (and on the classical channel).

An attack replaces the honest link: :func:`qkdstack.link.simulate` delegates to
``attack.simulate(protocol, params, pulses, rng)``, which returns the parties' records and Eve's own
records (:class:`EveRecords`) in ``LinkOutput.eve``. Attacks are built by name from a command-line
spec with :func:`parse_attack` (``"intercept-resend:fraction=0.5,basis=random"``); the registry
:data:`ATTACKS` lists them. The ``mitm`` attack leaves the quantum link alone and provides a tamper
function for the classical channel (:func:`~qkdstack.link.attacks.registry.classical_tamper`).

Eve sits at Alice's output, before the fibre, with ideal (lossless, noiseless) equipment and a
quantum memory; Bob's detectors are the honest ones described by :class:`~qkdstack.params.LinkParams`.
Concrete attacks sample only Bob's detected events, in aggregate (:mod:`.sampler`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from qkdstack.link.records import LinkOutput
from qkdstack.params import LinkParams

__all__ = [
    "ATTACKS",
    "Attack",
    "AttackSpec",
    "BeamSplitting",
    "Cloner",
    "EveBasis",
    "EveRecords",
    "InterceptResend",
    "ManInTheMiddle",
    "PhotonNumberSplitting",
    "classical_tamper",
    "parse_attack",
]


@runtime_checkable
class Attack(Protocol):
    """An eavesdropping strategy that simulates the whole link with Eve on it."""

    name: str

    def simulate(
        self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
    ) -> LinkOutput:
        """Simulate ``pulses`` pulses of ``protocol`` over ``params`` with this attack."""
        ...


from .beam_splitting import BeamSplitting  # noqa: E402
from .cloner import Cloner  # noqa: E402
from .eve_records import EveBasis, EveRecords  # noqa: E402
from .intercept_resend import InterceptResend  # noqa: E402
from .man_in_the_middle import ManInTheMiddle  # noqa: E402
from .pns import PhotonNumberSplitting  # noqa: E402
from .registry import ATTACKS, AttackSpec, classical_tamper, parse_attack  # noqa: E402
