"""Composable accounting: epsilon_auth from the Poly1305 bound of every tag checked, epsilon_total,
and the net key after the authentication pool is refilled."""

from __future__ import annotations

import math

import pytest

from qkdstack.errors import ProtocolAbort
from qkdstack.processing.channel import decode_message
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing
from qkdstack.typing import Role

from synthetic import make_bb84_records


class _WireLog:
    """A tamper that changes nothing and logs (sender, length, is a stage tag) of every wire."""

    def __init__(self) -> None:
        self.wires: list[tuple[Role, int, bool]] = []

    def __call__(self, sender: Role, wire: bytes) -> bytes:
        try:
            decode_message(wire)
            tag = False
        except ProtocolAbort:  # not a message: a 16-byte stage tag (or a tagged message)
            tag = len(wire) == 16
        self.wires.append((sender, len(wire), tag))
        return wire


def _poly1305_bound(message_bytes: int) -> float:
    # Bernstein, FSE 2005, Theorem 3.3: 8 ceil(L / 16) / 2^106 per forgery attempt.
    return 8 * math.ceil(message_bytes / 16) / 2**106


def test_epsilon_auth_sums_the_bound_of_every_stage_tag() -> None:
    alice, bob = make_bb84_records(30_000, 0.02, seed=7)
    log = _WireLog()
    res = run_postprocessing(
        alice, bob, PipelineOptions(secure_randomness=False, tamper=log), seed=2
    )
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    # Stage scope: each stage's messages are framed (1 + 8 bytes each) into one transcript, and the
    # two 16-byte tags that end it are each checked once against it.
    expected, framed, tags = 0.0, 0, 0
    for _sender, length, is_tag in log.wires:
        if is_tag:
            expected += _poly1305_bound(framed)
            tags += 1
            if tags % 2 == 0:
                framed = 0
        else:
            framed += 9 + length
    assert tags == 10  # five stages, one tag each way
    assert rep["epsilon_auth"] == pytest.approx(expected, rel=1e-12)
    assert rep["epsilon_total"] == pytest.approx(
        rep["epsilon_sec"] + rep["epsilon_cor"] + expected, rel=1e-12
    )
    assert rep["net_secret_bits"] == rep["secret_bits"] - rep["auth_key_bits_used"] > 0
    assert rep["net_key_positive"] is True and rep["net_key_note"] is None


def test_message_scope_charges_every_message_and_says_when_the_net_key_is_negative() -> None:
    alice, bob = make_bb84_records(20_000, 0.03, seed=8)
    log = _WireLog()
    opts = PipelineOptions(secure_randomness=False, auth_scope="message", tamper=log)
    rep = run_postprocessing(alice, bob, opts, seed=2).report
    assert not rep["aborted"], rep["abort_reason"]
    # Every message carries a 16-byte tag, checked once by its receiver on the payload alone.
    assert rep["epsilon_auth"] == pytest.approx(
        sum(_poly1305_bound(length - 16) for _s, length, _t in log.wires), rel=1e-12
    )
    assert rep["auth_key_bits_used"] == 128 * len(log.wires)
    # Cascade's round trips cost more authentication key than this short key holds.
    assert rep["net_secret_bits"] == rep["secret_bits"] - rep["auth_key_bits_used"] <= 0
    assert rep["net_key_positive"] is False and "not positive" in rep["net_key_note"]


def test_unauthenticated_runs_have_no_authentication_guarantee() -> None:
    alice, bob = make_bb84_records(20_000, 0.02, seed=9)
    rep = run_postprocessing(alice, bob, PipelineOptions(authenticate=False), seed=1).report
    assert rep["epsilon_auth"] == 1.0 and rep["epsilon_total"] > 1.0
    assert rep["net_secret_bits"] == rep["secret_bits"]
