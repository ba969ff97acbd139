"""Sifting: each party announces public information about its detected pulses and both keep the
positions that carry key.

A :class:`SiftingRule` says what each party announces and which positions form the raw key. Both
parties evaluate :meth:`SiftingRule.keep` on the same public announcements, so they agree on the
positions without revealing any bit. Rules are registered by protocol name.

BB84 (Bennett and Brassard 1984): both announce bases; positions with equal bases are kept. The
sifted positions of each basis are returned separately so that a protocol may take its key from one
basis and estimate the phase error from the other. Six-state (Bruß 1998) and BBM92 (Bennett, Brassard,
Mermin 1992) sift the same way. B92 (Bennett 1992): Bob announces his conclusive detections only
(:class:`B92Rule`). E91 (Ekert 1991): equal setting codes are kept; the CHSH-test pairs are
selected by :meth:`E91Rule.chsh_mask` (:class:`E91Rule`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.link.records import Records
from qkdstack.protocol import registry

__all__ = [
    "E91_CHSH_SETTINGS",
    "RULES",
    "B92Rule",
    "E91Rule",
    "SiftingRule",
    "get_rule",
    "matching_basis_mask",
]

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


@dataclass(frozen=True)
class B92Rule(SiftingRule):
    r"""B92 (Bennett 1992): Bob announces which detections were conclusive; Alice announces nothing.

    Record conventions (:mod:`qkdstack.link.protocols.prepare_measure`): Alice's ``bit`` is her key
    bit (state \|0> for 0, \|+> for 1); Bob's ``basis`` is Z or X and ``bit`` his raw outcome. An
    outcome 1 is conclusive (\|1> excludes \|0>, \|-> excludes \|+>), and Bob's key bit there is
    ``1 - basis``.

    References
    ----------
    C. H. Bennett, "Quantum cryptography using any two nonorthogonal states", PRL 68, 3121 (1992).
    """

    def bob_announces(self, bob: Records) -> Announcement:
        """Which detections were conclusive (outcome 1), as ``uint8`` flags; no basis is revealed."""
        return {"conclusive": (bob.bit == 1).astype(np.uint8)}

    def alice_announces(self, alice: Records) -> Announcement:
        """Nothing: in B92 Alice's state choice is her key bit."""
        return {}

    def keep(
        self, alice_pub: Mapping[str, np.ndarray], bob_pub: Mapping[str, np.ndarray]
    ) -> npt.NDArray[np.bool_]:
        """Bob's conclusive detections."""
        return np.asarray(bob_pub["conclusive"], dtype=np.uint8) == 1

    def bob_bits(self, bob: Records) -> npt.NDArray[np.uint8]:
        """Bob's inferred bit ``1 - basis`` (meaningful at conclusive detections)."""
        return (1 - bob.basis).astype(np.uint8)


@dataclass(frozen=True)
class E91Rule(SiftingRule):
    """E91 (Ekert 1991): key from equal setting codes; CHSH test from the pairs of :data:`E91_CHSH_SETTINGS`.

    Setting code ``c`` is the polarisation angle ``c * 22.5°``; Alice's codes are {0, 1, 2} and
    Bob's {1, 2, 3} (:mod:`qkdstack.link.protocols.entangled`). Equal codes (1 or 2) give correlated
    outcomes and form the key; Alice's {0, 2} against Bob's {1, 3} form the CHSH test, whose
    outcomes are then disclosed publicly (:mod:`qkdstack.processing.chsh`).

    References
    ----------
    A. K. Ekert, "Quantum cryptography based on Bell's theorem", PRL 67, 661 (1991).
    """

    def chsh_mask(
        self, alice_pub: Mapping[str, np.ndarray], bob_pub: Mapping[str, np.ndarray]
    ) -> npt.NDArray[np.bool_]:
        """Positions whose setting pair enters the CHSH value (disclosed, never used as key)."""
        a = np.asarray(alice_pub["basis"])
        b = np.asarray(bob_pub["basis"])
        return np.isin(a, E91_CHSH_SETTINGS[0]) & np.isin(b, E91_CHSH_SETTINGS[1])


E91_CHSH_SETTINGS: tuple[tuple[int, ...], tuple[int, ...]] = ((0, 2), (1, 3))
"""Alice's and Bob's E91 setting codes that enter the CHSH test."""


class _RuleView(Mapping[str, SiftingRule]):
    """The registered protocols' sifting rules by name: a read-only view of the protocol registry
    (:mod:`qkdstack.protocol`), where each protocol names its rule."""

    def __getitem__(self, protocol: str) -> SiftingRule:
        if not registry.is_registered(protocol):
            raise KeyError(protocol)
        return get_rule(protocol)

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names())

    def __len__(self) -> int:
        return len(registry.names())


RULES: Mapping[str, SiftingRule] = _RuleView()
"""Every registered protocol's rule. Six-state (Bruß 1998) and BBM92 (Bennett, Brassard, Mermin
1992) sift as BB84 does: bases announced, equal bases kept."""


def get_rule(protocol: str) -> SiftingRule:
    """The sifting rule of ``protocol`` (its spec's); an unknown name lists the known ones."""
    rule = registry.get(protocol).sifting_rule()
    if not isinstance(rule, SiftingRule):
        raise ParameterError(
            f"Argument 'protocol' {protocol!r} names a sifting rule that is no SiftingRule: {rule!r}."
        )
    return rule
