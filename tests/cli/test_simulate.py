"""``qkd simulate`` in-process: files written, summary printed, nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qkdstack.cli.main import main
from qkdstack.link import simulate
from qkdstack.link.recordfile import check_pair, read_records
from qkdstack.params import get_param_set


def test_simulate_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = ["simulate", "--protocol", "decoy-bb84", "--params", "gys", "--set", "distance_km=10"]
    rc = main([*args, "--pulses", "2e5", "--seed", "5", "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    alice = read_records(out / "alice.parquet")
    bob = read_records(out / "bob.parquet")
    check_pair(alice, bob)
    assert summary["detections"] == len(bob) and summary["pulses"] == 200_000
    assert alice.meta.protocol == "decoy-bb84" and alice.meta.seed == 5
    assert alice.meta.params["distance_km"] == 10.0
    # Same records as the library call with the same parameters and seed.
    ref = simulate("decoy-bb84", get_param_set("gys").replace(distance_km=10), 200_000, seed=5)
    assert np.array_equal(ref.bob.bit, bob.bit) and np.array_equal(ref.alice.basis, alice.basis)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--protocol", "bb85"], "'protocol' must be one of"),
        (["--set", "speed=3"], "Unknown parameter 'speed'"),
        (["--params", "xyz"], "'--params' must be one of"),
        (["--pulses", "-3"], "'--pulses' must be an integer in [1,"),
        (["--pulses", "0"], "'--pulses' must be an integer in [1,"),
        (["--seed", "-1"], "'--seed' must be >= 0"),
        (["--set", "source=spdc"], "'source' must be 'single-photon' or 'laser'"),
    ],
)
def test_bad_arguments_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "run"
    rc = main(["simulate", "--pulses", "1000", "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
