"""Aggregate sampling of detection events: simulate only what is detected.

A protocol describes each pulse by a finite set of *event types*: Alice's intensity class and basis,
Bob's basis, and the click pattern (which fixes how each party's bit is made). Pulses are independent
and identically distributed, so

1. the pulse indices of detection events form a Bernoulli process with the per-pulse detection
   probability :math:`p_\\mathrm{det} = \\sum_k p_k`: the gaps between consecutive detections are
   geometric, and a stream of ``M`` detections costs ``O(M)`` whatever the number of pulses;
2. given that a pulse is detected, its type is drawn from :math:`p_k / p_\\mathrm{det}`, and the
   bits only for detected pulses;
3. the settings of the ``N - D`` undetected pulses are never used except through their number per
   intensity and basis, which is one multinomial draw from the no-detection distribution.

Types are drawn by indexed search (Chen and Asau 1974) in one compiled pass per chunk. This is exactly
the distribution of a per-pulse simulation (tests compare the two on small ``N``),
produced in chunks of at most ``chunk_detections`` events so memory stays bounded for any ``N``.

References
----------
W. Feller, *An Introduction to Probability Theory and Its Applications*, Vol. 1, 3rd ed. (1968),
Ch. VI.8 (waiting times of Bernoulli trials are geometric) and Ch. VI.9 (multinomial distribution).
L. Devroye, *Non-Uniform Random Variate Generation* (1986), Sec. X.2 (geometric by inversion).
H.-C. Chen, Y. Asau, "On generating random variates from an empirical distribution", AIIE Trans. 6,
163 (1974) (indexed search).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.link.detectors import DeadTimeAfterpulse
from qkdstack.typing import BitArray, IndexArray

__all__ = [
    "RANDOM",
    "USE_FLIPPED",
    "USE_VALUE",
    "DetectionChunk",
    "EventTable",
    "StreamTally",
    "stream_detections",
    "undetected_settings",
]

RANDOM = 2  #: bit rule: a fresh uniformly random bit (squashed double click)
USE_VALUE = 3  #: bit rule: Alice's random value (BB84 bit) of this pulse
USE_FLIPPED = 4  #: bit rule: Alice's random value, flipped


@dataclass(frozen=True)
class EventTable:
    """The detection event types of one protocol and link.

    Parameters
    ----------
    prob : ndarray of float64, shape (K,)
        Per-pulse probability of each detection event type.
    intensity, alice_basis, bob_basis : ndarray of uint8, shape (K,)
        Settings of each type.
    alice_bit, bob_bit : ndarray of uint8, shape (K,)
        Bit rule of each type: 0 or 1 (that constant), :data:`RANDOM`, :data:`USE_VALUE`,
        :data:`USE_FLIPPED`.
    no_detection : ndarray of float64, shape (n_intensities, n_alice_bases)
        Per-pulse probability of sending (intensity, basis) and Bob detecting nothing.
    bob_basis_probs : tuple of float
        Bob's basis probabilities (independent of whether he detects: used for afterpulse gates).
    alice_bit_is_basis : bool
        Alice's bit equals her basis code (B92); otherwise it is a uniformly random value.
    """

    prob: npt.NDArray[np.float64]
    intensity: BitArray
    alice_basis: BitArray
    bob_basis: BitArray
    alice_bit: BitArray
    bob_bit: BitArray
    no_detection: npt.NDArray[np.float64]
    bob_basis_probs: tuple[float, ...] = ()
    alice_bit_is_basis: bool = False

    @property
    def detection_prob(self) -> float:
        """Per-pulse probability that the pulse produces a detection event."""
        return float(self.prob.sum())


@dataclass(frozen=True)
class DetectionChunk:
    """A chunk of consecutive detection events (arrays of equal length, sorted by pulse index)."""

    pulse_index: IndexArray
    event_type: npt.NDArray[np.intp]
    intensity: BitArray
    alice_basis: BitArray
    alice_bit: BitArray
    bob_basis: BitArray
    bob_bit: BitArray

    def __len__(self) -> int:
        return int(self.pulse_index.shape[0])


_GUIDE_SIZE = 4096


def _guide_table(cdf: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Indexed search (Chen and Asau 1974): ``guide[j]`` = first type with ``cdf > j / G``."""
    grid = np.arange(_GUIDE_SIZE, dtype=np.float64) / _GUIDE_SIZE
    return np.searchsorted(cdf, grid, side="right").astype(np.int64)


@numba.njit(cache=True)
def _detection_positions(
    log_survival: npt.NDArray[np.float64], log_miss: float, last: int
) -> npt.NDArray[np.int64]:  # pragma: no cover
    """Pulse indices of successive detections after ``last``: geometric gaps by inversion.

    A gap of ``g`` pulses has probability :math:`(1-p)^{g-1} p`; with ``U`` uniform on [0, 1),
    :math:`g = 1 + \\lfloor \\ln(1 - U) / \\ln(1 - p) \\rfloor` (Devroye 1986, Sec. X.2).
    ``log_survival`` holds :math:`\\ln(1 - U)` (numpy's vectorised ``log``: :func:`_log_survival`)
    and is overwritten.
    """
    n = log_survival.shape[0]
    out = np.empty(n, dtype=np.int64)
    for k in range(n):  # no dependence between elements: the compiler vectorises this loop
        log_survival[k] = np.floor(log_survival[k] / log_miss)
    cap = np.int64(1) << 62  # beyond any pulse count: saturate instead of overflowing
    pos = np.int64(last)
    for k in range(n):
        gap = 1.0 + log_survival[k]
        if gap >= cap - pos:
            pos = cap
        else:
            pos += np.int64(gap)
        out[k] = pos
    return out


def _log_survival(uniform: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """:math:`\\ln(1 - U)` in place of ``uniform`` (a fresh array of ``Generator.random``).

    ``Generator.random`` returns multiples of :math:`2^{-53}` in [0, 1), so ``1 - U`` is exact and
    ``log(1 - U)`` is ``log1p(-U)`` to within an ulp of the logarithm (numpy's ``log`` is
    vectorised, ``log1p`` is not: 5 against 33 ns per element here).
    """
    np.subtract(1.0, uniform, out=uniform)
    return np.log(uniform, out=uniform)


def _rule_masks(rule: BitArray) -> tuple[BitArray, BitArray, BitArray]:
    """A bit rule as ``bit = base ^ (value & use_value) ^ (random & use_random)`` per type.

    0 and 1 are constants (``base``); :data:`USE_VALUE` is ``value``; :data:`USE_FLIPPED` is
    ``1 ^ value``; :data:`RANDOM` is the fresh random bit.
    """
    rule = np.asarray(rule, dtype=np.uint8)
    known = (rule <= 1) | (rule == RANDOM) | (rule == USE_VALUE) | (rule == USE_FLIPPED)
    if not known.all():
        raise ParameterError(f"Unknown bit rule(s) in an event table: {sorted(set(rule[~known]))}.")
    base = np.where(rule <= 1, rule, rule == USE_FLIPPED).astype(np.uint8)
    use_value = ((rule == USE_VALUE) | (rule == USE_FLIPPED)).astype(np.uint8)
    use_random = (rule == RANDOM).astype(np.uint8)
    return base, use_value, use_random


def _type_settings(table: EventTable) -> npt.NDArray[np.uint8]:
    """Per type, one row: intensity, Alice's and Bob's bases, then both bit rules' masks."""
    a_base, a_value, a_random = _rule_masks(table.alice_bit)
    b_base, b_value, b_random = _rule_masks(table.bob_bit)
    columns = [table.intensity, table.alice_basis, table.bob_basis]
    columns += [a_base, a_value, a_random, b_base, b_value, b_random]
    return np.ascontiguousarray(np.stack(columns, axis=1).astype(np.uint8))


@numba.njit(cache=True)
def _draw_events(
    uniform: npt.NDArray[np.float64],
    random_bits: npt.NDArray[np.uint8],
    cdf: npt.NDArray[np.float64],
    guide: npt.NDArray[np.int64],
    settings: npt.NDArray[np.uint8],
    counts: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.intp], BitArray, BitArray, BitArray, BitArray, BitArray
]:  # pragma: no cover
    """Event type of each detection by indexed search, then its settings and bits, in one pass.

    ``random_bits`` supplies three independent random bits per event: Alice's value (bit 0) and
    the random outcomes of squashed double clicks for Alice (bit 1) and Bob (bit 2).
    ``settings`` is :func:`_type_settings`' table: the bits are made without a branch on the
    (random) type's rule.
    """
    n = uniform.shape[0]
    g_size = guide.shape[0]
    kind = np.empty(n, dtype=np.intp)
    out_i = np.empty(n, dtype=np.uint8)
    out_ab = np.empty(n, dtype=np.uint8)
    out_abit = np.empty(n, dtype=np.uint8)
    out_bb = np.empty(n, dtype=np.uint8)
    out_bbit = np.empty(n, dtype=np.uint8)
    for k in range(n):
        u = uniform[k]
        t = guide[int(u * g_size)]
        while cdf[t] <= u:
            t += 1
        kind[k] = t
        counts[t] += 1
        r = random_bits[k]
        value = r & 1
        row = settings[t]
        out_i[k] = row[0]
        out_ab[k] = row[1]
        out_bb[k] = row[2]
        out_abit[k] = row[3] ^ (value & row[4]) ^ ((r >> 1) & 1 & row[5])
        out_bbit[k] = row[6] ^ (value & row[7]) ^ ((r >> 2) & 1 & row[8])
    return kind, out_i, out_ab, out_abit, out_bb, out_bbit


@dataclass
class StreamTally:
    """What a stream has drawn so far, for the settings of the pulses never shown.

    Attributes
    ----------
    type_counts : ndarray of int64, shape (K,)
        Detection events drawn per type, including those lost to dead time.
    afterpulse_settings : ndarray of int64, shape (n_intensities, n_alice_bases)
        Settings of the (otherwise undetected) pulses in whose gates an afterpulse clicked.
    dead_time_losses : int
        Clicks not registered because the detector was dead.
    """

    type_counts: npt.NDArray[np.int64]
    afterpulse_settings: npt.NDArray[np.int64]
    dead_time_losses: int = 0

    @classmethod
    def empty(cls, table: EventTable) -> StreamTally:
        """A tally with nothing drawn."""
        return cls(
            type_counts=np.zeros(table.prob.shape[0], dtype=np.int64),
            afterpulse_settings=np.zeros(table.no_detection.shape, dtype=np.int64),
        )

    @property
    def pulses_drawn(self) -> int:
        """Pulses whose settings have been drawn (original detections and afterpulse gates)."""
        return int(self.type_counts.sum() + self.afterpulse_settings.sum())


def _afterpulse_events(
    table: EventTable, gates: IndexArray, rng: np.random.Generator, tally: StreamTally
) -> DetectionChunk:
    """Events for afterpulse clicks in gates where no photon or dark count clicked.

    Alice's settings there follow the no-detection distribution; Bob's basis his basis choice;
    Bob's outcome is uniformly random.
    """
    n = gates.shape[0]
    nd = table.no_detection.ravel()
    settings = np.searchsorted(np.cumsum(nd) / nd.sum(), rng.random(n), side="right")
    settings = np.minimum(settings, nd.shape[0] - 1)
    n_a = table.no_detection.shape[1]
    intensity = (settings // n_a).astype(np.uint8)
    alice_basis = (settings % n_a).astype(np.uint8)
    tally.afterpulse_settings += np.bincount(settings, minlength=nd.shape[0]).reshape(
        table.no_detection.shape
    )
    bob_p = np.asarray(table.bob_basis_probs, dtype=np.float64)
    bob_basis = np.minimum(
        np.searchsorted(np.cumsum(bob_p) / bob_p.sum(), rng.random(n), side="right"),
        bob_p.shape[0] - 1,
    ).astype(np.uint8)
    alice_bit = (
        alice_basis.copy()
        if table.alice_bit_is_basis
        else np.asarray(rng.integers(0, 2, size=n, dtype=np.uint8))
    )
    return DetectionChunk(
        pulse_index=gates.astype(np.int64, copy=False),
        event_type=np.full(n, table.prob.shape[0], dtype=np.intp),
        intensity=intensity,
        alice_basis=alice_basis,
        alice_bit=alice_bit,
        bob_basis=bob_basis,
        bob_bit=np.asarray(rng.integers(0, 2, size=n, dtype=np.uint8)),
    )


def _merge(a: DetectionChunk, b: DetectionChunk) -> DetectionChunk:
    """Insert the (few) events of ``b`` into ``a`` in pulse order (indices are disjoint)."""
    where = np.searchsorted(a.pulse_index, b.pulse_index)
    fields = {}
    for name in (
        "pulse_index",
        "event_type",
        "intensity",
        "alice_basis",
        "alice_bit",
        "bob_basis",
        "bob_bit",
    ):
        fields[name] = np.insert(getattr(a, name), where, getattr(b, name))
    return DetectionChunk(**fields)


def _select(chunk: DetectionChunk, mask: npt.NDArray[np.bool_]) -> DetectionChunk:
    return DetectionChunk(
        pulse_index=chunk.pulse_index[mask],
        event_type=chunk.event_type[mask],
        intensity=chunk.intensity[mask],
        alice_basis=chunk.alice_basis[mask],
        alice_bit=chunk.alice_bit[mask],
        bob_basis=chunk.bob_basis[mask],
        bob_bit=chunk.bob_bit[mask],
    )


def stream_detections(
    table: EventTable,
    pulses: int,
    rng: np.random.Generator,
    chunk_detections: int = 1 << 20,
    *,
    detector: DeadTimeAfterpulse | None = None,
    tally: StreamTally | None = None,
) -> Iterator[DetectionChunk]:
    """Yield the detection events of ``pulses`` pulses, in chunks, in increasing pulse order.

    Parameters
    ----------
    table : EventTable
        Event types and their per-pulse probabilities.
    pulses : int
        Number of pulses ``N`` (any size: cost and memory scale with detections per chunk).
    rng : numpy.random.Generator
    chunk_detections : int
        Upper bound on the events drawn per chunk (afterpulses may add a few).
    detector : DeadTimeAfterpulse or None
        Dead time and afterpulsing of Bob's detection unit, applied to the clicks in order.
    tally : StreamTally or None
        Updated with what was drawn (see :class:`StreamTally`).

    Events of afterpulse clicks have ``event_type == K`` (one past the table's types).

    References
    ----------
    Feller (1968), Ch. VI.8: inter-arrival times of a Bernoulli process are geometric.
    """
    if chunk_detections < 1:
        raise ParameterError(f"Argument 'chunk_detections' must be >= 1, not {chunk_detections}.")
    if tally is None:
        tally = StreamTally.empty(table)
    use_detector = detector is not None and detector.active
    p_det = table.detection_prob
    if pulses <= 0 or p_det <= 0.0:
        return
    p_det = min(p_det, 1.0)
    cdf = np.cumsum(table.prob) / table.prob.sum()
    cdf[-1] = 1.0
    guide = _guide_table(cdf)
    settings = _type_settings(table)
    log_miss = float(np.log1p(-p_det)) if p_det < 1.0 else -np.inf
    last = -1
    while True:
        remaining = pulses - 1 - last
        if remaining <= 0:
            break
        expected = p_det * remaining
        size = int(min(chunk_detections, expected + 6.0 * np.sqrt(expected) + 16))
        positions = _detection_positions(
            _log_survival(np.asarray(rng.random(size))), log_miss, last
        )
        done = bool(positions[-1] >= pulses)
        if done:
            positions = positions[: int(np.searchsorted(positions, pulses))]
        n = positions.shape[0]
        if n:
            kind, inten, a_basis, a_bit, b_basis, b_bit = _draw_events(
                np.asarray(rng.random(n)),
                np.frombuffer(rng.bytes(n), dtype=np.uint8),
                cdf,
                guide,
                settings,
                tally.type_counts,
            )
            chunk = DetectionChunk(
                pulse_index=positions.astype(np.int64, copy=False),
                event_type=kind,
                intensity=inten,
                alice_basis=a_basis,
                alice_bit=a_bit,
                bob_basis=b_basis,
                bob_bit=b_bit,
            )
            last = int(positions[-1])
            if use_detector:
                assert detector is not None
                keep, gates = detector.process(chunk.pulse_index, rng)
                tally.dead_time_losses += int(n - np.count_nonzero(keep))
                if not keep.all():
                    chunk = _select(chunk, keep)
                if gates.shape[0]:
                    chunk = _merge(chunk, _afterpulse_events(table, gates, rng, tally))
            if len(chunk):
                yield chunk
        if done:
            break
    if use_detector:
        assert detector is not None
        gates = detector.finish(pulses)
        if gates.shape[0]:
            yield _afterpulse_events(table, gates, rng, tally)


def undetected_settings(
    table: EventTable, undetected: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Counts per (intensity, Alice basis) of ``undetected`` pulses without a detection event.

    References
    ----------
    Feller (1968), Ch. VI.9 (multinomial distribution).
    """
    if undetected < 0:
        raise ParameterError(f"Argument 'undetected' must be >= 0, not {undetected}.")
    nd = table.no_detection
    total = nd.sum()
    if undetected == 0 or total <= 0:
        return np.zeros(nd.shape, dtype=np.int64)
    counts = rng.multinomial(undetected, (nd / total).ravel())
    return counts.reshape(nd.shape).astype(np.int64)
