"""``qkd reconcile``: correct Bob's key towards Alice's with a registered error-correction method.

Both keys are ``.npy`` files holding equal-length ``uint8`` 0/1 arrays. The run goes through the
classical-channel seam exactly as in the pipeline (Alice's half answers behind the channel), so
``leaked_bits`` is what crossed the channel.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from qkdstack.errors import ParameterError
from qkdstack.processing.reconciliation import METHODS, reconcile
from qkdstack.processing.warmup import warm_up_in_background

__all__ = ["register"]


def _load_bits(path: Path, option: str) -> np.ndarray:
    if not path.is_file():
        raise ParameterError(f"Argument '{option}' must name an existing .npy file, not '{path}'.")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"Argument '{option}' must be a readable .npy file, not '{path}' ({exc})."
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(
            f"Argument '{option}' must hold a non-empty 1-D array, not shape {arr.shape}."
        )
    if arr.dtype.kind not in "biu" or arr.min() < 0 or arr.max() > 1:
        raise ParameterError(f"Argument '{option}' must hold only 0/1 values ('{path}').")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _reconcile_command(
    alice: Annotated[Path, typer.Option("--alice", help="Alice's key (.npy, uint8 0/1).")],
    bob: Annotated[Path, typer.Option("--bob", help="Bob's key (.npy, uint8 0/1).")],
    qber: Annotated[float, typer.Option("--qber", help="Error-rate estimate, in (0, 0.5).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write Bob's corrected key (.npy).")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help=f"Error-correction method: {', '.join(sorted(METHODS))} (cascade = cascade-opt8).",
        ),
    ] = "cascade",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the public shuffles (default: random).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    target_efficiency: Annotated[
        float | None,
        typer.Option(
            "--target-efficiency",
            help="ldpc only: the f* each frame's syndrome is sized for (> 1; default: by code "
            "length, 1.10 on 2^20-bit frames where measured, else 1.15 on 2^18-bit frames).",
        ),
    ] = None,
) -> None:
    """Correct Bob's key towards Alice's and report the leakage and efficiency."""
    if method not in METHODS:
        raise ParameterError(
            f"Argument '--method' must be one of {', '.join(sorted(METHODS))}, not {method!r}."
        )
    if not 0.0 < qber < 0.5:
        raise ParameterError(f"Argument '--qber' must be in (0, 0.5), not {qber}.")
    if seed is not None and seed < 0:
        raise ParameterError(f"Argument '--seed' must be >= 0, not {seed}.")
    options = {}
    if target_efficiency is not None:
        if method != "ldpc":
            raise ParameterError(
                f"Argument '--target-efficiency' applies to --method ldpc only, not {method!r}."
            )
        if not target_efficiency > 1.0:
            raise ParameterError(
                f"Argument '--target-efficiency' must be > 1, not {target_efficiency}."
            )
        options["target_efficiency"] = target_efficiency
    # Load the kernels while the inputs are read and checked (issue 16: fast from the first call).
    warming = warm_up_in_background(["ldpc" if method.startswith("ldpc") else "cascade"])
    alice_key = _load_bits(alice, "--alice")
    bob_key = _load_bits(bob, "--bob")
    if alice_key.shape != bob_key.shape:
        raise ParameterError(
            f"Arguments '--alice' and '--bob' must have equal lengths, not {alice_key.shape[0]} "
            f"and {bob_key.shape[0]}."
        )
    warming.join()
    result = reconcile(alice_key, bob_key, qber, method=method, seed=seed, options=options)
    np.save(out, result.key)
    report = {
        "method": method,
        "bits": int(alice_key.shape[0]),
        "leaked_bits": result.leaked_bits,
        "efficiency": None if math.isnan(result.efficiency) else round(result.efficiency, 6),
        "round_trips": result.round_trips,
        "frames": result.frames,
        "frames_failed": result.frames_failed,
        "seconds": round(result.seconds, 6),
    }
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for name, value in report.items():
            typer.echo(f"{name:>14}: {value}")


def register(app: typer.Typer) -> None:
    """Add ``qkd reconcile`` to ``app``."""
    app.command("reconcile")(_reconcile_command)
