"""The adversary: Eve on the quantum channel, on the classical channel, and what she learned.

This layer sits above the link and the post-processing and reads both; neither imports it. Each
meets the adversary at a seam of its own: :func:`qkdstack.link.simulate` takes any object of the
shape :class:`qkdstack.link.attack.Attack`, and
:class:`~qkdstack.processing.channel.ClassicalChannel` (through
:attr:`~qkdstack.processing.pipeline.PipelineOptions.tamper`) takes any
:data:`~qkdstack.processing.channel.Tamper` function.

* Attacks on the quantum channel (:mod:`.intercept_resend`, :mod:`.beam_splitting`, :mod:`.pns`,
  :mod:`.cloner`) replace the honest link: ``attack.simulate(protocol, params, pulses, rng)``
  returns the parties' records and Eve's own records (:class:`EveRecords`) in ``LinkOutput.eve``.
  Eve sits at Alice's output, before the fibre, with ideal (lossless, noiseless) equipment and a
  quantum memory; Bob's detectors are the honest ones described by
  :class:`~qkdstack.params.LinkParams`. They sample only Bob's detected events, in aggregate
  (:mod:`.sampler`).
* The man in the middle on the classical channel (:mod:`.man_in_the_middle`) leaves the quantum
  link alone and provides a tamper function (:mod:`.tamper`, :func:`classical_tamper`).
* Eve's knowledge (:mod:`.eve`, :mod:`.eve_knowledge`): the ``eve`` block of the run report,
  computed outside the parties from simulation-only data.

Attacks are built by name from a command-line spec with :func:`parse_attack`
(``"intercept-resend:fraction=0.5,basis=random"``); the registry :data:`ATTACKS` lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qkdstack._lazy import lazy_attributes

if TYPE_CHECKING:
    from qkdstack.link.attack import Attack

    from .beam_splitting import BeamSplitting
    from .cloner import Cloner
    from .eve_records import EveBasis, EveRecords
    from .intercept_resend import InterceptResend
    from .man_in_the_middle import ManInTheMiddle
    from .pns import PhotonNumberSplitting
    from .registry import ATTACKS, AttackSpec, classical_tamper, parse_attack

_LAZY = {
    "ATTACKS": "qkdstack.adversary.registry",
    "Attack": "qkdstack.link.attack",
    "AttackSpec": "qkdstack.adversary.registry",
    "BeamSplitting": "qkdstack.adversary.beam_splitting",
    "Cloner": "qkdstack.adversary.cloner",
    "EveBasis": "qkdstack.adversary.eve_records",
    "EveRecords": "qkdstack.adversary.eve_records",
    "InterceptResend": "qkdstack.adversary.intercept_resend",
    "ManInTheMiddle": "qkdstack.adversary.man_in_the_middle",
    "PhotonNumberSplitting": "qkdstack.adversary.pns",
    "classical_tamper": "qkdstack.adversary.registry",
    "parse_attack": "qkdstack.adversary.registry",
}
"""Public name -> the module that defines it: imported on first access (PEP 562), so that the
registry (``qkd --help``) does not load the attacks and the link simulator."""

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
