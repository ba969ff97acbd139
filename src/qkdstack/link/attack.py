"""The link's seam for an eavesdropper: what :func:`qkdstack.link.simulate` needs from an attack.

The attacks themselves live above the link, in :mod:`qkdstack.adversary`; the link only names the
shape of one, so that it never imports the adversary (imports go one way: the adversary imports the
link and the post-processing, never the reverse). An attack replaces the honest link:
:func:`~qkdstack.link.simulate` delegates to ``attack.simulate(protocol, params, pulses, rng)``,
which returns the parties' records and Eve's own records in ``LinkOutput.eve``.
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
