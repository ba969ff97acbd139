"""The six built-in protocols, each specified once.

The QBER limits: Shor-Preskill's 11.0028% (the root of ``1 - 2 h(e) = 0``, Shor and Preskill 2000)
for the BB84-like proofs; 12.6% for the six-state protocol with one-way post-processing (Lo 2001);
B92 has no QBER cut (0.5): its numerical finite-size bound on the full test statistics decides.

References
----------
P. W. Shor, J. Preskill, PRL 85, 441 (2000). H.-K. Lo, Quantum Inf. Comput. 1, 81 (2001).
C. C. W. Lim et al., PRA 89, 022307 (2014). I. George, J. Lin, N. Lutkenhaus, Phys. Rev. Research
3, 013274 (2021). A. K. Ekert, PRL 67, 661 (1991).
"""

from __future__ import annotations

from typing import Final

from qkdstack.protocol.names import ALIASES, ProtocolName
from qkdstack.protocol.registry import register
from qkdstack.protocol.spec import ProtocolSpec

__all__ = ["BB84_QBER_LIMIT", "BUILTIN", "SIX_STATE_QBER_LIMIT"]

BB84_QBER_LIMIT: Final = 0.110028
"""Shor-Preskill threshold: the root of ``1 - 2 h(e) = 0``; above it no BB84 key is possible."""

SIX_STATE_QBER_LIMIT: Final = 0.126
"""Lo 2001: the six-state protocol tolerates 12.6% with one-way post-processing."""

_PM = "qkdstack.link.protocols.prepare_measure"
_ENT = "qkdstack.link.protocols.entangled"
_SIFT = "qkdstack.processing.sifting"
_RULES = "qkdstack.processing.length_rules"


def _aliases(name: ProtocolName) -> tuple[str, ...]:
    return tuple(alias for alias, target in ALIASES.items() if target is name)


BUILTIN: Final[tuple[ProtocolSpec, ...]] = (
    ProtocolSpec(
        name=ProtocolName.BB84,
        description="BB84 (Bennett, Brassard 1984): Shor-Preskill, or GLLP with a laser",
        family="prepare-and-measure",
        events=f"{_PM}:bb84_table",
        sifting=f"{_SIFT}:SiftingRule",
        estimation="sample",
        qber_limit=BB84_QBER_LIMIT,
        key_length=f"{_RULES}:bb84_length",
        source_proof=True,
        theory_model="bb84",
        attackable=True,
    ),
    ProtocolSpec(
        name=ProtocolName.DECOY_BB84,
        description="decoy-state BB84 (Lo, Ma, Chen 2005): Lim et al. 2014 finite key",
        family="prepare-and-measure",
        events=f"{_PM}:decoy_bb84_table",
        sifting=f"{_SIFT}:SiftingRule",
        estimation="test-basis",
        qber_limit=BB84_QBER_LIMIT,
        key_length=f"{_RULES}:decoy_length",
        emission="intensities",
        theory_model="decoy-bb84",
        attackable=True,
    ),
    ProtocolSpec(
        name=ProtocolName.SIX_STATE,
        description="six-state (Bruss 1998): Lo 2001 bound",
        family="prepare-and-measure",
        events=f"{_PM}:six_state_table",
        sifting=f"{_SIFT}:SiftingRule",
        estimation="sample",
        qber_limit=SIX_STATE_QBER_LIMIT,
        key_length=f"{_RULES}:six_state_length",
        source_proof=True,
        record_bases=(frozenset({0, 1, 2}), frozenset({0, 1, 2})),
        theory_model="six-state",
    ),
    ProtocolSpec(
        name=ProtocolName.B92,
        description="B92 (Bennett 1992): numerical finite-size bound (George et al. 2021)",
        family="prepare-and-measure",
        events=f"{_PM}:b92_table",
        sifting=f"{_SIFT}:B92Rule",
        estimation="b92-test",
        qber_limit=0.5,
        key_length=f"{_RULES}:b92_length",
        scalable_proof=False,
    ),
    ProtocolSpec(
        name=ProtocolName.BBM92,
        description="BBM92 (Bennett, Brassard, Mermin 1992): entanglement-based BB84",
        family="entanglement-based",
        events=f"{_ENT}:bbm92_table",
        sifting=f"{_SIFT}:SiftingRule",
        estimation="sample",
        qber_limit=BB84_QBER_LIMIT,
        key_length=f"{_RULES}:bb84_length",
        emission="mu_pair",
        theory_model="bbm92",
    ),
    ProtocolSpec(
        name=ProtocolName.E91,
        description="E91 (Ekert 1991): CHSH test, device-dependent or -independent bound",
        family="entanglement-based",
        events=f"{_ENT}:e91_table",
        sifting=f"{_SIFT}:E91Rule",
        estimation="sample",
        qber_limit=BB84_QBER_LIMIT,
        key_length=f"{_RULES}:e91_length",
        aliases=_aliases(ProtocolName.E91),
        emission="mu_pair",
        bell_test=True,
        record_bases=(frozenset({0, 1, 2}), frozenset({1, 2, 3})),
        named_bases=False,
        theory_model="di",
    ),
)
"""The built-in protocols, in the order help texts list them."""

for _spec in BUILTIN:
    register(_spec)
