"""End-to-end post-processing on synthetic records with a known error pattern."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import RecordError
from qkdstack.link.records import RecordMeta, Records
from qkdstack.processing.channel import Tamper
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing
from qkdstack.typing import Role

from helpers import h2
from synthetic import make_bb84_records


def _expected_length(rep: dict, eps_sec: float, eps_cor: float) -> int:
    """Shor-Preskill with the Serfling bound (Tomamichel et al. 2012, Eqs. 1-2), written out here."""
    n, k = rep["key_bits_before_ec"], rep["sample_bits"]
    e = rep["sample_errors"] / k
    mu = math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / eps_sec))
    # The verification tag is paid by the log2(2 / eps_cor) term alone (Tomamichel et al. 2012,
    # Eq. (1)): only error correction's disclosures are subtracted as leakage.
    leak = rep["leaked_ec_bits"]
    return math.floor(n * (1 - h2(e + mu)) - leak - math.log2(2 / (eps_sec**2 * eps_cor)))


def test_end_to_end_identical_keys_of_formula_length() -> None:
    alice, bob = make_bb84_records(60_000, 0.02, seed=11)
    opts = PipelineOptions(secure_randomness=False)
    res = run_postprocessing(alice, bob, opts, seed=3)
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    assert res.alice_key is not None and res.bob_key is not None
    assert np.array_equal(res.alice_key, res.bob_key)
    assert rep["keys_match"] is True
    assert rep["secret_bits"] == _expected_length(rep, opts.epsilon_sec, opts.epsilon_cor) > 0
    # Sifting keeps exactly the matching-basis events.
    assert rep["sifted_bits"] == int(np.count_nonzero(alice.basis == bob.basis))
    assert rep["key_bits_before_ec"] == rep["sifted_bits"] - rep["sample_bits"]
    # The leakage counted at the channel is what error correction and verification disclosed.
    assert rep["leaked_ec_bits"] > 0 and rep["verification_bits"] == 128


def test_estimated_qber_within_binomial_bound_of_true() -> None:
    alice, bob = make_bb84_records(80_000, 0.04, seed=5)
    res = run_postprocessing(alice, bob, PipelineOptions(sample_fraction=0.2), seed=9)
    b = res.bob
    assert b.key_index is not None and b.raw_key is not None
    pos = np.searchsorted(alice.pulse_index, b.key_index)
    true_q = float(np.mean(alice.bit[pos] != b.raw_key))
    k = res.report["sample_bits"]
    sigma = math.sqrt(true_q * (1 - true_q) / k)
    assert abs(res.report["qber"] - true_q) < 5 * sigma


def test_qber_above_threshold_aborts_without_key() -> None:
    alice, bob = make_bb84_records(20_000, 0.15, seed=2)
    res = run_postprocessing(alice, bob, seed=1)
    assert res.report["aborted"] and res.report["abort_stage"] == "estimation"
    assert "QBERTooHigh" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None and res.report["secret_bits"] == 0
    assert res.alice.final_key is None and res.alice.key is None


def test_too_few_detections_give_no_key_rather_than_a_weak_one() -> None:
    alice, bob = make_bb84_records(400, 0.03, seed=4)
    res = run_postprocessing(alice, bob, seed=1)
    assert res.report["aborted"] and "InsufficientKey" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None


def test_gllp_rule_for_an_attenuated_laser() -> None:
    # Gain 0.05 at mu = 0.1: multi-photon fraction (1 - 1.1 e^-0.1) / 0.05 = 0.093.
    alice, bob = make_bb84_records(50_000, 0.01, seed=8, pulses=1_000_000, source="laser", mu=0.1)
    res = run_postprocessing(alice, bob, seed=2)
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    delta = (1 - (1 + 0.1) * math.exp(-0.1)) / (50_000 / 1_000_000)
    assert rep["single_photon_fraction"] == pytest.approx(1 - delta)
    assert "GLLP" in rep["key_length_formula"]
    n, k = rep["key_bits_before_ec"], rep["sample_bits"]
    e = rep["sample_errors"] / k + math.sqrt((n + k) / (n * k) * (k + 1) / k * math.log(2 / 1e-10))
    expected = math.floor(
        n * (1 - delta) * (1 - h2(e / (1 - delta)))
        - rep["leaked_ec_bits"]
        - math.log2(2 / (1e-20 * 1e-15))
    )
    assert rep["secret_bits"] == expected


def test_mismatched_records_are_rejected() -> None:
    alice, bob = make_bb84_records(1000, 0.02, seed=1)
    meta = RecordMeta(protocol="bb84", pulses=alice.meta.pulses)
    shifted = Records(Role.BOB, bob.pulse_index + 1, bob.basis, bob.bit, meta)
    with pytest.raises(RecordError, match="do not match"):
        run_postprocessing(alice, shifted, seed=1)


def test_tampered_classical_channel_aborts_and_outputs_no_key() -> None:
    def flip_reply_bit(sender: Role, wire: bytes) -> bytes:
        if sender is Role.ALICE and b"sample.reply" in wire:
            data = bytearray(wire)
            data[-20] ^= 0x01
            return bytes(data)
        return wire

    tamper: Tamper = flip_reply_bit
    alice, bob = make_bb84_records(20_000, 0.02, seed=1)
    res = run_postprocessing(alice, bob, PipelineOptions(tamper=tamper), seed=1)
    assert res.report["aborted"] and "AuthenticationError" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None


def test_same_seed_same_report() -> None:
    alice, bob = make_bb84_records(20_000, 0.03, seed=6)
    opts = PipelineOptions(secure_randomness=False)
    a = run_postprocessing(alice, bob, opts, seed=12)
    b = run_postprocessing(alice, bob, opts, seed=12)
    assert a.bob_key is not None and b.bob_key is not None
    assert np.array_equal(a.bob_key, b.bob_key)
    drop = ("timings_s",)
    assert {k: v for k, v in a.report.items() if k not in drop} == {
        k: v for k, v in b.report.items() if k not in drop
    }


@pytest.mark.parametrize("kind", ["sample.reply", "sift.reply"])
def test_garbled_replies_on_an_unauthenticated_channel_abort_cleanly(kind: str) -> None:
    """Without authentication a man in the middle can garble replies: the run must abort, not crash."""
    from qkdstack.processing.channel import decode_message, encode_message

    def garble(sender: Role, wire: bytes) -> bytes:
        if sender is not Role.ALICE:
            return wire
        msg = decode_message(wire)
        if msg.kind != kind:
            return wire
        public = dict(msg.public)
        if "positions" in public:
            public["positions"] = public["positions"] + 10**9  # out of range
        if "basis" in public:
            public["basis"] = public["basis"][:-5]  # wrong length
        return encode_message(type(msg)(msg.kind, public, msg.disclosed))

    alice, bob = make_bb84_records(20_000, 0.02, seed=1)
    res = run_postprocessing(alice, bob, PipelineOptions(authenticate=False, tamper=garble), seed=1)
    assert res.report["aborted"] and "ProtocolAbort" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None


def _leb128_bytes(gap: int) -> int:
    """Bytes of one unsigned LEB128 value (7 bits per byte), written out here."""
    return max(1, -(-gap.bit_length() // 7))


def test_sift_request_names_detections_by_varint_gaps() -> None:
    """Bob's sift message carries his detections as LEB128 gaps, about 2 bytes each, not 8."""
    from qkdstack.processing.channel import decode_message

    seen: list[int] = []

    def spy(sender: Role, wire: bytes) -> bytes:
        msg = decode_message(wire)
        if msg.kind == "sift":
            seen.append(len(wire))
            assert "pulse_index" not in msg.public
            assert msg.public["detections"] == bob.pulse_index.shape[0]
        return wire

    alice, bob = make_bb84_records(20_000, 0.02, seed=1)
    # Spread the detections out as a lossy link would (gaps of 1 to 300 pulses).
    gaps = np.random.default_rng(4).integers(1, 301, bob.pulse_index.shape[0])
    index = np.cumsum(gaps) - 1
    meta = RecordMeta(
        protocol="bb84", pulses=int(index[-1]) + 1, params={"source": "single-photon"}
    )
    alice = Records(Role.ALICE, index, alice.basis, alice.bit, meta)
    bob = Records(Role.BOB, index, bob.basis, bob.bit, meta)
    res = run_postprocessing(alice, bob, PipelineOptions(authenticate=False, tamper=spy), seed=1)
    assert not res.report["aborted"] and res.report["keys_match"]
    varint = sum(_leb128_bytes(int(g) - 1) for g in np.diff(index)) + _leb128_bytes(int(index[0]))
    # Exactly the varints, one basis byte per detection and a bounded header; int64 took 8 + 1.
    n = index.shape[0]
    assert varint + n <= seen[0] <= varint + n + 200
    assert seen[0] < 3 * n


@pytest.mark.parametrize(
    "change",
    [
        {"detections": 7},  # fewer than the gaps hold
        {"detections": -1},
        {"detections": "many"},
        {"pulse_index_gaps": 12},  # not bytes
        {"pulse_index_gaps": b"\x80"},  # truncated
    ],
)
def test_garbled_sift_request_aborts_before_anything_is_kept(change: dict) -> None:
    from qkdstack.processing.channel import decode_message, encode_message

    def garble(sender: Role, wire: bytes) -> bytes:
        msg = decode_message(wire)
        if msg.kind != "sift":
            return wire
        return encode_message(type(msg)(msg.kind, {**msg.public, **change}, msg.disclosed))

    alice, bob = make_bb84_records(5_000, 0.02, seed=1)
    res = run_postprocessing(alice, bob, PipelineOptions(authenticate=False, tamper=garble), seed=1)
    assert res.report["aborted"] and "malformed 'sift'" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None


@pytest.mark.parametrize("scope", ["stage", "message"])
def test_authentication_key_cost_by_scope(scope: str) -> None:
    """Stage scope: two 128-bit pads per stage with traffic; message scope: one per message."""
    alice, bob = make_bb84_records(60_000, 0.02, seed=2)
    res = run_postprocessing(alice, bob, PipelineOptions(auth_scope=scope), seed=4)
    rep = res.report
    assert not rep["aborted"] and rep["keys_match"] and rep["auth_scope"] == scope
    stages = ("sifting", "estimation", "reconciliation", "verification", "amplification")
    if scope == "stage":
        assert rep["auth_key_bits_used"] == 2 * 128 * len(stages)
        # The secret key pays for its own authentication many times over.
        assert rep["secret_bits"] > 2 * rep["auth_key_bits_used"]
    else:
        # Every message of every exchange: two per round trip.
        assert rep["auth_key_bits_used"] == 2 * 128 * rep["round_trips"]


@pytest.mark.parametrize("scope", ["stage", "message"])
@pytest.mark.parametrize("kind", ["sift", "sample.reply", "ec.", "amplify.reply"])
def test_tampering_in_any_stage_aborts_with_no_key(scope: str, kind: str) -> None:
    from qkdstack.adversary.tamper import mitm_tamper

    alice, bob = make_bb84_records(20_000, 0.02, seed=2)
    opts = PipelineOptions(auth_scope=scope, tamper=mitm_tamper("flip", kind=kind, max_tampers=1))
    res = run_postprocessing(alice, bob, opts, seed=4)
    assert res.report["aborted"] and "AuthenticationError" in res.report["abort_reason"]
    assert res.alice_key is None and res.bob_key is None


def test_unknown_auth_scope_option_is_rejected() -> None:
    from qkdstack.errors import ParameterError

    with pytest.raises(ParameterError, match="auth_scope"):
        PipelineOptions(auth_scope="session")
