"""One simulated link end to end: the quantum phase, the post-processing, and the run report.

This is what ``qkd run`` does. The simulation knows things no party knows (the true error rate, what
Eve holds); those are computed here by an *oracle* that looks at both parties' data after the
protocol has finished, and are labelled as such in the report (``qber_true``, ``ec_efficiency``,
``eve``). The parties themselves only ever see their own records and the classical messages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qkdstack._version import __version__
from qkdstack.errors import ParameterError
from qkdstack.link.index_kernels import locate_sorted
from qkdstack.link.records import LinkOutput, Records
from qkdstack.model import protocol_params
from qkdstack.params import MAX_PULSES, LinkParams
from qkdstack.processing.pipeline import PipelineOptions, PipelineResult, run_postprocessing
from qkdstack.processing.reconciliation import efficiency
from qkdstack.processing.sifting import get_rule
from qkdstack.typing import IndexArray

__all__ = [
    "ExperimentResult",
    "build_report",
    "key_digest",
    "oracle_error_fraction",
    "run_experiment",
    "security_options",
]


@dataclass
class ExperimentResult:
    """A finished run: the JSON-ready report, and the link and pipeline objects behind it."""

    report: dict[str, Any]
    link: LinkOutput
    pipeline: PipelineResult


def oracle_error_fraction(
    alice: Records, bob: Records, pulse_index: IndexArray, bob_bits: np.ndarray
) -> float | None:
    """Simulation only: the true fraction of ``bob_bits`` (at ``pulse_index``) that differ from Alice's."""
    if pulse_index.shape[0] == 0:
        return None
    pos = locate_sorted(alice.pulse_index, pulse_index)[0]
    sub_bits = get_rule(alice.meta.protocol).alice_bits(
        Records(
            role=alice.role,
            pulse_index=alice.pulse_index[pos],
            basis=alice.basis[pos],
            bit=alice.bit[pos],
            meta=alice.meta,
            intensity=None if alice.intensity is None else alice.intensity[pos],
        )
    )
    return float(np.count_nonzero(sub_bits != bob_bits)) / pulse_index.shape[0]


def build_report(
    alice: Records,
    bob: Records,
    result: PipelineResult,
    *,
    distance_km: float | None,
    seed: int | None,
    timings_s: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The run report: the contract fields first, then the pipeline's details.

    ``qber_true`` and ``ec_efficiency`` come from an oracle that compares both parties' records
    after the protocol has ended (possible in a simulation, or offline with both record files).
    """
    protocol = alice.meta.protocol
    node = result.bob
    qber_true: float | None = None
    if node.key_index is not None and node.raw_key is not None:
        qber_true = oracle_error_fraction(alice, bob, node.key_index, node.raw_key)
    elif node.sifted_index is not None:
        pos = locate_sorted(bob.pulse_index, node.sifted_index)[0]
        qber_true = oracle_error_fraction(
            alice, bob, node.sifted_index, get_rule(protocol).bob_bits(bob)[pos]
        )
    rep = result.report
    n_key = rep["key_bits_before_ec"]
    ec_efficiency = None
    if qber_true and n_key and node.corrected_key is not None:
        # Undefined (nan) where n h(e) = 0: at e = 1 too (a handful of bits, all wrong).
        f = efficiency(rep["leaked_ec_bits"], n_key, qber_true)
        ec_efficiency = None if math.isnan(f) else f
    pulses = alice.meta.pulses
    report: dict[str, Any] = {
        "protocol": protocol,
        "distance_km": distance_km,
        "pulses": pulses,
        "seed": seed,
        "detections": rep["detections"],
        "sifted_bits": rep["sifted_bits"],
        "sample_bits": rep["sample_bits"],
        "qber": rep["qber"],
        "qber_true": qber_true,
        "leaked_ec_bits": rep["leaked_ec_bits"],
        "ec_efficiency": ec_efficiency,
        "secret_bits": rep["secret_bits"],
        "rate_bits_per_pulse": rep["secret_bits"] / pulses,
        "keys_match": rep["keys_match"],
        "aborted": rep["aborted"],
        "abort_reason": rep["abort_reason"],
        "timings_s": {**(timings_s or {}), **rep["timings_s"]},
    }
    for key, value in rep.items():
        report.setdefault(key, value)
    report["version"] = __version__
    return report


def key_digest(key: np.ndarray) -> str:
    """SHA-256 (hex) of a packed key: **for tests only** (``--key-digest``).

    A hash of an information-theoretically secret key is a computational leak (anyone can test
    a guess against it), so no report carries it unless asked to.
    """
    return hashlib.sha256(np.packbits(key).tobytes()).hexdigest()


def security_options(params: LinkParams, options: PipelineOptions | None) -> PipelineOptions:
    """The pipeline options of a run on ``params``: the security parameters are the link's.

    A run's ``epsilon_sec`` and ``epsilon_cor`` have one home, ``params`` (what ``--set
    epsilon_sec=...``, ``--config`` and the named sets write, and what the report's ``params``
    shows); ``options`` carries them to the pipeline. Options left at the defaults take the
    link's values; options that name others are refused rather than silently overruled.

    Raises
    ------
    ParameterError
        ``options`` sets an ``epsilon_sec`` or ``epsilon_cor`` that differs from ``params``'.
    """
    opts = options or PipelineOptions()
    for name in ("epsilon_sec", "epsilon_cor"):
        given, value = getattr(opts, name), getattr(params, name)
        if given != value and given != getattr(PipelineOptions, name):
            raise ParameterError(
                f"Argument 'options.{name}' must be left at its default or equal "
                f"params.{name} = {value!r} (a run's security parameters are its "
                f"LinkParams'), not {given!r}."
            )
    if (opts.epsilon_sec, opts.epsilon_cor) == (params.epsilon_sec, params.epsilon_cor):
        return opts
    return dataclasses.replace(opts, epsilon_sec=params.epsilon_sec, epsilon_cor=params.epsilon_cor)


def run_experiment(
    protocol: str = "bb84",
    params: LinkParams | None = None,
    pulses: int = 10**8,
    *,
    seed: int | None = None,
    options: PipelineOptions | None = None,
    attack: Any = None,
) -> ExperimentResult:
    """Simulate a link, post-process its records, and build the run report.

    Parameters
    ----------
    protocol : str
        Protocol name (``"bb84"``...).
    params : LinkParams, optional
        Physical and security parameters (defaults: single photons, 25 km, efficiency 0.1, dark
        1e-6, ``epsilon_sec`` 1e-10). The protocol's rules apply
        (:func:`qkdstack.model.protocol_params`: ``decoy-bb84`` runs, and reports, a laser).
    pulses : int
        Pulses Alice sends.
    seed : int, optional
        Simulation seed; a random one is drawn (and reported) when None.
    options : PipelineOptions, optional
        Post-processing knobs; the security parameters come from ``params``
        (:func:`security_options`).
    attack : Attack, optional
        An eavesdropper on the quantum channel (see :mod:`qkdstack.adversary`).

    The report equals that of ``qkd run --json`` with the same arguments and seed (the command
    is a thin layer over this function), but for the wall-clock ``timings_s``.
    """
    from qkdstack.link import simulate  # the link layer is imported lazily: it is the heavy part

    if not 1 <= pulses <= MAX_PULSES:
        raise ParameterError(f"Argument 'pulses' must be in [1, {MAX_PULSES:.0e}], not {pulses}.")
    if seed is None:
        seed = secrets.randbits(63)
    params = protocol_params(protocol, params or LinkParams())
    options = security_options(params, options)
    seq = np.random.SeedSequence(seed)
    link_seed, post_seed = seq.spawn(2)
    start = time.perf_counter()
    link = simulate(
        protocol, params, pulses, seed=int(link_seed.generate_state(1)[0]), attack=attack
    )
    link_s = time.perf_counter() - start
    make_tamper = getattr(attack, "tamper", None)  # a man in the middle on the classical channel
    tamper = None
    if callable(make_tamper):
        tamper = make_tamper(seed=int(post_seed.generate_state(2)[1]))
        options = dataclasses.replace(options, tamper=tamper)
    wiretap = None
    if attack is not None:  # Eve reads the public discussion: record it for the eve block
        from qkdstack.adversary.eve_knowledge import Wiretap

        wiretap = Wiretap()
        options = dataclasses.replace(options, observer=wiretap)
    result = run_postprocessing(
        link.alice, link.bob, options, seed=np.random.default_rng(post_seed)
    )
    report = build_report(
        link.alice,
        link.bob,
        result,
        distance_km=params.distance_km,
        seed=seed,
        timings_s={"link": link_s},
    )
    report["source"] = params.source
    report["params"] = params.to_dict()
    if attack is not None:
        from qkdstack.adversary.eve import eve_report_for_run

        eve = eve_report_for_run(
            link, result, seed=np.random.default_rng(post_seed.spawn(1)[0]), wiretap=wiretap
        )
        report["eve"] = eve if eve is not None else {"attack": getattr(attack, "name", str(attack))}
        if tamper is not None:
            report["eve"]["tampered_messages"] = int(getattr(tamper, "tampered", 0))
    return ExperimentResult(report=report, link=link, pipeline=result)
