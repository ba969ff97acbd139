"""The post-processing recipe: from two parties' detection records to a verified secret key.

Alice and Bob are two nodes that share nothing but classical messages:

* :class:`AliceNode` holds Alice's records and answers requests (she is the server);
* :class:`BobNode` holds Bob's records and drives the protocol (he is the client).

Every message crosses a :class:`~qkdstack.processing.channel.ClassicalChannel` (encoded to bytes,
Wegman-Carter authenticated by default), which counts the disclosed bits per stage. The stages:

1. **sifting** - Bob announces his detected pulses and their public data (bases); Alice answers hers;
   both keep the positions the protocol's :class:`~qkdstack.processing.sifting.SiftingRule` keeps.
2. **estimation** - Alice discloses a uniform random sample of her sifted bits; Bob counts the
   errors, announces them, and both discard the sample. Above the protocol's QBER limit: abort.
3. **reconciliation** - the chosen method (Cascade by default) corrects Bob's key to Alice's.
4. **verification** - Bob sends a random Poly1305 hash key and his tag; Alice answers whether hers
   matches (``epsilon_cor`` from :func:`~qkdstack.processing.verification.collision_probability`).
5. **amplification** - Alice decides the secure length with the proof's rule
   (:mod:`~qkdstack.processing.key_length`) from what she observed and the leakage she counted, draws
   a Toeplitz seed (from :mod:`secrets`), and both hash their keys.

A stage that cannot lead to a secure key raises a :class:`~qkdstack.errors.ProtocolAbort`; Bob then
tells Alice, and neither outputs a key.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import (
    InsufficientKey,
    ParameterError,
    ProtocolAbort,
    QBERTooHigh,
    ReconciliationFailed,
    RecordError,
    VerificationFailed,
)
from qkdstack.link.records import Records
from qkdstack.processing import key_length as kl
from qkdstack.processing.amplification import toeplitz_hash
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import ClassicalChannel, Message, Tamper
from qkdstack.processing.estimation import choose_sample, sampling_deviation
from qkdstack.processing.reconciliation.base import AliceReconciler, get_method
from qkdstack.processing.sifting import get_rule
from qkdstack.processing.verification import (
    HASH_KEY_BYTES,
    TAG_BITS,
    collision_probability,
    compare_tags,
    verification_tag,
)
from qkdstack.randomness import as_generator, secret_bits, secret_bytes
from qkdstack.typing import BitArray, IndexArray, Seed

__all__ = [
    "QBER_LIMITS",
    "AliceNode",
    "BobNode",
    "PipelineOptions",
    "PipelineResult",
    "run_postprocessing",
]

QBER_LIMITS: dict[str, float] = {
    "bb84": kl.BB84_QBER_LIMIT,
    "decoy-bb84": kl.BB84_QBER_LIMIT,
    "bbm92": kl.BB84_QBER_LIMIT,
    "e91": kl.BB84_QBER_LIMIT,
    # Lo 2001: the six-state protocol tolerates 12.6% with one-way post-processing.
    "six-state": 0.126,
    # Tamaki-Lütkenhaus 2004: B92 with single photons tolerates about 3.4% (the Z-basis QBER).
    "b92": 0.034,
}
"""QBER above which the protocol's proof gives no key at all: estimation aborts above it."""


@dataclass(frozen=True)
class PipelineOptions:
    """Knobs of the post-processing.

    Attributes
    ----------
    sample_fraction : float
        Share of the sifted bits disclosed for error estimation, in (0, 1).
    ec_method : str
        Error-correction method, a name in the reconciliation registry.
    epsilon_sec, epsilon_cor : float
        Secrecy and correctness parameters of the final key.
    authenticate : bool
        Wegman-Carter authentication of every classical message (default on).
    auth_key_bytes : int
        Size of the pre-shared authentication key (16 bytes of hash key + 16 bytes per message).
    secure_randomness : bool
        True: hash keys, Toeplitz seeds and authentication keys come from :mod:`secrets`. False: from
        the seeded generator, making keys reproducible - **not secure**, for simulations only.
    source : str or None
        ``"single-photon"`` or ``"laser"``: which proof decides the key length. None: read it from
        Alice's record metadata (``meta.params["source"]``).
    mu : float or None
        Signal mean photon number for GLLP; None: from Alice's metadata.
    tamper : callable or None
        A man in the middle on the classical channel (see :mod:`qkdstack.processing.channel`).
    """

    sample_fraction: float = 0.1
    ec_method: str = "cascade"
    epsilon_sec: float = 1e-10
    epsilon_cor: float = 1e-15
    authenticate: bool = True
    auth_key_bytes: int = 16 + 16 * 16384
    secure_randomness: bool = True
    source: str | None = None
    mu: float | None = None
    tamper: Tamper | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.sample_fraction < 1.0:
            raise ParameterError(
                f"Argument 'sample_fraction' must be in (0, 1), not {self.sample_fraction!r}."
            )
        for name in ("epsilon_sec", "epsilon_cor"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ParameterError(f"Argument '{name}' must be in (0, 1), not {value!r}.")
        if self.source is not None and self.source not in ("single-photon", "laser"):
            raise ParameterError(
                f"Argument 'source' must be 'single-photon' or 'laser', not {self.source!r}."
            )


class _Tally:
    """A party's own count of the disclosed bits it has seen, per stage."""

    def __init__(self) -> None:
        self.disclosed: dict[str, int] = defaultdict(int)

    def add(self, stage: str, *messages: Message) -> None:
        self.disclosed[stage] += sum(m.disclosed_bits() for m in messages)


def _pack_bits(bits: BitArray) -> bytes:
    return np.packbits(bits).tobytes()


def _unpack_bits(data: bytes, count: int) -> BitArray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:count].copy()


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
        self._rule = get_rule(records.meta.protocol)
        self._tally = _Tally()
        self._stage = "setup"
        self._key: BitArray | None = None
        self._key_index: IndexArray | None = None
        self._detections = 0
        self._sample_bits = 0
        self._sample_errors = 0
        self._reconciler: AliceReconciler | None = None
        self._verified = False
        self.decision: kl.KeyLength | None = None
        self.final_key: BitArray | None = None
        self.aborted: str | None = None
        self._handlers: dict[str, Callable[[Message], Message]] = {
            "sift": self._on_sift,
            "sample": self._on_sample,
            "estimate": self._on_estimate,
            "ec.start": self._on_ec_start,
            "verify": self._on_verify,
            "amplify": self._on_amplify,
            "abort": self._on_abort,
        }

    # -- the responder ------------------------------------------------------------------------
    def handle(self, request: Message) -> Message:
        """Answer one request (the channel's responder)."""
        if self.aborted is not None and request.kind != "abort":
            return Message("abort", public={"reason": self.aborted})
        if request.kind in self._handlers:
            handler = self._handlers[request.kind]
        elif request.kind.startswith("ec.") and self._reconciler is not None:
            handler = self._reconciler.handle
        else:
            raise ProtocolAbort(f"unexpected message {request.kind!r}", stage=self._stage)
        reply = handler(request)
        self._tally.add(self._stage, request, reply)
        return reply

    # -- stages -----------------------------------------------------------------------------
    def _on_sift(self, request: Message) -> Message:
        self._stage = "sifting"
        index = np.asarray(request.public["pulse_index"], dtype=np.int64)
        mine = self._records.pulse_index
        pos = np.searchsorted(mine, index)
        found = (pos < mine.shape[0]) & (mine[np.minimum(pos, max(mine.shape[0] - 1, 0))] == index)
        if index.shape[0] and (mine.shape[0] == 0 or not np.all(found)):
            raise RecordError(
                "Bob announced detections of pulses that Alice has no record of "
                f"({int(np.count_nonzero(~found))} of {index.shape[0]}): the record sets do not match."
            )
        sub = _subset(self._records, pos)
        announcement = self._rule.alice_announces(sub)
        bob_pub = {k: v for k, v in request.public.items() if k != "pulse_index"}
        keep = self._rule.keep(announcement, bob_pub)
        self._detections = int(index.shape[0])
        self._key = self._rule.alice_bits(sub)[keep]
        self._key_index = index[keep]
        return Message("sift.reply", public=dict(announcement))

    def _on_sample(self, request: Message) -> Message:
        self._stage = "estimation"
        assert self._key is not None and self._key_index is not None
        k = int(request.public["sample_bits"])
        positions = choose_sample(self._key.shape[0], k, self._rng)
        disclosed = self._key[positions]
        keep = np.ones(self._key.shape[0], dtype=bool)
        keep[positions] = False
        self._key = self._key[keep]
        self._key_index = self._key_index[keep]
        self._sample_bits = k
        return Message(
            "sample.reply", public={"positions": positions}, disclosed={"bits": disclosed}
        )

    def _on_estimate(self, request: Message) -> Message:
        self._sample_errors = int(request.public["errors"])
        if request.public.get("abort"):
            self._abort(str(request.public.get("reason", "estimation")))
        return Message("ack")

    def _on_ec_start(self, request: Message) -> Message:
        self._stage = "reconciliation"
        assert self._key is not None
        method = get_method(str(request.public["method"]))
        self._reconciler = method.make_alice(self._key, request.public)
        return self._reconciler.handle(request)

    def _on_verify(self, request: Message) -> Message:
        self._stage = "verification"
        assert self._key is not None
        mine = verification_tag(self._key, bytes(request.public["hash_key"]))
        try:
            compare_tags(mine, bytes(request.disclosed["tag"]))
        except VerificationFailed as exc:
            self._abort(str(exc))
            return Message("verify.reply", public={"match": False})
        self._verified = True
        return Message("verify.reply", public={"match": True})

    def _on_amplify(self, request: Message) -> Message:
        self._stage = "amplification"
        assert self._key is not None
        if not self._verified:
            raise ProtocolAbort(
                "amplification requested before verification", stage="amplification"
            )
        decision = self._decide_length()
        self.decision = decision
        public: dict[str, Any] = {
            "formula": decision.formula,
            "phase_error_upper": decision.phase_error_upper,
            "single_photon_fraction": decision.single_photon_fraction,
            "length_bits": decision.length_bits,
        }
        if decision.length_bits <= 0:
            self._abort("the secure key length is not positive")
            return Message("abort", public={"reason": self.aborted, **public})
        n, m = self._key.shape[0], decision.length_bits
        rng = None if self._options.secure_randomness else self._rng
        seed = secret_bits(n + m - 1, rng)
        self.final_key = toeplitz_hash(self._key, seed, m)
        return Message("amplify.reply", public={**public, "seed": _pack_bits(seed)})

    def _on_abort(self, request: Message) -> Message:
        self._abort(str(request.public.get("reason", "aborted by Bob")))
        return Message("ack")

    # -- helpers ----------------------------------------------------------------------------
    def _abort(self, reason: str) -> None:
        self.aborted = reason
        self._key = None
        self.final_key = None

    def _decide_length(self) -> kl.KeyLength:
        """Alice's own length decision, from what she observed and the leakage she counted."""
        assert self._key is not None
        opts = self._options
        params = self._records.meta.params
        source = opts.source or str(params.get("source", "single-photon"))
        leak = self._tally.disclosed["reconciliation"] + self._tally.disclosed["verification"]
        n, k = int(self._key.shape[0]), self._sample_bits
        e_obs = self._sample_errors / k if k else 1.0
        if source == "laser":
            mu = opts.mu if opts.mu is not None else float(params.get("mu", 0.0))
            gain = self._detections / self._records.meta.pulses
            return kl.gllp_key_length(
                n, k, e_obs, leak, mu, gain, opts.epsilon_sec, opts.epsilon_cor
            )
        return kl.shor_preskill_key_length(n, k, e_obs, leak, opts.epsilon_sec, opts.epsilon_cor)

    @property
    def key(self) -> BitArray | None:
        """Alice's current key (sifted, sample removed); None after an abort."""
        return self._key


def _subset(records: Records, positions: IndexArray) -> Records:
    """Alice's records restricted to ``positions`` (Bob's detections)."""
    return Records(
        role=records.role,
        pulse_index=records.pulse_index[positions],
        basis=records.basis[positions],
        bit=records.bit[positions],
        meta=records.meta,
        intensity=None if records.intensity is None else records.intensity[positions],
        time_tag_ps=None if records.time_tag_ps is None else records.time_tag_ps[positions],
    )


class BobNode:
    """Bob's side: drives the post-processing over the channel, from his own records only."""

    def __init__(
        self, records: Records, options: PipelineOptions, rng: np.random.Generator
    ) -> None:
        self._records = records
        self._options = options
        self._rng = rng
        self._rule = get_rule(records.meta.protocol)
        self.timings_s: dict[str, float] = {}
        self.detections = len(records)
        self.sifted_bits = 0
        self.sample_bits = 0
        self.sample_errors = 0
        self.qber: float | None = None
        self.qber_upper: float | None = None
        self.sifted_index: IndexArray | None = None
        self.key_index: IndexArray | None = None
        self.raw_key: BitArray | None = None
        self.corrected_key: BitArray | None = None
        self.final_key: BitArray | None = None
        self.toeplitz_seed: BitArray | None = None
        self.amplify_info: dict[str, Any] = {}
        self.ec_frames = 0
        self.ec_frames_failed = 0

    @contextmanager
    def _timed(self, channel: ClassicalChannel, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        with channel.in_stage(stage):
            yield
        self.timings_s[stage] = time.perf_counter() - start

    def run(self, channel: ClassicalChannel) -> BitArray:
        """Run every stage; return Bob's final key or raise :class:`ProtocolAbort`."""
        opts = self._options
        with self._timed(channel, "sifting"):
            announcement = self._rule.bob_announces(self._records)
            reply = channel.ask(
                Message("sift", public={"pulse_index": self._records.pulse_index, **announcement})
            )
            keep = self._rule.keep(reply.public, announcement)
            key = self._rule.bob_bits(self._records)[keep]
            key_index = self._records.pulse_index[keep]
            self.sifted_bits = int(key.shape[0])
            self.sifted_index = key_index

        with self._timed(channel, "estimation"):
            k = min(self.sifted_bits, max(1, round(opts.sample_fraction * self.sifted_bits)))
            if self.sifted_bits < 2:
                self._abort(
                    channel,
                    InsufficientKey("too few sifted bits to estimate the QBER", stage="estimation"),
                )
            reply = channel.ask(Message("sample", public={"sample_bits": k}))
            positions = np.asarray(reply.public["positions"], dtype=np.int64)
            alice_sample = np.asarray(reply.disclosed["bits"], dtype=np.uint8)
            errors = int(np.count_nonzero(key[positions] != alice_sample))
            keep_mask = np.ones(key.shape[0], dtype=bool)
            keep_mask[positions] = False
            key, key_index = key[keep_mask], key_index[keep_mask]
            self.sample_bits, self.sample_errors = k, errors
            self.qber = errors / k
            self.qber_upper = self.qber + sampling_deviation(
                int(key.shape[0]), k, opts.epsilon_sec / 2
            )
            limit = QBER_LIMITS.get(self._records.meta.protocol, kl.BB84_QBER_LIMIT)
            if self.qber > limit:
                reason = f"estimated QBER {self.qber:.4f} exceeds the {limit:.4f} limit of {self._records.meta.protocol}"
                channel.ask(
                    Message("estimate", public={"errors": errors, "abort": True, "reason": reason})
                )
                raise QBERTooHigh(reason, stage="estimation")
            channel.ask(Message("estimate", public={"errors": errors, "abort": False}))
            self.raw_key, self.key_index = key, key_index

        with self._timed(channel, "reconciliation"):
            method = get_method(opts.ec_method)
            bob_ec = method.make_bob(seed=self._rng)  # its reconcile() sends ``ec.start``
            # An error-free sample still leaves errors possible: never tell Cascade "zero".
            qber_for_ec = min(0.45, max(self.qber, 1.0 / (2 * k)))
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
            key = outcome.key
            self.corrected_key = key

        with self._timed(channel, "verification"):
            hash_key = (
                secret_bytes(HASH_KEY_BYTES)
                if opts.secure_randomness
                else self._rng.bytes(HASH_KEY_BYTES)
            )
            tag = verification_tag(key, hash_key)
            reply = channel.ask(
                Message("verify", public={"hash_key": hash_key}, disclosed={"tag": tag})
            )
            if not reply.public.get("match"):
                raise VerificationFailed(
                    "verification hashes differ: the corrected keys are not identical",
                    stage="verification",
                )

        with self._timed(channel, "amplification"):
            reply = channel.ask(Message("amplify"))
            self.amplify_info = {k: v for k, v in reply.public.items() if k != "seed"}
            if reply.kind == "abort":
                raise InsufficientKey(str(reply.public.get("reason")), stage="amplification")
            m = int(reply.public["length_bits"])
            seed = _unpack_bits(bytes(reply.public["seed"]), key.shape[0] + m - 1)
            self.toeplitz_seed = seed
            self.final_key = toeplitz_hash(key, seed, m)
        return self.final_key

    def _abort(self, channel: ClassicalChannel, error: ProtocolAbort) -> None:
        """Tell Alice, then raise."""
        channel.ask(Message("abort", public={"reason": str(error)}))
        raise error


@dataclass
class PipelineResult:
    """The outcome of :func:`run_postprocessing`.

    ``alice_key`` and ``bob_key`` are None when the protocol aborted. ``alice`` and ``bob`` are the
    two nodes, for simulation-only analysis (an oracle may compare them; the parties never do).
    """

    report: dict[str, Any]
    alice_key: BitArray | None
    bob_key: BitArray | None
    alice: AliceNode
    bob: BobNode
    channel: ClassicalChannel
    error: ProtocolAbort | None = None
    timings_s: dict[str, float] = field(default_factory=dict)


def run_postprocessing(
    alice: Records,
    bob: Records,
    options: PipelineOptions | None = None,
    *,
    seed: Seed = None,
) -> PipelineResult:
    """Run the whole post-processing between two nodes over an in-process channel.

    Parameters
    ----------
    alice, bob : Records
        Each party's detection records; each node receives only its own.
    options : PipelineOptions, optional
    seed : int, Generator or None
        Seeds the parties' simulation randomness (sample choice, Cascade shuffles).

    Returns
    -------
    PipelineResult
        ``report`` holds the post-processing fields of the run report: ``detections``,
        ``sifted_bits``, ``sample_bits``, ``qber``, ``leaked_ec_bits``, ``secret_bits``,
        ``keys_match``, ``aborted``, ``abort_reason``, ``timings_s``...
    """
    opts = options or PipelineOptions()
    if alice.meta.protocol != bob.meta.protocol:
        raise RecordError(
            f"Alice's records are for protocol {alice.meta.protocol!r} but Bob's for {bob.meta.protocol!r}."
        )
    rng_alice, rng_bob, rng_auth = as_generator(seed).spawn(3)
    alice_node = AliceNode(alice, opts, rng_alice)
    bob_node = BobNode(bob, opts, rng_bob)
    authentication = None
    if opts.authenticate:
        shared = (
            secret_bytes(opts.auth_key_bytes)
            if opts.secure_randomness
            else rng_auth.bytes(opts.auth_key_bytes)
        )
        authentication = (WegmanCarterAuthenticator(shared), WegmanCarterAuthenticator(shared))
    channel = ClassicalChannel(alice_node.handle, authentication=authentication, tamper=opts.tamper)

    error: ProtocolAbort | None = None
    try:
        bob_key: BitArray | None = bob_node.run(channel)
    except ProtocolAbort as exc:
        error = exc
        bob_key = None
    alice_key = alice_node.final_key if error is None else None
    if error is not None:
        bob_node.final_key = None

    stats = channel.stats
    n_key = 0 if bob_node.raw_key is None else int(bob_node.raw_key.shape[0])
    secret = 0 if bob_key is None else int(bob_key.shape[0])
    keys_match = bool(
        alice_key is not None and bob_key is not None and np.array_equal(alice_key, bob_key)
    )
    report: dict[str, Any] = {
        "detections": bob_node.detections,
        "sifted_bits": bob_node.sifted_bits,
        "sample_bits": bob_node.sample_bits,
        "sample_errors": bob_node.sample_errors,
        "qber": bob_node.qber,
        "qber_upper": bob_node.qber_upper,
        "key_bits_before_ec": n_key,
        "ec_method": opts.ec_method,
        "leaked_ec_bits": stats.leaked_bits("reconciliation"),
        "verification_bits": stats.leaked_bits("verification"),
        "round_trips": stats.round_trips,
        "ec_round_trips": stats.round_trips_by_stage.get("reconciliation", 0),
        "epsilon_sec": opts.epsilon_sec,
        "epsilon_cor": opts.epsilon_cor,
        "epsilon_cor_verification": collision_probability(n_key) if n_key else None,
        "key_length_formula": bob_node.amplify_info.get("formula"),
        "phase_error_upper": bob_node.amplify_info.get("phase_error_upper"),
        "single_photon_fraction": bob_node.amplify_info.get("single_photon_fraction"),
        "secret_bits": secret,
        "keys_match": keys_match,
        "aborted": error is not None,
        "abort_reason": None if error is None else f"{type(error).__name__}: {error}",
        "abort_stage": None if error is None else error.stage,
        "authenticated": channel.authenticated,
        "auth_key_bits_used": channel.auth_key_bits_used(),
        "secure_randomness": opts.secure_randomness,
        "wire_bits": int(sum(stats.wire_bits.values())),
        "verification_tag_bits": TAG_BITS,
        "timings_s": dict(bob_node.timings_s),
    }
    return PipelineResult(
        report=report,
        alice_key=alice_key,
        bob_key=bob_key,
        alice=alice_node,
        bob=bob_node,
        channel=channel,
        error=error,
        timings_s=dict(bob_node.timings_s),
    )
