"""``qkd run --protocol b92``: a key from the numerical proof, named in the report."""

from __future__ import annotations

import json

import pytest

from qkdstack.cli.main import main

B92_LOSSLESS = [
    "run", "--protocol", "b92", "--distance-km", "0", "--detector-efficiency", "1",
    "--pulses", "1e6", "--seed", "5",
]  # fmt: skip


def test_json_report_names_proof_attack_model_and_gap(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*B92_LOSSLESS, "--misalignment-error", "0.01", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert not doc["aborted"] and doc["keys_match"] and doc["secret_bits"] > 0
    assert "George, Lin & Lutkenhaus" in doc["key_length_formula"]
    assert doc["attack_model"] == "collective (i.i.d.) attacks"
    assert abs(doc["certified_gap_bits"]) < 1e-6
    assert 0 < doc["confidence_radius"] < 0.1


def test_table_shows_attack_model_and_high_noise_aborts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*B92_LOSSLESS, "--misalignment-error", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "attack model" in out and "certified gap" in out
    assert main([*B92_LOSSLESS, "--misalignment-error", "0.1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["aborted"] and doc["secret_bits"] == 0 and "key_sha256" not in doc
