"""Eavesdroppers: attacks on the quantum link and on the classical channel.

An :class:`Attack` takes over the whole quantum phase of a simulated link
(``qkdstack.link.simulate(..., attack=a)`` delegates to ``a.simulate``) and returns Alice's and Bob's
records together with Eve's own records (:class:`EveRecords`) in ``LinkOutput.eve``. Attacks are
built by name from a command-line spec with :func:`parse_attack`
(``"intercept-resend:fraction=0.5,basis=random"``); the registry :data:`ATTACKS` lists them.

Eve sits at Alice's output, before the fibre, with ideal (lossless, noiseless) equipment and a
quantum memory; Bob's detectors are the honest ones described by :class:`~qkdstack.params.LinkParams`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from qkdstack.params import LinkParams

from ..records import LinkOutput

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
    "parse_attack",
]


@runtime_checkable
class Attack(Protocol):
    """What an eavesdropper on the quantum link provides.

    Attributes
    ----------
    name : str
        Registry name of the attack (``"intercept-resend"``...).
    """

    name: str

    def simulate(
        self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
    ) -> LinkOutput:
        """Run the quantum phase of ``protocol`` under attack; ``LinkOutput.eve`` holds Eve's records."""
        ...


from .beam_splitting import BeamSplitting  # noqa: E402
from .cloner import Cloner  # noqa: E402
from .eve_records import EveBasis, EveRecords  # noqa: E402
from .intercept_resend import InterceptResend  # noqa: E402
from .man_in_the_middle import ManInTheMiddle  # noqa: E402
from .pns import PhotonNumberSplitting  # noqa: E402
from .registry import ATTACKS, AttackSpec, parse_attack  # noqa: E402
