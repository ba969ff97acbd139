"""``qkd rates --channel depolarizing``: the row contract, the threshold, plots, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qkdstack.cli.main import main

from helpers import h2


def test_bb84_json_rows_and_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["rates", "--protocol", "bb84", "--channel", "depolarizing", "--noise", "0.2:0.23:0.03"]
    rc = main([*argv, "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert [set(p) for p in doc["points"]] == [
        {"noise", "transmittance", "rate_bits_per_signal", "rate_upper", "gap"}
    ] * 2
    first = doc["points"][0]
    assert first["noise"] == pytest.approx(0.2)
    assert first["rate_bits_per_signal"] == pytest.approx(0.5 * (1 - 2 * h2(0.1)), abs=1e-6)
    assert first["gap"] < 1e-6
    assert doc["points"][1]["rate_bits_per_signal"] == 0.0
    # 1 - 2 h(Q) = 0 at Q = 11.00%: p = 2Q = 0.2200.
    assert doc["threshold_noise"] == pytest.approx(0.2200, abs=3e-4)


def test_b92_table_with_loss_and_ec_efficiency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "b92.png"
    argv = [
        "rates", "--protocol", "b92", "--channel", "depolarizing", "--noise", "0,0.06",
        "--transmittance", "0.9", "--ec-efficiency", "1.1", "--plot", str(target),
    ]  # fmt: skip
    rc = main(argv)
    out = capsys.readouterr().out
    assert rc == 0
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [float(r[0]) for r in rows] == [0.0, 0.06]
    assert all(float(r[1]) == 0.9 for r in rows)
    assert float(rows[0][2]) > float(rows[1][2]) > 0.0
    assert "threshold_noise: none in range" in out
    assert target.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["--protocol", "b92"], "--channel"),
        (["--protocol", "b92", "--channel", "amplitude"], "--channel"),
        (["--protocol", "decoy-bb84", "--channel", "depolarizing"], "--protocol"),
        (["--protocol", "b92", "--channel", "depolarizing", "--noise", "0:1"], "--noise"),
        (["--protocol", "b92", "--channel", "depolarizing", "--noise", "1.5"], "--noise"),
        (["--protocol", "b92", "--channel", "depolarizing", "--transmittance", "0"], "--transmittance"),
        (["--protocol", "b92", "--channel", "depolarizing", "--ec-efficiency", "0.9"], "--ec-efficiency"),
        (["--protocol", "b92", "--channel", "depolarizing", "--plot", "x.pdf"], "--plot"),
        (["--protocol", "b92", "--channel", "depolarizing", "--plot", "no/such/dir/x.png"], "--plot"),
        (["--protocol", "decoy-bb84", "--noise", "0.1"], "--noise"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    argv: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["rates", *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert name in err
    assert not (tmp_path / "x.pdf").exists()
