"""``qkd reconcile``: correct Bob's key towards Alice's with a registered error-correction method.

Both keys are ``.npy`` files holding equal-length ``uint8`` 0/1 arrays. The run goes through the
classical-channel seam exactly as in the pipeline (Alice's half answers behind the channel), so
``leaked_bits`` is what crossed the channel.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from qkdstack.cli.validation import check_finite, check_new_file, check_not_an_input
from qkdstack.errors import ParameterError, ReconciliationFailed
from qkdstack.processing.reconciliation import reconcile
from qkdstack.processing.reconciliation.base import method_names
from qkdstack.processing.warmup import warm_up_in_background

__all__ = ["register"]


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _load_bits(path: Path, option: str) -> np.ndarray:
    if not path.is_file():
        raise ParameterError(f"Argument '{option}' must name an existing .npy file, not '{path}'.")
    with path.open("rb") as fh:
        head = fh.read(len(_NPY_MAGIC))
    # Say what the file is, rather than what np.load guesses (it calls any non-.npy file
    # "pickled data").
    if not head:
        raise ParameterError(
            f"Argument '{option}' must be a .npy file, not the empty file '{path}'."
        )
    if head.startswith(_ZIP_MAGIC):
        raise ParameterError(
            f"Argument '{option}' must be a .npy file holding one array, not the .npz archive "
            f"'{path}'."
        )
    if head != _NPY_MAGIC:
        raise ParameterError(
            f"Argument '{option}' must be a .npy file, not '{path}' (no NumPy .npy header)."
        )
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
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


def _save_bits(path: Path, bits: np.ndarray) -> None:
    """Write ``bits`` as .npy to exactly ``path`` (no suffix added), through a temporary file."""
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("xb") as fh:
            np.save(fh, bits, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _reconcile_command(
    alice: Annotated[Path, typer.Option("--alice", help="Alice's key (.npy, uint8 0/1).")],
    bob: Annotated[Path, typer.Option("--bob", help="Bob's key (.npy, uint8 0/1).")],
    qber: Annotated[float, typer.Option("--qber", help="Error-rate estimate, in (0, 0.5).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write Bob's corrected key (.npy).")],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help=f"Error-correction method: {', '.join(method_names())} (cascade = cascade-opt8).",
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
    if method not in method_names():
        raise ParameterError(
            f"Argument '--method' must be one of {', '.join(method_names())}, not {method!r}."
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
        check_finite("--target-efficiency", target_efficiency)
        if not target_efficiency > 1.0:
            raise ParameterError(
                f"Argument '--target-efficiency' must be > 1, not {target_efficiency}."
            )
        options["target_efficiency"] = target_efficiency
    check_finite("--qber", qber)
    check_new_file("--out", out, force=True)
    check_not_an_input("--out", out, {"--alice": alice, "--bob": bob})
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
    if result.frames_failed:
        # A frame whose decoder did not converge leaves errors in Bob's key: nothing is written.
        raise ReconciliationFailed(
            f"{result.frames_failed} of {result.frames} frames failed to decode with --method "
            f"{method} at --qber {qber}; no corrected key was written to '{out}'.",
            stage="reconciliation",
        )
    _save_bits(out, result.key)
    report = {
        "method": method,
        "bits": int(alice_key.shape[0]),
        "leaked_bits": result.leaked_bits,
        "efficiency": None if math.isnan(result.efficiency) else round(result.efficiency, 6),
        "round_trips": result.round_trips,
        "frames": result.frames,
        "frames_failed": result.frames_failed,
        "seconds": round(result.seconds, 6),
        "out": str(out),
    }
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for name, value in report.items():
            typer.echo(f"{name:>14}: {value}")


def register(app: typer.Typer) -> None:
    """Add ``qkd reconcile`` to ``app``."""
    app.command("reconcile")(_reconcile_command)
