"""The streamed pipeline (``qkd run --realtime``): the block-at-a-time run's keys and report, on a
pool of workers, in bounded memory, with the realtime fields of the report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qkdstack.blocked import block_sizes, run_in_blocks
from qkdstack.cli.main import main
from qkdstack.errors import ParameterError
from qkdstack.experiment import key_digest
from qkdstack.params import LinkParams
from qkdstack.processing.pipeline import PipelineOptions
from qkdstack.stream import run_streaming
from qkdstack.typing import BitArray

REALTIME = ("link_seconds", "wall_seconds", "realtime_factor", "blocks", "peak_rss_mib")
_RUN_DEPENDENT = {*REALTIME, "timings_s", "block_reports"}
"""Fields that measure the run (times, memory) or are laid out differently: the rest must agree."""


def _collect(digests: list[tuple[str, str]]) -> Any:
    def deposit(alice_key: BitArray, bob_key: BitArray) -> int:
        digests.append((key_digest(alice_key), key_digest(bob_key)))
        return 0

    return deposit


def _without_times(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in _RUN_DEPENDENT}


@pytest.mark.parametrize(
    ("protocol", "pulses", "block"),
    [("decoy-bb84", 3 * 10**8, 10**8), ("bb84", 10**6, 3 * 10**5)],
)
def test_streamed_keys_equal_the_block_at_a_time_keys(
    protocol: str, pulses: int, block: int
) -> None:
    params = LinkParams(source="laser") if protocol == "decoy-bb84" else LinkParams()
    options = PipelineOptions(secure_randomness=False)  # seeded keys: comparable (tests only)
    blocked: list[tuple[str, str]] = []
    streamed: list[tuple[str, str]] = []
    a = run_in_blocks(
        protocol, params, pulses, seed=11, options=options, deposit=_collect(blocked),
        block_pulses=block,
    )  # fmt: skip
    b = run_streaming(
        protocol, params, pulses, seed=11, options=options, deposit=_collect(streamed),
        block_pulses=block, workers=2,
    )  # fmt: skip
    k = math.ceil(pulses / block)
    assert len(blocked) == k >= 3 and b["blocks"] == k
    assert streamed == blocked  # the same keys, block by block, in order
    assert all(alice == bob for alice, bob in streamed)
    assert b["secret_bits"] > 0
    # Same report (counts summed over blocks, one report per block) apart from what is measured.
    block_list = a.pop("blocks")
    assert _without_times(b) == _without_times(a)
    assert [_without_times(r) for r in b["block_reports"]] == [
        _without_times(r) for r in block_list
    ]
    assert b["timings_s"].keys() == a["timings_s"].keys()


def test_one_block_is_one_run_and_one_worker_is_the_same_stream() -> None:
    options = PipelineOptions(secure_randomness=False)
    one: list[tuple[str, str]] = []
    many: list[tuple[str, str]] = []
    single = run_streaming(
        "bb84", LinkParams(), 10**6, seed=4, options=options, deposit=_collect(one)
    )
    assert single["blocks"] == 1 and "block_reports" not in single
    plain: list[tuple[str, str]] = []
    ref = run_in_blocks(
        "bb84", LinkParams(), 10**6, seed=4, options=options, deposit=_collect(plain)
    )
    assert one == plain and _without_times(single) == _without_times(ref)
    run_streaming(
        "bb84", LinkParams(), 10**6, seed=4, options=options, deposit=_collect(many),
        block_pulses=250_000, workers=1,
    )  # fmt: skip
    two: list[tuple[str, str]] = []
    run_streaming(
        "bb84", LinkParams(), 10**6, seed=4, options=options, deposit=_collect(two),
        block_pulses=250_000, workers=2,
    )  # fmt: skip
    assert len(many) == 4 and many == two


def test_block_plan_from_block_pulses() -> None:
    sizes = block_sizes("bb84", LinkParams(), 10**6 + 1, block_pulses=300_000)
    assert sizes == [250_001, 250_000, 250_000, 250_000] and sum(sizes) == 10**6 + 1
    assert block_sizes("bb84", LinkParams(), 10, block_pulses=10**9) == [10]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ParameterError, match="block_pulses"):
        run_streaming("bb84", LinkParams(), 10**6, block_pulses=0)
    with pytest.raises(ParameterError, match="workers"):
        run_streaming("bb84", LinkParams(), 10**6, workers=0)


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    rc = main(["run", "--json", *args])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.err == ""  # no progress display with --json (nor off a terminal)
    rep: dict[str, Any] = json.loads(captured.out)
    return rep


def test_cli_realtime_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--protocol", "bb84", "--pulses", "1e6", "--block-pulses", "2.5e5", "--seed", "2")
    args = (*args, "--insecure-seeded-keys")
    rt = _cli_json(capsys, "--realtime", "--key-digest", *args)
    plain = _cli_json(capsys, "--key-digest", *args)
    assert rt["key_sha256"] == plain["key_sha256"] and rt["secret_bits"] == plain["secret_bits"] > 0
    for name in REALTIME:
        assert name in rt, name
        assert name not in plain or name == "blocks", name
    pulse_rate_hz = LinkParams().pulse_rate_hz
    assert rt["link_seconds"] == pytest.approx(1e6 / pulse_rate_hz, rel=1e-12)
    assert rt["wall_seconds"] > 0
    assert rt["realtime_factor"] == pytest.approx(rt["link_seconds"] / rt["wall_seconds"])
    assert rt["blocks"] == 4 and len(rt["block_reports"]) == 4 and len(plain["blocks"]) == 4
    assert 10 < rt["peak_rss_mib"] < 2**16
    # Key fields keep their meaning: summed over the blocks.
    for name in ("detections", "sifted_bits", "secret_bits", "leaked_ec_bits"):
        assert rt[name] == sum(b[name] for b in rt["block_reports"]), name


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "x"])
def test_cli_bad_block_pulses_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    rc = main(["run", "--realtime", "--pulses", "1e6", "--block-pulses", value])
    err = capsys.readouterr().err
    assert rc == 2 and "--block-pulses" in err and len(err.strip().splitlines()) == 1


def test_stream_blocks_are_bounded_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """The producer never has more than workers + 1 blocks submitted and not yet taken."""
    import qkdstack.stream as stream

    outstanding: list[int] = []
    real_submit = stream.ProcessPoolExecutor.submit
    taken: list[int] = []

    def submit(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        outstanding.append(len(outstanding) + 1 - len(taken))  # submitted, not yet taken
        return real_submit(self, fn, *args, **kwargs)

    def progress(done: int, detections: int, key_bits: int) -> None:
        taken.append(done)

    monkeypatch.setattr(stream.ProcessPoolExecutor, "submit", submit)
    run_streaming(
        "bb84", LinkParams(), 2 * 10**6, seed=1, block_pulses=200_000, workers=2,
        progress=progress,
    )  # fmt: skip
    assert len(outstanding) == 10 and max(outstanding) <= 3
    assert taken == sorted(taken) and taken[-1] == 2 * 10**6


@pytest.mark.slow
def test_memory_stays_bounded_while_1e11_pulses_stream(tmp_path: Path) -> None:
    """10^11 pulses of decoy BB84 over 100 km (4.2e7 detections, about 4.6 GB if held at once at
    ~110 bytes per detection) stream through in 20 blocks: the peak memory is that of a stream of
    4 of the same blocks, whatever the length (100 km keeps the test to minutes; at 25 km the
    same holds with 1.3e9 detections, as ``benchmarks/bench_stream.py`` measures over 10^10)."""
    import subprocess
    import sys

    def run(pulses: str) -> dict[str, Any]:
        code = (
            "import sys; from qkdstack.cli.main import main; "
            f"sys.exit(main(['run', '--realtime', '--pulses', '{pulses}', '--block-pulses', "
            "'5e9', '--distance-km', '100', '--seed', '1', '--json']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=3600,
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rep: dict[str, Any] = json.loads(done.stdout)
        return rep

    short, long = run("2e10"), run("1e11")
    assert short["blocks"] == 4 and long["blocks"] == 20
    assert long["detections"] > 4 * 10**7 > 5 * short["detections"] / 2
    assert long["peak_rss_mib"] < 1.25 * short["peak_rss_mib"] + 64
    assert long["peak_rss_mib"] < 2048
    assert np.isfinite(long["realtime_factor"])


def test_the_collector_is_unfrozen_after_a_stream() -> None:
    # The parent freezes its objects before forking the workers, and unfreezes them at the end,
    # also when a block fails: nothing of the caller's stays out of the collector's reach.
    import gc

    run_streaming("bb84", LinkParams(), 4 * 10**5, seed=3, block_pulses=10**5, workers=2)
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError, match="a failing link"):
        run_streaming(
            "bb84", LinkParams(), 4 * 10**5, seed=3, block_pulses=10**5, workers=2,
            attack=FailingLink(),
        )  # fmt: skip
    assert gc.get_freeze_count() == 0


class FailingLink:
    """An 'attack' whose link simulation fails inside the worker."""

    name = "failing"

    def simulate(self, *args: Any) -> Any:
        raise RuntimeError("a failing link")
