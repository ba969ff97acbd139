"""What both parties' nodes use: the tally of disclosed bits, bit packing, the stage of a message."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from qkdstack.link.records import Records
from qkdstack.processing.channel import Message
from qkdstack.typing import BitArray, IndexArray

__all__ = ["UNKNOWN", "Tally", "pack_bits", "stage_of", "subset", "unpack_bits"]

UNKNOWN = -1
"""A sifted position whose error is not (yet) known to Bob."""


class Tally:
    """A party's own count of the disclosed bits it has seen, per stage."""

    def __init__(self) -> None:
        self.disclosed: dict[str, int] = defaultdict(int)

    def add(self, stage: str, *messages: Message) -> None:
        self.disclosed[stage] += sum(m.disclosed_bits() for m in messages)


def pack_bits(bits: BitArray) -> bytes:
    return np.packbits(bits).tobytes()


def unpack_bits(data: bytes, count: int) -> BitArray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count].copy()


_STAGES = {
    "sift": "sifting",
    "chsh": "estimation",
    "test": "estimation",
    "b92.test": "estimation",
    "sample": "estimation",
    "estimate": "estimation",
    "verify": "verification",
    "amplify": "amplification",
}


def stage_of(kind: str) -> str | None:
    """The stage a request of ``kind`` belongs to (None for ``abort``, which ends any stage)."""
    if kind.startswith("ec."):
        return "reconciliation"
    return _STAGES.get(kind)


def subset(records: Records, positions: IndexArray) -> Records:
    """Alice's records restricted to ``positions`` (Bob's detections)."""
    return Records(
        role=records.role,
        pulse_index=records.pulse_index[positions],
        basis=records.basis[positions],
        bit=records.bit[positions],
        meta=records.meta,
        intensity=None if records.intensity is None else records.intensity[positions],
        time_tag_ps=None if records.time_tag_ps is None else records.time_tag_ps[positions],
    )
