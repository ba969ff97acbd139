"""Kernel warm-up: every numba kernel is disk-cached; warm_up runs stages; the thread fails quietly."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from numba.core.dispatcher import Dispatcher

import qkdstack
from qkdstack.errors import ParameterError
from qkdstack.processing import warmup


def _kernels() -> list[tuple[str, Dispatcher]]:
    found = []
    for info in pkgutil.walk_packages(qkdstack.__path__, "qkdstack."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.__module__ == module.__name__:
                found.append((f"{info.name}.{name}", value))
    return found


def test_every_kernel_is_cached_on_disk() -> None:
    """A fresh process must load machine code, not recompile (inline-always helpers have no body)."""
    kernels = _kernels()
    assert len(kernels) >= 20
    uncached = [
        name
        for name, kernel in kernels
        if type(kernel._cache).__name__ == "NullCache"
        and kernel.targetoptions.get("inline") != "always"
    ]
    assert uncached == []


def test_warm_up_runs_the_named_stages() -> None:
    seconds = warmup.warm_up(["amplification"])
    assert list(seconds) == ["amplification"]
    assert seconds["amplification"] >= 0.0
    assert set(warmup.STAGES) == {"cascade", "ldpc", "amplification", "link"}


def test_unknown_stage_is_refused_before_work() -> None:
    with pytest.raises(ParameterError, match="'cascad'"):
        warmup.warm_up(["amplification", "cascad"])
    with pytest.raises(ParameterError, match="'nope'"):
        warmup.warm_up_in_background(["nope"])


def test_background_failure_is_dropped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []

    def broken() -> None:
        calls.append("ran")
        raise RuntimeError("boom")

    monkeypatch.setitem(warmup._WARMERS, "link", broken)
    thread = warmup.warm_up_in_background(["link"])
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert thread.daemon
    assert calls == ["ran"]
    assert "boom" not in capsys.readouterr().err
