"""`qkd run --plot`: one run's story; the key budget adds up; the path is checked before the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qkdstack.cli.main import main
from qkdstack.figures.run_story import budget_steps

PNG = b"\x89PNG\r\n\x1a\n"
RUN = ["run", "--params", "lim2014", "--pulses", "3e8", "--seed", "5", "--insecure-seeded-keys"]


def test_run_plot_draws_the_story_and_the_budget_adds_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fig = tmp_path / "story.png"
    assert main([*RUN, "--json", "--plot", str(fig)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert fig.read_bytes().startswith(PNG)
    assert report["secret_bits"] > 0
    steps = dict(budget_steps(report))
    assert steps["sample (QBER estimate)"] == report["sample_bits"]
    assert steps["error correction leak"] == report["leaked_ec_bits"]
    assert steps["verification tag"] == report["verification_bits"]
    assert report["sifted_bits"] - sum(steps.values()) == report["secret_bits"]
    assert steps["privacy amplification"] > 0


def test_aborted_run_story(tmp_path: Path) -> None:
    fig = tmp_path / "story.svg"
    # Seeded: an unseeded run drew a different abort each time (seed 24's title made matplotlib
    # warn that it could not apply the tight layout).
    argv = ["run", "--protocol", "bb84", "--pulses", "1e5", "--distance-km", "200", "--seed", "1"]
    assert main([*argv, "--plot", str(fig)]) == 0
    assert "ABORTED" in fig.read_text()


@pytest.mark.parametrize(
    ("name", "needle"),
    [("no/story.png", "writable directory"), ("story.jpg", "must end in .png, .svg, .pdf")],
)
def test_plot_path_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, needle: str
) -> None:
    # 10^15 pulses would run for hours: a refusal that came after the run would time out.
    argv = ["run", "--pulses", "1e15", "--plot", str(tmp_path / name)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"Argument '--plot' {needle}" in err or needle in err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
