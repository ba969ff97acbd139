"""Write tests/golden/run_reports.json: `qkd run --json` reports for a fixed set of arguments.

The golden test (tests/test_golden_reports.py) reruns every case and asks for the same report,
field by field, except the wall-clock `timings_s`. Regenerate only when a change is meant to
alter what a run reports, and say why in the commit:

    .venv/bin/python scripts/make_golden_reports.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from golden_cases import CASES, VOLATILE  # noqa: E402
from qkdstack.cli.main import main  # noqa: E402


def report(args: list[str]) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["run", "--json", *args])
    if rc != 0:
        raise SystemExit(f"qkd run {' '.join(args)} exited {rc}")
    rep = json.loads(out.getvalue())
    for name in VOLATILE:
        rep.pop(name, None)
    return rep


def main_() -> None:
    golden = {" ".join(args): report(args) for args in CASES}
    path = ROOT / "tests" / "golden" / "run_reports.json"
    path.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"{len(golden)} reports -> {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main_()
