"""PLOB and TGW bounds against the independent vectors and their defining properties."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.theory.bounds import plob_bound, tgw_bound

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "theory.json").read_text())


@pytest.mark.parametrize("row", VECTORS["bounds"])
def test_bounds_match_vectors(row: dict[str, float]) -> None:
    assert plob_bound(row["eta"]) == pytest.approx(row["plob"], rel=1e-12)
    assert tgw_bound(row["eta"]) == pytest.approx(row["tgw"], rel=1e-12)


def test_lossless_channel_is_unbounded() -> None:
    assert plob_bound(1.0) == math.inf
    assert tgw_bound(1.0) == math.inf


def test_plob_is_tighter_than_tgw_and_linear_at_high_loss() -> None:
    eta = np.geomspace(1e-8, 0.99, 50)
    assert np.all(plob_bound(eta) < tgw_bound(eta))
    # -log2(1 - eta) ~ eta / ln 2 for small eta (1.44 eta, Pirandola et al. 2017).
    assert plob_bound(1e-8) == pytest.approx(1e-8 / math.log(2), rel=1e-7)


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan")])
def test_bounds_reject_bad_transmittance(eta: float) -> None:
    with pytest.raises(ParameterError, match="'eta'"):
        plob_bound(eta)
