"""Alice and Bob as two real processes over real loopback sockets (``qkd node``).

Each test starts its own processes on its own ports and kills them at the end. The link is small
(BB84, 10^6 pulses per round: about 4,600 secret bits) so that a round takes about a second.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_harness import Pair, pool_state, qkd, store_state
from qkdstack.node import AUTH_BITS_PER_ROUND
from qkdstack.node.framing import Kind
from qkdstack.node.messages import RECONCILE_PADS
from qkdstack.node.proxy import DelayProxy, Tamper

FIELDS = {
    "round", "secret_bits", "net_secret_bits", "qber", "aborted", "abort_reason", "seconds",
    "auth_key_bits_used", "auth_pool_bits",
}  # fmt: skip


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    yield p
    p.close()


def _compare(p: Pair) -> int:
    return qkd("keys", "compare", str(p.store_a), str(p.store_b)).returncode


def test_rounds_over_tcp_give_identical_stores_and_the_wire_carries_only_the_disclosed_bits(
    pair: Pair,
) -> None:
    alice = pair.alice("--rounds", "3")
    proxy = DelayProxy("127.0.0.1", pair.port)
    port = proxy.start()
    try:
        bob = pair.bob("--rounds", "3", "--window", "2", port=port)
        assert bob.wait() == 0, bob.stderr
        assert alice.wait() == 0, alice.stderr
    finally:
        proxy.stop()
    assert _compare(pair) == 0
    assert len(bob.reports) == 3 and len(alice.reports) == 3
    for report in bob.reports + alice.reports:
        assert FIELDS <= report.keys()
        assert not report["aborted"] and report["secret_bits"] > 0
        assert report["auth_key_bits_used"] == AUTH_BITS_PER_ROUND
        assert report["net_secret_bits"] == report["secret_bits"] - AUTH_BITS_PER_ROUND
    keys_a, pending_a = store_state(pair.store_a)
    keys_b, pending_b = store_state(pair.store_b)
    assert keys_a == keys_b == sum(r["stored_keys"] for r in bob.reports) > 0
    assert pending_a == pending_b == []
    # Both pools moved in step: the same position (one reconciliation and three rounds' pads
    # past the pre-shared secret's hash key) and the same refills, in the same order.
    position_a, refills_a = pool_state(pair.store_a)
    assert (position_a, refills_a) == pool_state(pair.store_b)
    assert position_a * 8 == RECONCILE_PADS * 128 + 3 * AUTH_BITS_PER_ROUND
    assert len(refills_a) == 4  # the pre-shared pads, then one refill per round
    # What the wire carried, decoded by the man in the middle alone, is what Bob's channel counted
    # as disclosed, round by round.
    for report in bob.reports:
        assert proxy.stats.disclosed_bits[report["round"]] == report["disclosed_bits"] > 0


def test_tampered_frames_abort_their_round_and_the_next_round_succeeds(pair: Pair) -> None:
    # Even rounds are attacked; odd rounds are left alone. Frame seq numbers count each side's
    # frames in a round: Bob's ROUND_START is 0, his first post-processing request 1.
    tampers = [
        Tamper("to_alice", Kind.REQUEST, 2, 3, "flip"),
        Tamper("to_alice", Kind.REQUEST, 4, 5, "replay"),
        Tamper("to_bob", Kind.REPLY, 6, 4, "drop"),
        Tamper("to_alice", Kind.REQUEST, 8, 6, "reorder"),
        Tamper("to_bob", Kind.REPLY, 10, 2, "delay", delay_s=2.5),
        Tamper("to_bob", Kind.REPLY, 12, 3, "flip"),
    ]
    alice = pair.alice()
    proxy = DelayProxy("127.0.0.1", pair.port, tampers=tampers)
    port = proxy.start()
    try:
        bob = pair.bob("--rounds", "13", "--window", "1", "--timeout", "1.5", port=port)
        assert bob.wait(120) == 0, bob.stderr
        alice.terminate()
        assert alice.wait() == 0, alice.stderr
    finally:
        proxy.stop()
    assert all(t.done for t in tampers)
    by_round = {r["round"]: r for r in bob.reports}
    assert sorted(by_round) == list(range(1, 14))
    for round_id, report in by_round.items():
        if round_id % 2 == 0:
            assert report["aborted"], report
            assert report["stored_keys"] == 0
        else:
            assert not report["aborted"], report
    alice_why = {r["round"]: r["abort_reason"] for r in alice.reports}
    assert "AuthenticationError" in by_round[2]["abort_reason"]  # flipped bit: a tag fails
    assert "replayed frame" in alice_why[4]
    assert "out-of-order frame" in by_round[6]["abort_reason"]  # the dropped reply's successor
    assert "out-of-order frame" in alice_why[8]  # the held-back request came after its successor
    assert "no REPLY from Alice within" in by_round[10]["abort_reason"]  # delayed past --timeout
    assert "AuthenticationError" in by_round[12]["abort_reason"]
    alice_ok = {r["round"] for r in alice.reports if not r["aborted"]}
    assert alice_ok == {r for r in by_round if r % 2}
    assert _compare(pair) == 0
    keys, pending = store_state(pair.store_a)
    assert keys == sum(r["stored_keys"] for r in bob.reports) and pending == []
    assert store_state(pair.store_b) == (keys, [])
    assert pool_state(pair.store_a) == pool_state(pair.store_b)


def test_a_frame_of_another_version_is_refused_and_rounds_continue(pair: Pair) -> None:
    # The version byte of Bob's second round start: Alice refuses the connection, Bob reconnects.
    alice = pair.alice()
    proxy = DelayProxy("127.0.0.1", pair.port)
    port = proxy.start()
    proxy.tampers.append(Tamper("to_alice", Kind.ROUND_START, 2, 0, "version"))
    try:
        bob = pair.bob("--rounds", "3", "--window", "1", "--timeout", "2", port=port)
        assert bob.wait(90) == 0, bob.stderr
        alice.terminate()
        assert alice.wait() == 0
    finally:
        proxy.stop()
    aborted = [r["round"] for r in bob.reports if r["aborted"]]
    assert aborted == [2]
    assert _compare(pair) == 0
    assert pool_state(pair.store_a) == pool_state(pair.store_b)


def test_an_exhausted_pool_stops_the_node_with_a_clear_message(tmp_path: Path) -> None:
    # Rounds of 2x10^5 pulses make about 24 secret bits: far less than a round's 1,792 bits of
    # authentication, so the pool runs dry after the pads the pre-shared secret holds.
    psk_bits = 128 + RECONCILE_PADS * 128 + 2 * AUTH_BITS_PER_ROUND
    p = Pair(
        tmp_path, link=["--protocol", "bb84", "--pulses", "2e5", "--seed", "5"], psk_bits=psk_bits
    )
    try:
        alice = p.alice()
        bob = p.bob("--window", "1")
        assert bob.wait(60) == 1
        assert any("authentication key pool is exhausted" in line for line in bob.stderr)
        assert len(bob.reports) == 2
        alice.terminate()
        alice.wait()
    finally:
        p.close()
    assert _compare(p) == 0


def _kill_and_restart(p: Pair, kills: int, seed: int) -> int:
    """Kill one node or the other ``kills`` times at random moments of the rounds (each kill
    waits for a round to finish since the last restart, then a random part of a round's time),
    restarting it each time, then stop both cleanly; return the rounds Bob reported."""
    import time

    rng = random.Random(seed)
    bob_args = ("--window", "2", "--timeout", "3")
    alice = p.alice()
    bob = p.bob(*bob_args)
    reported = 0
    for _ in range(kills):
        before = len(bob.reports)
        bob.wait_reports(before + 1, timeout=30)  # the rounds are running
        time.sleep(rng.uniform(0.0, 1.2))
        if rng.random() < 0.5:
            alice.kill()
            alice = p.alice()
        else:
            bob.kill()
            reported += len(bob.reports)
            bob = p.bob(*bob_args)
    # Rounds go on after the last restart. Both nodes must be up (their SIGTERM handlers
    # installed) before they are stopped: a node still importing when SIGTERM comes dies of it.
    alice.wait_listening(timeout=120)
    want = len(bob.reports) + 2
    bob.wait_reports(want, timeout=120)
    assert len(bob.reports) >= want, bob.stderr[-5:]
    bob.terminate()  # SIGTERM: the rounds in flight finish, then Bob says goodbye
    assert bob.wait(60) == 0, bob.stderr[-5:]
    alice.terminate()
    assert alice.wait(30) == 0, alice.stderr[-5:]
    return reported + len(bob.reports)


def test_kill_minus_nine_at_random_moments_leaves_identical_stores(pair: Pair) -> None:
    assert _kill_and_restart(pair, kills=3, seed=1) >= 5
    assert _compare(pair) == 0
    keys_a, pending_a = store_state(pair.store_a)
    keys_b, pending_b = store_state(pair.store_b)
    assert keys_a == keys_b > 0
    assert pending_a == pending_b == []
    assert pool_state(pair.store_a) == pool_state(pair.store_b)


@pytest.mark.slow
def test_twenty_kills_leave_identical_stores(pair: Pair) -> None:
    assert _kill_and_restart(pair, kills=20, seed=2) >= 22
    assert _compare(pair) == 0
    keys_a, pending_a = store_state(pair.store_a)
    assert (keys_a, pending_a) == store_state(pair.store_b)
    assert pending_a == []
    assert pool_state(pair.store_a) == pool_state(pair.store_b)


def test_hardware_records_each_node_reads_its_own_files(tmp_path: Path) -> None:
    from qkdstack.link import simulate
    from qkdstack.link.recordfile import write_records
    from qkdstack.params import LinkParams

    # One file per party holding two rounds' pulses, cut by pulse_index; nothing on the fibre.
    link = simulate("bb84", LinkParams(), 2_000_000, seed=21)
    write_records(link.alice, tmp_path / "alice.parquet")
    write_records(link.bob, tmp_path / "bob.parquet")
    p = Pair(tmp_path, link=["--protocol", "bb84", "--pulses", "1e6"])
    try:
        alice = p.alice("--records", str(tmp_path / "alice.parquet"), "--rounds", "2")
        bob = p.bob("--records", str(tmp_path / "bob.parquet"), "--rounds", "2")
        assert bob.wait() == 0, bob.stderr
        assert alice.wait() == 0, alice.stderr
    finally:
        p.close()
    assert [r["aborted"] for r in bob.reports] == [False, False]
    assert all(r["secret_bits"] > 0 for r in bob.reports)
    assert _compare(p) == 0
