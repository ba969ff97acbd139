"""A live progress display for long runs (``qkd run``, ``qkd simulate``): pulses done, detections,
key made, rate and ETA, on stderr.

It shows only on a terminal and only once a run has lasted :data:`SHOW_AFTER_S` seconds, so short
runs, pipes and ``--json`` output are untouched; it never shows key material (only counts). The
display refreshes when told (no refresh thread: worker processes may be forked meanwhile).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["SHOW_AFTER_S", "RunProgress", "format_progress"]

SHOW_AFTER_S = 2.0
"""Seconds a run lasts before its progress shows."""


def _si(value: float) -> str:
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.0f}"


def format_progress(
    pulses_done: int,
    pulses: int,
    detections: int,
    key_bits: int | None,
    elapsed_s: float,
) -> str:
    """One status line: share done, pulses, detections, key made, pulse rate and ETA."""
    share = pulses_done / pulses if pulses else 1.0
    rate = pulses_done / elapsed_s if elapsed_s > 0 else 0.0
    eta = (pulses - pulses_done) / rate if rate > 0 else float("nan")
    parts = [
        f"{100 * share:5.1f}%",
        f"pulses {_si(pulses_done)}/{_si(pulses)}",
        f"detections {_si(detections)}",
    ]
    if key_bits is not None:
        parts.append(f"key {_si(key_bits)} bits")
    parts.append(f"{_si(rate)} pulses/s")
    parts.append(f"ETA {eta:.0f} s" if eta == eta else "ETA ?")
    return "  ".join(parts)


class RunProgress:
    """Context manager; call :meth:`update` as the run advances.

    Parameters
    ----------
    pulses : int
        Pulses of the whole run (for the share done and the ETA).
    enabled : bool
        False (``--json``) shows nothing.
    stream : text file, optional
        Where to draw (default stderr); nothing is drawn unless it is a terminal.
    """

    def __init__(self, pulses: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.pulses = pulses
        out = sys.stderr if stream is None else stream
        self._console = Console(file=out, stderr=stream is None)
        self._enabled = enabled and self._console.is_terminal
        self._start = time.perf_counter()
        self._live: Live | None = None

    def __enter__(self) -> RunProgress:
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, pulses_done: int, detections: int, key_bits: int | None = None) -> None:
        """Show the run's state (drawn only on a terminal, after :data:`SHOW_AFTER_S`)."""
        if not self._enabled:
            return
        elapsed_s = time.perf_counter() - self._start
        if self._live is None and elapsed_s < SHOW_AFTER_S:
            return
        line = Text(format_progress(pulses_done, self.pulses, detections, key_bits, elapsed_s))
        if self._live is None:
            self._live = Live(
                line,
                console=self._console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(line, refresh=True)
