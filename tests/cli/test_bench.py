"""``qkd bench amplify``: reports the contract fields with consistent arithmetic; bad input exits 2."""

from __future__ import annotations

import json

import pytest

from qkdstack.cli.main import main


def test_bench_amplify_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "amplify", "--bits", "20000", "--repeats", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"bits_in", "bits_out", "seconds", "mbit_per_s"}
    assert report["bits_in"] == 20000
    assert report["bits_out"] == 10000
    assert report["seconds"] > 0
    assert report["mbit_per_s"] == pytest.approx(20000 / report["seconds"] / 1e6, rel=1e-2)


def test_bench_amplify_out_bits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "amplify", "--bits", "999", "--out-bits", "999", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bits_out"] == 999


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--bits", "0"], "--bits"),
        (["--bits", "-5"], "--bits"),
        (["--bits", "x"], "--bits"),
        (["--bits", "10", "--out-bits", "11"], "--out-bits"),
        (["--bits", "10", "--repeats", "0"], "--repeats"),
    ],
)
def test_bench_amplify_bad_input(
    capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    assert main(["bench", "amplify", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert option in err
