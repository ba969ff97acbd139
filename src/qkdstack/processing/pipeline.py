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
   a Toeplitz seed (from :mod:`secrets`), and both hash their keys, each only once the stage's
   authentication check has passed on its own side (:meth:`AliceNode.stage_confirmed`).

A stage that cannot lead to a secure key raises a :class:`~qkdstack.errors.ProtocolAbort`; Bob then
tells Alice, and neither outputs a key.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

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
from qkdstack.link.index_kernels import locate_sorted, positions_of
from qkdstack.link.records import Records, check_listed
from qkdstack.processing import key_length as kl
from qkdstack.processing import key_length_numerical as kln
from qkdstack.processing.accounting import composable_accounting
from qkdstack.processing.amplification import toeplitz_hash
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.channel import (
    AUTH_SCOPES,
    AuthScope,
    ClassicalChannel,
    Message,
    Observer,
    Tamper,
)
from qkdstack.processing.chsh import E91_CHSH_TERMS, chsh_value
from qkdstack.processing.e91 import E91_BOUNDS, e91_key_length
from qkdstack.processing.estimation import choose_sample, sampling_deviation, secret_sample
from qkdstack.processing.index_coding import decode_increasing, encode_increasing
from qkdstack.processing.reconciliation.base import AliceReconciler, get_method
from qkdstack.processing.sanity import check_statistics
from qkdstack.processing.sifting import E91Rule, get_rule
from qkdstack.processing.verification import (
    HASH_KEY_BYTES,
    TAG_BITS,
    collision_probability,
    compare_tags,
    verification_tag,
)
from qkdstack.randomness import as_generator, secret_bits, secret_bytes, secret_randomness_mode
from qkdstack.typing import Basis, BitArray, IndexArray, Seed

__all__ = [
    "DECOY_KEY_BASIS",
    "QBER_LIMITS",
    "AliceNode",
    "BobNode",
    "PipelineOptions",
    "PipelineResult",
    "hoeffding_chsh_lower",
    "run_postprocessing",
]

QBER_LIMITS: dict[str, float] = {
    "bb84": kl.BB84_QBER_LIMIT,
    "decoy-bb84": kl.BB84_QBER_LIMIT,
    "bbm92": kl.BB84_QBER_LIMIT,
    "e91": kl.BB84_QBER_LIMIT,
    # Lo 2001: the six-state protocol tolerates 12.6% with one-way post-processing.
    "six-state": 0.126,
    # B92: no QBER cut; the numerical finite-size bound on the run's full test statistics
    # decides (processing.key_length_numerical), before error correction and at amplification.
    "b92": 0.5,
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
        Wegman-Carter authentication of the classical channel (default on).
    auth_scope : {"stage", "message"}
        What one tag covers (:class:`~qkdstack.processing.channel.ClassicalChannel`): the
        default ``"stage"`` tags each stage's whole transcript once in each direction (256 bits
        of pre-shared key per stage: about 1.3 kbit per run), ``"message"`` every message (128
        bits each: Cascade's ~10^3 round trips then cost more key than a run of 10^8 pulses
        produces).
    auth_key_bytes : int
        Size of the pre-shared authentication key (16 bytes of hash key + 16 bytes per tag).
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
    e91_bound : {"device-dependent", "device-independent"}
        E91's key-length rule (:func:`qkdstack.processing.e91.e91_key_length`): by default the
        BBM92 bound on the matching settings with the CHSH test as entanglement check; the
        device-independent bound of Acin et al. (2007) only where its assumptions hold.
    observer : callable or None
        A passive wiretap: called with every message the channel delivers (simulation analysis of
        what Eve reads, :mod:`qkdstack.processing.eve_knowledge`); never part of either party.
    b92_attack_model : {"collective", "coherent"}
        The attacks B92's numerical finite-size proof covers: collective, or coherent through
        the postselection technique (:mod:`qkdstack.processing.key_length_numerical`).
    """

    sample_fraction: float = 0.1
    ec_method: str = "cascade"
    epsilon_sec: float = 1e-10
    epsilon_cor: float = 1e-15
    authenticate: bool = True
    auth_scope: str = "stage"
    auth_key_bytes: int = 16 + 16 * 16384
    secure_randomness: bool = True
    source: str | None = None
    mu: float | None = None
    tamper: Tamper | None = None
    e91_bound: str = "device-dependent"
    observer: Observer | None = None
    b92_attack_model: str = "collective"

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
        if self.e91_bound not in E91_BOUNDS:
            raise ParameterError(
                f"Argument 'e91_bound' must be one of {', '.join(E91_BOUNDS)}, "
                f"not {self.e91_bound!r}."
            )
        if self.b92_attack_model not in kln.ATTACK_MODELS:
            raise ParameterError(
                f"Argument 'b92_attack_model' must be one of {', '.join(kln.ATTACK_MODELS)}, "
                f"not {self.b92_attack_model!r}."
            )
        if self.auth_scope not in AUTH_SCOPES:
            raise ParameterError(
                f"Argument 'auth_scope' must be one of {', '.join(AUTH_SCOPES)}, "
                f"not {self.auth_scope!r}."
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


def get_e91_rule() -> E91Rule:
    """The E91 sifting rule (which also selects the CHSH-test events)."""
    rule = get_rule("e91")
    assert isinstance(rule, E91Rule)
    return rule


DECOY_KEY_BASIS = int(Basis.Z)
"""Decoy-state BB84 takes its key from Z-basis detections and tests with the X basis (the roles of
X and Z in Lim et al. 2014 are swapped: their key basis is called X)."""

_UNKNOWN = -1


def hoeffding_chsh_lower(
    alice_setting: np.ndarray,
    bob_setting: np.ndarray,
    alice_outcome: np.ndarray,
    bob_outcome: np.ndarray,
    epsilon: float,
) -> float:
    """Lower confidence bound on the CHSH value S, failing with probability at most ``epsilon``.

    Each correlator estimate is a mean of ``N_ab`` outcomes in [-1, 1]; by Hoeffding's inequality it
    exceeds its expectation by ``t_ab = sqrt(2 ln(4/epsilon) / N_ab)`` with probability at most
    ``epsilon/4``, so ``S - sum_ab t_ab`` bounds S from below (union bound over the four terms).

    References
    ----------
    W. Hoeffding, "Probability inequalities for sums of bounded random variables", J. Am. Stat.
    Assoc. 58, 13 (1963), Theorem 2.
    """
    s, _ = chsh_value(alice_setting, bob_setting, alice_outcome, bob_outcome)
    slack = 0.0
    for a, b, _sign in E91_CHSH_TERMS:
        n_ab = int(np.count_nonzero((alice_setting == a) & (bob_setting == b)))
        slack += math.sqrt(2.0 * math.log(4.0 / epsilon) / n_ab)
    return s - slack


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
        self._protocol = records.meta.protocol
        self._rule = get_rule(self._protocol)
        self._tally = _Tally()
        self._stage = "setup"
        self._sub: Records | None = None
        self._bob_pub: dict[str, Any] = {}
        self._alice_pub: dict[str, Any] = {}
        self._key: BitArray | None = None
        self._key_index: IndexArray | None = None
        self._key_intensity: np.ndarray | None = None
        self._sifted_basis: np.ndarray | None = None
        self._sifted_intensity: np.ndarray | None = None
        self._detections = 0
        self._sample_bits = 0
        self._sample_errors = 0
        self._test_counts: dict[str, Any] = {}
        self._chsh_lower: float | None = None
        self._reconciler: AliceReconciler | None = None
        self._verified = False
        self._pending_seed: BitArray | None = None
        # Real records (no simulation seed): the sample comes from ``secrets`` (Eve must not
        # predict it), whatever seed drives the rest; a simulation owns its sample's randomness.
        self._sample_from_secrets = options.secure_randomness and records.meta.seed is None
        self.decision: kl.KeyLength | Any | None = None
        self.final_key: BitArray | None = None
        self.aborted: str | None = None
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
        try:
            reply = handler(request)
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RecordError):
                raise
            self._abort(f"malformed {request.kind!r} message")
            raise ProtocolAbort(
                f"malformed {request.kind!r} message: {exc}", stage=self._stage
            ) from exc
        self._tally.add(self._stage, request, reply)
        return reply

    # -- stages -----------------------------------------------------------------------------
    def _on_sift(self, request: Message) -> Message:
        self._stage = "sifting"
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
        sub = self._records if whole else _subset(self._records, pos)
        announcement = self._rule.alice_announces(sub)
        self._bob_pub = {k: v for k, v in request.public.items() if k not in _SIFT_INDEX_FIELDS}
        self._alice_pub = dict(announcement)
        keep = positions_of(self._rule.keep(announcement, self._bob_pub), len(sub))
        self._sub = sub
        self._detections = int(index.shape[0])
        self._key = self._rule.alice_bits(sub)[keep]
        self._key_index = index[keep]
        self._sifted_basis = sub.basis[keep]
        self._sifted_intensity = (
            np.zeros(keep.shape[0], np.uint8) if sub.intensity is None else sub.intensity[keep]
        )
        self._key_intensity = self._sifted_intensity
        public: dict[str, Any] = dict(announcement)
        if self._records.meta.sent_counts is not None:
            public["sent_counts"] = np.asarray(self._records.meta.sent_counts, dtype=np.int64)
        return Message("sift.reply", public=public)

    def _on_chsh(self, request: Message) -> Message:
        """E91: disclose Alice's outcomes on the CHSH-test events (never key) and bound S."""
        self._stage = "estimation"
        assert self._sub is not None
        positions = np.asarray(request.public["positions"], dtype=np.int64)
        mask = get_e91_rule().chsh_mask(self._alice_pub, self._bob_pub)
        if not np.array_equal(positions, np.flatnonzero(mask)):
            raise ProtocolAbort("CHSH test positions disagree with the sifting", stage="estimation")
        mine = self._sub.bit[positions]
        self._chsh_lower = hoeffding_chsh_lower(
            self._sub.basis[positions],
            np.asarray(self._bob_pub["basis"])[positions],
            mine,
            np.asarray(request.public["outcomes"], dtype=np.uint8),
            self._options.epsilon_sec / 2,
        )
        return Message("chsh.reply", public={"outcomes": mine})

    def _on_test(self, request: Message) -> Message:
        """Decoy BB84: disclose every sifted test-basis bit, keep the key-basis positions as key."""
        self._stage = "estimation"
        assert self._key is not None and self._key_index is not None
        assert self._sifted_basis is not None and self._sifted_intensity is not None
        is_test = self._sifted_basis != DECOY_KEY_BASIS
        test, key = positions_of(is_test), positions_of(~is_test)
        disclosed = self._key[test]
        self._key = self._key[key]
        self._key_index = self._key_index[key]
        self._key_intensity = self._sifted_intensity[key]
        return Message("test.reply", disclosed={"bits": disclosed})

    def _on_b92_test(self, request: Message) -> Message:
        """B92: draw the test rounds over every pulse, disclose her bits on the detected ones."""
        self._stage = "estimation"
        assert self._sub is not None and self._key is not None and self._key_index is not None
        assert self._key_intensity is not None
        rng = None if self._options.secure_randomness else self._rng
        positions, undetected = kln.draw_b92_test(
            self._detections,
            self._records.meta.pulses - self._detections,
            self._options.sample_fraction,
            rng,
        )
        bits = self._sub.bit[positions]
        self._test_counts["b92_bits"], self._test_counts["b92_undetected"] = bits, undetected
        test = np.zeros(self._detections, dtype=bool)
        test[positions] = True
        keep = ~test[self._rule.keep(self._alice_pub, self._bob_pub)]
        self._key, self._key_index = self._key[keep], self._key_index[keep]
        self._key_intensity = self._key_intensity[keep]
        return Message(
            "b92.test.reply",
            public={"positions": positions, "undetected": undetected},
            disclosed={"bits": bits},
        )

    def _on_sample(self, request: Message) -> Message:
        self._stage = "estimation"
        assert self._key is not None and self._key_index is not None
        assert self._key_intensity is not None
        k = int(request.public["sample_bits"])
        positions = (
            secret_sample(self._key.shape[0], k)
            if self._sample_from_secrets
            else choose_sample(self._key.shape[0], k, self._rng)
        )
        disclosed = self._key[positions]
        keep = np.ones(self._key.shape[0], dtype=bool)
        keep[positions] = False
        self._key = self._key[keep]
        self._key_index = self._key_index[keep]
        self._key_intensity = self._key_intensity[keep]
        self._sample_bits = k
        return Message(
            "sample.reply", public={"positions": positions}, disclosed={"bits": disclosed}
        )

    def _on_estimate(self, request: Message) -> Message:
        self._sample_errors = int(request.public.get("errors", 0))
        for name in ("test_detected", "test_errors"):
            if name in request.public:
                self._test_counts[name] = np.asarray(request.public[name], dtype=np.int64)
        if "b92_outcomes" in request.public:
            self._test_counts["b92"] = kln.b92_test_counts(
                self._test_counts["b92_bits"],
                np.asarray(request.public["b92_outcomes"], dtype=np.uint8),
                self._test_counts["b92_undetected"],
            )
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
            "length_bits": decision.length_bits,
            **_decision_details(decision),
        }
        if decision.length_bits <= 0:
            self._abort(self._no_key_reason(decision))
            return Message("abort", public={"reason": self.aborted, **public})
        n, m = self._key.shape[0], decision.length_bits
        rng = None if self._options.secure_randomness else self._rng
        seed = secret_bits(n + m - 1, rng)
        # No key yet: it is hashed only once this stage's check has passed on Alice's side
        # (:meth:`stage_confirmed`).
        self._pending_seed = seed
        return Message("amplify.reply", public={**public, "seed": _pack_bits(seed)})

    def stage_confirmed(self, stage: str) -> None:
        """The channel's word that ``stage`` ended and its authentication check passed on Alice's
        side (the stage transcript's tag, or every message's tag, or no check when the channel is
        unauthenticated). Only after the amplification stage's check does she hash her key."""
        if stage != "amplification" or self.aborted is not None or self._pending_seed is None:
            return
        assert self._key is not None and self.decision is not None
        seed, self._pending_seed = self._pending_seed, None
        self.final_key = toeplitz_hash(self._key, seed, self.decision.length_bits)

    def _on_abort(self, request: Message) -> Message:
        self._abort(str(request.public.get("reason", "aborted by Bob")))
        return Message("ack")

    # -- helpers ----------------------------------------------------------------------------
    def _abort(self, reason: str) -> None:
        self.aborted = reason
        self._key = None
        self._pending_seed = None
        self.final_key = None

    def _no_key_reason(self, decision: Any) -> str:
        """Why the length rule left no key (:func:`~qkdstack.processing.key_length.no_key_reason`)."""
        assert self._key is not None
        k, errors = self._sample_bits, self._sample_errors
        empty = False
        if self._protocol == "decoy-bb84":  # every test-basis bit was disclosed
            assert self._key_intensity is not None
            test_detected = np.asarray(self._test_counts.get("test_detected", []))
            k = int(test_detected.sum())
            errors = int(np.sum(self._test_counts.get("test_errors", 0)))
            n_classes = len(self._records.meta.intensities)
            key_detected = np.bincount(self._key_intensity, minlength=n_classes)
            empty = bool(np.any(key_detected == 0) or np.any(test_detected == 0))
        return kl.no_key_reason(
            decision,
            None if self._protocol == "b92" else self._decide_length,
            key_bits=int(self._key.shape[0]),
            leak_bits=self._tally.disclosed["reconciliation"],
            pulses=self._records.meta.pulses,
            observed_error=errors / k if k else 1.0,
            epsilon_sec=self._options.epsilon_sec,
            empty_classes=empty,
        )

    def _decide_length(self, scale: int = 1) -> Any:
        """Alice's own length decision, from what she observed and the leakage she counted.

        ``scale`` multiplies every count and the leakage: the decision a ``scale`` times longer
        run at the same rates would get (used only to explain an abort).
        """
        assert self._key is not None
        opts = self._options
        params = self._records.meta.params
        source = kl.proof_source(self._protocol, params, opts.source, opts.mu)
        # The verification tag is not charged here: the proof's log2(2 / eps_cor) term is its
        # cost (Tomamichel et al. 2012, Eq. (1)); charging its 128 bits as well counted it twice.
        leak = self._tally.disclosed["reconciliation"]
        n, k = int(self._key.shape[0]), self._sample_bits
        e_obs = self._sample_errors / k if k else 1.0
        n, k, leak = n * scale, k * scale, leak * scale
        eps_sec, eps_cor = opts.epsilon_sec, opts.epsilon_cor
        protocol = self._protocol
        if protocol == "decoy-bb84":
            return self._decoy_length(leak, scale)
        if protocol == "e91":
            assert self._chsh_lower is not None
            return e91_key_length(
                opts.e91_bound,
                n_key=n,
                k_sample=k,
                sample_error_fraction=e_obs,
                chsh_lower=self._chsh_lower,
                leak_bits=leak,
                epsilon_sec=eps_sec,
                epsilon_cor=eps_cor,
                params=params,
            )
        if protocol == "b92":
            counts = self._test_counts.get("b92", np.zeros(9, dtype=np.int64))
            return kln.b92_key_length(
                counts,
                n_key_rounds=self._records.meta.pulses - int(counts.sum()),
                n_sifted=n,
                leak_bits=leak,
                epsilon_sec=eps_sec,
                epsilon_cor=eps_cor,
                attack=opts.b92_attack_model,
            )
        if source == "laser":
            mu = opts.mu if opts.mu is not None else float(params.get("mu", 0.0))
            gain = self._detections / self._records.meta.pulses
            return kl.gllp_key_length(n, k, e_obs, leak, mu, gain, eps_sec, eps_cor)
        if protocol == "six-state":
            return kl.six_state_key_length(n, k, e_obs, leak, eps_sec, eps_cor)
        return kl.shor_preskill_key_length(n, k, e_obs, leak, eps_sec, eps_cor)

    def _decoy_length(self, leak: int, scale: int = 1) -> Any:
        """Lim et al. 2014 finite-key length from the observed decoy counts (times ``scale``)."""
        assert self._key_intensity is not None
        meta = self._records.meta
        params = meta.params
        n_classes = len(meta.intensities)
        key_detected = np.bincount(self._key_intensity, minlength=n_classes)
        return kl.decoy_key_length(
            intensities=tuple(float(m) for m in meta.intensities),
            intensity_probs=tuple(float(p) for p in params.get("intensity_probs", ())),
            key_detected=[int(x) * scale for x in key_detected],
            test_detected=[int(x) * scale for x in self._test_counts.get("test_detected", [])],
            test_errors=[int(x) * scale for x in self._test_counts.get("test_errors", [])],
            leak_bits=leak,
            epsilon_sec=self._options.epsilon_sec,
            epsilon_cor=self._options.epsilon_cor,
            key_basis_sent=None
            if meta.sent_counts is None
            else [int(x) * scale for x in np.asarray(meta.sent_counts)[:, DECOY_KEY_BASIS]],
            bob_key_basis_prob=float(params.get("basis_prob_z", 0.5)),
        )

    @property
    def key(self) -> BitArray | None:
        """Alice's current key (sifted, sample removed); None after an abort."""
        return self._key


def _decision_details(decision: Any) -> dict[str, Any]:
    """The public, JSON-ready details of a length decision (bounds, estimated parameters)."""
    out: dict[str, Any] = {}
    for name in (
        "phase_error_upper",
        "single_photon_fraction",
        "vacuum_events_lower",
        "single_photon_events_lower",
        "single_photon_yield_lower",
        *kln.REPORT_FLOAT_FIELDS,
    ):
        value = getattr(decision, name, None)
        if value is not None:
            out[name] = float(value)
    if getattr(decision, "attack_model", None) is not None:
        out["attack_model"] = str(decision.attack_model)
    return out


_SIFT_INDEX_FIELDS = ("detections", "pulse_index_gaps")
"""The fields of Bob's ``sift`` message that name his detections (the rest is his announcement)."""


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
        self._protocol = records.meta.protocol
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
        except (IndexError, KeyError, TypeError, ValueError) as exc:
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
            reply = channel.ask(Message("amplify"))
            self.amplify_info = {k: v for k, v in reply.public.items() if k != "seed"}
            if reply.kind == "abort":
                raise InsufficientKey(str(reply.public.get("reason")), stage="amplification")
            m = int(reply.public["length_bits"])
            seed = _unpack_bits(bytes(reply.public["seed"]), key.shape[0] + m - 1)
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
        reply = channel.ask(
            Message(
                "sift",
                public={
                    "detections": int(index.shape[0]),
                    "pulse_index_gaps": gaps,
                    **announcement,
                },
            )
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
        self.sifted_error = np.full(self.sifted_bits, _UNKNOWN, dtype=np.int8)
        if "sent_counts" in reply.public:
            self.sent_counts = np.asarray(reply.public["sent_counts"], dtype=np.int64)
        self._key_pos = np.arange(self.sifted_bits, dtype=np.int64)
        return key

    def _estimate(self, channel: ClassicalChannel, key: BitArray) -> BitArray:
        opts = self._options
        assert self._key_pos is not None and self.sifted_error is not None
        if self._protocol == "e91":
            self._chsh(channel)
        public: dict[str, Any] = {}
        if self._protocol == "decoy-bb84":
            assert self.sifted_basis is not None and self.sifted_intensity is not None
            is_test = self.sifted_basis != DECOY_KEY_BASIS
            test, kept = positions_of(is_test), positions_of(~is_test)
            reply = channel.ask(Message("test"))
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
        elif self._protocol == "b92":
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
            reply = channel.ask(Message("sample", public={"sample_bits": k}))
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
        limit = QBER_LIMITS.get(self._protocol, kl.BB84_QBER_LIMIT)
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
        channel.ask(Message("estimate", public={"errors": errors, "abort": False, **public}))
        assert self.sifted_index is not None
        self.raw_key, self.key_index = key, self.sifted_index[self._key_pos]
        return key

    def _b92_test(
        self, channel: ClassicalChannel, key: BitArray
    ) -> tuple[BitArray, dict[str, Any]]:
        """B92: Alice draws the test rounds; Bob announces his outcomes there; both count the
        nine observations; no key at all if the numerical bound is empty before EC."""
        assert self._key_pos is not None and self.sifted_error is not None
        reply = channel.ask(Message("b92.test"))
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
        rule = get_e91_rule()
        mask = rule.chsh_mask(self._alice_pub, self._bob_pub)
        positions = np.flatnonzero(mask).astype(np.int64)
        mine = self._records.bit[positions]
        reply = channel.ask(Message("chsh", public={"positions": positions, "outcomes": mine}))
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
        reply = channel.ask(
            Message("verify", public={"hash_key": hash_key}, disclosed={"tag": tag})
        )
        if not reply.public.get("match"):
            raise VerificationFailed(
                "verification hashes differ: the corrected keys are not identical",
                stage="verification",
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
        unknown = self.sifted_error == _UNKNOWN
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
                named = self._protocol != "e91" and b in (0, 1, 2)
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
    check_listed(alice, bob)  # mismatched inputs are a record error, not a protocol abort
    # Before any work: a file that does not declare its source gets no proof by default.
    kl.proof_source(alice.meta.protocol, alice.meta.params, opts.source, opts.mu)
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
    channel = ClassicalChannel(
        alice_node.handle,
        authentication=authentication,
        tamper=opts.tamper,
        auth_scope=cast(AuthScope, opts.auth_scope),
        on_alice_confirmed=alice_node.stage_confirmed,
        observer=opts.observer,
    )

    error: ProtocolAbort | None = None
    try:
        bob_key: BitArray | None = bob_node.run(channel)
        check_statistics(  # fail closed: no key from numbers the declared link cannot produce
            alice.meta,
            detections=bob_node.detections,
            secret_bits=0 if bob_key is None else int(bob_key.shape[0]),
            statistics={
                "qber": bob_node.qber,
                "qber_upper": bob_node.qber_upper,
                **{k: v for k, v in bob_node.amplify_info.items() if isinstance(v, float)},
            },
            source=opts.source,
            mu=opts.mu,
        )
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
        "auth_scope": channel.auth_scope if channel.authenticated else None,
        "auth_key_bits_used": channel.auth_key_bits_used(),
        "secure_randomness": opts.secure_randomness,
        "secret_randomness": secret_randomness_mode(
            simulated=alice.meta.seed is not None, secure=opts.secure_randomness
        ),
        "wire_bits": int(sum(stats.wire_bits.values())),
        "verification_tag_bits": TAG_BITS,
        "timings_s": dict(bob_node.timings_s),
        "counts": bob_node.counts(),
    }
    if alice.meta.protocol == "e91":
        report["chsh_s"] = bob_node.chsh_s
        report["chsh_s_std"] = bob_node.chsh_s_std
        report["chsh_s_lower"] = bob_node.chsh_s_lower
    for name in (
        "vacuum_events_lower",
        "single_photon_events_lower",
        "single_photon_yield_lower",
        *kln.REPORT_FLOAT_FIELDS,
        "attack_model",
    ):
        if name in bob_node.amplify_info:
            report[name] = bob_node.amplify_info[name]
    report.update(composable_accounting(report, channel.epsilon_auth))
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
