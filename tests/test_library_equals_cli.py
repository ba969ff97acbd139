"""The library and the CLI give the same report (issue 19): ``run_experiment`` with the same
arguments and seed as ``qkd run --json`` reports the same, field by field, but for the wall-clock
timings. The domain rules (decoy-bb84's laser, the security parameters) are the library's, so the
command adds nothing of its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from golden_cases import VOLATILE
from qkdstack.cli.main import main
from qkdstack.cli.report import to_jsonable
from qkdstack.experiment import run_experiment
from qkdstack.params import LinkParams, get_param_set
from qkdstack.processing.pipeline import PipelineOptions

_SMALL = 4 * 10**6

# (qkd run arguments, run_experiment arguments): protocol, params, pulses, seed, options
CASES: list[tuple[list[str], tuple[str, LinkParams, int, int, PipelineOptions | None]]] = [
    (
        ["--protocol", "decoy-bb84", "--distance-km", "50", "--pulses", "3e7", "--seed", "4"],
        ("decoy-bb84", LinkParams(distance_km=50), 3 * 10**7, 4, None),
    ),
    (
        ["--seed", "3", "--pulses", "3e7"],  # qkd run's default protocol is decoy-bb84
        ("decoy-bb84", LinkParams(), 3 * 10**7, 3, None),
    ),
    (
        ["--protocol", "decoy-bb84", "--params", "lim2014", "--pulses", "3e7", "--seed", "14"],
        ("decoy-bb84", get_param_set("lim2014"), 3 * 10**7, 14, None),
    ),
    (
        ["--protocol", "bb84", "--pulses", "4e6", "--seed", "1"],
        ("bb84", LinkParams(), _SMALL, 1, None),
    ),
    (
        [
            "--protocol",
            "bb84",
            "--pulses",
            "4e6",
            "--seed",
            "5",
            "--source",
            "laser",
            "--mu",
            "0.3",
        ],
        ("bb84", LinkParams(source="laser", mu=0.3), _SMALL, 5, None),
    ),
    (
        ["--protocol", "six-state", "--pulses", "4e6", "--seed", "2", "--set", "epsilon_sec=1e-8"],
        ("six-state", LinkParams(epsilon_sec=1e-8), _SMALL, 2, None),
    ),
    (
        ["--protocol", "b92", "--pulses", "4e6", "--seed", "1", "--insecure-seeded-keys"],
        ("b92", LinkParams(), _SMALL, 1, PipelineOptions(secure_randomness=False)),
    ),
    (
        ["--protocol", "bbm92", "--pulses", "1e8", "--distance-km", "1", "--seed", "13"],
        ("bbm92", LinkParams(distance_km=1), 10**8, 13, None),
    ),
    (
        ["--protocol", "e91", "--pulses", "3e8", "--distance-km", "1", "--seed", "2"],
        ("e91", LinkParams(distance_km=1), 3 * 10**8, 2, None),
    ),
]


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in VOLATILE}


@pytest.mark.parametrize(("args", "call"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_run_experiment_report_equals_qkd_run_json(
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    call: tuple[str, LinkParams, int, int, PipelineOptions | None],
) -> None:
    assert main(["run", "--json", *args]) == 0
    cli = _without_timings(json.loads(capsys.readouterr().out))
    protocol, params, pulses, seed, options = call
    result = run_experiment(protocol, params, pulses, seed=seed, options=options)
    lib = _without_timings(json.loads(json.dumps(to_jsonable(result.report))))
    assert sorted(lib) == sorted(cli)
    for name in cli:
        assert lib[name] == cli[name], name
    assert "timings_s" in result.report  # left out of the comparison: it measures the machine
