"""Eavesdropping attacks on the quantum link.

An attack replaces the honest link: :func:`qkdstack.link.simulate` delegates to
``attack.simulate(protocol, params, pulses, rng)``, which returns the parties' records (and Eve's in
``LinkOutput.eve``). Concrete attacks may reuse the link kernels: sources
(:mod:`qkdstack.link.sources`), channels (:mod:`qkdstack.link.channels`), detectors
(:mod:`qkdstack.link.detectors`), the event tables of :mod:`qkdstack.link.protocols` and the
aggregate sampler :mod:`qkdstack.link.events`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from qkdstack.link.records import LinkOutput
from qkdstack.params import LinkParams

__all__ = ["Attack"]


@runtime_checkable
class Attack(Protocol):
    """An eavesdropping strategy that simulates the whole link with Eve on it."""

    name: str

    def simulate(
        self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
    ) -> LinkOutput:
        """Simulate ``pulses`` pulses of ``protocol`` over ``params`` with this attack."""
        ...
