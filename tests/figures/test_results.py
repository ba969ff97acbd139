"""`qkd plot`: statistics across repeats, labels with units, theory lines, refusals."""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import numpy as np
import pytest

from qkdstack.cli.main import main
from qkdstack.cli.sweep import QKD_COMMANDS
from qkdstack.figures.expected import intercept_resend_qber, plob_curve, rates_curve
from qkdstack.figures.results import axis_label, group_stats
from qkdstack.params import LinkParams, get_param_set
from qkdstack.sweep import parse_study, run_sweep

PNG = b"\x89PNG\r\n\x1a\n"


def test_group_stats_mean_and_spread_per_hue_and_x() -> None:
    rows = [
        {"x": 2, "y": 1.0, "h": "a"},
        {"x": 2, "y": 3.0, "h": "a"},
        {"x": 1, "y": 5.0, "h": "a"},
        {"x": 1, "y": None, "h": "a"},
        {"x": 1, "y": 7.0, "h": "b"},
    ]
    stats = group_stats(rows, "x", "y", "h")
    assert stats["a"] == [(1, 5.0, 0.0, 1), (2, 2.0, pytest.approx(np.sqrt(2.0)), 2)]
    assert stats["b"] == [(1, 7.0, 0.0, 1)]


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("distance_km", "Fibre length (km)"),
        ("rate_bits_per_pulse", "Secret key rate (bits per pulse)"),
        ("leaked_ec_bits", "leaked ec (bits)"),
        ("timings_s.link", "link stage time (s)"),
        ("eve.info_bits", "eve: info (bits)"),
        ("insertion_loss_db", "insertion loss (dB)"),
    ],
)
def test_labels_carry_units(column: str, label: str) -> None:
    assert axis_label(column) == label


def test_theory_lines_match_their_formulas() -> None:
    gys = get_param_set("gys")
    # PLOB: -log2(1 - eta), eta = 10^(-0.21 * 50 / 10)
    assert plob_curve(gys, [50.0])[0] == pytest.approx(-np.log2(1 - 10 ** (-1.05)))
    # the qkd rates curve is the one `qkd rates` prints (the GYS asymptotic rate falls with distance)
    rates = rates_curve("decoy-bb84", gys, [0.0, 50.0, 100.0])
    assert rates[0] > rates[1] > rates[2] > 0
    link = LinkParams(misalignment_error=0.02, dark_count_prob=0.0)
    assert intercept_resend_qber(link, 0.0, 0.0) == pytest.approx(0.02)
    assert intercept_resend_qber(link, 0.0, 1.0) == pytest.approx(0.25 + 0.01)


@pytest.fixture(scope="module")
def rates_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plot") / "r.parquet"
    study = parse_study(
        'command = "rates"\nseed = 1\n[fixed]\nparams = "gys"\n'
        '[axes]\ndistance_km = [0, 50, 100, 140]\ndecoy = ["infinite", "vacuum-weak", "bad"]\n',
        commands=QKD_COMMANDS,
    )
    with cf.ThreadPoolExecutor(2) as pool:
        run_sweep(study, out, pool)
    return out


def test_plot_writes_a_figure(rates_results: Path, tmp_path: Path) -> None:
    fig = tmp_path / "fig.png"
    argv = ["plot", str(rates_results), "--x", "distance_km", "--y", "rate_bits_per_pulse"]
    assert main([*argv, "--hue", "decoy", "--out", str(fig)]) == 0
    assert fig.read_bytes().startswith(PNG)
    svg = tmp_path / "fig.svg"
    assert main([*argv, "--out", str(svg)]) == 0
    text = svg.read_text()
    assert "Fibre length" in text and "failed run(s) left out" in text


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--x", "colour", "--y", "qber"], "Argument '--x' must be a column of r.parquet"),
        (["--x", "distance_km", "--y", "mu", "--hue", "nope"], "Argument '--hue' must be a column"),
        (["--x", "distance_km", "--y", "protocol"], "Argument '--y' has no numeric values"),
        (
            ["--x", "distance_km", "--y", "rate_bits_per_pulse", "--theory"],
            "Argument '--theory' needs rows of 'qkd run'",
        ),
    ],
)
def test_plot_refusals(
    rates_results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    needle: str,
) -> None:
    fig = tmp_path / "fig.png"
    assert main(["plot", str(rates_results), *extra, "--out", str(fig)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not fig.exists()


def test_plot_output_path_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.parquet"
    argv = ["plot", str(missing), "--x", "a", "--y", "b", "--out"]
    assert main([*argv, str(tmp_path / "fig.gif")]) == 2
    assert "Argument '--out' must end in .png, .svg, .pdf" in capsys.readouterr().err
    assert main([*argv, str(tmp_path / "no" / "fig.png")]) == 2
    assert "writable directory" in capsys.readouterr().err
    assert main([*argv, str(tmp_path / "fig.png")]) == 2
    assert "Argument 'RESULTS' must be an existing file" in capsys.readouterr().err
