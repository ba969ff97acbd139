"""The README's and docs' examples run, and do what the text next to them says.

Marked examples (see README.md, docs/*.md):

* in a fenced ``sh`` block, a line ``qkd ...   # -> CLAIM`` is a command and its claim: ``key``
  (a secret key is produced), ``no key: TEXT`` (the run aborts and ``abort_reason`` contains
  TEXT), ``max N km`` (``qkd rates``: the maximum distance); a trailing ``(slow)`` puts the case
  behind the ``slow`` marker;
* a fenced block after ``<!-- qkd-example: python -->`` is run (in the document's scratch folder,
  before that document's commands);
* a fenced block after ``<!-- qkd-example-output: COMMAND -->`` is COMMAND's table: every row
  shown (but the timings) must be what a fresh run prints.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from qkdstack.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_MARKER = re.compile(r"<!-- qkd-example(-output)?: (.*?) -->\s*$")
_COMMAND = re.compile(r"^(qkd .*?)\s+# -> (.*?)\s*$")


def _blocks(doc: Path) -> list[tuple[str | None, str, str]]:
    """``(marker, language, body)`` of each fenced block (marker: the comment just above it)."""
    text = doc.read_text()
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        tag = None if marker is None else ("output: " if marker.group(1) else "") + marker.group(2)
        out.append((tag, m.group(1), m.group(2)))
    return out


def _examples() -> list[object]:
    cases = []
    for doc in DOCS:
        for _tag, lang, body in _blocks(doc):
            if lang != "sh":
                continue
            for line in body.splitlines():
                m = _COMMAND.match(line)
                if m is None:
                    continue
                claim = m.group(2)
                slow = claim.endswith("(slow)")
                claim = claim.removesuffix("(slow)").strip()
                marks = [pytest.mark.slow] if slow else []
                ident = f"{doc.name}: {m.group(1)}"
                cases.append(pytest.param(doc.name, m.group(1), claim, marks=marks, id=ident))
    return cases


EXAMPLES = _examples()


def test_the_docs_mark_their_examples() -> None:
    """The parser finds the examples (a renamed marker must not silently skip them all)."""
    names = [p.values[0] for p in EXAMPLES]  # type: ignore[attr-defined]
    assert names.count("README.md") >= 6 and names.count("attacks.md") >= 4
    assert names.count("records.md") >= 2
    assert any(tag and tag.startswith("output: ") for tag, _, _ in _blocks(ROOT / "README.md"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One scratch folder per document, with ``examples/`` linked in and its python blocks run."""
    folders = {}
    for doc in DOCS:
        folder = tmp_path_factory.mktemp(doc.stem)
        (folder / "examples").symlink_to(ROOT / "examples")
        for tag, _lang, body in _blocks(doc):
            if tag == "python":
                cwd = Path.cwd()
                os.chdir(folder)
                try:
                    exec(compile(body, f"{doc.name} example", "exec"), {"__name__": "example"})
                finally:
                    os.chdir(cwd)
        folders[doc.name] = folder
    return folders


@pytest.mark.parametrize(("doc", "command", "claim"), EXAMPLES)
def test_example_does_what_the_docs_say(
    doc: str,
    command: str,
    claim: str,
    scratch: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(scratch[doc])
    argv = shlex.split(command)[1:]
    rc = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rep = json.loads(captured.out)
    if claim == "key":
        assert not rep["aborted"], rep["abort_reason"]
        assert rep["secret_bits"] > 0 and rep["keys_match"] is True
    elif claim.startswith("no key: "):
        assert rep["aborted"] and rep["secret_bits"] == 0
        assert claim.removeprefix("no key: ") in rep["abort_reason"]
    elif m := re.fullmatch(r"max ([0-9.]+) km", claim):
        assert rep["max_distance_km"] == pytest.approx(float(m.group(1)), abs=0.05)
    else:
        raise AssertionError(f"unknown claim {claim!r} in {doc}")


def _table_rows(text: str) -> dict[str, str]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


def test_readme_sample_output_is_what_its_seed_gives(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tag, _lang, body), *_ = [
        b for b in _blocks(ROOT / "README.md") if (b[0] or "").startswith("output: ")
    ]
    command = tag.removeprefix("output: ")
    shown = {}
    for line in body.splitlines()[1:]:  # the first line is the header
        label, value = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        shown[label] = value
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line
    assert main(shlex.split(command)[1:]) == 0
    printed = _table_rows(capsys.readouterr().out)
    shown.pop("time per stage (s)")
    assert len(shown) >= 15
    for label, value in shown.items():
        assert printed.get(label) == value, (
            f"README row {label!r} shows {value!r}, `{command}` prints {printed.get(label)!r}: "
            "update the README's sample output"
        )


def test_shipped_example_records_are_what_the_committed_script_makes(tmp_path: Path) -> None:
    """examples/records is reproducible: the script writes the same rows and metadata."""
    import subprocess
    import sys

    import pyarrow.parquet as pq

    script = ROOT / "scripts" / "make_record_examples.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    for name in ("alice.parquet", "bob.parquet"):
        made = pq.read_table(tmp_path / "bb84-laser" / name)
        shipped = pq.read_table(ROOT / "examples" / "records" / "bb84-laser" / name)
        assert made.equals(shipped), name
        made_meta = json.loads(made.schema.metadata[b"qkdstack"])
        shipped_meta = json.loads(shipped.schema.metadata[b"qkdstack"])
        made_meta.pop("qkdstack_version")
        shipped_meta.pop("qkdstack_version")
        assert made_meta == shipped_meta
        assert shipped_meta["params"] == {"source": "laser", "mu": 0.05}
        assert shipped_meta["seed"] is None
