"""Alice and Bob share nothing but messages: Alice's node runs in another process, and the keys
still agree. Only the bytes of encoded messages cross the process boundary."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from multiprocessing.connection import Connection

import numpy as np

from qkdstack.link.records import Records
from qkdstack.processing.channel import ClassicalChannel, Message, decode_message, encode_message
from qkdstack.processing.pipeline import AliceNode, BobNode, PipelineOptions

from synthetic import make_bb84_records

OPTIONS = PipelineOptions(secure_randomness=False, authenticate=False)


def _serve_alice(conn: Connection, records: Records, seed: int) -> None:
    alice = AliceNode(records, OPTIONS, np.random.default_rng(seed))
    while True:
        request = decode_message(conn.recv_bytes())
        if request.kind == "bye":
            key = alice.final_key
            digest = b"" if key is None else hashlib.sha256(np.packbits(key).tobytes()).digest()
            conn.send_bytes(digest)
            return
        conn.send_bytes(encode_message(alice.handle(request)))


def test_alice_in_another_process_reaches_the_same_key() -> None:
    alice_records, bob_records = make_bb84_records(30_000, 0.03, seed=17)
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_serve_alice, args=(there, alice_records, 5))
    proc.start()
    del alice_records  # Bob's side of this test has no access to Alice's data from here on

    def remote(request: Message) -> Message:
        here.send_bytes(encode_message(request))
        return decode_message(here.recv_bytes())

    try:
        channel = ClassicalChannel(remote)
        bob_key = BobNode(bob_records, OPTIONS, np.random.default_rng(6)).run(channel)
        here.send_bytes(encode_message(Message("bye")))
        alice_digest = here.recv_bytes()
    finally:
        proc.join(timeout=30)
    assert proc.exitcode == 0
    assert bob_key.size > 0
    assert alice_digest == hashlib.sha256(np.packbits(bob_key).tobytes()).digest()
    assert channel.stats.leaked_bits("reconciliation") > 0
