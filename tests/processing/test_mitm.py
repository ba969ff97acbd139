"""A man in the middle: authentication makes every tampered message abort; without it Eve wins."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.mitm import MITM_MODES, MitmTamper, mitm_tamper
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
