"""The shared test helpers (tests/helpers.py): independent of qkdstack, and right on known values."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_binomial, bsc_pair, h2, noisy_pair, within_binomial


def test_helpers_import_nothing_from_qkdstack() -> None:
    tree = ast.parse((Path(__file__).parent / "helpers.py").read_text())
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [m for m in modules if m.split(".")[0] == "qkdstack"]


def test_binary_entropy_known_values() -> None:
    assert h2(0.5) == 1.0
    assert h2(0.0) == h2(1.0) == 0.0
    assert h2(0.25) == pytest.approx(2 - 0.75 * math.log2(3), abs=1e-15)  # 0.811278...
    assert h2(0.11) == pytest.approx(0.4999, abs=1e-4)  # the BB84 threshold 1 - 2 h(Q) = 0
    assert h2(0.3) == pytest.approx(h2(0.7), abs=1e-15)


def test_binomial_tolerances() -> None:
    # Binomial(10^4, 1/2): sd = 50, 5 sigma = 250.
    assert within_binomial(5_249, 10_000, 0.5) and not within_binomial(5_250, 10_000, 0.5)
    assert_binomial(5_250, 10_000, 0.5)
    with pytest.raises(AssertionError):
        assert_binomial(5_251, 10_000, 0.5)


def test_noisy_pairs() -> None:
    alice, bob = noisy_pair(np.random.default_rng(1), 1000, 37)
    assert alice.dtype == bob.dtype == np.uint8
    assert int(np.count_nonzero(alice != bob)) == 37
    alice, bob = bsc_pair(np.random.default_rng(2), 100_000, 0.1)
    assert_binomial(int(np.count_nonzero(alice != bob)), 100_000, 0.1)
