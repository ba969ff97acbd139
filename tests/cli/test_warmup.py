"""``qkd warmup`` reports each stage; ``qkd reconcile`` warms its method's kernels before timing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qkdstack.cli.reconcile as reconcile_command
from qkdstack.cli.main import main


def test_warmup_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["warmup", "--stage", "amplification", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["seconds"]) == ["amplification"]


def test_warmup_bad_stage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["warmup", "--stage", "amplify"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--stage" in err
    assert "'amplify'" in err


def test_reconcile_joins_the_warm_up_before_the_timed_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[str] = []

    class Spy:
        def join(self) -> None:
            events.append("join")

    def spy(stages: list[str]) -> Spy:
        events.append(f"start {','.join(stages)}")
        return Spy()

    real = reconcile_command.reconcile

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        events.append("reconcile")
        return real(*args, **kwargs)

    monkeypatch.setattr(reconcile_command, "warm_up_in_background", spy)
    monkeypatch.setattr(reconcile_command, "reconcile", timed)
    rng = np.random.default_rng(3)
    alice = rng.integers(0, 2, 2000, dtype=np.uint8)
    bob = alice.copy()
    bob[:20] ^= 1
    np.save(tmp_path / "a.npy", alice)
    np.save(tmp_path / "b.npy", bob)
    args = ["reconcile", "--alice", str(tmp_path / "a.npy"), "--bob", str(tmp_path / "b.npy")]
    args += ["--qber", "0.02", "--out", str(tmp_path / "c.npy"), "--seed", "1"]
    assert main(args) == 0
    assert events == ["start cascade", "join", "reconcile"]
    # A usage error found before the inputs are read starts no warm-up.
    events.clear()
    assert main([*args[:-2], "--seed", "-1"]) == 2
    assert events == []
