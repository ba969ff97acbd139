"""Array aliases and the small enumerations shared by every layer.

Bits are ``uint8`` arrays holding 0 or 1; bases are ``uint8`` codes of :class:`Basis`; pulse indices
are ``int64``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "Basis",
    "BitArray",
    "FloatArray",
    "IndexArray",
    "Role",
    "Seed",
]

BitArray: TypeAlias = npt.NDArray[np.uint8]
"""One bit per element, values 0 or 1, dtype ``uint8``."""

IndexArray: TypeAlias = npt.NDArray[np.int64]
"""Pulse or bit positions, dtype ``int64``."""

FloatArray: TypeAlias = npt.NDArray[np.float64]

Seed: TypeAlias = "int | np.random.Generator | np.random.SeedSequence | None"
"""What public functions accept as ``seed``: an int, a generator, a seed sequence, or None."""


class Basis(IntEnum):
    """Measurement / preparation bases. The values are the ``uint8`` codes stored in records."""

    Z = 0  #: rectilinear, the key basis of BB84
    X = 1  #: diagonal
    Y = 2  #: circular, used by the six-state protocol


class Role(StrEnum):
    """The two parties of a QKD link."""

    ALICE = "alice"
    BOB = "bob"

    @property
    def peer(self) -> Role:
        """The other party."""
        return Role.BOB if self is Role.ALICE else Role.ALICE
