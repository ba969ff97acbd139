"""``qkd run`` / ``qkd process``: no key digest by default, no stored key that is not secret, a
warning row for insecure keys, and a secret sample on real records whatever ``--seed`` says."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qkdstack.cli.main import main
from qkdstack.link.recordfile import write_records

from synthetic import make_bb84_records

RUN = ["run", "--protocol", "bb84", "--pulses", "1e6", "--seed", "4"]


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    rc = main([*args, "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    return json.loads(out)


def test_json_report_carries_no_key_digest_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    rep = _json(capsys, *RUN)
    assert rep["secret_bits"] > 0 and "key_sha256" not in rep
    assert not any("sha256" in key or "digest" in key for key in rep)


def test_key_digest_is_there_when_asked_and_reproducible_only_when_seeded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeded = [*RUN, "--insecure-seeded-keys", "--key-digest"]
    a, b = _json(capsys, *seeded), _json(capsys, *seeded)
    assert len(a["key_sha256"]) == 64 and a["key_sha256"] == b["key_sha256"]
    assert a["secret_randomness"] == "insecure-seeded"
    c, d = _json(capsys, *RUN, "--key-digest"), _json(capsys, *RUN, "--key-digest")
    assert c["key_sha256"] != d["key_sha256"]  # PA seeds from secrets


@pytest.mark.parametrize("option", ["--insecure-seeded-keys", "--no-auth"])
def test_store_with_keys_that_are_not_secret_is_refused(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main([*RUN, option, "--store", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "'--store'" in err and f"'{option}'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "needle"),
    [("--insecure-seeded-keys", "insecure-seeded"), ("--no-auth", "unauthenticated")],
)
def test_table_warns_about_insecure_keys(
    option: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*RUN, option]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert len(lines) == 1 and needle in lines[0]


def test_table_has_no_warning_for_a_secure_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(RUN) == 0
    assert "WARNING" not in capsys.readouterr().out


def test_table_says_when_the_net_key_is_not_positive(capsys: pytest.CaptureFixture[str]) -> None:
    # Per-message tags: Cascade's round trips cost more key than 10^6 pulses produce.
    rep = _json(capsys, *RUN, "--auth-scope", "message")
    assert rep["net_key_positive"] is False and rep["net_secret_bits"] <= 0
    assert main([*RUN, "--auth-scope", "message"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert len(lines) == 1 and "net key not positive" in lines[0]


def _hardware_files(tmp_path: Path) -> tuple[Path, Path]:
    alice, bob = make_bb84_records(20_000, 0.05, seed=3)
    paths = []
    for records, name in ((alice, "alice"), (bob, "bob")):
        real = dataclasses.replace(records, meta=dataclasses.replace(records.meta, seed=None))
        path = tmp_path / f"{name}.parquet"
        write_records(real, path)
        paths.append(path)
    return paths[0], paths[1]


def test_process_real_records_sample_from_secrets_whatever_the_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = _hardware_files(tmp_path)
    args = ["process", "--alice", str(alice), "--bob", str(bob), "--seed", "7"]
    first, second = _json(capsys, *args), _json(capsys, *args)
    assert first["secret_randomness"] == "secrets"
    # Same seed, same records: a seeded sample would give the same error count every time. A
    # secret sample of ~1000 of ~10^4 bits at 5% has ~50 +- 7 errors: five equal counts in a row
    # have probability below 1e-5.
    counts = {first["sample_errors"], second["sample_errors"]}
    counts |= {_json(capsys, *args)["sample_errors"] for _ in range(3)}
    assert len(counts) > 1
    seeded = [*args, "--insecure-seeded-keys"]
    assert _json(capsys, *seeded)["sample_errors"] == _json(capsys, *seeded)["sample_errors"]


def test_process_refuses_store_without_authentication(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alice, bob = _hardware_files(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    rc = main(
        ["process", "--alice", str(alice), "--bob", str(bob), "--no-auth", "--store", str(store)]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "'--no-auth'" in err and "'--store'" in err
    assert list(store.iterdir()) == []


def test_e91_bound_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--protocol", "e91", "--pulses", "1e6", "--e91-bound", "loophole"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'--e91-bound'" in err and "loophole" in err
    args = ["run", "--protocol", "e91", "--pulses", "1e7", "--seed", "3", "--distance-km", "10"]
    args += ["--set", "mu_pair=0.02", "--set", "detector_efficiency=0.5"]
    default = _json(capsys, *args)
    assert not default["aborted"] and "device-dependent" in default["key_length_formula"]
    di = _json(capsys, *args, "--e91-bound", "device-independent")
    assert di["aborted"] and "refused" in di["key_length_formula"] and di["secret_bits"] == 0
