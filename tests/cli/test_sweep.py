"""`qkd sweep` refusals: exit 2, one line naming the file, line and reason; nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from qkdstack.cli.main import main

BAD = """\
command = "run"
seed = 3
[fixed]
protocol = "bb84"
[axes]
distance_km = {start = 0, stop = 50, step = 0}
"""


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_invalid_study_is_rejected_with_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "s.toml"
    study.write_text(BAD)
    out = tmp_path / "r.parquet"
    err = _refused(capsys, ["sweep", str(study), "--out", str(out)])
    assert f"{study}:6: axis 'distance_km': step must be > 0, not 0" in err
    assert list(tmp_path.iterdir()) == [study]


def test_toml_syntax_error_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "s.toml"
    study.write_text('command = "run"\nseed = 3\nrepeats = = 2\n')
    err = _refused(capsys, ["sweep", str(study), "--out", str(tmp_path / "r.parquet")])
    assert f"{study}:3: invalid TOML" in err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--workers", "0"], "Argument '--workers' must be >= 1, not 0"),
        (
            ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
            "'--workers' applies to the local",
        ),
        (["--scheduler", "127.0.0.1:8786"], "'--scheduler' must be an address like tcp://"),
    ],
)
def test_option_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    study = tmp_path / "s.toml"
    study.write_text('command = "rates"\nseed = 3\n')
    err = _refused(capsys, ["sweep", str(study), "--out", str(tmp_path / "r.parquet"), *extra])
    assert needle in err
    assert list(tmp_path.iterdir()) == [study]


def test_out_must_be_parquet_in_a_writable_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "s.toml"
    study.write_text('command = "rates"\nseed = 3\n')
    assert "must end in .parquet" in _refused(
        capsys, ["sweep", str(study), "--out", str(tmp_path / "r.csv")]
    )
    err = _refused(capsys, ["sweep", str(study), "--out", str(tmp_path / "no" / "r.parquet")])
    assert "must be in a writable directory" in err


def test_missing_study_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(
        capsys, ["sweep", str(tmp_path / "none.toml"), "--out", str(tmp_path / "r.parquet")]
    )
    assert "Argument 'STUDY' must be a readable file" in err
