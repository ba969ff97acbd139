"""``qkd run``: the report contract and one-line usage errors."""

from __future__ import annotations

import json

import pytest

from qkdstack.cli.main import main

REQUIRED = (
    "protocol", "distance_km", "pulses", "seed", "detections", "sifted_bits", "sample_bits",
    "qber", "qber_true", "leaked_ec_bits", "ec_efficiency", "secret_bits",
    "rate_bits_per_pulse", "keys_match", "aborted", "abort_reason", "timings_s",
)  # fmt: skip


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    rc = main(["run", "--json", *args])
    out = capsys.readouterr().out
    assert rc == 0
    return json.loads(out)


def test_json_report_has_every_contract_field(capsys: pytest.CaptureFixture[str]) -> None:
    rep = _run_json(
        capsys, "--protocol", "bb84", "--pulses", "2e6", "--seed", "5", "--distance-km", "10"
    )
    for name in REQUIRED:
        assert name in rep, name
    assert rep["protocol"] == "bb84" and rep["pulses"] == 2_000_000 and rep["seed"] == 5
    assert rep["distance_km"] == 10
    assert not rep["aborted"] and rep["keys_match"] is True and rep["secret_bits"] > 0
    assert rep["rate_bits_per_pulse"] == rep["secret_bits"] / rep["pulses"]
    assert 1.0 < rep["ec_efficiency"] < 1.6
    assert set(rep["timings_s"]) >= {
        "link",
        "sifting",
        "estimation",
        "reconciliation",
        "verification",
        "amplification",
    }


def test_seed_makes_runs_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    a = _run_json(capsys, "--protocol", "bb84", "--pulses", "1e6", "--seed", "9")
    b = _run_json(capsys, "--protocol", "bb84", "--pulses", "1e6", "--seed", "9")
    for rep in (a, b):
        rep.pop("timings_s")
        assert "key_sha256" not in rep  # no digest of a secret key unless --key-digest
    assert a == b


def test_insecure_seeded_keys_reproduce_the_key_hash(capsys: pytest.CaptureFixture[str]) -> None:
    args = (
        "--protocol", "bb84", "--pulses", "1e6", "--seed", "4", "--insecure-seeded-keys",
        "--key-digest",
    )  # fmt: skip
    a = _run_json(capsys, *args)
    b = _run_json(capsys, *args)
    assert a["key_sha256"] == b["key_sha256"] and a["secure_randomness"] is False


def test_table_output_never_shows_key_material(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--protocol", "bb84", "--pulses", "1e6", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "secret key bits" in out and "QBER" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--distance-km", "-5"], "'--distance-km' must be >= 0, not -5.0"),
        (["--pulses", "abc"], "'--pulses'"),
        (["--pulses", "0"], "'--pulses'"),
        (["--detector-efficiency", "1.5"], "'--detector-efficiency'"),
        (["--set", "nonsense=1"], "nonsense"),
        (["--sample-fraction", "1.5"], "'--sample-fraction'"),
        (["--ec-method", "magic"], "'--ec-method' must be one of"),
        (["--auth-scope", "round"], "'--auth-scope' must be one of message, stage, not 'round'"),
        (["--distance-km", "abc"], "not 'abc'"),
        (["--seed", "x1"], "not 'x1'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    rc = main(["run", "--pulses", "1e5", *args] if "--pulses" not in args else ["run", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_qber_above_threshold_reports_abort(capsys: pytest.CaptureFixture[str]) -> None:
    rep = _run_json(capsys, "--pulses", "1e6", "--seed", "2", "--misalignment-error", "0.2")
    assert rep["aborted"] is True and rep["secret_bits"] == 0 and "QBER" in rep["abort_reason"]


def test_default_run_is_decoy_state_laser_with_finite_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rep = _run_json(capsys, "--seed", "3")
    assert rep["protocol"] == "decoy-bb84" and rep["source"] == "laser"
    assert rep["pulses"] == 10**8 and rep["distance_km"] == 25
    assert not rep["aborted"] and rep["keys_match"] and rep["secret_bits"] > 0
    assert "Lim" in rep["key_length_formula"]
    assert rep["epsilon_sec"] == 1e-10 and rep["epsilon_cor"] == 1e-15
    assert 0 < rep["single_photon_yield_lower"] < 1 and 0 < rep["phase_error_upper"] < 0.5
    rows = rep["counts"]
    assert {(r["basis"], r["intensity"]) for r in rows} == {(b, i) for b in "ZX" for i in range(3)}
    assert sum(r["detected"] for r in rows) == rep["sifted_bits"]
    assert all(r["errors"] is not None and 0 <= r["errors"] <= r["detected"] for r in rows)


def test_bare_qkd_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "run" in out and "process" in out and "rates" in out


def test_auth_scope_sets_the_authentication_key_cost(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--protocol", "bb84", "--pulses", "2e6", "--seed", "5", "--distance-km", "10")
    stage = _run_json(capsys, *args)
    message = _run_json(capsys, *args, "--auth-scope", "message")
    assert stage["auth_scope"] == "stage" and message["auth_scope"] == "message"
    assert stage["secret_bits"] == message["secret_bits"] > 0
    # Two 128-bit tags per stage (five stages) against two per round trip.
    assert stage["auth_key_bits_used"] == 5 * 256
    assert message["auth_key_bits_used"] == 256 * message["round_trips"]


def test_a_last_key_bit_that_is_wrong_aborts_without_a_crash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 10^5 pulses over 200 km, seed 27: one key bit is left after the sample, and it is wrong, so
    # the oracle's error fraction is 1 and n h(e) = 0; the report's f was a ZeroDivisionError
    # (exit 1, "unexpected") instead of an aborted run with no key.
    argv = ["run", "--protocol", "bb84", "--pulses", "1e5", "--distance-km", "200", "--seed", "27"]
    assert main([*argv, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["key_bits_before_ec"] == 1 and rep["qber_true"] == 1.0  # the case described
    assert rep["aborted"] and rep["secret_bits"] == 0 and rep["ec_efficiency"] is None
