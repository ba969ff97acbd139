"""Bob's window of rounds in flight: Little's law on what he measured, and the nodes follow it.

The formula is checked against numbers worked by hand (a 10 ms network, 780 round trips, 0.1 s
of CPU per round: 7.8 s of waiting per round, 78 rounds' worth of CPU, twice that with headroom,
so the cap of 64), and two real nodes behind a delay proxy widen their window beyond the starting
one on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_harness import Pair, qkd
from qkdstack.node.proxy import DelayProxy
from qkdstack.node.window import (
    HEADROOM,
    MAX_AUTO_WINDOW,
    MAX_INFLIGHT_DETECTIONS,
    MIN_AUTO_WINDOW,
    START_WINDOW,
    WindowSizer,
    auto_window,
)


@pytest.mark.parametrize(
    ("rtt_s", "trips", "cpu_s", "expected"),
    [
        (0.0, 780, 0.1, START_WINDOW),  # no latency: the 4 rounds a network without delay needs
        (0.001, 780, 0.1, 20),  # 2 x 0.78 s waiting / 0.1 s CPU = 15.6 -> 16, + 4
        (0.001, 780, 0.4, 8),  # 2 x 0.78 / 0.4 = 3.9 -> 4, + 4
        (0.010, 780, 0.1, MAX_AUTO_WINDOW),  # 156 + 4, capped
        (0.010, 780, 4.0, 8),  # a large round: 2 x 7.8 / 4 = 3.9 -> 4, + 4
        (0.010, 0, 0.1, START_WINDOW),  # one-way error correction: no round trips
        (0.010, 780, 0.0, MAX_AUTO_WINDOW),  # CPU below the 1 ms floor
        (math.nan, 780, 0.1, MAX_AUTO_WINDOW),
        (0.010, 780, math.inf, MIN_AUTO_WINDOW),
    ],
)
def test_auto_window_is_littles_law_with_headroom_within_its_bounds(
    rtt_s: float, trips: int, cpu_s: float, expected: int
) -> None:
    assert HEADROOM == 2.0  # the worked numbers above assume it
    assert auto_window(rtt_s, trips, cpu_s) == expected


def test_a_fixed_window_is_kept_and_auto_opens_once_records_arrive() -> None:
    assert WindowSizer(fixed=7).size() == 7
    sizer = WindowSizer(rtt_s=0.010)
    assert sizer.size() == START_WINDOW  # nothing measured yet
    sizer.saw_records(316_157)  # a 10^7-pulse BB84 round at 25 km
    # Priors: 1,000 round trips of 10 ms against 0.316 s of CPU: 2 x 10 / 0.316 = 63.3 -> 64,
    # + 4 = 68 rounds, above the memory cap of 2^24 // 316,157 = 53 rounds.
    assert sizer.size() == 53
    sizer.finished(780)
    assert sizer.size() == 53  # still capped by memory


def test_huge_rounds_keep_the_window_at_its_floor() -> None:
    sizer = WindowSizer(rtt_s=0.010)
    sizer.saw_records(MAX_INFLIGHT_DETECTIONS)  # one round alone fills the memory budget
    assert sizer.size() == MIN_AUTO_WINDOW


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    yield p
    p.close()


def test_nodes_behind_a_delay_widen_their_window_on_their_own(pair: Pair) -> None:
    alice = pair.alice("--rounds", "10")
    proxy = DelayProxy("127.0.0.1", pair.port, delay_s=0.010)  # 20 ms round trip
    port = proxy.start()
    try:
        bob = pair.bob("--rounds", "10", port=port)  # --window auto, the default
        assert bob.wait() == 0, bob.stderr
        assert alice.wait() == 0, alice.stderr
    finally:
        proxy.stop()
    assert qkd("keys", "compare", str(pair.store_a), str(pair.store_b)).returncode == 0
    assert all(not r["aborted"] for r in bob.reports)
    windows = [r["window"] for r in bob.reports]
    # Hundreds of round trips of 20 ms per round against well under a second of CPU: Little's
    # law asks for more rounds in flight than the 4 Bob starts with.
    assert min(r["round_trips"] for r in bob.reports) >= 100
    assert max(windows) > START_WINDOW and max(windows) <= MAX_AUTO_WINDOW
