"""The shipped LDPC codes, every rate and length, checked from their files (not slow): design rate,
degree distribution against the published tables, no double edge, girth > 4; and a frame error
rate whose bound follows from the number of frames decoded."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy import stats
from scipy.sparse import coo_matrix

from fer_bound import allowed_failures
from qkdstack.processing.channel import ClassicalChannel
from qkdstack.processing.reconciliation import get_method
from qkdstack.processing.reconciliation.base import alice_responder
from qkdstack.processing.reconciliation.ldpc import CODE_LENGTHS, CODE_RATES, load_code

from helpers import bsc_pair

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "src/qkdstack/processing/reconciliation/codes"
N_BASE = 1024
ALL_CODES = [(rate, length) for length in CODE_LENGTHS for rate in CODE_RATES]


@cache
def _design() -> ModuleType:
    """scripts/make_ldpc_codes.py: the published degree tables the codes were built from."""
    spec = importlib.util.spec_from_file_location(
        "make_ldpc_codes", ROOT / "scripts/make_ldpc_codes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_ldpc_codes", module)
    spec.loader.exec_module(module)
    return module


def _stored(rate: float, length: int) -> dict[str, np.ndarray]:
    with np.load(CODES / f"ldpc_R{rate:.2f}_N{length}.npz") as data:
        return {name: data[name] for name in data.files}


def _columns(stored: dict[str, np.ndarray]) -> np.ndarray:
    return np.repeat(
        np.arange(int(stored["n"]), dtype=np.int64), stored["degrees"].astype(np.int64)
    )


def test_allowed_failures_follow_the_frame_count() -> None:
    assert allowed_failures(1, 0.02) == 1  # one frame cannot refute a 2% bound
    # The allowed share of failures shrinks towards the bound as frames accumulate.
    assert allowed_failures(50, 0.02) / 50 > allowed_failures(5000, 0.02) / 5000 > 0.02
    assert allowed_failures(10_000, 1e-3) < 45  # 10 expected, 5 sigma ~ 26
    # Exactly: P(X > k) < alpha <= P(X > k - 1).
    k = allowed_failures(400, 0.02)
    assert stats.binom.sf(k, 400, 0.02) < 1e-6 <= stats.binom.sf(k - 1, 400, 0.02)


@pytest.mark.parametrize(("rate", "length"), ALL_CODES)
def test_design_rate_and_no_double_edges(rate: float, length: int) -> None:
    stored = _stored(rate, length)
    lift = int(stored.get("lift", 1))
    n, m = int(stored["n"]), int(stored["m"])
    assert n * lift == length
    # Design rate 1 - M/N: M = round(N (1 - R)) rows (of the base graph for quasi-cyclic codes).
    assert m == round(n * (1 - rate))
    assert abs((1 - m / n) - rate) <= 0.5 / n
    rows = stored["rows"].astype(np.int64)
    cols = _columns(stored)
    assert rows.size == cols.size and rows.max() < m
    # No (row, column) twice; in a quasi-cyclic code distinct base edges become disjoint
    # circulant permutations, so none in the lifted code either.
    assert np.unique(rows * n + cols).size == rows.size
    assert np.all(stored["degrees"] >= 2)
    if "shifts" in stored:
        assert np.all(stored["shifts"] < lift)


def _expected_node_counts(lam: dict[int, float], n: int, m: int) -> dict[int, float]:
    """Node counts of the edge-perspective distribution ``lam`` (``Lambda_i ∝ lambda_i / i``,
    Richardson and Urbanke 2008), with at most ``M - 1`` degree-2 nodes, the surplus degree 3
    (the staircase documented in scripts/make_ldpc_codes.py)."""
    weights = {i: f / i for i, f in lam.items()}
    total = sum(weights.values())
    counts = {i: n * w / total for i, w in weights.items()}
    surplus = max(0.0, counts.get(2, 0.0) - (m - 1))
    if surplus:
        counts[2] -= surplus
        counts[3] = counts.get(3, 0.0) + surplus
    return counts


def _published(rate: float, length: int) -> dict[int, float]:
    design = _design()
    if length == 65536:
        lam = dict(design.LAMBDA[rate])
        if rate == 0.85:
            lam[5] = design.PRINTED_LAMBDA_5_R085  # as that code was built (documented)
        return lam
    if length == 1048576 and rate in design.LAMBDA_20:
        return dict(design.LAMBDA_20[rate])
    return dict(design.LAMBDA[rate])


@pytest.mark.parametrize(("rate", "length"), ALL_CODES)
def test_degree_distribution_is_the_published_one(rate: float, length: int) -> None:
    stored = _stored(rate, length)
    n, m = int(stored["n"]), int(stored["m"])
    expected = _expected_node_counts(_published(rate, length), n, m)
    shipped = np.bincount(stored["degrees"].astype(np.int64))
    support = {int(d) for d in np.flatnonzero(shipped)}
    assert support <= set(expected), sorted(support - set(expected))
    for degree, count in expected.items():
        have = int(shipped[degree]) if degree < shipped.size else 0
        # Whole nodes: every count within one node of its real value (two for degree 3, which
        # also takes the degree-2 surplus).
        assert abs(have - count) < (2.0 if degree == 3 else 1.0), (degree, have, count)


def _four_cycles(stored: dict[str, np.ndarray]) -> int:
    """Number of 4-cycles of the (lifted) code, counted on the stored graph.

    Two columns ``v < w`` that share two checks close a 4-cycle. In a quasi-cyclic code (lift Z)
    base edges ``(c, v)`` carry shifts ``s``, and the lifted code has a 4-cycle exactly when
    ``s(c1, v) - s(c1, w) = s(c2, v) - s(c2, w) mod Z`` for two checks ``c1 != c2`` (Fossorier,
    IEEE Trans. Inf. Theory 50, 1788 (2004), Theorem 2); ``Z = 1`` is the plain condition. So every
    check lists the pairs of its columns with their shift difference, and a pair listed twice is
    a 4-cycle.
    """
    lift = int(stored.get("lift", 1))
    rows = stored["rows"].astype(np.int64)
    cols = _columns(stored)
    n = int(stored["degrees"].size)
    if lift == 1:
        # Plain code: (H H^T)[c1, c2] columns shared by two checks; C(k, 2) cycles for k >= 2.
        h = coo_matrix((np.ones(rows.size, np.int64), (rows, cols))).tocsr()
        gram = (h @ h.T).tocoo()
        shared = gram.data[gram.row < gram.col]
        return int((shared * (shared - 1) // 2).sum())
    shifts = stored["shifts"].astype(np.int64)
    order = np.lexsort((cols, rows))
    rows, cols, shifts = rows[order], cols[order], shifts[order]
    row_degree = np.bincount(rows)
    first = np.cumsum(row_degree) - row_degree
    keys = []
    for degree in np.unique(row_degree[row_degree >= 2]).tolist():
        idx = first[row_degree == degree][:, None] + np.arange(degree)[None, :]
        v, s = cols[idx], shifts[idx]
        a, b = np.triu_indices(degree, 1)  # columns sorted within a check: v[:, a] < v[:, b]
        keys.append(((v[:, a] * n + v[:, b]) * lift + (s[:, a] - s[:, b]) % lift).reshape(-1))
    all_keys = np.concatenate(keys)
    return int(all_keys.size - np.unique(all_keys).size)


@pytest.mark.parametrize(("rate", "length"), ALL_CODES)
def test_girth_above_four(rate: float, length: int) -> None:
    assert _four_cycles(_stored(rate, length)) == 0


def test_four_cycle_count_finds_a_planted_one() -> None:
    # Two columns on the same two checks: one 4-cycle; with shifts (0, 1) and (0, 1) lifted by 4 it
    # closes, with (0, 1) and (0, 2) it does not.
    plain = {"rows": np.array([0, 1, 0, 1, 2, 3]), "degrees": np.array([2, 2, 2]), "n": np.array(3)}
    assert _four_cycles(plain) == 1
    lifted = dict(plain, shifts=np.array([0, 1, 0, 1, 0, 0]), lift=np.array(4))
    assert _four_cycles(lifted) == 1
    assert _four_cycles(dict(lifted, shifts=np.array([0, 1, 0, 2, 0, 0]))) == 0


@pytest.mark.parametrize("rate", [0.5, 0.85])
def test_lifted_codes_match_their_base_graph(rate: float) -> None:
    stored = _stored(rate, 262144)
    code = load_code(rate, 262144)
    lift = int(stored["lift"])
    assert code.m == int(stored["m"]) * lift
    assert np.array_equal(np.diff(code.var_ptr), np.repeat(stored["degrees"], lift))


def test_frame_error_rate_of_short_frames_within_its_bound() -> None:
    # Default plans of 65536-bit frames (the short keys' codes) fail fewer than 1 frame in 50
    # (docstring of the slow test in test_ldpc.py, BENCHMARKS.md). Over F frames at Q = 3% the
    # number of failures must be consistent with FER <= 1/50 at the 1e-6 level; the bound is
    # what F frames can support, not "one failure whatever the count".
    rng = np.random.default_rng(2026)
    n, q = 600_000, 0.03  # 12 frames of 65536 bits each (the default plan of such a key)
    frames = failed = 0
    for _ in range(2):
        alice, bob = bsc_pair(rng, n, q)
        channel = ClassicalChannel(alice_responder(alice))
        outcome = get_method("ldpc").make_bob(seed=3).reconcile(bob, q, channel)
        frames += outcome.frames
        failed += outcome.frames_failed
    assert frames == 24
    assert failed <= allowed_failures(frames, 1 / 50)
