"""Man in the middle: Eve leaves the quantum link alone and rewrites the classical channel.

The quantum phase is the honest link (Eve learns nothing from it); the attack's :attr:`tamper`
function is what the post-processing passes to
:class:`~qkdstack.processing.channel.ClassicalChannel`. With authentication on, every tampered
message fails its Wegman-Carter tag and the round aborts (see :mod:`qkdstack.adversary.tamper`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.adversary.tamper import MitmTamper, mitm_tamper
from qkdstack.params import LinkParams
from qkdstack.typing import BitArray, FloatArray

from .sampler import (
    CaseAttack,
    Cases,
    Detections,
    EveView,
    bob_channel_transmittance,
    ignorant_view,
)

__all__ = ["ManInTheMiddle", "honest_cases"]


def honest_cases(pmf: FloatArray, params: LinkParams) -> Cases:
    """Cases ``n`` of the honest link: each photon is detected with probability ``t eta_d``."""
    eta = bob_channel_transmittance(params) * params.detector_efficiency
    n = list(range(pmf.shape[0]))
    return Cases.build(
        list(pmf),
        [1.0 - (1.0 - eta) ** k for k in n],
        n,
        [0] * len(n),
        [0] * len(n),
        [False] * len(n),
    )


def _ignorant(
    det: Detections,
    cases: Sequence[Cases],
    alice_bit: BitArray,
    alice_theta: FloatArray,
    rng: np.random.Generator,
) -> EveView:
    return ignorant_view(det, alice_theta, rng)


@dataclass
class ManInTheMiddle(CaseAttack):
    """Classical-channel attack.

    Parameters
    ----------
    mode : {"flip", "basis", "replace", "bytes"}
        How Eve rewrites messages (:func:`qkdstack.adversary.tamper.mitm_tamper`).
    sender : {"both", "alice", "bob"}
        Whose messages she rewrites.
    kind : str
        Only messages whose kind starts with this prefix (``""``: all).
    """

    mode: str = "flip"
    sender: str = "both"
    kind: str = ""
    name: str = field(default="mitm", init=False)

    def __post_init__(self) -> None:
        # Validate eagerly so that a bad spec fails before any simulation.
        self.tamper()

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters, JSON-ready."""
        return {"mode": self.mode, "sender": self.sender, "kind": self.kind}

    def tamper(self, seed: int | None = None) -> MitmTamper:
        """A fresh tamper function for one classical channel."""
        return mitm_tamper(
            self.mode,
            sender=None if self.sender == "both" else self.sender,
            kind=self.kind,
            seed=seed,
        )

    def cases(self, pmf: FloatArray, params: LinkParams) -> Cases:
        """The honest link's cases: Eve leaves the quantum channel alone."""
        return honest_cases(pmf, params)

    resolve = staticmethod(_ignorant)
