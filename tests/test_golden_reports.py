"""Reports of `qkd run --json` do not change under refactoring (issue 19's golden test).

Every case of ``golden_cases.CASES`` is rerun and its report compared field by field with the one
recorded in ``tests/golden/run_reports.json`` (written by ``scripts/make_golden_reports.py`` on
the code before the change), leaving out only the wall-clock timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golden_cases import CASES, VOLATILE
from qkdstack.cli.main import main

GOLDEN = json.loads((Path(__file__).parent / "golden" / "run_reports.json").read_text())


def test_every_case_has_a_golden_report() -> None:
    assert sorted(GOLDEN) == sorted(" ".join(args) for args in CASES)


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a) for a in CASES])
def test_report_equals_golden(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "--json", *args])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    for name in VOLATILE:
        rep.pop(name, None)
    want = GOLDEN[" ".join(args)]
    assert sorted(rep) == sorted(want), "report fields changed"
    for name in want:
        assert rep[name] == want[name], name
