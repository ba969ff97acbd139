"""The live progress display: one status line on a terminal only, never with --json or a pipe."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import qkdstack.cli.progress as progress_mod
from qkdstack.cli.progress import RunProgress, format_progress
from qkdstack.link.simulator import simulate_to_files
from qkdstack.params import LinkParams


def test_status_line_has_counts_rate_and_eta() -> None:
    line = format_progress(3 * 10**8, 10**9, 3_950_000, 250_000, 2.0)
    assert line.split()[0] == "30.0%"
    assert "pulses 300M/1G" in line and "detections 3.95M" in line and "key 250k bits" in line
    assert "150M pulses/s" in line
    assert "ETA 5 s" in line  # 7e8 pulses left at 1.5e8 pulses/s: 4.67 s
    assert "ETA ?" in format_progress(0, 10, 0, None, 0.0)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_shows_on_a_terminal_after_the_delay_only(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = io.StringIO()  # a pipe or file: nothing drawn
    with RunProgress(100, stream=quiet) as p:
        monkeypatch.setattr(progress_mod, "SHOW_AFTER_S", 0.0)
        p.update(50, 5, 1)
    assert quiet.getvalue() == ""
    tty = _Terminal()
    with RunProgress(100, stream=tty, enabled=False) as p:  # --json
        p.update(50, 5, 1)
    assert tty.getvalue() == ""
    monkeypatch.setattr(progress_mod, "SHOW_AFTER_S", 3600.0)
    with RunProgress(100, stream=tty) as p:  # a short run
        p.update(50, 5, 1)
    assert tty.getvalue() == ""
    monkeypatch.setattr(progress_mod, "SHOW_AFTER_S", 0.0)
    with RunProgress(100, stream=tty) as p:
        p.update(50, 5, 7)
    assert "50.0%" in tty.getvalue() and "detections 5" in tty.getvalue()


def test_simulate_reports_progress_per_chunk(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    summary = simulate_to_files(
        "bb84", LinkParams(), 10**6, tmp_path, seed=3, chunk_detections=1000,
        progress=lambda done, det: seen.append((done, det)),
    )  # fmt: skip
    assert len(seen) >= 3
    assert [s for s in seen] == sorted(seen) and seen[-1][1] == summary["detections"]
    assert all(0 < done <= 10**6 for done, _ in seen)
