"""Messages out of order: each party refuses what does not fit its state with ProtocolAbort.

Alice answers requests; every request kind is sent to her in every state it does not fit (the
states are reached by replaying an honest run's requests), and she must abort - never an
AssertionError or AttributeError (issue 19: a ``test`` before ``sift`` raised a bare assert).
Bob drives; at every step of an honest run his peer answers with Alice's ``abort``, with a reply
of another kind, or with the right kind but no content, and his run must end in ProtocolAbort
with no key.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import ProtocolAbort
from qkdstack.link.records import Records
from qkdstack.link.simulator import simulate
from qkdstack.params import LinkParams
from qkdstack.processing.alice import Aborted, Done, Reconciling
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.pipeline import AliceNode, BobNode, PipelineOptions

OPTIONS = PipelineOptions(secure_randomness=False)

REQUEST_KINDS = (
    "sift",
    "chsh",
    "test",
    "b92.test",
    "sample",
    "estimate",
    "ec.start",
    "ec.parity",
    "ec.blocks",
    "verify",
    "amplify",
    "no.such.kind",
)
"""Every request kind Alice's node knows (and some she does not)."""

# Each protocol's estimation differs (sample, test basis, B92 test rounds, CHSH then sample).
CASES = {
    "bb84": (LinkParams(), 4 * 10**6, 1),
    "decoy-bb84": (LinkParams(source="laser"), 3 * 10**7, 1),
    "b92": (
        LinkParams(misalignment_error=0.01, distance_km=0.0, detector_efficiency=1.0),
        10**6,
        1,
    ),
    "e91": (LinkParams(distance_km=1.0), 3 * 10**8, 1),
}


@cache
def _records(protocol: str) -> tuple[Records, Records]:
    params, pulses, seed = CASES[protocol]
    out = simulate(protocol, params, pulses, seed=seed)
    return out.alice, out.bob


@cache
def _honest_requests(protocol: str) -> tuple[Message, ...]:
    """Every request Bob sends in an honest run that yields a key (recorded at Alice's end)."""
    alice_records, bob_records = _records(protocol)
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    seen: list[Message] = []

    def respond(request: Message) -> Message:
        seen.append(request)
        return alice.handle(request)

    channel = ClassicalChannel(respond, on_alice_confirmed=alice.stage_confirmed)
    BobNode(bob_records, OPTIONS, np.random.default_rng(2)).run(channel)
    assert alice.final_key is not None, alice.aborted
    return tuple(seen)


def _alice_after(protocol: str, prefix: int) -> AliceNode:
    """A fresh Alice (same randomness) that has answered the first ``prefix`` honest requests."""
    requests = _honest_requests(protocol)
    alice = AliceNode(_records(protocol)[0], OPTIONS, np.random.default_rng(1))
    for request in requests[:prefix]:
        alice.handle(request)
    if prefix == len(requests):
        alice.stage_confirmed("amplification")
        assert isinstance(alice.state, Done)
    return alice


def _example(protocol: str, kind: str) -> Message:
    """The honest run's request of ``kind`` (well formed), or a bare one if the run has none."""
    for request in _honest_requests(protocol):
        if request.kind == kind:
            return request
    return Message(kind)


def _fits(alice: AliceNode, kind: str, honest_next: str | None) -> bool:
    """``kind`` is what the state expects: the honest next request, or error-correction traffic
    and the verification while reconciling."""
    if kind == honest_next:
        return True
    return isinstance(alice.state, Reconciling) and (kind.startswith("ec.") or kind == "verify")


def _boundaries(protocol: str) -> list[int]:
    """Prefix lengths at each state change (the error-correction rounds collapsed to three)."""
    requests = _honest_requests(protocol)
    cuts, ec_seen = [], 0
    for i, request in enumerate(requests):
        if request.kind.startswith("ec.") and request.kind != "ec.start":
            ec_seen += 1
            if ec_seen > 2:
                continue
        cuts.append(i)
    return [*cuts, len(requests)]


@pytest.mark.parametrize("protocol", list(CASES))
def test_alice_refuses_every_request_that_does_not_fit_her_state(protocol: str) -> None:
    requests = _honest_requests(protocol)
    master = AliceNode(_records(protocol)[0], OPTIONS, np.random.default_rng(1))
    answered, refused = 0, 0
    for prefix in _boundaries(protocol):
        for request in requests[answered:prefix]:  # advance to the state after ``prefix``
            master.handle(request)
        answered = prefix
        if prefix == len(requests):
            master.stage_confirmed("amplification")
            assert isinstance(master.state, Done)
        honest_next = requests[prefix].kind if prefix < len(requests) else None
        state = type(master.state).__name__
        for kind in REQUEST_KINDS:
            alice = copy.deepcopy(master)
            if _fits(alice, kind, honest_next):
                continue
            with pytest.raises(ProtocolAbort, match="unexpected message") as err:
                alice.handle(_example(protocol, kind))
            assert repr(kind) in str(err.value) and state in str(err.value)
            # Failed closed: no key, and from now on every request gets 'abort'.
            assert isinstance(alice.state, Aborted) and alice.final_key is None
            assert alice.key is None
            assert alice.handle(_example(protocol, "amplify")).kind == "abort"
            refused += 1
    assert refused > 5 * len(_boundaries(protocol))


def test_test_before_sift_is_a_protocol_abort_not_an_assertion() -> None:
    alice = AliceNode(_records("decoy-bb84")[0], OPTIONS, np.random.default_rng(1))
    with pytest.raises(ProtocolAbort, match=r"'test' in state Started"):
        alice.handle(Message("test"))


def test_a_second_sift_and_an_early_amplify_are_refused() -> None:
    first = _honest_requests("bb84")[0]
    alice = _alice_after("bb84", 1)
    with pytest.raises(ProtocolAbort, match="'sift' in state Sifted"):
        alice.handle(first)
    alice = _alice_after("bb84", 1)
    with pytest.raises(ProtocolAbort, match="'amplify' in state Sifted"):
        alice.handle(Message("amplify"))


def _run_optimized(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` under ``python -O`` (asserts stripped), with the tests' helpers importable;
    it must succeed."""
    tests_dir = str(Path(__file__).parents[1])
    done = subprocess.run(
        [sys.executable, "-O", "-c", f"import sys; sys.path.insert(0, {tests_dir!r})\n{script}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_refusal_holds_under_python_O() -> None:
    """Asserts are stripped by ``python -O``: the refusals must not depend on them."""
    script = textwrap.dedent(
        """
        import sys

        import numpy as np

        from qkdstack.errors import ProtocolAbort
        from qkdstack.processing.channel import Message
        from qkdstack.processing.pipeline import AliceNode, PipelineOptions
        from synthetic import make_bb84_records

        if not sys.flags.optimize:
            raise SystemExit("not run under python -O")
        alice_records, _ = make_bb84_records(2000, 0.02, seed=3)
        for kind in ("test", "sample", "estimate", "ec.start", "ec.parity", "verify", "amplify"):
            alice = AliceNode(alice_records, PipelineOptions(), np.random.default_rng(1))
            try:
                alice.handle(Message(kind))
            except ProtocolAbort as exc:
                assert "unexpected message" in str(exc)
                print("refused", kind)
            else:
                raise SystemExit(f"{kind} was accepted before sift")
        """
    )
    done = _run_optimized(script)
    assert done.stdout.count("refused") == 7


def _bob_against(protocol: str, step: int, wrong: Callable[[Message], Message]) -> BobNode:
    """Bob's run against an honest Alice, except that request ``step`` gets ``wrong(request)``."""
    alice_records, bob_records = _records(protocol)
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    count = [0]

    def respond(request: Message) -> Message:
        count[0] += 1
        if count[0] - 1 == step:
            return wrong(request)
        return alice.handle(request)

    bob = BobNode(bob_records, OPTIONS, np.random.default_rng(2))
    channel = ClassicalChannel(respond, on_alice_confirmed=alice.stage_confirmed)
    with pytest.raises(ProtocolAbort):
        bob.run(channel)
    assert bob.final_key is None
    return bob


WRONG_REPLIES: dict[str, Callable[[Message], Message]] = {
    "abort": lambda request: Message("abort", public={"reason": "Alice gave up"}),
    "other kind": lambda request: Message("ack" if request.kind != "estimate" else "sift.reply"),
    "empty": lambda request: Message(request.kind + ".reply"),
}


@pytest.mark.parametrize("protocol", list(CASES))
@pytest.mark.parametrize("wrong", list(WRONG_REPLIES))
def test_bob_aborts_on_every_reply_that_does_not_fit(protocol: str, wrong: str) -> None:
    requests = _honest_requests(protocol)
    steps = [i for i, r in enumerate(requests) if not r.kind.startswith("ec.")]
    steps.append(next(i for i, r in enumerate(requests) if r.kind == "ec.start"))
    for step in steps:
        if wrong == "empty" and requests[step].kind == "estimate":
            continue  # 'estimate.reply' is no reply kind; the 'other kind' case covers it
        _bob_against(protocol, step, WRONG_REPLIES[wrong])


def test_bob_names_alices_abort_and_the_unexpected_kind() -> None:
    requests = _honest_requests("bb84")
    sample = next(i for i, r in enumerate(requests) if r.kind == "sample")
    with pytest.raises(ProtocolAbort, match=r"Alice aborted in answer to 'sample': Alice gave up"):
        _bob_against_raw("bb84", sample, WRONG_REPLIES["abort"])
    with pytest.raises(ProtocolAbort, match=r"unexpected reply 'ack' to 'sample'"):
        _bob_against_raw("bb84", sample, WRONG_REPLIES["other kind"])


def _bob_against_raw(protocol: str, step: int, wrong: Callable[[Message], Message]) -> None:
    alice_records, bob_records = _records(protocol)
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    count = [0]

    def respond(request: Message) -> Message:
        count[0] += 1
        return wrong(request) if count[0] - 1 == step else alice.handle(request)

    BobNode(bob_records, OPTIONS, np.random.default_rng(2)).run(
        ClassicalChannel(respond, on_alice_confirmed=alice.stage_confirmed)
    )


def test_bobs_module_has_no_assert_and_his_state_is_explicit() -> None:
    # Issue 19: each party's progress is an explicit state, not optional attributes guarded by
    # asserts (stripped by python -O).
    import ast

    from qkdstack.processing import bob as bob_module

    tree = ast.parse(Path(bob_module.__file__).read_text())
    asserts = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert asserts == [], f"assert statements in processing/bob.py at lines {asserts}"
    alice_records, bob_records = _records("bb84")
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    bob = BobNode(bob_records, OPTIONS, np.random.default_rng(2))
    assert bob.state is None and bob.qber is None and bob.sifted_bits == 0
    key = bob.run(ClassicalChannel(alice.handle, on_alice_confirmed=alice.stage_confirmed))
    done = bob.state
    assert isinstance(done, bob_module.BobDone) and done.final_key is key
    reconciled = done.amplifying.reconciled
    chain = [done.amplifying, reconciled, reconciled.raw, reconciled.raw.estimated]
    names = ["BobAmplifying", "BobReconciled", "BobRawKey", "BobEstimated"]
    assert [type(s).__name__ for s in chain] == names
    estimated = reconciled.raw.estimated
    assert bob.qber == estimated.qber == estimated.sampled.sample_errors / bob.sample_bits
    assert bob.raw_key is estimated.sampled.key and bob.corrected_key is reconciled.key
    # The states are frozen: a stage cannot change what an earlier one decided.
    with pytest.raises(AttributeError):
        estimated.qber = 0.0  # type: ignore[misc]


def test_a_refused_estimate_keeps_its_numbers_and_no_raw_key() -> None:
    # The QBER of a run refused for too much noise is reported, but no key moves on from it.
    from qkdstack.processing import bob as bob_module

    alice_records, bob_records = _records("bb84")
    noisy = copy.deepcopy(bob_records)
    flip = np.random.default_rng(5).random(len(noisy)) < 0.2
    noisy.bit[flip] ^= 1
    alice = AliceNode(alice_records, OPTIONS, np.random.default_rng(1))
    bob = BobNode(noisy, OPTIONS, np.random.default_rng(2))
    with pytest.raises(ProtocolAbort, match="exceeds"):
        bob.run(ClassicalChannel(alice.handle, on_alice_confirmed=alice.stage_confirmed))
    assert isinstance(bob.state, bob_module.BobEstimated)
    assert bob.qber is not None and bob.qber > 0.11 and bob.sample_bits > 0
    assert bob.raw_key is None and bob.key_index is None and bob.final_key is None


def test_bobs_refusal_holds_under_python_O() -> None:
    """Bob's refusal of a reply that does not fit is a ProtocolAbort also without asserts."""
    script = textwrap.dedent(
        """
        import sys

        import numpy as np

        from qkdstack.errors import ProtocolAbort
        from qkdstack.processing.channel import ClassicalChannel, Message
        from qkdstack.processing.pipeline import BobNode, PipelineOptions
        from synthetic import make_bb84_records

        if not sys.flags.optimize:
            raise SystemExit("not run under python -O")
        _, bob_records = make_bb84_records(2000, 0.02, seed=3)
        replies = {
            "other kind": lambda request: Message("ack"),
            "empty sift.reply": lambda request: Message("sift.reply"),
            "abort": lambda request: Message("abort", public={"reason": "no"}),
        }
        for name, reply in replies.items():
            bob = BobNode(bob_records, PipelineOptions(), np.random.default_rng(1))
            try:
                bob.run(ClassicalChannel(reply))
            except ProtocolAbort as exc:
                assert bob.final_key is None and bob.raw_key is None
                print("refused", name, type(exc).__name__)
            else:
                raise SystemExit(f"{name} was accepted")
        """
    )
    done = _run_optimized(script)
    assert done.stdout.count("refused") == 3
