"""``qkd run --attack``: the eve block of the report, and what each attack does to the run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qkdstack.cli.main import main

EVE_FIELDS = (
    "attack", "parameters", "intercepted_pulses", "known_sifted_bits",
    "eve_info_bits_before_pa", "eve_agreement_final",
)  # fmt: skip


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["run", "--json", "--protocol", "bb84", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_full_intercept_resend_is_noticed_and_aborts(capsys: pytest.CaptureFixture[str]) -> None:
    rep = _run(
        capsys, "--pulses", "1e7", "--seed", "2", "--misalignment-error", "0", "--dark-count-prob", "0",
        "--attack", "intercept-resend:fraction=1,basis=random",
    )  # fmt: skip
    k = rep["sample_bits"]
    assert abs(rep["qber"] - 0.25) < 5 * math.sqrt(0.25 * 0.75 / k)
    assert rep["aborted"] and "QBERTooHigh" in rep["abort_reason"] and rep["secret_bits"] == 0
    for name in EVE_FIELDS:
        assert name in rep["eve"], name
    assert rep["eve"]["attack"] == "intercept-resend" and rep["eve"]["intercepted_pulses"] > 0
    assert rep["eve"]["eve_agreement_final"] is None


def test_weak_attack_leaves_eve_nothing_after_amplification(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rep = _run(
        capsys, "--pulses", "5e7", "--seed", "3", "--attack", "intercept-resend:fraction=0.04",
        "--insecure-seeded-keys",
    )  # fmt: skip
    assert not rep["aborted"] and rep["secret_bits"] > 0
    eve = rep["eve"]
    assert eve["known_sifted_bits"] > 0
    m = eve["final_bits"]
    assert m == rep["secret_bits"]
    # Eve's best guess of the final key is a coin flip: within 5 sigma of 0.5.
    assert abs(eve["eve_agreement_final"] - 0.5) < 5 * math.sqrt(0.25 / m)


def test_mitm_with_authentication_aborts_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rep = _run(
        capsys, "--pulses", "1e7", "--seed", "1", "--attack", "mitm", "--store", str(tmp_path)
    )
    assert rep["aborted"] and "AuthenticationError" in rep["abort_reason"]
    assert rep["eve"]["tampered_messages"] >= 1
    assert list(tmp_path.iterdir()) == []


def test_unknown_attack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--pulses", "1e6", "--attack", "teleport"]) == 2
    err = capsys.readouterr().err
    assert "teleport" in err and "intercept-resend" in err and len(err.strip().splitlines()) == 1


def test_pns_on_decoy_state_run_collapses_the_yield_bound(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            [
                "run",
                "--json",
                "--seed",
                "5",
                "--distance-km",
                "50",
                "--pulses",
                "3e8",
                "--attack",
                "pns",
            ]
        )
        == 0
    )
    rep = json.loads(capsys.readouterr().out)
    assert rep["protocol"] == "decoy-bb84" and rep["eve"]["attack"] == "pns"
    # The QBER shows nothing: misalignment 1%, plus < 1e-3 from dark counts and the vacuum class ...
    k = rep["sample_bits"]
    assert abs(rep["qber"] - 0.01) < 5 * math.sqrt(0.01 * 0.99 / k) + 1e-3
    # ... but the decoy analysis finds no single-photon yield, and no key is produced.
    eta = 10 ** (-0.2 * 50 / 10) * 0.1
    assert rep["single_photon_yield_lower"] < 0.1 * eta
    assert rep["aborted"] and rep["secret_bits"] == 0


def test_attack_table_shows_the_eve_block(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--protocol", "bb84", "--pulses", "2e5", "--seed", "4", "--distance-km", "5"]
    assert main([*args, "--attack", "intercept-resend:fraction=0.1", "--json"]) == 0
    eve = json.loads(capsys.readouterr().out)["eve"]
    assert main([*args, "--attack", "intercept-resend:fraction=0.1"]) == 0
    out = capsys.readouterr().out
    assert "eve (simulation oracle" in out and "intercept-resend" in out
    assert "fraction=0.1" in out
    for label, key in (
        ("pulses Eve acted on", "intercepted_pulses"),
        ("key bits Eve knows for sure", "known_sifted_bits"),
        ("final key bits", "final_bits"),
    ):
        row = next(line for line in out.splitlines() if label in line)
        assert f"{eve[key]:,}" in row, (label, row)
    row = next(line for line in out.splitlines() if "information before PA" in line)
    assert f"{eve['eve_info_bits_before_pa']:,.1f}" in row


def test_attack_help_lists_every_attack_and_its_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from qkdstack.adversary.registry import ATTACKS
    from qkdstack.cli.run import attack_help

    text = attack_help()
    for spec in ATTACKS.values():
        assert spec.name in text and spec.summary in text
        for name in spec.parameters:
            assert f"{name}=" in text
