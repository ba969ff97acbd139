"""Blocked runs: ``qkd run`` holds at most a bounded number of detections at any pulse count."""

from __future__ import annotations

import json
import math
import weakref
from pathlib import Path
from typing import Any

import pytest

import qkdstack.blocked
import qkdstack.experiment
from qkdstack.blocked import MAX_BLOCK_DETECTIONS, plan_blocks, run_in_blocks
from qkdstack.cli.main import main
from qkdstack.link.channels import link_transmittance
from qkdstack.params import LinkParams


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record each run's pulses and the detections its records held."""
    calls: list[dict[str, Any]] = []
    real = qkdstack.experiment.run_experiment

    def spy(*args: Any, **kwargs: Any) -> Any:
        # The previous block's records are freed before the next block starts: memory does not
        # grow with the number of blocks.
        assert all(c["records"]() is None for c in calls)
        result = real(*args, **kwargs)
        calls.append(
            {
                "pulses": args[2],
                "held": len(result.link.bob),
                "epsilon_sec": kwargs["options"].epsilon_sec,
                "records": weakref.ref(result.link.alice.pulse_index),
            }
        )
        return result

    monkeypatch.setattr(qkdstack.experiment, "run_experiment", spy)
    return calls


def test_plan_keeps_each_block_within_the_limit_at_any_pulse_count() -> None:
    # Decoy BB84 over 100 km, 10^12 pulses (the case). Independent estimate of the
    # detection probability (Lim et al. 2014): sum_k p_k (1 - (1 - 2 p_dc) e^{-mu_k t eta_d}).
    params = LinkParams(source="laser", distance_km=100)
    eta = link_transmittance(params) * params.detector_efficiency
    p_det = sum(
        p_k * (1 - (1 - 2 * params.dark_count_prob) * math.exp(-mu_k * eta))
        for mu_k, p_k in zip(params.intensities, params.intensity_probs, strict=True)
    )
    sizes = plan_blocks("decoy-bb84", params, 10**12)
    assert sum(sizes) == 10**12 and max(sizes) - min(sizes) <= 1
    assert max(sizes) * p_det <= MAX_BLOCK_DETECTIONS  # about 4e8 detections in all
    assert len(sizes) <= math.ceil(1.01 * 10**12 * p_det / MAX_BLOCK_DETECTIONS)
    assert plan_blocks("bb84", LinkParams(), 10**6) == [10**6]  # small runs are one run


def test_blocks_are_independent_runs_whose_counts_add(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy(monkeypatch)
    deposited: list[int] = []

    def deposit(alice_key: Any, bob_key: Any) -> int:
        assert (alice_key == bob_key).all()
        deposited.append(int(alice_key.shape[0]))
        return int(alice_key.shape[0]) // 256

    params = LinkParams(distance_km=25)  # an int: an input, never added over blocks
    rep = run_in_blocks("bb84", params, 4 * 10**6, seed=3, deposit=deposit, max_detections=40_000)
    k = len(rep["blocks"])
    # About 0.0316 detections per pulse (t eta_d = 10^-0.5 * 0.1): 126,000 over 4e6 pulses.
    assert k == len(calls) == 4 and sum(c["pulses"] for c in calls) == 4 * 10**6
    assert all(c["held"] <= 40_000 for c in calls)
    assert all(c["epsilon_sec"] == pytest.approx(1e-10 / k) for c in calls)
    assert rep["epsilon_sec"] == 1e-10 and rep["pulses"] == 4 * 10**6
    assert (
        rep["detections"]
        == sum(b["detections"] for b in rep["blocks"])
        == sum(c["held"] for c in calls)
    )
    assert rep["secret_bits"] == sum(deposited) == sum(b["secret_bits"] for b in rep["blocks"])
    assert rep["stored_keys"] == sum(n // 256 for n in deposited)
    assert rep["qber"] == sum(b["sample_errors"] for b in rep["blocks"]) / sum(
        b["sample_bits"] for b in rep["blocks"]
    )
    assert not rep["aborted"] and rep["keys_match"] and rep["secret_bits"] > 0
    assert rep["rate_bits_per_pulse"] == rep["secret_bits"] / rep["pulses"]
    assert rep["distance_km"] == 25 and rep["params"] == params.to_dict() and rep["seed"] == 3


def test_blocked_attack_reports_add_eves_counts() -> None:
    from qkdstack.adversary.registry import parse_attack

    attack = parse_attack("intercept-resend:fraction=0.1")
    rep = run_in_blocks(
        "bb84", LinkParams(), 2 * 10**6, seed=4, attack=attack, max_detections=25_000
    )
    blocks = rep["blocks"]
    assert len(blocks) >= 3
    assert rep["eve"]["parameters"] == blocks[0]["eve"]["parameters"]
    assert rep["eve"]["parameters"]["fraction"] == 0.1
    assert rep["eve"]["intercepted_pulses"] == sum(b["eve"]["intercepted_pulses"] for b in blocks)


def test_qkd_run_processes_in_blocks_of_bounded_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy(monkeypatch)
    monkeypatch.setattr(qkdstack.blocked, "MAX_BLOCK_DETECTIONS", 30_000)
    store = tmp_path / "store"
    store.mkdir()
    args = ["run", "--protocol", "bb84", "--pulses", "3e6", "--seed", "5", "--json"]
    assert main([*args, "--store", str(store)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["blocks"]) == len(calls) >= 3
    assert max(c["held"] for c in calls) <= 30_000
    assert rep["stored_keys"] == sum(b["secret_bits"] // 256 for b in rep["blocks"]) > 0
    from qkdstack.kms.store import KeyStore

    with KeyStore(store / "alice.db") as a, KeyStore(store / "bob.db") as b:
        assert a.count() == b.count() == rep["stored_keys"]


@pytest.mark.slow
def test_a_long_run_stays_in_bounded_memory(tmp_path: Path) -> None:
    """``qkd run --pulses 1e11 --distance-km 100``: 4e7 detections (about 4.4 GB held at once by
    one unblocked run, at the measured ~110 bytes per detection) in bounded memory."""
    import resource
    import subprocess
    import sys

    code = (
        "import sys; from qkdstack.cli.main import main; "
        "sys.exit(main(['run', '--pulses', '1e11', '--distance-km', '100', '--seed', '1', "
        "'--json']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    rep = json.loads(done.stdout)
    assert rep["detections"] > 4 * 10**7 and len(rep["blocks"]) >= 10
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 1.5 * 2**20  # under 1.5 GiB (about 0.6 GiB measured)
