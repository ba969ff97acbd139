"""Randomness that protects the key: on real records the disclosed sample comes from ``secrets``
whatever seed is given; a seed fixes it only for simulated records or insecure-seeded runs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from qkdstack.errors import ParameterError
from qkdstack.link.records import Records
from qkdstack.processing.estimation import secret_sample
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

from synthetic import make_bb84_records


def _as_hardware(records: Records) -> Records:
    """The same records as if imported from hardware: no simulation seed in the metadata."""
    return dataclasses.replace(records, meta=dataclasses.replace(records.meta, seed=None))


def _sample_complement(alice: Records, bob: Records, options: PipelineOptions) -> np.ndarray:
    res = run_postprocessing(alice, bob, options, seed=12)
    assert res.bob.key_index is not None
    return res.bob.key_index  # sifted positions minus the disclosed sample


def test_real_records_draw_the_sample_from_secrets_whatever_the_seed() -> None:
    alice, bob = (_as_hardware(r) for r in make_bb84_records(20_000, 0.02, seed=5))
    first = _sample_complement(alice, bob, PipelineOptions())
    second = _sample_complement(alice, bob, PipelineOptions())
    # Two samples of ~1000 out of ~10^4 from secrets coincide with probability 1/C(n, k).
    assert not np.array_equal(first, second)
    rep = run_postprocessing(alice, bob, PipelineOptions(), seed=12).report
    assert rep["secret_randomness"] == "secrets"


def test_simulated_records_keep_their_seeded_sample() -> None:
    alice, bob = make_bb84_records(20_000, 0.02, seed=5)
    first = _sample_complement(alice, bob, PipelineOptions())
    assert np.array_equal(first, _sample_complement(alice, bob, PipelineOptions()))
    rep = run_postprocessing(alice, bob, PipelineOptions(), seed=12).report
    assert rep["secret_randomness"] == "simulation-sample"


def test_insecure_seeded_runs_fix_the_sample_even_on_real_records() -> None:
    alice, bob = (_as_hardware(r) for r in make_bb84_records(20_000, 0.02, seed=5))
    opts = PipelineOptions(secure_randomness=False)
    assert np.array_equal(
        _sample_complement(alice, bob, opts), _sample_complement(alice, bob, opts)
    )
    rep = run_postprocessing(alice, bob, opts, seed=12).report
    assert rep["secret_randomness"] == "insecure-seeded"


def test_secret_sample_is_uniform() -> None:
    # Each of n positions is in a k-sample with probability k/n: over r draws its count is
    # Binomial(r, k/n); a chi-square test over positions at a 1e-6 level.
    n, k, r = 40, 10, 4000
    counts = np.zeros(n, dtype=np.int64)
    for _ in range(r):
        chosen = secret_sample(n, k)
        assert chosen.shape == (k,) and np.unique(chosen).size == k
        assert np.all(np.diff(chosen) > 0) and 0 <= chosen[0] and chosen[-1] < n
        counts[chosen] += 1
    expected = r * k / n
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    # Multinomial-like counts with fixed total: n - 1 degrees of freedom (conservative here).
    assert stats.chi2.sf(chi2, n - 1) > 1e-6
    assert math.isclose(counts.sum(), r * k)


def test_secret_sample_edges_and_misuse() -> None:
    assert secret_sample(5, 0).size == 0
    assert np.array_equal(secret_sample(5, 5), np.arange(5))
    with pytest.raises(ParameterError, match=r"'sample_bits'.*\[0, 5\].*6"):
        secret_sample(5, 6)
