"""The example studies reproduce their theory: simulated points on the expected curve (5 sigma).

The normal suite runs a small version of each study (one or a few grid points, in-process on a
thread pool: the rows are the same whatever the executor, see test_dask.py); the full studies run
behind ``slow``. The theory is computed independently of the simulator: the Lim 2014 key length of
the system model's expected counts (qkdstack.theory.finite_key) and the intercept-resend QBER
formula of Gisin et al. 2002.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from qkdstack.cli.sweep import QKD_COMMANDS
from qkdstack.figures.expected import (
    expected_decoy_rate,
    expected_decoy_rate_sigma,
    intercept_resend_qber,
    link_params_of_row,
)
from qkdstack.sweep import Study, load_study, run_sweep

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _sweep(study: Study, tmp_path: Path) -> list[dict[str, Any]]:
    out = tmp_path / "r.parquet"
    with cf.ThreadPoolExecutor(1) as pool:
        summary = run_sweep(study, out, pool)
    assert summary.failed == 0
    return pq.read_table(out).to_pylist()


def _by_point(rows: list[dict[str, Any]], axis: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[axis], []).append(row)
    return groups


def _check_decoy_rates(rows: list[dict[str, Any]], axis: str, need_key: bool) -> int:
    """Simulated rates vs the Lim 2014 rate expected at the runs' settings; points checked.

    The mean over repeats must lie within 5 standard errors of the expected rate, and every run
    within 5 standard deviations, the standard deviation of one run coming from the expected-count
    model itself (a parametric bootstrap of its Poisson counts), not from the runs.
    """
    checked = 0
    for value, runs in _by_point(rows, axis).items():
        rates = np.array([r["rate_bits_per_pulse"] for r in runs])
        params = link_params_of_row(runs[0])
        f = float(np.mean([r["ec_efficiency"] for r in runs]))
        tag = float(np.mean([r["verification_bits"] for r in runs]))
        args = (params, params.distance_km, float(runs[0]["pulses"]))
        expected = expected_decoy_rate(*args, ec_efficiency=f, verification_bits=tag)
        # one run's spread: the Lim 2014 length over Poisson draws of the expected counts
        sigma = expected_decoy_rate_sigma(*args, ec_efficiency=f, verification_bits=tag)
        if need_key:
            assert np.all(rates > 0), (axis, value, rates)
        if expected > 0:
            assert sigma > 0
            sem = sigma / math.sqrt(rates.size)
            assert abs(rates.mean() - expected) < 5 * sem, (axis, value, rates, expected, sem)
            assert np.all(np.abs(rates - expected) < 5 * sigma), (axis, value, rates, sigma)
            checked += 1
    return checked


def _check_intercept_resend(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        params = link_params_of_row(row)
        fraction = row["eve.parameters.fraction"]
        expected = intercept_resend_qber(params, params.distance_km, fraction)
        sigma = math.sqrt(expected * (1 - expected) / row["sample_bits"])
        assert abs(row["qber"] - expected) < 5 * sigma, (fraction, row["qber"], expected, sigma)


def test_example_studies_are_valid() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.toml"))
    assert names == ["decoy_gys_distance.toml", "finite_key_lim2014.toml", "intercept_resend.toml"]
    for name in names:
        assert load_study(EXAMPLES / name, commands=QKD_COMMANDS).n_runs >= 12


def test_intercept_resend_small(tmp_path: Path) -> None:
    study = load_study(EXAMPLES / "intercept_resend.toml", commands=QKD_COMMANDS)
    small = dataclasses.replace(
        study,
        repeats=1,
        fixed={**study.fixed, "pulses": 1e6},
        axes={"attack": [f"intercept-resend:fraction={f}" for f in (0, 0.5, 1)]},
    )
    rows = _sweep(small, tmp_path)
    _check_intercept_resend(rows)
    assert rows[0]["secret_bits"] > 0 and rows[2]["aborted"]  # 25% QBER leaves no key


def test_decoy_gys_small(tmp_path: Path) -> None:
    study = load_study(EXAMPLES / "decoy_gys_distance.toml", commands=QKD_COMMANDS)
    small = dataclasses.replace(study, repeats=2, axes={"distance_km": [25]})
    rows = _sweep(small, tmp_path)
    assert _check_decoy_rates(rows, "distance_km", need_key=True) == 1


def test_finite_key_lim2014_small(tmp_path: Path) -> None:
    study = load_study(EXAMPLES / "finite_key_lim2014.toml", commands=QKD_COMMANDS)
    small = dataclasses.replace(study, repeats=2, axes={"pulses": [3e8]})
    rows = _sweep(small, tmp_path)
    assert _check_decoy_rates(rows, "pulses", need_key=True) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["decoy_gys_distance.toml", "finite_key_lim2014.toml", "intercept_resend.toml"]
)
def test_full_example_studies(name: str, tmp_path: Path) -> None:
    study = load_study(EXAMPLES / name, commands=QKD_COMMANDS)
    rows = _sweep(study, tmp_path)
    if name == "intercept_resend.toml":
        _check_intercept_resend(rows)
    else:
        axis = next(iter(study.axes))
        assert _check_decoy_rates(rows, axis, need_key=False) >= 3
