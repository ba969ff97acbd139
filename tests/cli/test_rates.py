"""The ``qkd rates`` command: table, JSON contract, plot, and one-line usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qkdstack.cli.main import main


def test_table_lists_distances_and_max_distance(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["rates", "--protocol", "decoy-bb84", "--params", "gys", "--distance-km", "0:100:50"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [float(r[0]) for r in rows] == [0.0, 50.0, 100.0]
    assert "max_distance_km: 142.2" in out


def test_json_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["rates", "--protocol", "bb84", "--params", "gys", "--distance-km", "0,20", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["protocol"] == "bb84" and doc["params"] == "gys"
    assert set(doc["points"][0]) == {
        "distance_km",
        "rate_bits_per_pulse",
        "plob_bits_per_pulse",
        "mu",
    }
    assert [p["distance_km"] for p in doc["points"]] == [0.0, 20.0]
    assert doc["max_distance_km"] == pytest.approx(40.2, abs=0.2)


def test_fixed_mu_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["rates", "--params", "gys", "--set", "mu=0.3", "--distance-km", "10", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["points"][0]["mu"] == 0.3


def test_block_bits_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "rates.png"
    rc = main(
        [
            "rates", "--protocol", "decoy-bb84", "--params", "lim2014", "--distance-km", "0,100",
            "--block-bits", "1e7,1e9", "--json", "--plot", str(target),
        ]
    )  # fmt: skip
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["block_bits"] for c in doc["curves"]] == [1e7, 1e9]
    r7 = doc["curves"][0]["points"][1]["rate_bits_per_pulse"]
    r9 = doc["curves"][1]["points"][1]["rate_bits_per_pulse"]
    assert r9 / r7 == pytest.approx(1.75, abs=0.1)
    assert target.stat().st_size > 1000
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["rates", "--protocol", "bb85"], "--protocol"),
        (["rates", "--params", "nope"], "--params"),
        (["rates", "--distance-km", "5:1:1"], "--distance-km"),
        (["rates", "--distance-km", "-3"], "--distance-km"),
        (["rates", "--decoy", "two"], "--decoy"),
        (["rates", "--set", "bogus=1"], "bogus"),
        (["rates", "--protocol", "bb84", "--block-bits", "1e6"], "--block-bits"),
        (["rates", "--plot", "out.pdf"], "--plot"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert name in err


def test_svg_plot_of_asymptotic_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "gys.svg"
    rc = main(["rates", "--params", "gys", "--distance-km", "0:140:20", "--plot", str(target)])
    assert rc == 0
    assert "plot written" in capsys.readouterr().out
    assert target.read_text().lstrip().startswith("<?xml")


def test_finite_key_plot_shows_asymptotic_curve_max_distances_and_assumptions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    labels: list[str] = []
    vlines: list[float] = []
    semilogy, axvline = Axes.semilogy, Axes.axvline

    def spy_semilogy(self: Axes, *args: object, **kwargs: object) -> object:
        labels.append(str(kwargs.get("label")))
        return semilogy(self, *args, **kwargs)

    def spy_axvline(self: Axes, x: float = 0, *args: object, **kwargs: object) -> object:
        vlines.append(float(x))
        return axvline(self, x, *args, **kwargs)

    monkeypatch.setattr(Axes, "semilogy", spy_semilogy)
    monkeypatch.setattr(Axes, "axvline", spy_axvline)
    target = tmp_path / "fk.png"
    argv = ["rates", "--params", "lim2014", "--distance-km", "0,50", "--block-bits", "1e9"]
    assert main([*argv, "--json", "--plot", str(target)]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    # The asymptotic curve is the one `qkd rates` prints without --block-bits.
    assert main(["rates", "--params", "lim2014", "--distance-km", "0,50", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert doc["asymptotic"]["points"] == plain["points"]
    assert doc["asymptotic"]["max_distance_km"] == plain["max_distance_km"]
    # Progress on the long optimisation: one line per distance of the finite-key curve.
    assert captured.err.count("optimising") == 2
    assert labels[0].startswith("PLOB bound")
    assert labels[1].startswith("asymptotic, infinite decoys, bases 50:50")
    assert labels[2].startswith("finite key (Lim 2014), $n_X = 10^{9}$")
    assert "basis bias $q_X$ optimised" in labels[2]
    fk_max = doc["curves"][0]["max_distance_km"]
    assert labels[2].endswith(f"max {fk_max:.1f} km")
    assert vlines == pytest.approx([plain["max_distance_km"], fk_max])
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
