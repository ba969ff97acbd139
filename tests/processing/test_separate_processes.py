"""Alice and Bob share nothing but messages: Alice's node runs in another process, each party holds
its own authenticator, transcript hash and key pool, and the keys still agree. Only the bytes of
frames cross the process boundary."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import types
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import pytest

from qkdstack.errors import AuthenticationError
from qkdstack.link.records import Records
from qkdstack.processing.authentication import TranscriptHash, WegmanCarterAuthenticator
from qkdstack.processing.endpoint import AliceEndpoint, BobEndpoint
from qkdstack.processing.pipeline import AliceNode, BobNode, PipelineOptions

from synthetic import make_bb84_records

SHARED_KEY_BYTES = 16 + 16 * 8192


def _reachable(*roots: object) -> list[object]:
    """Every object reachable from ``roots`` through instance state: attributes, containers,
    bound methods' ``__self__`` and closures' cells (not modules, classes or functions' globals,
    which are code, not a party's state)."""
    seen: dict[int, object] = {}
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, types.ModuleType | type):
            continue
        seen[id(obj)] = obj
        if isinstance(obj, types.FunctionType):
            stack.extend(c.cell_contents for c in obj.__closure__ or () if _filled(c))
            stack.extend(obj.__defaults__ or ())
            continue
        if isinstance(obj, types.MethodType):
            stack.extend((obj.__self__, obj.__func__))
            continue
        if isinstance(obj, np.ndarray | bytes | str | int | float):
            continue
        import gc

        stack.extend(gc.get_referents(obj))
    return list(seen.values())


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _auth_state(objects: list[object]) -> list[object]:
    return [o for o in objects if isinstance(o, WegmanCarterAuthenticator | TranscriptHash)]


def _serve_alice(
    conn: Connection, records: Records, shared: bytes, scope: str, options: PipelineOptions
) -> None:
    auth = WegmanCarterAuthenticator(shared)  # Alice's own copy of the pre-shared key
    alice = AliceNode(records, options, np.random.default_rng(5))
    end = AliceEndpoint(alice.handle, alice.stage_confirmed, auth, scope)
    while True:
        frame = conn.recv_bytes()
        if frame == b"bye":
            key = alice.final_key
            digest = b"" if key is None else hashlib.sha256(np.packbits(key).tobytes()).digest()
            mine = _auth_state(_reachable(alice, end))
            only_hers = all(o is auth or isinstance(o, TranscriptHash) for o in mine)
            conn.send((digest, only_hers, auth in mine, auth.key_bits_used))
            return
        conn.send_bytes(end.serve(frame))


def _run_bob(scope: str, tamper: Any = None) -> tuple[Any, ...]:
    options = PipelineOptions(secure_randomness=False, auth_scope=scope)
    alice_records, bob_records = make_bb84_records(30_000, 0.03, seed=17)
    shared = np.random.default_rng(99).bytes(SHARED_KEY_BYTES)  # distributed before the run
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_serve_alice, args=(there, alice_records, shared, scope, options))
    proc.start()
    del alice_records  # Bob's side of this test has no access to Alice's data from here on

    def transport(frame: bytes) -> bytes:
        here.send_bytes(frame if tamper is None else tamper(frame))
        return here.recv_bytes()

    bob_auth = WegmanCarterAuthenticator(shared)
    del shared
    channel = BobEndpoint(transport, bob_auth, scope)
    bob = BobNode(bob_records, options, np.random.default_rng(6))
    error = None
    try:
        try:
            bob.run(channel)
        except AuthenticationError as exc:
            error = exc
        bob_state = _auth_state(_reachable(bob, channel))
        here.send_bytes(b"bye")
        alice_digest, only_hers, alice_has_own, alice_used = here.recv()
    finally:
        proc.join(timeout=60)
    assert proc.exitcode == 0
    # Nothing of one party's authentication state is reachable from the other's objects.
    assert only_hers and alice_has_own
    assert bob_auth in bob_state
    assert all(o is bob_auth or isinstance(o, TranscriptHash) for o in bob_state)
    return bob, channel, bob_auth, error, alice_digest, alice_used


@pytest.mark.parametrize("scope", ["stage", "message"])
def test_alice_in_another_process_reaches_the_same_key_authenticated(scope: str) -> None:
    bob, channel, bob_auth, error, alice_digest, alice_used = _run_bob(scope)
    assert error is None
    assert channel.authenticated and bob_auth.key_bits_used > 0
    # Both pools moved in step: each party spent the same pads on its own side.
    assert alice_used == bob_auth.key_bits_used
    assert bob.final_key is not None and bob.final_key.size > 0
    assert alice_digest == hashlib.sha256(np.packbits(bob.final_key).tobytes()).digest()
    assert channel.stats.leaked_bits("reconciliation") > 0
    assert channel.epsilon_auth > 0


def test_a_forged_stage_tag_leaves_both_processes_without_a_key() -> None:
    def forge_last_stage_end(frame: bytes) -> bytes:
        if frame.startswith(b"S") and b"amplification" in frame:
            return frame[:-1] + bytes((frame[-1] ^ 1,))
        return frame

    bob, _channel, _auth, error, alice_digest, _used = _run_bob("stage", forge_last_stage_end)
    assert isinstance(error, AuthenticationError)
    assert bob.final_key is None
    assert alice_digest == b""  # Alice's own check failed: she never hashed a key
