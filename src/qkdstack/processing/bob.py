"""Bob's node: he drives the post-processing over the channel, from his own records only.

Bob's stages run in one fixed order (:meth:`BobNode.run`): sifting, estimation (after E91's CHSH
test), reconciliation, verification, amplification. Each request he sends expects one reply kind
(``sift`` -> ``sift.reply``...); a reply of another kind - Alice's ``abort``, or what a man in the
middle on an unauthenticated channel makes - ends the run with
:class:`~qkdstack.errors.ProtocolAbort` naming what was expected, and so does a reply whose
content does not fit (a missing field, a wrong shape). Which estimation he runs is the protocol's
:class:`~qkdstack.protocol.ProtocolSpec` ``estimation``; its ``qber_limit`` is the abort threshold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

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
from qkdstack.processing.estimation import sampling_deviation
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

__all__ = ["BobNode"]


class BobNode:
    """Bob's side: drives the post-processing over the channel, from his own records only."""

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
        self.sifted_bits = 0
        self.sample_bits = 0
        self.sample_errors = 0
        self.qber: float | None = None
        self.qber_upper: float | None = None
        self.chsh_s: float | None = None
        self.chsh_s_std: float | None = None
        self.chsh_s_lower: float | None = None
        self.sifted_index: IndexArray | None = None
        self.sifted_basis: np.ndarray | None = None
        self.sifted_intensity: np.ndarray | None = None
        self.sifted_error: np.ndarray | None = None  # per sifted position: 0/1, or -1 unknown
        self.sent_counts: np.ndarray | None = None
        self.key_index: IndexArray | None = None
        self.raw_key: BitArray | None = None
        self.corrected_key: BitArray | None = None
        self.final_key: BitArray | None = None
        self.toeplitz_seed: BitArray | None = None
        self.amplify_info: dict[str, Any] = {}
        self.ec_frames = 0
        self.ec_frames_failed = 0
        self._key_pos: IndexArray | None = None  # key positions within the sifted arrays
        self._alice_pub: dict[str, Any] = {}  # both sifting announcements, once exchanged
        self._bob_pub: dict[str, Any] = {}
        self._stage = "setup"

    @contextmanager
    def _timed(self, channel: ClassicalChannel, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        self._stage = stage
        with channel.in_stage(stage):
            yield
        self.timings_s[stage] = time.perf_counter() - start

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
            key = self._sift(channel)
        with self._timed(channel, "estimation"):
            key = self._estimate(channel, key)
        with self._timed(channel, "reconciliation"):
            key = self._reconcile(channel, key)
        with self._timed(channel, "verification"):
            self._verify(channel, key)
        with self._timed(channel, "amplification"):
            reply = self._ask(channel, Message("amplify"), "amplify.reply", "abort")
            self.amplify_info = {k: v for k, v in reply.public.items() if k != "seed"}
            if reply.kind == "abort":
                raise InsufficientKey(str(reply.public.get("reason")), stage="amplification")
            m = int(reply.public["length_bits"])
            seed = unpack_bits(bytes(reply.public["seed"]), key.shape[0] + m - 1)
            self.toeplitz_seed = seed
        # Hashed only now: the amplification stage's check passed on Bob's side when its block
        # ended, so no key exists before every check did.
        self.final_key = toeplitz_hash(key, seed, m)
        return self.final_key

    # -- stages -----------------------------------------------------------------------------
    def _sift(self, channel: ClassicalChannel) -> BitArray:
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
        self._alice_pub = dict(reply.public)
        self._bob_pub = dict(announcement)
        keep = positions_of(self._rule.keep(reply.public, announcement), len(self._records))
        key = self._rule.bob_bits(self._records)[keep]
        self.sifted_bits = int(key.shape[0])
        self.sifted_index = self._records.pulse_index[keep]
        self.sifted_basis = np.asarray(
            reply.public.get("basis", self._records.basis), dtype=np.uint8
        )[keep]
        intensity = reply.public.get("intensity")
        self.sifted_intensity = (
            np.zeros(self.sifted_bits, np.uint8)
            if intensity is None
            else np.asarray(intensity, np.uint8)[keep]
        )
        self.sifted_error = np.full(self.sifted_bits, UNKNOWN, dtype=np.int8)
        if "sent_counts" in reply.public:
            self.sent_counts = np.asarray(reply.public["sent_counts"], dtype=np.int64)
        self._key_pos = np.arange(self.sifted_bits, dtype=np.int64)
        return key

    def _estimate(self, channel: ClassicalChannel, key: BitArray) -> BitArray:
        opts = self._options
        assert self._key_pos is not None and self.sifted_error is not None
        if self._spec.bell_test:
            self._chsh(channel)
        public: dict[str, Any] = {}
        if self._spec.estimation == "test-basis":
            assert self.sifted_basis is not None and self.sifted_intensity is not None
            is_test = self.sifted_basis != DECOY_KEY_BASIS
            test, kept = positions_of(is_test), positions_of(~is_test)
            reply = self._ask(channel, Message("test"), "test.reply")
            alice_test = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
            wrong = (key[test] != alice_test).astype(np.int8)
            self.sifted_error[test] = wrong
            n_classes = max(1, int(self.sifted_intensity.max(initial=0)) + 1)
            if self.sent_counts is not None:
                n_classes = max(n_classes, self.sent_counts.shape[0])
            test_int = self.sifted_intensity[test]
            public["test_detected"] = np.bincount(test_int, minlength=n_classes)
            public["test_errors"] = np.bincount(
                test_int, weights=wrong, minlength=n_classes
            ).astype(np.int64)
            key = key[kept]
            self._key_pos = self._key_pos[kept]
            k, errors = int(alice_test.shape[0]), int(wrong.sum())
            self.sample_bits, self.sample_errors = k, errors
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
            self.qber = errors / k
            n = int(key.shape[0])
            self.qber_upper = self.qber + sampling_deviation(n, k, opts.epsilon_sec / 2)
        elif self._spec.estimation == "b92-test":
            key, public = self._b92_test(channel, key)
            errors = self.sample_errors
            self.qber = errors / max(self.sample_bits, 1)
        else:
            if self.sifted_bits < 2:
                self._abort(
                    channel,
                    InsufficientKey(
                        f"too few sifted bits to estimate the QBER: {self.sifted_bits:,}, at "
                        "least 2 are needed (one to disclose, one to keep); try more than "
                        f"--pulses {self._records.meta.pulses:,}",
                        stage="estimation",
                    ),
                )
            k = min(self.sifted_bits - 1, max(1, round(opts.sample_fraction * self.sifted_bits)))
            reply = self._ask(channel, Message("sample", public={"sample_bits": k}), "sample.reply")
            positions = np.asarray(reply.public["positions"], dtype=np.int64)
            alice_sample = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
            wrong = (key[positions] != alice_sample).astype(np.int8)
            self.sifted_error[self._key_pos[positions]] = wrong
            errors = int(wrong.sum())
            keep_mask = np.ones(key.shape[0], dtype=bool)
            keep_mask[positions] = False
            key = key[keep_mask]
            self._key_pos = self._key_pos[keep_mask]
            self.sample_bits, self.sample_errors = k, errors
            self.qber = errors / k
            self.qber_upper = self.qber + sampling_deviation(
                int(key.shape[0]), k, opts.epsilon_sec / 2
            )
        limit = self._spec.qber_limit
        if self.qber > limit:
            reason = (
                f"estimated QBER {self.qber:.4f} exceeds the {limit:.4f} limit of {self._protocol}"
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
        assert self.sifted_index is not None
        self.raw_key, self.key_index = key, self.sifted_index[self._key_pos]
        return key

    def _b92_test(
        self, channel: ClassicalChannel, key: BitArray
    ) -> tuple[BitArray, dict[str, Any]]:
        """B92: Alice draws the test rounds; Bob announces his outcomes there; both count the
        nine observations; no key at all if the numerical bound is empty before EC."""
        assert self._key_pos is not None and self.sifted_error is not None
        reply = self._ask(channel, Message("b92.test"), "b92.test.reply")
        positions = np.asarray(reply.public["positions"], dtype=np.int64)
        alice_bits = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
        codes = kln.b92_outcome_codes(self._records.basis[positions], self._records.bit[positions])
        counts = kln.b92_test_counts(alice_bits, codes, int(reply.public["undetected"]))
        test = np.zeros(len(self._records), dtype=bool)
        test[positions] = True
        keep = ~test[self._rule.keep(self._alice_pub, self._bob_pub)]
        key, self._key_pos = key[keep], self._key_pos[keep]
        self.sample_bits, self.sample_errors = kln.b92_test_errors(alice_bits, codes)
        public: dict[str, Any] = {"b92_outcomes": codes}
        decision = kln.b92_key_length(
            counts,
            n_key_rounds=self._records.meta.pulses - int(counts.sum()),
            n_sifted=int(key.shape[0]),
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
                    public={
                        "errors": self.sample_errors,
                        "abort": True,
                        "reason": reason,
                        **public,
                    },
                )
            )
            raise InsufficientKey(reason, stage="estimation")
        return key, public

    def _chsh(self, channel: ClassicalChannel) -> None:
        """E91: exchange the outcomes of the CHSH-test events and check the Bell violation."""
        rule = self._rule
        if not isinstance(rule, E91Rule):  # a spec error, not the peer's: refuse plainly
            raise ParameterError(
                f"Argument 'protocol' {self._protocol!r} has a Bell test but its sifting rule "
                f"selects no CHSH-test events ({type(rule).__name__})."
            )
        mask = rule.chsh_mask(self._alice_pub, self._bob_pub)
        positions = np.flatnonzero(mask).astype(np.int64)
        mine = self._records.bit[positions]
        reply = self._ask(
            channel,
            Message("chsh", public={"positions": positions, "outcomes": mine}),
            "chsh.reply",
        )
        alice_out = np.asarray(reply.public["outcomes"], dtype=np.uint8)
        a_set = np.asarray(self._alice_pub["basis"], dtype=np.uint8)[positions]
        b_set = self._records.basis[positions]
        try:
            self.chsh_s, self.chsh_s_std = chsh_value(a_set, b_set, alice_out, mine)
            self.chsh_s_lower = hoeffding_chsh_lower(
                a_set, b_set, alice_out, mine, self._options.epsilon_sec / 2
            )
        except ParameterError as exc:
            self._abort(
                channel, BellViolationTooSmall(f"CHSH test impossible: {exc}", stage="estimation")
            )
        assert self.chsh_s_lower is not None
        if self.chsh_s_lower <= 2.0:
            self._abort(
                channel,
                BellViolationTooSmall(
                    f"CHSH value {self.chsh_s:.3f} +- {self.chsh_s_std:.3f} does not exceed 2 by the "
                    f"statistical margin (lower bound {self.chsh_s_lower:.3f})",
                    stage="estimation",
                ),
            )

    def _reconcile(self, channel: ClassicalChannel, key: BitArray) -> BitArray:
        method = get_method(self._options.ec_method)
        bob_ec = method.make_bob(seed=self._rng)  # its reconcile() sends ``ec.start``
        # An error-free sample still leaves errors possible: never tell Cascade "zero".
        assert self.qber is not None
        qber_for_ec = min(0.45, max(self.qber, 1.0 / (2 * max(self.sample_bits, 1))))
        outcome = bob_ec.reconcile(key, qber_for_ec, channel)
        self.ec_frames, self.ec_frames_failed = outcome.frames, outcome.frames_failed
        if outcome.frames_failed:
            self._abort(
                channel,
                ReconciliationFailed(
                    f"error correction failed on {outcome.frames_failed} of {outcome.frames} frames",
                    stage="reconciliation",
                ),
            )
        corrected = outcome.key
        assert self.sifted_error is not None and self._key_pos is not None
        # Bob now knows which of his key bits were wrong: the decoy analysis and the report's
        # per-class counts use it (Lim et al. 2014 count the key-basis errors this way).
        self.sifted_error[self._key_pos] = (corrected != key).astype(np.int8)
        self.corrected_key = corrected
        return corrected

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
        if self.sifted_basis is None or self.sifted_intensity is None or self.sifted_error is None:
            return []
        rows = []
        # One pass of bincount over (basis, intensity) codes: the counts of every class at once
        # (the same integers as a mask per class; the float sums are exact below 2**53).
        basis = self.sifted_basis.astype(np.int64)
        intensity = self.sifted_intensity.astype(np.int64)
        bases = np.flatnonzero(np.bincount(basis)).tolist()
        intensities = np.flatnonzero(np.bincount(intensity)).tolist()
        if self.sent_counts is not None:
            intensities = list(range(self.sent_counts.shape[0]))
            bases = sorted(set(bases) | set(range(self.sent_counts.shape[1])))
        n_int = max([*intensities, int(intensity.max(initial=0))]) + 1
        n_codes = (max([*bases, int(basis.max(initial=0))]) + 1) * n_int
        code = basis * n_int + intensity
        unknown = self.sifted_error == UNKNOWN
        detected_by = np.bincount(code, minlength=n_codes)
        unknown_by = np.bincount(code, weights=unknown, minlength=n_codes)
        errors_by = np.bincount(
            code, weights=np.where(unknown, 0, self.sifted_error), minlength=n_codes
        )
        for b in bases:
            for i in intensities:
                c = b * n_int + i
                sent = None
                if self.sent_counts is not None and b < self.sent_counts.shape[1]:
                    sent = int(self.sent_counts[i, b])
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
