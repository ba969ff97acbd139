"""Alice's node: she answers Bob's requests from her own records, one stage after another.

Her progress is one explicit state, a frozen dataclass per stage::

    Started --sift--> Sifted --chsh (E91)--> Sifted --sample/test/b92.test--> Disclosed
      --estimate--> Estimated --ec.start--> Reconciling (ec.*) --verify--> Verified
      --amplify--> Amplifying --stage_confirmed("amplification")--> Done

and ``abort`` (or any failure) leads to :class:`Aborted` from anywhere. Each state holds exactly
what the next stages need, so no attribute is "not yet set": a request that does not fit the
current state (a ``test`` before ``sift``, a second ``sift``, ``amplify`` before ``verify``, a
kind the protocol does not use) is refused with :class:`~qkdstack.errors.ProtocolAbort` naming the
message and the state, and Alice outputs no key. Which requests fit depends on the protocol's
:class:`~qkdstack.protocol.ProtocolSpec`: its ``estimation`` and ``bell_test``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ProtocolAbort, RecordError, VerificationFailed
from qkdstack.link.index_kernels import locate_sorted, positions_of
from qkdstack.link.records import Records
from qkdstack.processing import key_length as kl
from qkdstack.processing import key_length_numerical as kln
from qkdstack.processing._party import Tally, pack_bits, stage_of, subset
from qkdstack.processing.amplification import toeplitz_hash
from qkdstack.processing.channel import Message
from qkdstack.processing.chsh import hoeffding_chsh_lower
from qkdstack.processing.estimation import choose_sample, secret_sample
from qkdstack.processing.index_coding import decode_increasing
from qkdstack.processing.length_rules import (
    DECOY_KEY_BASIS,
    KeyDecision,
    LengthInputs,
    decision_details,
)
from qkdstack.processing.reconciliation.base import AliceReconciler, get_method
from qkdstack.processing.sifting import E91Rule, get_rule
from qkdstack.processing.verification import compare_tags, verification_tag
from qkdstack.protocol import registry
from qkdstack.randomness import secret_bits
from qkdstack.typing import BitArray, IndexArray

if TYPE_CHECKING:
    from qkdstack.processing.pipeline import PipelineOptions

__all__ = [
    "Aborted",
    "AliceNode",
    "AliceState",
    "Amplifying",
    "Disclosed",
    "Done",
    "Estimated",
    "Reconciling",
    "Sifted",
    "Started",
    "Verified",
]

_SIFT_INDEX_FIELDS = ("detections", "pulse_index_gaps")
"""The fields of Bob's ``sift`` message that name his detections (the rest is his announcement)."""


@dataclass(frozen=True)
class Started:
    """Nothing exchanged yet: only ``sift`` fits."""


@dataclass(frozen=True)
class Sifted:
    """After sifting: Alice's key bits at the kept positions, and both announcements.

    ``chsh_lower`` is set once E91's CHSH test has run (``chsh``), before the sample.
    """

    sub: Records  # Alice's records at Bob's detections
    alice_pub: dict[str, Any]
    bob_pub: dict[str, Any]
    detections: int
    key: BitArray
    key_index: IndexArray
    key_intensity: npt.NDArray[np.uint8]
    sifted_basis: npt.NDArray[np.uint8]
    chsh_lower: float | None = None


@dataclass(frozen=True)
class Disclosed:
    """The sample (or test basis, or B92's test rounds) is disclosed and removed from the key;
    Bob's error count (``estimate``) is next."""

    sifted: Sifted
    key: BitArray
    key_index: IndexArray
    key_intensity: npt.NDArray[np.uint8]
    sample_bits: int
    b92_bits: BitArray | None = None
    b92_undetected: int = 0


@dataclass(frozen=True)
class Estimated:
    """Bob's error count is in: the observations the length rule reads."""

    detections: int
    key: BitArray
    key_index: IndexArray
    key_intensity: npt.NDArray[np.uint8]
    sample_bits: int
    sample_errors: int
    chsh_lower: float | None = None
    test_detected: tuple[int, ...] = ()
    test_errors: tuple[int, ...] = ()
    b92_counts: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True)
class Reconciling:
    """Error correction runs: every ``ec.*`` message goes to Alice's half of the method."""

    estimated: Estimated
    reconciler: AliceReconciler


@dataclass(frozen=True)
class Verified:
    """Bob's verification tag matched Alice's: amplification may start."""

    estimated: Estimated


@dataclass(frozen=True)
class Amplifying:
    """Alice sent the length and the Toeplitz seed; she hashes once the stage's check passed."""

    estimated: Estimated
    decision: KeyDecision
    seed: BitArray


@dataclass(frozen=True)
class Done:
    """Alice holds her final key."""

    estimated: Estimated
    decision: KeyDecision
    final_key: BitArray


@dataclass(frozen=True)
class Aborted:
    """The protocol aborted: Alice outputs no key and answers every request with ``abort``."""

    reason: str


AliceState: TypeAlias = (
    Started | Sifted | Disclosed | Estimated | Reconciling | Verified | Amplifying | Done | Aborted
)
"""Where Alice stands in the protocol."""


def _describe(state: AliceState) -> str:
    return type(state).__name__


class AliceNode:
    """Alice's side: answers Bob's requests from her own records only.

    Parameters
    ----------
    records : Records
        Alice's detection records.
    options : PipelineOptions
    rng : numpy Generator
        Alice's simulation randomness (sample choice; seeds when ``secure_randomness`` is off).
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
        self._tally = Tally()
        self._stage = "setup"
        self._state: AliceState = Started()
        self._estimated: Estimated | None = None
        self._decision: KeyDecision | None = None
        # Real records (no simulation seed): the sample comes from ``secrets`` (Eve must not
        # predict it), whatever seed drives the rest; a simulation owns its sample's randomness.
        self._sample_from_secrets = options.secure_randomness and records.meta.seed is None
        self._handlers: dict[str, Callable[[Message], Message]] = {
            "sift": self._on_sift,
            "chsh": self._on_chsh,
            "test": self._on_test,
            "b92.test": self._on_b92_test,
            "sample": self._on_sample,
            "estimate": self._on_estimate,
            "ec.start": self._on_ec_start,
            "verify": self._on_verify,
            "amplify": self._on_amplify,
            "abort": self._on_abort,
        }

    # -- what others read -------------------------------------------------------------------
    @property
    def state(self) -> AliceState:
        """Alice's current stage state."""
        return self._state

    @property
    def aborted(self) -> str | None:
        """Why the protocol aborted (None while it has not)."""
        return self._state.reason if isinstance(self._state, Aborted) else None

    @property
    def decision(self) -> KeyDecision | None:
        """The length decision of the amplification stage (kept after an abort, for analysis)."""
        return self._decision

    @property
    def final_key(self) -> BitArray | None:
        """Alice's final key, once every check passed on her side; None otherwise."""
        return self._state.final_key if isinstance(self._state, Done) else None

    @property
    def estimated(self) -> Estimated | None:
        """The observations of the estimation stage (simulation-only analysis), once made."""
        return self._estimated

    @property
    def key(self) -> BitArray | None:
        """Alice's current key (sifted, sample removed); None after an abort."""
        state = self._state
        if isinstance(state, Sifted | Disclosed | Estimated):
            return state.key
        if isinstance(state, Reconciling | Verified | Amplifying | Done):
            return state.estimated.key
        return None

    # -- the responder ------------------------------------------------------------------------
    def handle(self, request: Message) -> Message:
        """Answer one request (the channel's responder).

        Raises
        ------
        ProtocolAbort
            A request that does not fit Alice's state or the protocol, or whose content is
            malformed; Alice aborts (no key) before raising.
        """
        if isinstance(self._state, Aborted) and request.kind != "abort":
            return Message("abort", public={"reason": self._state.reason})
        stage = stage_of(request.kind)
        if stage is not None:
            self._stage = stage
        handler = self._handlers.get(request.kind)
        if handler is None and request.kind.startswith("ec."):
            handler = self._on_ec
        if handler is None:
            self._refuse(request, "a message kind no protocol stage uses")
        try:
            reply = handler(request)
        except ProtocolAbort as exc:  # her own refusal, or her reconciler's: no key either way
            if not isinstance(self._state, Aborted):
                self._abort(str(exc))
            raise
        except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, RecordError):
                raise
            self._abort(f"malformed {request.kind!r} message")
            raise ProtocolAbort(
                f"malformed {request.kind!r} message: {exc}", stage=self._stage
            ) from exc
        self._tally.add(self._stage, request, reply)
        return reply

    def _refuse(self, request: Message, why: str) -> NoReturn:
        """Abort on a request that does not fit the state, naming both."""
        state = _describe(self._state)
        self._abort(f"unexpected message {request.kind!r} in state {state}")
        raise ProtocolAbort(
            f"unexpected message {request.kind!r} in state {state} of protocol "
            f"{self._protocol}: {why}",
            stage=self._stage,
        )

    def _expect(self, request: Message, state_type: type, why: str) -> Any:
        if not isinstance(self._state, state_type):
            self._refuse(request, why)
        return self._state

    def _sifted_for(self, request: Message, estimation: str) -> Sifted:
        """The :class:`Sifted` state, for an estimation request that fits this protocol."""
        sifted: Sifted = self._expect(request, Sifted, "estimation starts once, after sifting")
        if self._spec.estimation != estimation:
            self._refuse(request, f"its estimation is {self._spec.estimation!r}")
        if self._spec.bell_test and sifted.chsh_lower is None:
            self._refuse(request, "the CHSH test comes first")
        return sifted

    # -- stages -----------------------------------------------------------------------------
    def _on_sift(self, request: Message) -> Message:
        self._expect(request, Started, "sifting happens once, first")
        gaps, detections = request.public["pulse_index_gaps"], request.public["detections"]
        if not isinstance(gaps, bytes) or type(detections) is not int:
            raise TypeError("'pulse_index_gaps' must be bytes and 'detections' an int")
        index = decode_increasing(gaps, detections)
        mine = self._records.pulse_index
        pos, all_found = locate_sorted(mine, index)
        if index.shape[0] and not all_found:
            # The record files were matched before the run (check_listed): an announcement of
            # pulses Alice never saw is a rewritten message, and the protocol aborts.
            found = (pos < mine.shape[0]) & (
                mine[np.minimum(pos, max(mine.shape[0] - 1, 0))] == index
            )
            raise ProtocolAbort(
                "Bob announced detections of pulses that Alice has no record of "
                f"({int(np.count_nonzero(~found))} of {index.shape[0]})",
                stage="sifting",
            )
        # Every announced pulse found, as many as Alice holds (both lists strictly increasing):
        # her records are that subset, no gather needed.
        whole = index.shape[0] == mine.shape[0]
        sub = self._records if whole else subset(self._records, pos)
        announcement = self._rule.alice_announces(sub)
        bob_pub = {k: v for k, v in request.public.items() if k not in _SIFT_INDEX_FIELDS}
        keep = positions_of(self._rule.keep(announcement, bob_pub), len(sub))
        sifted_intensity = (
            np.zeros(keep.shape[0], np.uint8) if sub.intensity is None else sub.intensity[keep]
        )
        self._state = Sifted(
            sub=sub,
            alice_pub=dict(announcement),
            bob_pub=bob_pub,
            detections=int(index.shape[0]),
            key=self._rule.alice_bits(sub)[keep],
            key_index=index[keep],
            key_intensity=sifted_intensity,
            sifted_basis=sub.basis[keep],
        )
        public: dict[str, Any] = dict(announcement)
        if self._records.meta.sent_counts is not None:
            public["sent_counts"] = np.asarray(self._records.meta.sent_counts, dtype=np.int64)
        return Message("sift.reply", public=public)

    def _on_chsh(self, request: Message) -> Message:
        """E91: disclose Alice's outcomes on the CHSH-test events (never key) and bound S."""
        sifted: Sifted = self._expect(request, Sifted, "the CHSH test follows sifting")
        if not self._spec.bell_test or sifted.chsh_lower is not None:
            self._refuse(request, "the protocol makes no (further) CHSH test")
        rule = self._rule
        if not isinstance(rule, E91Rule):
            self._refuse(request, "its sifting rule selects no CHSH-test events")
        positions = np.asarray(request.public["positions"], dtype=np.int64)
        mask = rule.chsh_mask(sifted.alice_pub, sifted.bob_pub)
        if not np.array_equal(positions, np.flatnonzero(mask)):
            raise ProtocolAbort("CHSH test positions disagree with the sifting", stage="estimation")
        mine = sifted.sub.bit[positions]
        lower = hoeffding_chsh_lower(
            sifted.sub.basis[positions],
            np.asarray(sifted.bob_pub["basis"])[positions],
            mine,
            np.asarray(request.public["outcomes"], dtype=np.uint8),
            self._options.epsilon_sec / 2,
        )
        self._state = dataclasses.replace(sifted, chsh_lower=lower)
        return Message("chsh.reply", public={"outcomes": mine})

    def _on_test(self, request: Message) -> Message:
        """Decoy BB84: disclose every sifted test-basis bit, keep the key-basis positions as key."""
        sifted = self._sifted_for(request, "test-basis")
        is_test = sifted.sifted_basis != DECOY_KEY_BASIS
        test, key = positions_of(is_test), positions_of(~is_test)
        self._state = Disclosed(
            sifted=sifted,
            key=sifted.key[key],
            key_index=sifted.key_index[key],
            key_intensity=sifted.key_intensity[key],
            sample_bits=0,
        )
        return Message("test.reply", disclosed={"bits": sifted.key[test]})

    def _on_b92_test(self, request: Message) -> Message:
        """B92: draw the test rounds over every pulse, disclose her bits on the detected ones."""
        sifted = self._sifted_for(request, "b92-test")
        rng = None if self._options.secure_randomness else self._rng
        positions, undetected = kln.draw_b92_test(
            sifted.detections,
            self._records.meta.pulses - sifted.detections,
            self._options.sample_fraction,
            rng,
        )
        bits = sifted.sub.bit[positions]
        test = np.zeros(sifted.detections, dtype=bool)
        test[positions] = True
        keep = ~test[self._rule.keep(sifted.alice_pub, sifted.bob_pub)]
        self._state = Disclosed(
            sifted=sifted,
            key=sifted.key[keep],
            key_index=sifted.key_index[keep],
            key_intensity=sifted.key_intensity[keep],
            sample_bits=0,
            b92_bits=bits,
            b92_undetected=int(undetected),
        )
        return Message(
            "b92.test.reply",
            public={"positions": positions, "undetected": undetected},
            disclosed={"bits": bits},
        )

    def _on_sample(self, request: Message) -> Message:
        sifted = self._sifted_for(request, "sample")
        key = sifted.key
        k = int(request.public["sample_bits"])
        positions = (
            secret_sample(key.shape[0], k)
            if self._sample_from_secrets
            else choose_sample(key.shape[0], k, self._rng)
        )
        disclosed = key[positions]
        keep = np.ones(key.shape[0], dtype=bool)
        keep[positions] = False
        self._state = Disclosed(
            sifted=sifted,
            key=key[keep],
            key_index=sifted.key_index[keep],
            key_intensity=sifted.key_intensity[keep],
            sample_bits=k,
        )
        return Message(
            "sample.reply", public={"positions": positions}, disclosed={"bits": disclosed}
        )

    def _on_estimate(self, request: Message) -> Message:
        disclosed: Disclosed = self._expect(
            request, Disclosed, "Bob's error count follows the disclosed sample"
        )
        test: dict[str, tuple[int, ...]] = {}
        for name in ("test_detected", "test_errors"):
            if name in request.public:
                values = np.asarray(request.public[name], dtype=np.int64)
                test[name] = tuple(int(v) for v in values)
        b92_counts = None
        if "b92_outcomes" in request.public:
            if disclosed.b92_bits is None:
                raise ValueError("'b92_outcomes' answers no B92 test")
            b92_counts = kln.b92_test_counts(
                disclosed.b92_bits,
                np.asarray(request.public["b92_outcomes"], dtype=np.uint8),
                disclosed.b92_undetected,
            )
        estimated = Estimated(
            detections=disclosed.sifted.detections,
            key=disclosed.key,
            key_index=disclosed.key_index,
            key_intensity=disclosed.key_intensity,
            sample_bits=disclosed.sample_bits,
            sample_errors=int(request.public.get("errors", 0)),
            chsh_lower=disclosed.sifted.chsh_lower,
            test_detected=test.get("test_detected", ()),
            test_errors=test.get("test_errors", ()),
            b92_counts=b92_counts,
        )
        self._estimated = estimated
        self._state = estimated
        if request.public.get("abort"):
            self._abort(str(request.public.get("reason", "estimation")))
        return Message("ack")

    def _on_ec_start(self, request: Message) -> Message:
        estimated: Estimated = self._expect(
            request, Estimated, "error correction starts once, after estimation"
        )
        method = get_method(str(request.public["method"]))
        reconciler = method.make_alice(estimated.key, request.public)
        self._state = Reconciling(estimated, reconciler)
        return reconciler.handle(request)

    def _on_ec(self, request: Message) -> Message:
        state: Reconciling = self._expect(
            request, Reconciling, "error-correction messages follow 'ec.start'"
        )
        return state.reconciler.handle(request)

    def _on_verify(self, request: Message) -> Message:
        state: Reconciling = self._expect(
            request, Reconciling, "verification follows error correction, once"
        )
        mine = verification_tag(state.estimated.key, bytes(request.public["hash_key"]))
        try:
            compare_tags(mine, bytes(request.disclosed["tag"]))
        except VerificationFailed as exc:
            self._abort(str(exc))
            return Message("verify.reply", public={"match": False})
        self._state = Verified(state.estimated)
        return Message("verify.reply", public={"match": True})

    def _on_amplify(self, request: Message) -> Message:
        state: Verified = self._expect(
            request, Verified, "amplification follows a successful verification, once"
        )
        estimated = state.estimated
        decision = self._decide_length(estimated)
        self._decision = decision
        public: dict[str, Any] = {
            "formula": decision.formula,
            "length_bits": decision.length_bits,
            **decision_details(decision),
        }
        if decision.length_bits <= 0:
            reason = self._no_key_reason(estimated, decision)
            self._abort(reason)
            return Message("abort", public={"reason": reason, **public})
        n, m = estimated.key.shape[0], decision.length_bits
        rng = None if self._options.secure_randomness else self._rng
        seed = secret_bits(n + m - 1, rng)
        # No key yet: it is hashed only once this stage's check has passed on Alice's side
        # (:meth:`stage_confirmed`).
        self._state = Amplifying(estimated, decision, seed)
        return Message("amplify.reply", public={**public, "seed": pack_bits(seed)})

    def stage_confirmed(self, stage: str) -> None:
        """The channel's word that ``stage`` ended and its authentication check passed on Alice's
        side (the stage transcript's tag, or every message's tag, or no check when the channel is
        unauthenticated). Only after the amplification stage's check does she hash her key."""
        state = self._state
        if stage != "amplification" or not isinstance(state, Amplifying):
            return
        key = toeplitz_hash(state.estimated.key, state.seed, state.decision.length_bits)
        self._state = Done(state.estimated, state.decision, key)

    def _on_abort(self, request: Message) -> Message:
        if not isinstance(self._state, Aborted):
            self._abort(str(request.public.get("reason", "aborted by Bob")))
        return Message("ack")

    # -- helpers ----------------------------------------------------------------------------
    def _abort(self, reason: str) -> None:
        """Drop every key and pending seed: from now on Alice answers only ``abort``."""
        self._state = Aborted(reason)

    def _no_key_reason(self, estimated: Estimated, decision: KeyDecision) -> str:
        """Why the length rule left no key (:func:`~qkdstack.processing.key_length.no_key_reason`)."""
        k, errors = estimated.sample_bits, estimated.sample_errors
        empty = False
        if self._spec.estimation == "test-basis":  # every test-basis bit was disclosed
            test_detected = np.asarray(estimated.test_detected, dtype=np.int64)
            k = int(test_detected.sum())
            errors = int(sum(estimated.test_errors))
            n_classes = len(self._records.meta.intensities)
            key_detected = np.bincount(estimated.key_intensity, minlength=n_classes)
            empty = bool(np.any(key_detected == 0) or np.any(test_detected == 0))

        def at_scale(scale: int) -> KeyDecision:
            return self._decide_length(estimated, scale)

        return kl.no_key_reason(
            decision,
            at_scale if self._spec.scalable_proof else None,
            key_bits=int(estimated.key.shape[0]),
            leak_bits=self._tally.disclosed["reconciliation"],
            pulses=self._records.meta.pulses,
            observed_error=errors / k if k else 1.0,
            epsilon_sec=self._options.epsilon_sec,
            empty_classes=empty,
        )

    def length_inputs(self, estimated: Estimated, scale: int = 1) -> LengthInputs:
        """What the length rule reads: Alice's observations and the leakage she counted, every
        count and the leakage times ``scale``."""
        opts = self._options
        meta = self._records.meta
        source = kl.proof_source(self._protocol, meta.params, opts.source, opts.mu)
        # The verification tag is not charged here: the proof's log2(2 / eps_cor) term is its
        # cost (Tomamichel et al. 2012, Eq. (1)); charging its 128 bits as well counted it twice.
        leak = self._tally.disclosed["reconciliation"]
        k = estimated.sample_bits
        return LengthInputs(
            n_key=int(estimated.key.shape[0]) * scale,
            k_sample=k * scale,
            sample_error_fraction=estimated.sample_errors / k if k else 1.0,
            leak_bits=leak * scale,
            scale=scale,
            detections=estimated.detections,
            pulses=meta.pulses,
            params=meta.params,
            epsilon_sec=opts.epsilon_sec,
            epsilon_cor=opts.epsilon_cor,
            intensities=tuple(float(m) for m in meta.intensities),
            sent_counts=None
            if meta.sent_counts is None
            else np.asarray(meta.sent_counts, dtype=np.int64),
            key_intensity=estimated.key_intensity,
            test_detected=estimated.test_detected,
            test_errors=estimated.test_errors,
            b92_counts=estimated.b92_counts,
            chsh_lower=estimated.chsh_lower,
            source=source,
            mu=opts.mu,
            e91_bound=opts.e91_bound,
            b92_attack_model=opts.b92_attack_model,
        )

    def _decide_length(self, estimated: Estimated, scale: int = 1) -> KeyDecision:
        """Alice's own length decision with the protocol's rule (its spec's ``key_length``).

        ``scale`` multiplies every count and the leakage: the decision a ``scale`` times longer
        run at the same rates would get (used only to explain an abort).
        """
        decision: KeyDecision = self._spec.length_rule()(self.length_inputs(estimated, scale))
        return decision
