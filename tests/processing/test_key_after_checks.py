"""No key before the last check, on either side: a node hashes its key only after every stage
check has passed on its own side (Kiktenko et al. 2020: one failed check discards the round)."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import AuthenticationError
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel
from qkdstack.processing.pipeline import (
    AliceNode,
    BobNode,
    PipelineOptions,
    run_postprocessing,
)
from qkdstack.typing import Role

from synthetic import make_bb84_records

OPTIONS = PipelineOptions(secure_randomness=False)


class _ForgeLastTag:
    """Flip one bit of the stage tag that ``victim`` sends once Alice's amplify reply has passed
    (the amplification stage's check)."""

    def __init__(self, victim: Role) -> None:
        self.victim = victim
        self.armed = False
        self.forged = 0

    def __call__(self, sender: Role, wire: bytes) -> bytes:
        if sender is Role.ALICE and b"amplify.reply" in wire:
            self.armed = True
            return wire
        if self.armed and sender is self.victim and len(wire) == 16:
            self.armed = False
            self.forged += 1
            data = bytearray(wire)
            data[0] ^= 1
            return bytes(data)
        return wire


def _nodes(victim: Role) -> tuple[AliceNode, BobNode, ClassicalChannel, _ForgeLastTag]:
    alice_records, bob_records = make_bb84_records(30_000, 0.02, seed=3)
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    bob = BobNode(bob_records, OPTIONS, np.random.default_rng(2))
    shared = np.random.default_rng(5).bytes(16 + 16 * 64)
    tamper = _ForgeLastTag(victim)
    channel = ClassicalChannel(
        alice.handle,
        authentication=(WegmanCarterAuthenticator(shared), WegmanCarterAuthenticator(shared)),
        tamper=tamper,
        auth_scope="stage",
        on_alice_confirmed=alice.stage_confirmed,
    )
    return alice, bob, channel, tamper


def test_alice_holds_no_key_when_the_last_check_fails_on_her_side() -> None:
    # Bob's amplification-stage tag is forged: Alice's own check fails, so she must never have
    # hashed a key (today's node hashed it while answering 'amplify', before any check).
    alice, bob, channel, tamper = _nodes(Role.BOB)
    with pytest.raises(AuthenticationError):
        bob.run(channel)
    assert tamper.forged == 1
    assert alice.decision is not None and alice.decision.length_bits > 0  # she got that far
    assert alice.final_key is None


def test_bob_holds_no_key_when_the_last_check_fails_on_his_side() -> None:
    # Alice's amplification-stage tag is forged: her check passed (her key is hers to keep), his
    # fails, and his node must hold nothing, whatever the in-process wrapper does afterwards.
    alice, bob, channel, tamper = _nodes(Role.ALICE)
    with pytest.raises(AuthenticationError):
        bob.run(channel)
    assert tamper.forged == 1
    assert bob.toeplitz_seed is not None  # he had everything he needed to hash
    assert bob.final_key is None
    assert alice.final_key is not None


def test_both_hold_the_key_once_every_check_passed() -> None:
    alice_records, bob_records = make_bb84_records(30_000, 0.02, seed=3)
    res = run_postprocessing(alice_records, bob_records, OPTIONS, seed=4)
    assert res.error is None and res.alice.final_key is not None
    assert np.array_equal(res.alice.final_key, res.bob_key)


def test_mitm_on_the_pipeline_leaves_neither_node_a_key() -> None:
    """The replacement of the always-true assertion: after a tampered round neither node object
    holds a final key, not only the wrapper's copies."""
    alice_records, bob_records = make_bb84_records(30_000, 0.02, seed=3)
    tamper = _ForgeLastTag(Role.BOB)
    res = run_postprocessing(
        alice_records, bob_records, PipelineOptions(secure_randomness=False, tamper=tamper), seed=4
    )
    assert isinstance(res.error, AuthenticationError) and tamper.forged == 1
    assert res.alice.final_key is None and res.bob.final_key is None
