"""Detection records: what one party of a link knows after the quantum phase.

The link yields two :class:`Records`, Alice's and Bob's. Each holds only what that party would know:
the pulse (or time-slot) index, the basis, the bit or outcome, and, for prepare-and-measure protocols
with several intensities, Alice's intensity class. From here on the post-processing of one party never
reads the other party's records; everything it learns arrives as a classical message.

The simulator simulates only what is detected, so Alice's records list her settings for the pulses
that Bob will report as detected. The settings of undetected pulses are never used by the
post-processing, so they are elided; their number per intensity and basis is kept in
``meta.sent_counts`` (what decoy-state analysis needs). Records imported from hardware may list every
pulse; the post-processing handles both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import RecordError
from qkdstack.typing import BitArray, IndexArray, Role

__all__ = ["LinkOutput", "RecordMeta", "Records", "check_listed"]


@dataclass(frozen=True)
class RecordMeta:
    """What travels with a record set.

    Parameters
    ----------
    protocol : str
        Registry name of the protocol (``"bb84"``, ``"decoy-bb84"``...).
    pulses : int
        Number of pulses sent (or time slots) in this record set.
    intensities : tuple of float
        Mean photon number of each intensity class, indexed by the ``intensity`` code (Alice).
    sent_counts : ndarray of int64, shape (n_intensities, n_bases), optional
        Pulses Alice sent per intensity class and basis (Alice only).
    params : dict
        The link parameters that produced the records, as Alice declares them; the
        post-processing reads them, so they are not informational. Her key-length proof takes
        ``source`` (and ``mu`` for a laser: :func:`~qkdstack.processing.key_length.proof_source`),
        the decoy-state bound takes ``intensity_probs`` and ``basis_prob_z`` (Lim et al. 2014),
        and the sanity checks (:mod:`qkdstack.processing.sanity`: detector model, PLOB bound) and
        ``qkd process`` read the link's ``distance_km`` and detector parameters. Hardware records
        may omit it: a check whose parameter is absent is skipped, and an undeclared source is
        refused rather than given the single-photon proof.
    seed : int or None
        The simulation seed, or None for hardware data.
    """

    protocol: str
    pulses: int
    intensities: tuple[float, ...] = ()
    sent_counts: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None


@dataclass(frozen=True)
class Records:
    """One party's detection records (all arrays of equal length, sorted by ``pulse_index``).

    Parameters
    ----------
    role : Role
        Whose records these are.
    pulse_index : ndarray of int64
        Strictly increasing pulse indices.
    basis : ndarray of uint8
        :class:`~qkdstack.typing.Basis` codes.
    bit : ndarray of uint8
        Prepared bit (Alice) or measured outcome (Bob), 0 or 1.
    intensity : ndarray of uint8, optional
        Intensity class of each pulse (Alice, decoy-state protocols).
    time_tag_ps : ndarray of int64, optional
        Detection time in picoseconds, when modelled or measured.
    meta : RecordMeta
    """

    role: Role
    pulse_index: IndexArray
    basis: BitArray
    bit: BitArray
    meta: RecordMeta
    intensity: BitArray | None = None
    time_tag_ps: IndexArray | None = None

    def __post_init__(self) -> None:
        n = self.pulse_index.shape[0]
        for name in ("pulse_index", "basis", "bit", "intensity", "time_tag_ps"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.ndim != 1 or arr.shape[0] != n:
                raise RecordError(
                    f"Record field {name!r} must be 1-D of length {n} like 'pulse_index', "
                    f"not shape {arr.shape}."
                )
        if self.pulse_index.dtype != np.int64:
            raise RecordError(
                f"Record field 'pulse_index' must be int64, not {self.pulse_index.dtype}."
            )
        if n > 1 and not _strictly_increasing(self.pulse_index):
            raise RecordError("Record field 'pulse_index' must be strictly increasing.")
        if n and (self.pulse_index[0] < 0 or self.pulse_index[-1] >= self.meta.pulses):
            raise RecordError(
                f"Record field 'pulse_index' must lie in [0, {self.meta.pulses}), "
                f"not [{self.pulse_index[0]}, {self.pulse_index[-1]}]."
            )
        if n and self.bit.max(initial=0) > 1:
            raise RecordError("Record field 'bit' must hold only 0 and 1.")

    def __len__(self) -> int:
        return int(self.pulse_index.shape[0])


_COMPILED_FROM = 1 << 14
"""Records of at least this many detections are checked by the compiled kernels of
:mod:`qkdstack.link.index_kernels` (imported only then: small records need no numba)."""


def _strictly_increasing(index: IndexArray) -> bool:
    if index.shape[0] < _COMPILED_FROM:
        return bool(np.all(np.diff(index) > 0))
    from qkdstack.link.index_kernels import is_strictly_increasing

    return is_strictly_increasing(index)


def _locate_numpy(haystack: IndexArray, needles: IndexArray) -> bool:
    pos = np.searchsorted(haystack, needles)
    if haystack.shape[0] == 0:
        return needles.shape[0] == 0
    return bool(
        np.all(
            (pos < haystack.shape[0])
            & (haystack[np.minimum(pos, haystack.shape[0] - 1)] == needles)
        )
    )


@dataclass(frozen=True)
class LinkOutput:
    """What a simulated link hands to the post-processing, plus facts only a simulation knows.

    Attributes
    ----------
    alice, bob : Records
        Each party's detection records; the post-processing gives each party only its own.
    eve : object or None
        The eavesdropper's records when an attack ran (see :mod:`qkdstack.adversary`).
    truth : dict
        Simulation-only facts for reports and tests (never given to the parties), for example
        per-class photon-number statistics.
    """

    alice: Records
    bob: Records
    eve: Any = None
    truth: dict[str, Any] = field(default_factory=dict)


def check_listed(alice: Records, bob: Records) -> None:
    """Check that Alice's records list every pulse Bob detected (both records in hand: a check
    made on the input files, before any message is sent).

    Raises
    ------
    RecordError
        Naming the first missing pulse and how many are missing.
    """
    # Both index arrays are sorted: one merge finds each of Bob's pulses in Alice's list.
    if len(bob) < _COMPILED_FROM:
        all_found = _locate_numpy(alice.pulse_index, bob.pulse_index)
    else:
        from qkdstack.link.index_kernels import locate_sorted

        all_found = locate_sorted(alice.pulse_index, bob.pulse_index)[1]
    if not all_found:
        pos = np.searchsorted(alice.pulse_index, bob.pulse_index)
        pos_clipped = np.minimum(pos, max(len(alice) - 1, 0))
        found = (pos < len(alice)) & (
            alice.pulse_index[pos_clipped] == bob.pulse_index if len(alice) else False
        )
        missing = int(bob.pulse_index[np.argmin(found)])
        raise RecordError(
            f"Records of Alice must list every pulse Bob detected; pulse {missing} "
            f"({int((~found).sum())} in all) is missing: the record sets do not match."
        )
