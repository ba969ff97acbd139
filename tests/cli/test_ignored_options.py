"""Options that would have no effect are refused (exit 2, one line) before any work is done."""

from __future__ import annotations

from pathlib import Path

import pytest

from qkdstack.cli.main import main
from qkdstack.link.recordfile import read_records


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--sample-fraction", "0.2"],
            "'--sample-fraction' must not be given with protocol decoy-bb84",
        ),
        (["--source", "laser", "--mu", "0.1"], "'--mu' has no effect with protocol decoy-bb84"),
        (["--protocol", "bb84", "--mu", "0.1"], "'--mu' needs --source laser"),
        (["--protocol", "bbm92", "--mu", "0.1"], "mu_pair"),
        (["--source", "single-photon"], "'--source' must be laser with protocol decoy-bb84"),
    ],
)
def test_run_refuses_options_without_effect(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    rc = main(["run", "--pulses", "1e5", "--seed", "1", *args])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert needle in captured.err and len(captured.err.strip().splitlines()) == 1


def test_run_accepts_the_same_options_where_they_act(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--protocol", "bb84", "--pulses", "1e5", "--sample-fraction", "0.2"]) == 0
    args = ["run", "--protocol", "bb84", "--source", "laser", "--mu", "0.1", "--pulses", "1e5"]
    assert main(args) == 0
    capsys.readouterr()


def test_rates_refuses_decoy_with_block_bits(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["rates", "--distance-km", "0,10", "--decoy", "vacuum-weak", "--block-bits", "1e8"])
    err = capsys.readouterr().err
    assert rc == 2 and "'--decoy' must not be given with --block-bits" in err
    assert len(err.strip().splitlines()) == 1


def test_process_refuses_sample_fraction_for_decoy_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rec"
    args = ["simulate", "--protocol", "decoy-bb84", "--pulses", "1e5", "--seed", "2"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    # The file declares the laser its decoy states come from.
    assert read_records(out / "alice.parquet").meta.params["source"] == "laser"
    files = ["--alice", str(out / "alice.parquet"), "--bob", str(out / "bob.parquet")]
    for extra, needle in (
        (["--sample-fraction", "0.3"], "'--sample-fraction' must not be given"),
        (["--mu", "0.3"], "'--mu' has no effect on these decoy-bb84 records"),
        (["--source", "laser"], "'--source' has no effect on decoy-bb84 records"),
    ):
        rc = main(["process", *files, *extra])
        captured = capsys.readouterr()
        assert rc == 2 and needle in captured.err and captured.out == "", extra


def test_auth_scope_without_authentication_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--protocol", "bb84", "--pulses", "1e5", "--no-auth"]
    rc = main([*args, "--auth-scope", "message"])
    err = capsys.readouterr().err
    assert rc == 2 and "'--auth-scope' has no effect with --no-auth" in err
    assert main([*args, "--json"]) == 0
    assert '"authenticated": false' in capsys.readouterr().out


def test_rates_refuses_decoy_for_a_protocol_without_decoys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["rates", "--protocol", "bb84", "--distance-km", "0,10", "--decoy", "infinite"])
    err = capsys.readouterr().err
    assert rc == 2 and "'--decoy' needs --protocol decoy-bb84, not 'bb84'" in err
