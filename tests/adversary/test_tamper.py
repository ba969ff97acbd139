"""A man in the middle: authentication makes every tampered message abort; without it Eve wins."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.adversary.tamper import MITM_MODES, MitmTamper, mitm_tamper
from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.typing import Role

KEY_BITS = 256


class _Alice:
    """A minimal responder: answers basis announcements and block-parity requests from her key."""

    def __init__(self, key: np.ndarray, basis: np.ndarray) -> None:
        self.key = key
        self.basis = basis
        self.heard_bases: list[np.ndarray] = []

    def __call__(self, request: Message) -> Message:
        if request.kind == "sift":
            self.heard_bases.append(np.asarray(request.public["basis"]))
            return Message("sift.reply", public={"basis": self.basis})
        starts = np.asarray(request.public["starts"])
        ends = np.asarray(request.public["ends"])
        parities = np.array(
            [int(self.key[s:e].sum() % 2) for s, e in zip(starts, ends, strict=True)],
            dtype=np.uint8,
        )
        return Message("ec.parities", disclosed={"parities": parities})


def _auth_pair(seed: int) -> tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator]:
    shared = np.random.default_rng(seed).bytes(16 + 16 * 64)
    return WegmanCarterAuthenticator(shared), WegmanCarterAuthenticator(shared)


def _setup(seed: int = 0) -> tuple[_Alice, np.ndarray]:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 2, KEY_BITS, dtype=np.uint8)
    alice = _Alice(key, rng.integers(0, 2, KEY_BITS, dtype=np.uint8))
    return alice, key


def _parity_request() -> Message:
    starts = np.arange(0, KEY_BITS, 16, dtype=np.int64)
    return Message("ec.parities", public={"starts": starts, "ends": starts + 16})


def _true_parities(key: np.ndarray) -> np.ndarray:
    return key.reshape(-1, 16).sum(axis=1).astype(np.uint8) % 2


def test_without_tampering_authenticated_exchange_works() -> None:
    alice, key = _setup()
    channel = ClassicalChannel(alice, authentication=_auth_pair(1))
    reply = channel.ask(_parity_request())
    assert np.array_equal(reply.disclosed["parities"], _true_parities(key))


def test_unauthenticated_flip_succeeds_silently() -> None:
    """Why authentication is needed: Bob receives a wrong parity and nobody notices."""
    alice, key = _setup()
    tamper = mitm_tamper("flip", sender="alice", kind="ec")
    channel = ClassicalChannel(alice, tamper=tamper)
    reply = channel.ask(_parity_request())
    truth = _true_parities(key)
    assert tamper.tampered == 1
    assert int(np.count_nonzero(reply.disclosed["parities"] != truth)) == 1


def test_unauthenticated_basis_replacement_succeeds_silently() -> None:
    alice, _ = _setup()
    bob_basis = np.random.default_rng(5).integers(0, 2, KEY_BITS, dtype=np.uint8)
    channel = ClassicalChannel(alice, tamper=mitm_tamper("basis", sender="bob"))
    reply = channel.ask(Message("sift", public={"basis": bob_basis}))
    assert np.array_equal(alice.heard_bases[0], 1 - bob_basis)
    assert np.array_equal(reply.public["basis"], alice.basis)  # Alice's reply was left alone


def test_unauthenticated_replace_substitutes_eves_bits() -> None:
    alice, key = _setup()
    channel = ClassicalChannel(alice, tamper=mitm_tamper("replace", sender="alice", seed=3))
    reply = channel.ask(_parity_request())
    # 16 parities replaced by Eve's random bits: with probability 1 - 2^-16 some differ.
    assert not np.array_equal(reply.disclosed["parities"], _true_parities(key))


@pytest.mark.parametrize("mode", MITM_MODES)
@pytest.mark.parametrize("sender", [Role.ALICE, Role.BOB])
def test_every_tampered_message_fails_authentication(mode: str, sender: Role) -> None:
    alice, _ = _setup()
    tamper = mitm_tamper(mode, sender=sender)
    channel = ClassicalChannel(alice, authentication=_auth_pair(2), tamper=tamper)
    bob_basis = np.zeros(KEY_BITS, dtype=np.uint8)
    # Bob's messages disclose nothing: Eve rewrites his public announcements instead.
    use_sift = mode == "basis" or (mode == "replace" and sender is Role.BOB)
    request = Message("sift", public={"basis": bob_basis}) if use_sift else _parity_request()
    with pytest.raises(AuthenticationError):
        channel.ask(request)
    assert tamper.tampered == 1
    # The channel is closed after a failure: the round cannot go on.
    with pytest.raises(ProtocolAbort):
        channel.ask(_parity_request())


def test_a_tampered_round_aborts_and_stores_nothing() -> None:
    """A toy round: sift, then exchange parities, then store the key; Eve tampers in the middle."""
    store: dict[str, np.ndarray] = {}
    alice, key = _setup()
    channel = ClassicalChannel(
        alice,
        authentication=_auth_pair(3),
        tamper=mitm_tamper("flip", sender="alice", kind="ec"),
    )

    def run_round() -> None:
        channel.ask(Message("sift", public={"basis": alice.basis}))
        channel.ask(_parity_request())
        store["key-1"] = key

    with pytest.raises(AuthenticationError):
        run_round()
    assert store == {}


def test_sender_and_kind_filters() -> None:
    tamper = mitm_tamper("flip", sender="bob", kind="ec", max_tampers=1)
    alice, _ = _setup()
    channel = ClassicalChannel(alice, tamper=tamper)
    reply = channel.ask(_parity_request())  # Bob's request is tampered (public array), reply not
    assert tamper.tampered == 1 and tamper.seen == 2
    channel.ask(_parity_request())
    assert tamper.tampered == 1  # max_tampers reached
    assert reply.disclosed["parities"].shape == (KEY_BITS // 16,)


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError, match=r"'mode'.*flip, basis, replace, bytes.*'drop'"):
        mitm_tamper("drop")
    with pytest.raises(ParameterError, match=r"'sender'.*'carol'"):
        mitm_tamper("flip", sender="carol")
    with pytest.raises(ParameterError, match=r"'max_tampers'"):
        MitmTamper(max_tampers=-1)


# -- Stage scope: one transcript tag each way per stage (Kiktenko et al. 2020) ---------------


def _stage_channel(alice: _Alice, seed: int, tamper: MitmTamper | None = None) -> ClassicalChannel:
    return ClassicalChannel(
        alice, authentication=_auth_pair(seed), tamper=tamper, auth_scope="stage"
    )


def test_stage_scope_costs_two_pads_per_stage_whatever_the_traffic() -> None:
    alice, key = _setup()
    channel = _stage_channel(alice, 4)
    with channel.in_stage("sifting"):
        channel.ask(Message("sift", public={"basis": alice.basis}))
    assert channel.auth_key_bits_used() == 256
    with channel.in_stage("reconciliation"):
        for _ in range(50):
            reply = channel.ask(_parity_request())
    assert np.array_equal(reply.disclosed["parities"], _true_parities(key))
    assert channel.auth_key_bits_used() == 512  # 51 messages each way, 4 tags
    with channel.in_stage("idle"):
        pass  # no traffic, no tag
    assert channel.auth_key_bits_used() == 512
    # Per-message scope: 128 bits per message.
    alice2, _ = _setup()
    per_message = ClassicalChannel(alice2, authentication=_auth_pair(4))
    with per_message.in_stage("reconciliation"):
        for _ in range(20):
            per_message.ask(_parity_request())
    assert per_message.auth_key_bits_used() == 20 * 2 * 128


@pytest.mark.parametrize("mode", MITM_MODES)
@pytest.mark.parametrize("sender", [Role.ALICE, Role.BOB])
def test_stage_scope_catches_every_tampered_message_at_the_stage_end(
    mode: str, sender: Role
) -> None:
    alice, _ = _setup()
    tamper = mitm_tamper(mode, sender=sender, max_tampers=1)
    channel = _stage_channel(alice, 5, tamper)
    use_sift = mode == "basis" or (mode == "replace" and sender is Role.BOB)
    request = Message("sift", public={"basis": alice.basis}) if use_sift else _parity_request()
    store: dict[str, int] = {}
    with pytest.raises(AuthenticationError, match="transcript of stage 'exchange'"):
        with channel.in_stage("exchange"):
            for _ in range(3):
                try:
                    channel.ask(request)
                except ProtocolAbort:
                    break  # a garbled message may fail to decode first: the stage still ends
            store["key"] = 1  # acting inside the stage is allowed; output is not ...
        store["output"] = 1  # ... and this line is never reached
    assert tamper.tampered == 1 and "output" not in store
    with pytest.raises(ProtocolAbort):
        channel.ask(_parity_request())  # closed after the failure


def test_stage_scope_failure_replaces_the_exception_tampering_caused() -> None:
    alice, _ = _setup()
    channel = _stage_channel(alice, 6, mitm_tamper("flip", sender="alice", kind="ec"))
    with pytest.raises(AuthenticationError) as caught:
        with channel.in_stage("reconciliation"):
            channel.ask(_parity_request())
            raise ValueError("Bob's search went wrong on a flipped parity")
    assert isinstance(caught.value.__cause__, ValueError)
    # Without tampering the stage's own exception comes through, after a passing check.
    alice2, _ = _setup()
    clean = _stage_channel(alice2, 6)
    with pytest.raises(ValueError, match="no tampering"):
        with clean.in_stage("reconciliation"):
            clean.ask(_parity_request())
            raise ValueError("no tampering")
    assert clean.auth_key_bits_used() == 256


@pytest.mark.parametrize("sender", [Role.ALICE, Role.BOB])
def test_stage_scope_rejects_a_tampered_transcript_tag(sender: Role) -> None:
    alice, _ = _setup()

    def flip_tag(who: Role, wire: bytes) -> bytes:
        if who is sender and len(wire) == 16:  # the confirmation tags are the only 16-byte wires
            return bytes((wire[0] ^ 1,)) + wire[1:]
        return wire

    channel = ClassicalChannel(
        alice, authentication=_auth_pair(7), tamper=flip_tag, auth_scope="stage"
    )
    with pytest.raises(AuthenticationError):
        with channel.in_stage("sifting"):
            channel.ask(_parity_request())


def test_unknown_auth_scope_is_rejected() -> None:
    alice, _ = _setup()
    with pytest.raises(ParameterError, match=r"auth_scope.*'round'"):
        ClassicalChannel(alice, authentication=_auth_pair(1), auth_scope="round")  # type: ignore[arg-type]


def test_message_kinds_list_every_kind_a_run_sends() -> None:
    """MESSAGE_KINDS (what a ``kind`` filter is checked against) holds every kind on the wire."""
    from qkdstack.adversary.tamper import MESSAGE_KINDS, _split_wire
    from qkdstack.experiment import run_experiment
    from qkdstack.params import LinkParams
    from qkdstack.processing.pipeline import PipelineOptions

    sent: set[str] = set()

    def tap(sender: Role, wire: bytes) -> bytes:
        split = _split_wire(wire)
        assert split is not None
        sent.add(split[0].kind)
        return wire

    for protocol, ec in (("bb84", "cascade"), ("bb84", "ldpc"), ("decoy-bb84", "cascade"),
                         ("e91", "cascade")):  # fmt: skip
        params = LinkParams(source="laser") if protocol == "decoy-bb84" else LinkParams()
        run_experiment(
            protocol,
            params,
            300_000,
            seed=1,
            options=PipelineOptions(ec_method=ec, tamper=tap, authenticate=False),
        )
    assert {"sift", "sample", "ec.start", "chsh", "verify", "amplify"} <= sent
    assert sent <= set(MESSAGE_KINDS), sorted(sent - set(MESSAGE_KINDS))
    with pytest.raises(ParameterError, match="'kind' must be a prefix"):
        mitm_tamper("flip", kind="sfit")
    assert mitm_tamper("flip", kind="ec.").kind == "ec."
