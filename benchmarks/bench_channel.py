"""Classical channel: time per round trip and the encode/decode split, for a tiny and a large message.

The tiny pair is one Cascade BINARY step (``ec.parity`` with three 20-element arrays, ``ec.parities``
with 20 disclosed parities), the round trip that Cascade repeats ~1,500 times per 10^6-bit key; the
large pair is a 10^6-detection sifting exchange (int64 pulse indices and uint8 bases, then Alice's
uint8 bases). ``ClassicalChannel.ask`` is timed without and with Wegman-Carter authentication
(Poly1305 tag and verification per message); Alice's responder returns a prebuilt reply, so the time
is the channel's own. Each figure is the median over batches of the mean time per call, as wall time
and as this process's CPU time (the second is steadier on a shared machine). Last, the effect on
Cascade: ``reconcile()`` of a 10^6-bit key at Q = 2% (10^5 with ``--quick``), both halves and the
channel in this process, median of 5 seeded runs after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel, Message, decode_message, encode_message
from qkdstack.processing.reconciliation import reconcile


def _per_call(fn: Callable[[], object], calls: int, batches: int) -> tuple[float, float]:
    """Median over ``batches`` of the mean wall and CPU seconds of ``calls`` back-to-back calls."""
    wall, cpu = [], []
    for _ in range(batches):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        cpu.append((time.process_time() - c0) / calls)
        wall.append((time.perf_counter() - w0) / calls)
    return statistics.median(wall), statistics.median(cpu)


def _auth_pair(n_tags: int) -> tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator]:
    key = bytes(range(16)) + bytes(16 * n_tags)  # benchmark only: a fixed, public "secret"
    return WegmanCarterAuthenticator(key), WegmanCarterAuthenticator(key)


def _ask_per_call(
    request: Message, reply: Message, calls: int, batches: int, *, authenticate: bool
) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(batches):
        auth = _auth_pair(2 * calls) if authenticate else None
        channel = ClassicalChannel(lambda _msg: reply, authentication=auth)
        with channel.in_stage("reconciliation"):
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls):
                channel.ask(request)
            cpu.append((time.process_time() - c0) / calls)
            wall.append((time.perf_counter() - w0) / calls)
    return statistics.median(wall), statistics.median(cpu)


def _report(name: str, request: Message, reply: Message, calls: int, batches: int) -> None:
    req_wire, rep_wire = encode_message(request), encode_message(reply)
    rows = [
        ("encode request", _per_call(lambda: encode_message(request), calls, batches)),
        ("decode request", _per_call(lambda: decode_message(req_wire), calls, batches)),
        ("encode reply", _per_call(lambda: encode_message(reply), calls, batches)),
        ("decode reply", _per_call(lambda: decode_message(rep_wire), calls, batches)),
        ("ask round trip", _ask_per_call(request, reply, calls, batches, authenticate=False)),
        ("ask, authenticated", _ask_per_call(request, reply, calls, batches, authenticate=True)),
    ]
    print(f"{name}: request {len(req_wire):,} B, reply {len(rep_wire):,} B on the wire (no tag)")
    for label, (wall, cpu) in rows:
        print(f"  {label:<20} {wall * 1e6:10.2f} us wall  {cpu * 1e6:10.2f} us CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    batches = 5 if args.quick else 15
    rng = np.random.default_rng(0)

    n = 20
    start = np.sort(rng.integers(0, 10**6, n)).astype(np.int64)
    request = Message(
        "ec.parity",
        public={
            "pass": rng.integers(0, 4, n, dtype=np.uint8),
            "start": start,
            "end": start + rng.integers(1, 64, n),
        },
    )
    reply = Message("ec.parities", disclosed={"parity": rng.integers(0, 2, n, dtype=np.uint8)})
    _report(
        "ec.parity / ec.parities (20 blocks)", request, reply, 300 if args.quick else 3000, batches
    )

    n = 10**6
    sift = Message(
        "sift",
        public={
            "pulse_index": np.sort(rng.choice(50 * n, n, replace=False)).astype(np.int64),
            "basis": rng.integers(0, 2, n, dtype=np.uint8),
        },
    )
    sift_reply = Message("sift.reply", public={"basis": rng.integers(0, 2, n, dtype=np.uint8)})
    _report(
        "sift / sift.reply (10^6 detections)", sift, sift_reply, 3 if args.quick else 10, batches
    )

    n = 10**5 if args.quick else 10**6
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice ^ (rng.random(n) < 0.02).astype(np.uint8)
    reconcile(alice[:10_000], bob[:10_000], 0.02, seed=0)  # compile the kernels
    wall, cpu = [], []
    for seed in range(5):
        w0, c0 = time.perf_counter(), time.process_time()
        result = reconcile(alice, bob, 0.02, seed=seed)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    print(
        f"cascade, n = {n:,}, Q = 2%: {statistics.median(wall):.3f} s wall, "
        f"{statistics.median(cpu):.3f} s CPU ({n / statistics.median(cpu) / 1e6:.2f} Mbit/CPU-s), "
        f"{result.round_trips:,} round trips"
    )


if __name__ == "__main__":
    main()
