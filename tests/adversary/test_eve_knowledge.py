"""Eve's exact linear knowledge: the GF(2) span of what she holds against the Toeplitz rows.

Checked three ways: by brute-force enumeration of spans on tiny cases, by a plain unpacked
elimination (``test_gf2.plain_rank``) on small pipeline transcripts, and end to end: with no
compression (m = n) she knows many final bits, at the proof's length none, for every attack that
leaves a key."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gf2_reference import plain_rank
from qkdstack.adversary import parse_attack
from qkdstack.adversary.eve_knowledge import (
    DisclosedFunctionals,
    Wiretap,
    disclosed_functionals,
    linear_knowledge,
)
from qkdstack.adversary.registry import ATTACKS
from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams
from qkdstack.processing.amplification import toeplitz_matrix
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing
from qkdstack.typing import Role

from synthetic import make_bb84_records


def _span(generators: list[int]) -> set[int]:
    span = {0}
    for g in generators:
        span |= {v ^ g for v in span}
    return span


def _brute_force(
    n: int, n_aux: int, certain: np.ndarray, rows: list[np.ndarray], t: np.ndarray
) -> tuple[int, int]:
    """Dimensions by enumerating every functional in the spans (functionals as integers)."""
    gens = [1 << i for i in np.flatnonzero(certain).tolist()]
    gens += [sum(1 << int(c) for c in set(r.tolist()) if r.tolist().count(c) % 2) for r in rows]
    e = _span(gens)
    key_only = {v for v in e if v >> n == 0}
    t_span = _span([sum(1 << j for j in np.flatnonzero(row).tolist()) for row in t])
    return int(math.log2(len(key_only))), int(math.log2(len(e & t_span)))


@pytest.mark.parametrize("case", range(40))
def test_tiny_cases_match_brute_force(case: int) -> None:
    rng = np.random.default_rng(case)
    n, n_aux = int(rng.integers(1, 9)), int(rng.integers(0, 3))
    certain = rng.random(n) < 0.25
    rows = [
        rng.choice(n + n_aux, size=int(rng.integers(1, n + n_aux + 1)), replace=True)
        for _ in range(int(rng.integers(0, 5)))
    ]
    m = int(rng.integers(1, n + 1))
    seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
    got = linear_knowledge(certain, DisclosedFunctionals(n, n_aux, rows), seed, m)
    before, final = _brute_force(n, n_aux, certain, rows, toeplitz_matrix(seed, n, m))
    assert got["eve_known_bits_before_pa"] == before
    assert got["eve_known_final_bits"] == final


def _transcript(method: str, n_det: int, qber: float, seed: int) -> tuple[np.ndarray, Wiretap]:
    alice, bob = make_bb84_records(n_det, qber, seed=seed)
    tap = Wiretap()
    opts = PipelineOptions(secure_randomness=False, ec_method=method, observer=tap)
    res = run_postprocessing(alice, bob, opts, seed=seed)
    # Reconciliation must have succeeded (a short key may still be too short for amplification).
    assert res.bob.corrected_key is not None, res.report["abort_reason"]
    assert res.report["abort_stage"] in (None, "amplification"), res.report["abort_reason"]
    return res.bob.corrected_key, tap


def _disclosed_values(tap: Wiretap) -> list[int]:
    """What Alice's replies disclosed, in order (syndromes with their public masked rows)."""
    values: list[int] = []
    frames = 1
    for sender, msg in tap.messages:
        if sender is Role.BOB:
            frames = int(msg.public.get("frames", frames))
            continue
        if msg.kind == "ec.parities":
            values += np.asarray(msg.disclosed["parity"]).tolist()
        elif msg.kind in ("ec.syndromes", "ec.blind"):
            rows = np.asarray(msg.public["masked_rows"])
            masked = np.asarray(msg.public["masked"]).reshape(frames, rows.size)
            rest = np.asarray(msg.disclosed["syndrome"]).reshape(frames, -1)
            m = rows.size + rest.shape[1]
            synd = np.empty((frames, m), dtype=np.int64)
            synd[:, rows] = masked
            synd[:, np.setdiff1d(np.arange(m), rows)] = rest
            values += synd.reshape(-1).tolist()
    return values


@pytest.mark.parametrize("method", ["cascade", "cascade-original", "cascade-biconf", "ldpc"])
def test_functionals_evaluate_to_what_alice_disclosed(method: str) -> None:
    key, tap = _transcript(method, 24_000, 0.03, seed=4)
    functionals = disclosed_functionals(tap.messages, int(key.shape[0]))
    assert functionals.reason is None and functionals.rows
    values = _disclosed_values(tap)
    assert len(values) == len(functionals.rows)
    checked = 0
    for row, value in zip(functionals.rows, values, strict=True):
        if row.size and row.max() >= key.shape[0]:
            continue  # involves Alice's secret punctured bits: not computable from the key
        assert int(np.bitwise_xor.reduce(key[row], initial=0)) == value
        checked += 1
    assert checked > 0.5 * len(values)


def _plain_counts(
    n: int, certain: np.ndarray, functionals: DisclosedFunctionals, t: np.ndarray
) -> tuple[int, int]:
    width = n + functionals.n_aux
    e = np.zeros((int(certain.sum()) + len(functionals.rows), width), dtype=np.uint8)
    e[np.arange(int(certain.sum())), np.flatnonzero(certain)] = 1
    for i, row in enumerate(functionals.rows):
        np.bitwise_xor.at(e[int(certain.sum()) + i], row, 1)
    t_wide = np.zeros((t.shape[0], width), dtype=np.uint8)
    t_wide[:, :n] = t
    rank_e = plain_rank(e)
    before = rank_e - plain_rank(e[:, n:])
    final = plain_rank(t) + rank_e - plain_rank(np.vstack([t_wide, e]))
    return before, final


@pytest.mark.parametrize("method", ["cascade", "ldpc"])
def test_small_transcripts_match_a_plain_elimination(method: str) -> None:
    key, tap = _transcript(method, 2_400, 0.03, seed=9)
    n = int(key.shape[0])
    functionals = disclosed_functionals(tap.messages, n)
    rng = np.random.default_rng(1)
    certain = rng.random(n) < 0.1
    plain_before = None
    for m in (n, n // 2, max(1, n // 8)):
        seed = rng.integers(0, 2, m + n - 1, dtype=np.uint8)
        got = linear_knowledge(certain, functionals, seed, m)
        before, final = _plain_counts(n, certain, functionals, toeplitz_matrix(seed, n, m))
        assert got["eve_known_bits_before_pa"] == before
        assert got["eve_known_final_bits"] == final
        plain_before = before
    assert plain_before is not None and plain_before > int(certain.sum())


SINGLE_PHOTON = LinkParams(source="single-photon", distance_km=10.0)
KEY_OPTIONS = PipelineOptions(secure_randomness=False, sample_fraction=0.5)


def _attacked_run(spec: str, seed: int):  # type: ignore[no-untyped-def]
    params = LinkParams(source="laser", distance_km=5.0) if spec == "pns" else SINGLE_PHOTON
    return run_experiment(
        "bb84", params, 5 * 10**5, seed=seed, options=KEY_OPTIONS, attack=parse_attack(spec)
    )


@pytest.mark.parametrize("seed", [61, 62])
@pytest.mark.parametrize("spec", [name for name in ATTACKS if name != "mitm"])
def test_at_the_proofs_length_eve_knows_no_final_bit(spec: str, seed: int) -> None:
    res = _attacked_run(
        {
            "intercept-resend": "intercept-resend:fraction=0.1",
            "cloner": "cloner:disturbance=0.03",
        }.get(spec, spec),
        seed,
    )
    eve = res.report["eve"]
    assert eve["eve_knowledge_reason"] is None
    # Before amplification she knows her certain bits and (nearly) every disclosed parity.
    assert eve["eve_known_bits_before_pa"] >= eve["known_sifted_bits"]
    if spec == "pns":  # no key from a laser without decoys at this size: nothing more to check
        assert res.report["aborted"] and eve["eve_known_final_bits"] is None
        return
    assert not res.report["aborted"], res.report["abort_reason"]
    assert eve["final_bits"] == res.report["secret_bits"] > 0
    assert eve["eve_known_final_bits"] == 0


def test_without_compression_eve_knows_many_final_bits() -> None:
    from qkdstack.adversary.eve import eve_report_for_run

    attack = parse_attack("intercept-resend:fraction=0.1")
    link = attack.simulate("bb84", SINGLE_PHOTON, 5 * 10**5, np.random.default_rng(61))
    tap = Wiretap()
    opts = PipelineOptions(secure_randomness=False, sample_fraction=0.5, observer=tap)
    res = run_postprocessing(link.alice, link.bob, opts, seed=61)
    report = eve_report_for_run(link, res, seed=1, wiretap=tap)
    assert report is not None and res.error is None and res.bob.corrected_key is not None
    assert report["eve_known_final_bits"] == 0  # at the proof's length
    key = res.bob.corrected_key
    n = int(key.shape[0])
    pos = link.eve.positions_of(res.bob.key_index)
    certain = link.eve.certain[pos] & (link.eve.guess[pos] == key)
    functionals = disclosed_functionals(tap.messages, n)
    seed = np.random.default_rng(5).integers(0, 2, 2 * n - 1, dtype=np.uint8)
    got = linear_knowledge(certain, functionals, seed, n)  # m = n: no compression
    before = got["eve_known_bits_before_pa"]
    assert before == report["eve_known_bits_before_pa"] > int(certain.sum()) > 0
    # T is square and (nearly) invertible: almost everything she knew survives "amplification"
    # (dim(rowspace T ∩ E) >= rank T + rank E - n)...
    assert got["eve_known_final_bits"] > 0.9 * before
    # ...while the old agreement test, given this uncompressed "final key", sees a coin flip.
    from qkdstack.adversary.eve import eve_report
    from qkdstack.processing.amplification import toeplitz_hash

    old = eve_report(link.eve, res.bob.key_index, key, toeplitz_hash(key, seed, n), seed, seed=1)
    assert old["eve_agreement_final_consistent"] is True


def test_long_keys_report_null_with_a_reason() -> None:
    certain = np.zeros(50, dtype=bool)
    got = linear_knowledge(certain, DisclosedFunctionals(50, 0, []), None, 0, limit_bits=49)
    assert got["eve_known_bits_before_pa"] is None and got["eve_known_final_bits"] is None
    assert "limit" in got["eve_knowledge_reason"]
