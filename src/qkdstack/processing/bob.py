"""Bob's node: he drives the post-processing over the channel, from his own records only.

Bob's stages run in one fixed order (:meth:`BobNode.run`), and each returns his next state, a
frozen dataclass that holds exactly what the stages after it need::

    None --sift--> BobSifted --chsh (E91)--> BobSifted(chsh) --sample/test/b92.test-->
      BobSampled --> BobEstimated --estimate acknowledged--> BobRawKey --ec.*--> BobReconciled
      --verify, amplify--> BobAmplifying --the stage's tag checked--> BobDone

so no attribute is "not yet set" and no stage runs on a missing input. :attr:`BobNode.state` is
the latest state reached; a run that aborts stays in the state it had reached (its numbers - the
QBER of a run refused for too much noise, say - are what the report shows) and outputs no key.

Each request he sends expects one reply kind (``sift`` -> ``sift.reply``...); a reply of another
kind - Alice's ``abort``, or what a man in the middle on an unauthenticated channel makes - ends the
run with :class:`~qkdstack.errors.ProtocolAbort` naming what was expected, and so does a reply whose
content does not fit (a missing field, a wrong shape). Which estimation he runs is the protocol's
:class:`~qkdstack.protocol.ProtocolSpec` ``estimation``; its ``qber_limit`` is the abort threshold.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from qkdstack.errors import (
    BellViolationTooSmall,
    InsufficientKey,
    ParameterError,
    ProtocolAbort,
    QBERTooHigh,
    ReconciliationFailed,
    RecordError,
    VerificationFailed,
)
from qkdstack.link.index_kernels import positions_of
from qkdstack.link.records import Records
from qkdstack.processing import key_length_numerical as kln
from qkdstack.processing._party import UNKNOWN, unpack_bits
from qkdstack.processing.amplification import toeplitz_hash
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.chsh import chsh_value, hoeffding_chsh_lower
from qkdstack.processing.estimation import class_counts, sampling_deviation
from qkdstack.processing.index_coding import encode_increasing
from qkdstack.processing.length_rules import DECOY_KEY_BASIS
from qkdstack.processing.reconciliation.base import get_method
from qkdstack.processing.sifting import E91Rule, get_rule
from qkdstack.processing.verification import HASH_KEY_BYTES, verification_tag
from qkdstack.protocol import registry
from qkdstack.randomness import secret_bytes
from qkdstack.typing import Basis, BitArray, IndexArray

if TYPE_CHECKING:
    from qkdstack.processing.pipeline import PipelineOptions

__all__ = [
    "BobAmplifying",
    "BobDone",
    "BobEstimated",
    "BobNode",
    "BobRawKey",
    "BobReconciled",
    "BobSampled",
    "BobSifted",
    "BobState",
    "ChshResult",
]


@dataclass(frozen=True)
class ChshResult:
    """E91's CHSH test: the value S, its standard deviation, and its Hoeffding lower bound
    (:func:`~qkdstack.processing.chsh.hoeffding_chsh_lower`); None where S could not be formed."""

    s: float | None = None
    std: float | None = None
    lower: float | None = None


@dataclass(frozen=True)
class BobSifted:
    """After sifting: Bob's bits at the kept positions, with both announcements.

    The per-position arrays (``index``, ``basis``, ``intensity``, ``error``) are over the sifted
    positions. ``error`` is the one array later stages fill in, in place: 0/1 where Bob learns
    whether his bit was wrong (the disclosed sample, then every key bit once error correction has
    run), ``UNKNOWN`` (-1) elsewhere; the report's per-class error counts read it. ``chsh`` is
    set once E91's CHSH test has run (passed or not).
    """

    alice_pub: dict[str, Any]
    bob_pub: dict[str, Any]
    key: BitArray
    index: IndexArray
    basis: npt.NDArray[np.uint8]
    intensity: npt.NDArray[np.uint8]
    error: npt.NDArray[np.int8]
    sent_counts: npt.NDArray[np.int64] | None
    chsh: ChshResult | None = None


@dataclass(frozen=True)
class BobSampled:
    """The sample (or the test basis, or B92's test rounds) is compared and removed from the key:
    ``key`` is what is left, at ``key_pos`` within the sifted arrays."""

    sifted: BobSifted
    key: BitArray
    key_pos: IndexArray
    sample_bits: int
    sample_errors: int


@dataclass(frozen=True)
class BobEstimated:
    """The error rate the sample gives, and its finite-size upper bound where the estimation
    has one (not yet compared with the protocol's limit)."""

    sampled: BobSampled
    qber: float
    qber_upper: float | None


@dataclass(frozen=True)
class BobRawKey:
    """The QBER is below the limit and Alice acknowledged the estimate: ``estimated.sampled.key``
    is the raw key that goes to error correction."""

    estimated: BobEstimated


@dataclass(frozen=True)
class BobReconciled:
    """Error correction succeeded on every frame: ``key`` is Bob's corrected key."""

    raw: BobRawKey
    key: BitArray
    frames: int


@dataclass(frozen=True)
class BobAmplifying:
    """Verification passed and Alice's Toeplitz seed and output length arrived; the
    amplification stage's own check (its authentication tag) runs when the stage ends."""

    reconciled: BobReconciled
    seed: BitArray
    length_bits: int


@dataclass(frozen=True)
class BobDone:
    """Every check passed, the amplification stage's too: Bob's final key."""

    amplifying: BobAmplifying
    final_key: BitArray


BobState: TypeAlias = (
    BobSifted | BobSampled | BobEstimated | BobRawKey | BobReconciled | BobAmplifying | BobDone
)
"""Bob's progress (``None`` before sifting)."""

_PREVIOUS = {
    BobSampled: "sifted",
    BobEstimated: "sampled",
    BobRawKey: "estimated",
    BobReconciled: "raw",
    BobAmplifying: "reconciled",
    BobDone: "amplifying",
}
"""Each state's field that holds the state before it."""

_T = TypeVar("_T")


class BobNode:
    """Bob's side: drives the post-processing over the channel, from his own records only.

    What other code reads (the report, the nodes, Eve's knowledge) are read-only views of
    :attr:`state`: None (or 0 for counts) where the run did not get that far.
    """

    def __init__(
        self, records: Records, options: PipelineOptions, rng: np.random.Generator
    ) -> None:
        self._records = records
        self._options = options
        self._rng = rng
        self._spec = registry.get(records.meta.protocol)
        self._protocol = self._spec.name
        self._rule = get_rule(self._protocol)
        self.timings_s: dict[str, float] = {}
        self.detections = len(records)
        self.amplify_info: dict[str, Any] = {}  # Alice's amplification announcement, once made
        self.state: BobState | None = None
        self._key_discarded = False
        self._stage = "setup"

    # -- read-only views of the state ----------------------------------------------------------
    def _reached(self, kind: type[_T]) -> _T | None:
        """The state of class ``kind`` the run passed through (or is in), or None."""
        state: Any = self.state
        while state is not None and not isinstance(state, kind):
            field = _PREVIOUS.get(type(state))
            state = None if field is None else getattr(state, field)
        return state

    @property
    def sifted(self) -> BobSifted | None:
        return self._reached(BobSifted)

    @property
    def sifted_bits(self) -> int:
        sifted = self.sifted
        return 0 if sifted is None else int(sifted.key.shape[0])

    @property
    def sifted_index(self) -> IndexArray | None:
        return None if (sifted := self.sifted) is None else sifted.index

    @property
    def sifted_basis(self) -> npt.NDArray[np.uint8] | None:
        return None if (sifted := self.sifted) is None else sifted.basis

    @property
    def sifted_intensity(self) -> npt.NDArray[np.uint8] | None:
        return None if (sifted := self.sifted) is None else sifted.intensity

    @property
    def sifted_error(self) -> npt.NDArray[np.int8] | None:
        return None if (sifted := self.sifted) is None else sifted.error

    @property
    def sent_counts(self) -> npt.NDArray[np.int64] | None:
        return None if (sifted := self.sifted) is None else sifted.sent_counts

    @property
    def chsh_s(self) -> float | None:
        return None if (sifted := self.sifted) is None or sifted.chsh is None else sifted.chsh.s

    @property
    def chsh_s_std(self) -> float | None:
        sifted = self.sifted
        return None if sifted is None or sifted.chsh is None else sifted.chsh.std

    @property
    def chsh_s_lower(self) -> float | None:
        sifted = self.sifted
        return None if sifted is None or sifted.chsh is None else sifted.chsh.lower

    @property
    def sample_bits(self) -> int:
        return 0 if (sampled := self._reached(BobSampled)) is None else sampled.sample_bits

    @property
    def sample_errors(self) -> int:
        return 0 if (sampled := self._reached(BobSampled)) is None else sampled.sample_errors

    @property
    def qber(self) -> float | None:
        return None if (estimated := self._reached(BobEstimated)) is None else estimated.qber

    @property
    def qber_upper(self) -> float | None:
        estimated = self._reached(BobEstimated)
        return None if estimated is None else estimated.qber_upper

    @property
    def raw_key(self) -> BitArray | None:
        raw = self._reached(BobRawKey)
        return None if raw is None else raw.estimated.sampled.key

    @property
    def key_index(self) -> IndexArray | None:
        raw = self._reached(BobRawKey)
        if raw is None:
            return None
        sampled = raw.estimated.sampled
        return sampled.sifted.index[sampled.key_pos]

    @property
    def corrected_key(self) -> BitArray | None:
        return None if (reconciled := self._reached(BobReconciled)) is None else reconciled.key

    @property
    def ec_frames(self) -> int:
        return 0 if (reconciled := self._reached(BobReconciled)) is None else reconciled.frames

    @property
    def toeplitz_seed(self) -> BitArray | None:
        return None if (amplifying := self._reached(BobAmplifying)) is None else amplifying.seed

    @property
    def final_key(self) -> BitArray | None:
        """Bob's final key: None unless every stage passed (and no later check refused it)."""
        if not isinstance(self.state, BobDone) or self._key_discarded:
            return None
        return self.state.final_key

    def discard_key(self) -> None:
        """A check after the run refused the key: :attr:`final_key` is None from now on."""
        self._key_discarded = True

    # -- running -------------------------------------------------------------------------------
    @contextmanager
    def _timed(self, channel: ClassicalChannel, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        self._stage = stage
        with channel.in_stage(stage):
            yield
        self.timings_s[stage] = time.perf_counter() - start

    def _enter(self, state: _T) -> _T:
        """Make ``state`` Bob's current state; returns it."""
        self.state = state  # type: ignore[assignment]
        return state

    def run(self, channel: ClassicalChannel) -> BitArray:
        """Run every stage; return Bob's final key or raise :class:`ProtocolAbort`.

        A reply whose content does not fit (wrong field, wrong shape, out-of-range positions:
        what a man in the middle on an unauthenticated channel produces) aborts the protocol.
        """
        try:
            return self._run(channel)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RecordError):
                raise
            stage = self._stage
            raise ProtocolAbort(f"malformed reply in {stage}: {exc}", stage=stage) from exc

    def _run(self, channel: ClassicalChannel) -> BitArray:
        with self._timed(channel, "sifting"):
            sifted = self._enter(self._sift(channel))
        with self._timed(channel, "estimation"):
            raw = self._estimate(channel, sifted)
        with self._timed(channel, "reconciliation"):
            reconciled = self._enter(self._reconcile(channel, raw))
        with self._timed(channel, "verification"):
            self._verify(channel, reconciled.key)
        with self._timed(channel, "amplification"):
            reply = self._ask(channel, Message("amplify"), "amplify.reply", "abort")
            self.amplify_info = {k: v for k, v in reply.public.items() if k != "seed"}
            if reply.kind == "abort":
                raise InsufficientKey(str(reply.public.get("reason")), stage="amplification")
            m = int(reply.public["length_bits"])
            seed = unpack_bits(bytes(reply.public["seed"]), reconciled.key.shape[0] + m - 1)
            amplifying = self._enter(BobAmplifying(reconciled, seed, m))
        # Hashed only now: the amplification stage's check passed on Bob's side when its block
        # ended, so no key exists before every check did.
        final = toeplitz_hash(reconciled.key, amplifying.seed, amplifying.length_bits)
        return self._enter(BobDone(amplifying, final)).final_key

    # -- stages -----------------------------------------------------------------------------
    def _sift(self, channel: ClassicalChannel) -> BobSifted:
        announcement = self._rule.bob_announces(self._records)
        index = self._records.pulse_index
        gaps = encode_increasing(index)
        reply = self._ask(
            channel,
            Message(
                "sift",
                public={
                    "detections": int(index.shape[0]),
                    "pulse_index_gaps": gaps,
                    **announcement,
                },
            ),
            "sift.reply",
        )
        keep = positions_of(self._rule.keep(reply.public, announcement), len(self._records))
        key = self._rule.bob_bits(self._records)[keep]
        n = int(key.shape[0])
        intensity = reply.public.get("intensity")
        sent = reply.public.get("sent_counts")
        return BobSifted(
            alice_pub=dict(reply.public),
            bob_pub=dict(announcement),
            key=key,
            index=self._records.pulse_index[keep],
            basis=np.asarray(reply.public.get("basis", self._records.basis), dtype=np.uint8)[keep],
            intensity=(
                np.zeros(n, np.uint8)
                if intensity is None
                else np.asarray(intensity, np.uint8)[keep]
            ),
            error=np.full(n, UNKNOWN, dtype=np.int8),
            sent_counts=None if sent is None else np.asarray(sent, dtype=np.int64),
        )

    def _estimate(self, channel: ClassicalChannel, sifted: BobSifted) -> BobRawKey:
        opts = self._options
        if self._spec.bell_test:
            sifted = self._enter(self._chsh(channel, sifted))
        key, key_pos = sifted.key, np.arange(sifted.key.shape[0], dtype=np.int64)
        public: dict[str, Any] = {}
        if self._spec.estimation == "test-basis":
            is_test = sifted.basis != DECOY_KEY_BASIS
            test, kept = positions_of(is_test), positions_of(~is_test)
            reply = self._ask(channel, Message("test"), "test.reply")
            alice_test = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
            wrong = (key[test] != alice_test).astype(np.int8)
            sifted.error[test] = wrong
            n_classes = max(1, int(sifted.intensity.max(initial=0)) + 1)
            if sifted.sent_counts is not None:
                n_classes = max(n_classes, sifted.sent_counts.shape[0])
            test_int = sifted.intensity[test]
            public["test_detected"] = np.bincount(test_int, minlength=n_classes)
            public["test_errors"] = np.bincount(
                test_int, weights=wrong, minlength=n_classes
            ).astype(np.int64)
            key, key_pos = key[kept], key_pos[kept]
            k, errors = int(alice_test.shape[0]), int(wrong.sum())
            self._enter(BobSampled(sifted, key, key_pos, k, errors))
            if k < 1 or key.shape[0] < 2:
                self._abort(
                    channel,
                    InsufficientKey(
                        f"too few detections: {k:,} test-basis (X) and {key.shape[0]:,} "
                        "key-basis (Z) sifted detections, at least 1 and 2 are needed; "
                        f"try more than --pulses {self._records.meta.pulses:,}",
                        stage="estimation",
                    ),
                )
            qber = errors / k
            qber_upper: float | None = qber + sampling_deviation(
                int(key.shape[0]), k, opts.epsilon_sec / 2
            )
        elif self._spec.estimation == "b92-test":
            sampled, public = self._b92_test(channel, sifted)
            key, key_pos = sampled.key, sampled.key_pos
            k, errors = sampled.sample_bits, sampled.sample_errors
            qber, qber_upper = errors / max(k, 1), None
        else:
            n_sifted = int(key.shape[0])
            if n_sifted < 2:
                self._abort(
                    channel,
                    InsufficientKey(
                        f"too few sifted bits to estimate the QBER: {n_sifted:,}, at "
                        "least 2 are needed (one to disclose, one to keep); try more than "
                        f"--pulses {self._records.meta.pulses:,}",
                        stage="estimation",
                    ),
                )
            k = min(n_sifted - 1, max(1, round(opts.sample_fraction * n_sifted)))
            reply = self._ask(channel, Message("sample", public={"sample_bits": k}), "sample.reply")
            positions = np.asarray(reply.public["positions"], dtype=np.int64)
            alice_sample = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
            wrong = (key[positions] != alice_sample).astype(np.int8)
            sifted.error[key_pos[positions]] = wrong
            errors = int(wrong.sum())
            keep_mask = np.ones(key.shape[0], dtype=bool)
            keep_mask[positions] = False
            key, key_pos = key[keep_mask], key_pos[keep_mask]
            self._enter(BobSampled(sifted, key, key_pos, k, errors))
            qber = errors / k
            qber_upper = qber + sampling_deviation(int(key.shape[0]), k, opts.epsilon_sec / 2)
        sampled_state = self._reached(BobSampled)
        if sampled_state is None:  # every branch above entered it; a spec error otherwise
            raise ParameterError(
                f"Argument 'protocol' {self._protocol!r} has an estimation "
                f"{self._spec.estimation!r} that sampled nothing."
            )
        estimated = self._enter(BobEstimated(sampled_state, qber, qber_upper))
        limit = self._spec.qber_limit
        if qber > limit:
            reason = (
                f"estimated QBER {qber:.4f} exceeds the {limit:.4f} limit of {self._protocol}"
                f" ({errors:,} errors in {k:,} disclosed bits): above it no key is secure at any "
                "block size (too much noise on the link, or an eavesdropper)"
            )
            channel.ask(
                Message(
                    "estimate", public={"errors": errors, "abort": True, "reason": reason, **public}
                )
            )
            raise QBERTooHigh(reason, stage="estimation")
        self._ask(
            channel, Message("estimate", public={"errors": errors, "abort": False, **public}), "ack"
        )
        return self._enter(BobRawKey(estimated))

    def _b92_test(
        self, channel: ClassicalChannel, sifted: BobSifted
    ) -> tuple[BobSampled, dict[str, Any]]:
        """B92: Alice draws the test rounds; Bob announces his outcomes there; both count the
        nine observations; no key at all if the numerical bound is empty before EC."""
        reply = self._ask(channel, Message("b92.test"), "b92.test.reply")
        positions = np.asarray(reply.public["positions"], dtype=np.int64)
        alice_bits = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
        codes = kln.b92_outcome_codes(self._records.basis[positions], self._records.bit[positions])
        counts = kln.b92_test_counts(alice_bits, codes, int(reply.public["undetected"]))
        test = np.zeros(len(self._records), dtype=bool)
        test[positions] = True
        keep = ~test[self._rule.keep(sifted.alice_pub, sifted.bob_pub)]
        key_pos = np.arange(sifted.key.shape[0], dtype=np.int64)[keep]
        bits, errors = kln.b92_test_errors(alice_bits, codes)
        sampled = self._enter(BobSampled(sifted, sifted.key[keep], key_pos, bits, errors))
        public: dict[str, Any] = {"b92_outcomes": codes}
        decision = kln.b92_key_length(
            counts,
            n_key_rounds=self._records.meta.pulses - int(counts.sum()),
            n_sifted=int(sampled.key.shape[0]),
            leak_bits=0.0,
            epsilon_sec=self._options.epsilon_sec,
            epsilon_cor=self._options.epsilon_cor,
            attack=self._options.b92_attack_model,
        )
        if decision.length_bits <= 0:
            reason = (
                "the B92 numerical finite-size bound leaves no key even before error correction "
                f"(privacy {decision.privacy_bits_per_round_lower:.4g} bits per round, "
                f"{decision.test_rounds} test rounds)"
            )
            channel.ask(
                Message(
                    "estimate",
                    public={"errors": errors, "abort": True, "reason": reason, **public},
                )
            )
            raise InsufficientKey(reason, stage="estimation")
        return sampled, public

    def _chsh(self, channel: ClassicalChannel, sifted: BobSifted) -> BobSifted:
        """E91: exchange the outcomes of the CHSH-test events and check the Bell violation;
        returns the sifted state with the test's result (entered before any abort, so the
        report shows a failed test's S)."""
        rule = self._rule
        if not isinstance(rule, E91Rule):  # a spec error, not the peer's: refuse plainly
            raise ParameterError(
                f"Argument 'protocol' {self._protocol!r} has a Bell test but its sifting rule "
                f"selects no CHSH-test events ({type(rule).__name__})."
            )
        mask = rule.chsh_mask(sifted.alice_pub, sifted.bob_pub)
        positions = np.flatnonzero(mask).astype(np.int64)
        mine = self._records.bit[positions]
        reply = self._ask(
            channel,
            Message("chsh", public={"positions": positions, "outcomes": mine}),
            "chsh.reply",
        )
        alice_out = np.asarray(reply.public["outcomes"], dtype=np.uint8)
        a_set = np.asarray(sifted.alice_pub["basis"], dtype=np.uint8)[positions]
        b_set = self._records.basis[positions]
        try:
            s, std = chsh_value(a_set, b_set, alice_out, mine)
        except ParameterError as exc:
            self._enter(dataclasses.replace(sifted, chsh=ChshResult()))
            self._abort(
                channel, BellViolationTooSmall(f"CHSH test impossible: {exc}", stage="estimation")
            )
        try:
            lower = hoeffding_chsh_lower(
                a_set, b_set, alice_out, mine, self._options.epsilon_sec / 2
            )
        except ParameterError as exc:
            self._enter(dataclasses.replace(sifted, chsh=ChshResult(s, std)))
            self._abort(
                channel, BellViolationTooSmall(f"CHSH test impossible: {exc}", stage="estimation")
            )
        tested = self._enter(dataclasses.replace(sifted, chsh=ChshResult(s, std, lower)))
        if lower <= 2.0:
            self._abort(
                channel,
                BellViolationTooSmall(
                    f"CHSH value {s:.3f} +- {std:.3f} does not exceed 2 by the "
                    f"statistical margin (lower bound {lower:.3f})",
                    stage="estimation",
                ),
            )
        return tested

    def _reconcile(self, channel: ClassicalChannel, raw: BobRawKey) -> BobReconciled:
        estimated = raw.estimated
        sampled = estimated.sampled
        key = sampled.key
        method = get_method(self._options.ec_method)
        bob_ec = method.make_bob(seed=self._rng)  # its reconcile() sends ``ec.start``
        # An error-free sample still leaves errors possible: never tell Cascade "zero".
        qber_for_ec = min(0.45, max(estimated.qber, 1.0 / (2 * max(sampled.sample_bits, 1))))
        outcome = bob_ec.reconcile(key, qber_for_ec, channel)
        if outcome.frames_failed:
            self._abort(
                channel,
                ReconciliationFailed(
                    f"error correction failed on {outcome.frames_failed} of {outcome.frames} frames",
                    stage="reconciliation",
                ),
            )
        corrected = outcome.key
        # Bob now knows which of his key bits were wrong: the decoy analysis and the report's
        # per-class counts use it (Lim et al. 2014 count the key-basis errors this way).
        sampled.sifted.error[sampled.key_pos] = (corrected != key).astype(np.int8)
        return BobReconciled(raw, corrected, outcome.frames)

    def _verify(self, channel: ClassicalChannel, key: BitArray) -> None:
        opts = self._options
        hash_key = (
            secret_bytes(HASH_KEY_BYTES)
            if opts.secure_randomness
            else self._rng.bytes(HASH_KEY_BYTES)
        )
        tag = verification_tag(key, hash_key)
        reply = self._ask(
            channel,
            Message("verify", public={"hash_key": hash_key}, disclosed={"tag": tag}),
            "verify.reply",
        )
        if not reply.public.get("match"):
            raise VerificationFailed(
                "verification hashes differ: the corrected keys are not identical",
                stage="verification",
            )

    def _ask(self, channel: ClassicalChannel, request: Message, *expected: str) -> Message:
        """Send ``request``; a reply of any kind but ``expected`` aborts the run (Alice's
        ``abort`` with her reason)."""
        reply = channel.ask(request)
        if reply.kind in expected:
            return reply
        if reply.kind == "abort":
            reason = reply.public.get("reason")
            raise ProtocolAbort(
                f"Alice aborted in answer to {request.kind!r}: {reason}", stage=self._stage
            )
        raise ProtocolAbort(
            f"unexpected reply {reply.kind!r} to {request.kind!r} (expected "
            f"{' or '.join(repr(e) for e in expected)})",
            stage=self._stage,
        )

    def _abort(self, channel: ClassicalChannel, error: ProtocolAbort) -> NoReturn:
        """Tell Alice, then raise."""
        channel.ask(Message("abort", public={"reason": str(error)}))
        raise error

    def counts(self) -> list[dict[str, Any]]:
        """Rows ``{basis, intensity, sent, detected, errors}`` of the basis-matched events.

        ``errors`` is None where some of the class's errors are unknown (the run stopped before
        error correction). ``sent`` comes from Alice's public announcement, when she made one.
        """
        sifted = self.sifted
        if sifted is None:
            return []
        rows = []
        # One pass over (basis, intensity) codes: the counts of every class at once.
        sent_counts = sifted.sent_counts
        n_int = int(sifted.intensity.max(initial=0)) + 1
        if sent_counts is not None:
            n_int = max(n_int, sent_counts.shape[0])
        by_class = class_counts(sifted.basis, sifted.intensity, sifted.error, n_int)
        detected = by_class[0].reshape(-1, n_int)
        bases = np.flatnonzero(detected.sum(axis=1)).tolist()
        intensities = np.flatnonzero(detected.sum(axis=0)).tolist()
        if sent_counts is not None:
            intensities = list(range(sent_counts.shape[0]))
            bases = sorted(set(bases) | set(range(sent_counts.shape[1])))
        n_codes = max(by_class.shape[1], (max(bases, default=0) + 1) * n_int)
        detected_by, unknown_by, errors_by = np.zeros((3, n_codes), dtype=np.int64)
        detected_by[: by_class.shape[1]] = by_class[0]
        unknown_by[: by_class.shape[1]] = by_class[1]
        errors_by[: by_class.shape[1]] = by_class[2]
        for b in bases:
            for i in intensities:
                c = b * n_int + i
                sent = None
                if sent_counts is not None and b < sent_counts.shape[1]:
                    sent = int(sent_counts[i, b])
                named = self._spec.named_bases and b in (0, 1, 2)
                rows.append(
                    {
                        "basis": Basis(b).name if named else int(b),
                        "intensity": i,
                        "sent": sent,
                        "detected": int(detected_by[c]),
                        "errors": None if unknown_by[c] else int(errors_by[c]),
                    }
                )
        return rows
