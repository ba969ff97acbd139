"""How many rounds Bob keeps in flight: enough to hide the network's round-trip time.

A round of post-processing is a chain of dependent round trips (Cascade: several hundred per
round) with a little CPU work between them. On one connection the CPU idles while a round waits
for its replies unless other rounds run in the meantime. By Little's law (J. D. C. Little,
Oper. Res. 9, 383 (1961): items in a system = arrival rate x time in the system), a node that
finishes a round every ``c`` seconds of CPU, each round spending at least ``t * RTT`` seconds
waiting on the network (``t`` round trips), needs

    W = ceil(t * RTT / c) + 1        (at least; auto_window keeps ceil(2 t RTT / c) + 4)

rounds in flight for the CPU never to wait (the bandwidth-delay product of the round pipeline;
the "multi-pipeline" latency hiding of Mao et al., "High throughput reconciliation with small
leakage for QKD", 2021). :func:`auto_window` computes it from what Bob measured: the round trip
of his HELLO, the round trips of his finished rounds and his CPU seconds per round, with
headroom: a round also waits for the peer's work on each reply and for the other rounds'
CPU, which the HELLO does not show, so it keeps ``HEADROOM`` times the waiting rounds plus the
``START_WINDOW`` that a network without delay needs (as TCP keeps a window above the bare
bandwidth-delay product). Too wide a window costs only memory; too narrow a window costs rate. Large rounds
(much CPU per round) need few rounds in flight, so the window bounds itself; its memory is bounded
too: never more than ``MAX_INFLIGHT_DETECTIONS`` detections (each round holds its records) and
never more than ``MAX_AUTO_WINDOW`` rounds.

Before the first round has finished, nothing is measured but the HELLO's round trip and the size
of the first records: the window starts at ``START_WINDOW`` and, once records have arrived,
opens to the rounds that priors ask for (``PRIOR_ROUND_TRIPS`` round trips, the CPU of
``PRIOR_CPU_S_PER_DETECTION`` per detection), so that a long network does not wait a whole
slow round before it widens.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "HEADROOM",
    "MAX_AUTO_WINDOW",
    "MAX_INFLIGHT_DETECTIONS",
    "MIN_AUTO_WINDOW",
    "PRIOR_CPU_S_PER_DETECTION",
    "PRIOR_ROUND_TRIPS",
    "START_WINDOW",
    "WindowSizer",
    "auto_window",
]

MIN_AUTO_WINDOW: Final = 2
"""Rounds in flight at least (one computes while the other waits)."""
MAX_AUTO_WINDOW: Final = 64
"""Rounds in flight at most, whatever the latency (memory: each holds its records)."""
START_WINDOW: Final = 4
"""Rounds in flight before the first round has finished (nothing measured yet), and the part of
the window that a network without delay needs."""
MAX_INFLIGHT_DETECTIONS: Final = 2**24
"""Detections of all rounds in flight at most: each costs about 55 bytes at each node (measured:
18 MiB per round of 3.2e5 detections), so the cap bounds the window's memory near 1 GiB per node
(BENCHMARKS.md, "Rerun with memory")."""
PRIOR_ROUND_TRIPS: Final = 1000
"""Round trips per round assumed before one has finished (Cascade at a few percent QBER: 780 in
BENCHMARKS.md's two-node runs of 10^7 pulses)."""
PRIOR_CPU_S_PER_DETECTION: Final = 1e-6
"""CPU seconds per detection assumed before a round has finished (both nodes on one two-core
machine: about 0.3 s per 3 x 10^5 detections of a 10^7-pulse BB84 round, link included)."""
HEADROOM: Final = 2.0
"""The window holds this many times the rounds that Little's law counts waiting on the network."""


def auto_window(
    rtt_s: float,
    round_trips_per_round: float,
    cpu_s_per_round: float,
    *,
    lo: int = MIN_AUTO_WINDOW,
    hi: int = MAX_AUTO_WINDOW,
) -> int:
    """Rounds in flight that keep the CPU busy: ``ceil(HEADROOM t RTT / c) + START_WINDOW``
    within ``[lo, hi]``.

    Parameters
    ----------
    rtt_s : float
        The network's round-trip time in seconds.
    round_trips_per_round : float
        Dependent round trips of one round (``t``).
    cpu_s_per_round : float
        CPU seconds this node spends per round (``c``); at least 1 ms is assumed.

    References
    ----------
    J. D. C. Little, Oper. Res. 9, 383 (1961) (Little's law).
    """
    if not (math.isfinite(rtt_s) and math.isfinite(round_trips_per_round)):
        return hi
    if not math.isfinite(cpu_s_per_round):
        return lo
    waiting_s = max(0.0, rtt_s) * max(0.0, round_trips_per_round)
    needed = math.ceil(HEADROOM * waiting_s / max(cpu_s_per_round, 1e-3)) + START_WINDOW
    return max(lo, min(hi, needed))


@dataclass
class WindowSizer:
    """Bob's window: fixed (``fixed``), or sized by :func:`auto_window` from his measurements.

    ``rtt_s`` is set from the HELLO exchange of each connection; :meth:`saw_records` records
    the detections of a round's records; :meth:`finished` records each round that ran to its end
    (its round trips) against the process CPU clock.
    """

    fixed: int | None = None
    rtt_s: float = 0.0
    detections: int | None = None
    _rounds: int = 0
    _round_trips: int = 0
    _cpu0_s: float = field(default_factory=time.process_time)

    def finished(self, round_trips: int) -> None:
        """A round finished after ``round_trips`` dependent round trips."""
        self._rounds += 1
        self._round_trips += int(round_trips)

    def saw_records(self, detections: int) -> None:
        """A round's records hold ``detections`` detections (the largest seen is kept)."""
        self.detections = max(int(detections), self.detections or 0)

    def size(self) -> int:
        """The number of rounds to keep in flight now."""
        if self.fixed is not None:
            return self.fixed
        if self.detections is None:
            return START_WINDOW
        hi = max(
            MIN_AUTO_WINDOW,
            min(MAX_AUTO_WINDOW, MAX_INFLIGHT_DETECTIONS // max(self.detections, 1)),
        )
        if self._rounds == 0:
            prior_cpu_s = self.detections * PRIOR_CPU_S_PER_DETECTION
            return auto_window(self.rtt_s, PRIOR_ROUND_TRIPS, prior_cpu_s, hi=hi)
        cpu_s = (time.process_time() - self._cpu0_s) / self._rounds
        return auto_window(self.rtt_s, self._round_trips / self._rounds, cpu_s, hi=hi)
