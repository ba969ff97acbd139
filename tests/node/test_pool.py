"""The durable authentication pool: pads never reused across reopening (a crash), exhaustion
fails closed, refills join the stream only when activated, in activation order."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from qkdstack.errors import NodeError
from qkdstack.node.pool import AuthPool

PSK = bytes(range(16)) + bytes((i * 7 + 1) % 256 for i in range(16 * 6))  # r + 6 pads


def test_pads_are_never_handed_out_twice_even_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "pool"
    pool = AuthPool(path, PSK)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pool.hash_key == PSK[:16]
    start, pads = pool.reserve(2)
    assert (start, pads) == (0, PSK[16:48])
    pool.close()
    again = AuthPool(path, bytes(len(PSK)))  # a reopened pool ignores the secret: it has its own
    start2, pads2 = again.reserve(1)
    assert start2 == 32 and pads2 == PSK[48:64]
    # A reservation may start later (a peer's position), never earlier.
    start3, _ = again.reserve(1, at_least=0)
    assert start3 == 48
    start4, _ = again.reserve(1, at_least=80)
    assert start4 == 80
    with pytest.raises(NodeError, match="exhausted"):
        again.reserve(1)
    # Used pads are wiped in the file.
    assert PSK[16:48] not in path.read_bytes()


def test_refills_join_the_stream_when_activated_in_activation_order(tmp_path: Path) -> None:
    pool = AuthPool(tmp_path / "pool", PSK)
    pool.reserve(6)
    assert pool.bits_left == 0
    pool.add_pending("b1", b"\x01" * 16)
    pool.add_pending("b2", b"\x02" * 32)
    assert pool.pending() == ["b1", "b2"] and pool.bits_left == 0
    pool.activate("b2")
    pool.activate("b2")  # idempotent
    pool.activate("b1")
    pool.drop("b1")  # an active refill is never dropped
    assert pool.refills() == ["psk", "b2", "b1"]
    assert pool.reserve(3)[1] == b"\x02" * 32 + b"\x01" * 16
    pool.add_pending("b3", b"\x03" * 16)
    pool.drop("b3")
    assert pool.pending() == []


def test_round_ids_are_never_reused(tmp_path: Path) -> None:
    pool = AuthPool(tmp_path / "pool", PSK)
    assert pool.claim_round() == 1
    assert pool.claim_round(at_least=5) == 5
    pool.see_round(9)
    pool.close()
    assert AuthPool(tmp_path / "pool", PSK).claim_round() == 10
