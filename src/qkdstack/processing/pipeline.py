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

Each party has its own module: :mod:`qkdstack.processing.alice` (an explicit stage state, which
refuses any request that does not fit it) and :mod:`qkdstack.processing.bob`. What each stage does
for a protocol - its sifting rule, estimation, QBER limit and key-length proof - is read from the
protocol's :class:`~qkdstack.protocol.ProtocolSpec`. This module is the safe recipe that wires
the two nodes over an in-process channel and builds the report
(:class:`~qkdstack.processing.report.PostprocessingReport`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from qkdstack.errors import ParameterError, ProtocolAbort, RecordError
from qkdstack.link.records import Records, check_listed
from qkdstack.params import LinkParams
from qkdstack.processing import key_length as kl
from qkdstack.processing import key_length_numerical as kln
from qkdstack.processing.accounting import composable_accounting
from qkdstack.processing.alice import AliceNode
from qkdstack.processing.authentication import WegmanCarterAuthenticator
from qkdstack.processing.bob import BobNode
from qkdstack.processing.channel import (
    AUTH_SCOPES,
    AuthScope,
    ClassicalChannel,
    Observer,
    Tamper,
)
from qkdstack.processing.chsh import hoeffding_chsh_lower
from qkdstack.processing.e91 import E91_BOUNDS
from qkdstack.processing.length_rules import DECOY_KEY_BASIS, OPTIONAL_DETAIL_FIELDS
from qkdstack.processing.report import ChshReport, PostprocessingReport
from qkdstack.processing.sanity import check_records_usable, check_statistics
from qkdstack.processing.verification import TAG_BITS, collision_probability
from qkdstack.protocol import registry
from qkdstack.randomness import as_generator, secret_bytes, secret_randomness_mode
from qkdstack.typing import BitArray, Seed

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


class _QberLimits(Mapping[str, float]):
    """Each registered protocol's ``qber_limit`` (a read-only view of the protocol registry)."""

    def __getitem__(self, protocol: str) -> float:
        if not registry.is_registered(protocol):
            raise KeyError(protocol)
        return registry.get(protocol).qber_limit

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names())

    def __len__(self) -> int:
        return len(registry.names())


QBER_LIMITS: Mapping[str, float] = _QberLimits()
"""QBER above which the protocol's proof gives no key at all: estimation aborts above it (each
protocol's spec says, :mod:`qkdstack.protocol.builtin`)."""


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
        Secrecy and correctness parameters of the final key. Their home is
        :class:`~qkdstack.params.LinkParams` (the defaults are its defaults): a simulated run
        takes them from its link parameters (:func:`qkdstack.experiment.security_options`).
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
        what Eve reads, :mod:`qkdstack.adversary.eve_knowledge`); never part of either party.
    b92_attack_model : {"collective", "coherent"}
        The attacks B92's numerical finite-size proof covers: collective, or coherent through
        the postselection technique (:mod:`qkdstack.processing.key_length_numerical`).
    """

    sample_fraction: float = 0.1
    ec_method: str = "cascade"
    epsilon_sec: float = LinkParams.epsilon_sec
    epsilon_cor: float = LinkParams.epsilon_cor
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
    # Before any work: a file that does not declare its source gets no proof by default, and
    # decoy intensities the finite-key bounds cannot use are refused (as qkd process does).
    kl.proof_source(alice.meta.protocol, alice.meta.params, opts.source, opts.mu)
    check_records_usable(alice)
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
        bob_node.discard_key()

    stats = channel.stats
    n_key = 0 if bob_node.raw_key is None else int(bob_node.raw_key.shape[0])
    secret = 0 if bob_key is None else int(bob_key.shape[0])
    keys_match = bool(
        alice_key is not None and bob_key is not None and np.array_equal(alice_key, bob_key)
    )
    info = bob_node.amplify_info
    summary = PostprocessingReport(
        detections=bob_node.detections,
        sifted_bits=bob_node.sifted_bits,
        sample_bits=bob_node.sample_bits,
        sample_errors=bob_node.sample_errors,
        qber=bob_node.qber,
        qber_upper=bob_node.qber_upper,
        key_bits_before_ec=n_key,
        ec_method=opts.ec_method,
        leaked_ec_bits=stats.leaked_bits("reconciliation"),
        verification_bits=stats.leaked_bits("verification"),
        round_trips=stats.round_trips,
        ec_round_trips=stats.round_trips_by_stage.get("reconciliation", 0),
        epsilon_sec=opts.epsilon_sec,
        epsilon_cor=opts.epsilon_cor,
        epsilon_cor_verification=collision_probability(n_key) if n_key else None,
        key_length_formula=info.get("formula"),
        phase_error_upper=info.get("phase_error_upper"),
        single_photon_fraction=info.get("single_photon_fraction"),
        secret_bits=secret,
        keys_match=keys_match,
        aborted=error is not None,
        abort_reason=None if error is None else f"{type(error).__name__}: {error}",
        abort_stage=None if error is None else error.stage,
        authenticated=channel.authenticated,
        auth_scope=channel.auth_scope if channel.authenticated else None,
        auth_key_bits_used=channel.auth_key_bits_used(),
        secure_randomness=opts.secure_randomness,
        secret_randomness=secret_randomness_mode(
            simulated=alice.meta.seed is not None, secure=opts.secure_randomness
        ),
        wire_bits=int(sum(stats.wire_bits.values())),
        verification_tag_bits=TAG_BITS,
        timings_s=dict(bob_node.timings_s),
        counts=bob_node.counts(),
        chsh=ChshReport(bob_node.chsh_s, bob_node.chsh_s_std, bob_node.chsh_s_lower)
        if registry.get(alice.meta.protocol).bell_test
        else None,
        details={name: info[name] for name in OPTIONAL_DETAIL_FIELDS if name in info},
    )
    report = summary.as_dict()
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
