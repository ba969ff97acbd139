"""Eve's records: what the eavesdropper holds after the quantum phase and the public discussion.

Eve's records are simulation-only data: the parties never see them. They are indexed like Bob's
records (one entry per pulse Bob detected, sorted by pulse index), because only those pulses can
enter the key. For each such pulse they say whether Eve acted on it, in which basis she measured
(after the basis announcement, when she holds the photon in a quantum memory), her best guess of
Alice's bit, whether that guess is certain, and her posterior error probability given everything
public. The number of pulses she acted on in the whole run (detected by Bob or not) is kept in
``intercepted_pulses``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import RecordError
from qkdstack.typing import BitArray, FloatArray, IndexArray

__all__ = ["EveBasis", "EveRecords"]


class EveBasis(IntEnum):
    """Eve's measurement bases: the protocol's bases plus the Breidbart basis, or none."""

    Z = 0  #: rectilinear (same code as :attr:`qkdstack.typing.Basis.Z`)
    X = 1  #: diagonal (same code as :attr:`qkdstack.typing.Basis.X`)
    BREIDBART = 3  #: halfway between Z and X (Bloch angle pi/4), Bennett et al. 1992
    NONE = 255  #: Eve did not measure this pulse


@dataclass(frozen=True)
class EveRecords:
    """The eavesdropper's records for the pulses Bob detected (all arrays of equal length).

    Parameters
    ----------
    attack : str
        Registry name of the attack.
    parameters : dict
        The attack's parameters, JSON-ready.
    pulses : int
        Pulses sent in the run.
    intercepted_pulses : int
        Pulses of the whole run (detected by Bob or not) on which Eve acted on at least one photon.
    pulse_index : ndarray of int64
        Bob's detected pulses, strictly increasing (the same indices as Bob's records).
    attacked : ndarray of bool
        Whether Eve acted on the pulse.
    basis : ndarray of uint8
        :class:`EveBasis` code of Eve's measurement (``NONE`` when she did not measure).
    guess : ndarray of uint8
        Eve's best guess of Alice's bit (a fair coin where she knows nothing).
    certain : ndarray of bool
        Whether Eve knows Alice's bit for sure once the bases are public.
    error_prob : ndarray of float64
        Eve's posterior probability that ``guess`` is wrong (0 when certain, 0.5 when ignorant).
    photons : ndarray of uint8
        Photons of the pulse that Eve kept (beam splitting, photon-number splitting), else 0.
    notes : dict
        Attack-specific facts, JSON-ready (for example the PNS forwarding shares).
    """

    attack: str
    parameters: dict[str, Any]
    pulses: int
    intercepted_pulses: int
    pulse_index: IndexArray
    attacked: npt.NDArray[np.bool_]
    basis: BitArray
    guess: BitArray
    certain: npt.NDArray[np.bool_]
    error_prob: FloatArray
    photons: BitArray
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.pulse_index.shape[0]
        for name in ("attacked", "basis", "guess", "certain", "error_prob", "photons"):
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != n:
                raise RecordError(
                    f"Eve record field {name!r} must be 1-D of length {n} like 'pulse_index', "
                    f"not shape {arr.shape}."
                )
        if n > 1 and not np.all(np.diff(self.pulse_index) > 0):
            raise RecordError("Eve record field 'pulse_index' must be strictly increasing.")
        if not 0 <= self.intercepted_pulses <= self.pulses:
            raise RecordError(
                f"Eve record field 'intercepted_pulses' must be in [0, {self.pulses}], "
                f"not {self.intercepted_pulses}."
            )

    def __len__(self) -> int:
        return int(self.pulse_index.shape[0])

    def positions_of(self, pulse_index: IndexArray) -> IndexArray:
        """Positions in these records of the given pulses; every pulse must be present."""
        pos = np.searchsorted(self.pulse_index, pulse_index)
        pos_c = np.minimum(pos, max(len(self) - 1, 0))
        if len(self) == 0 and pulse_index.size:
            raise RecordError("Eve's records are empty but pulses were requested.")
        if pulse_index.size and not np.array_equal(self.pulse_index[pos_c], pulse_index):
            raise RecordError(
                "Argument 'sifted_pulse_index' names pulses that Bob did not detect "
                "(absent from Eve's records)."
            )
        return pos_c.astype(np.int64)
