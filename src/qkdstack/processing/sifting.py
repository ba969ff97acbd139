"""Sifting: each party announces public information about its detected pulses and both keep the
positions that carry key.

A :class:`SiftingRule` says what each party announces and which positions form the raw key. Both
parties evaluate :meth:`SiftingRule.keep` on the same public announcements, so they agree on the
positions without revealing any bit. Rules are registered by protocol name.

BB84 (Bennett and Brassard 1984): both announce bases; positions with equal bases are kept. The
sifted positions of each basis are returned separately so that a protocol may take its key from one
basis and estimate the phase error from the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.link.records import Records

__all__ = ["RULES", "SiftingRule", "get_rule", "matching_basis_mask"]

Announcement = dict[str, npt.NDArray[np.generic]]


def matching_basis_mask(
    basis_a: npt.NDArray[np.uint8], basis_b: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_]:
    """Positions where the two announced bases are equal (the BB84 sifting condition)."""
    if basis_a.shape != basis_b.shape:
        raise ParameterError(
            f"Arguments 'basis_a' and 'basis_b' must have equal shapes, not {basis_a.shape} and {basis_b.shape}."
        )
    return np.asarray(basis_a == basis_b)


@dataclass(frozen=True)
class SiftingRule:
    """How one protocol sifts. Subclasses override the three methods for other protocols."""

    name: str

    def bob_announces(self, bob: Records) -> Announcement:
        """Bob's public announcement about his detections (besides their pulse indices)."""
        return {"basis": bob.basis}

    def alice_announces(self, alice: Records) -> Announcement:
        """Alice's public announcement for the pulses Bob detected (``alice`` is that subset)."""
        out: Announcement = {"basis": alice.basis}
        if alice.intensity is not None:
            out["intensity"] = alice.intensity
        return out

    def keep(
        self, alice_pub: Mapping[str, np.ndarray], bob_pub: Mapping[str, np.ndarray]
    ) -> npt.NDArray[np.bool_]:
        """Positions (among Bob's detections) that both keep, computed from announcements only."""
        return matching_basis_mask(alice_pub["basis"], bob_pub["basis"])

    def bob_bits(self, bob: Records) -> npt.NDArray[np.uint8]:
        """Bob's key bits at his detections, before applying :meth:`keep`."""
        return bob.bit

    def alice_bits(self, alice: Records) -> npt.NDArray[np.uint8]:
        """Alice's key bits at Bob's detections (``alice`` is that subset), before :meth:`keep`."""
        return alice.bit


RULES: dict[str, SiftingRule] = {
    "bb84": SiftingRule("bb84"),
    "decoy-bb84": SiftingRule("decoy-bb84"),
}


def get_rule(protocol: str) -> SiftingRule:
    """The sifting rule of ``protocol``; an unknown name lists the known ones."""
    try:
        return RULES[protocol]
    except KeyError:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(sorted(RULES))}, not {protocol!r}."
        ) from None
