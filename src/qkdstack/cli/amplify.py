"""``qkd amplify``: apply a given Toeplitz matrix to a key, so anyone can check the hash.

``qkd amplify --in KEY.npy --seed SEED.npy --out-bits M --out OUT.npy`` reads the key (n bits) and the
seed (n + M - 1 bits), both ``.npy`` files holding 1-D ``uint8`` 0/1 arrays, and writes the ``M``-bit
``T key mod 2`` with ``T[i, j] = seed[i - j + n - 1]`` (:func:`qkdstack.processing.amplification.
toeplitz_hash`). Every input is checked before any work; on a refused input nothing is written. The
output is written to a temporary file beside it and renamed into place, mode 0600 (it is key
material); no key bit is ever printed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray

__all__ = ["check_output_path", "load_bit_file", "register", "save_bit_file"]


def load_bit_file(path: Path, option: str) -> BitArray:
    """Load a ``.npy`` file holding a 1-D ``uint8`` array of 0/1 values, or raise ParameterError."""
    if path.suffix != ".npy":
        raise ParameterError(f"Argument '{option}' must name a .npy file, not '{path}'.")
    if not path.is_file():
        raise ParameterError(f"Argument '{option}' must name an existing .npy file, not '{path}'.")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise ParameterError(
            f"Argument '{option}' must be a readable .npy file, not '{path}' ({reason})."
        ) from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        shape = getattr(arr, "shape", None)
        raise ParameterError(f"Argument '{option}' must hold a 1-D array, not shape {shape}.")
    if arr.dtype != np.uint8:
        raise ParameterError(f"Argument '{option}' must hold uint8 values, not {arr.dtype}.")
    if arr.size and int(arr.max()) > 1:
        raise ParameterError(
            f"Argument '{option}' must hold only 0/1 values, not {int(arr.max())} ('{path}')."
        )
    return np.ascontiguousarray(arr)


def check_output_path(out: Path, option: str, inputs: dict[str, Path]) -> None:
    """Refuse an output path that is a directory, in a missing or unwritable one, or an input."""
    if out.suffix != ".npy":
        raise ParameterError(f"Argument '{option}' must name a .npy file, not '{out}'.")
    if out.is_dir():
        raise ParameterError(f"Argument '{option}' must name a file, not the directory '{out}'.")
    parent = out.parent
    if not parent.is_dir():
        raise ParameterError(
            f"Argument '{option}' must be in an existing directory, not '{parent}' ('{out}')."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(
            f"Argument '{option}' must be in a writable directory, not '{parent}' ('{out}')."
        )
    for name, path in inputs.items():
        same = out.resolve() == path.resolve() or (out.exists() and os.path.samefile(out, path))
        if same:
            raise ParameterError(f"Argument '{option}' must differ from '{name}', not '{out}'.")


def save_bit_file(out: Path, bits: BitArray) -> None:
    """Write ``bits`` to ``out`` exactly (no suffix added), atomically, with mode 0600."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, bits)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _amplify_command(
    key_path: Annotated[Path, typer.Option("--in", help="The key (.npy, 1-D uint8 0/1, n bits).")],
    seed_path: Annotated[
        Path,
        typer.Option("--seed", help="The Toeplitz seed (.npy, 1-D uint8 0/1, n + M - 1 bits)."),
    ],
    out_bits: Annotated[int, typer.Option("--out-bits", help="M, the output length, 0 <= M <= n.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the M-bit result (.npy).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Apply T[i, j] = seed[i - j + n - 1] to the key: M = T key mod 2 (Toeplitz hashing)."""
    if out_bits < 0:
        raise ParameterError(f"Argument '--out-bits' must be >= 0, not {out_bits}.")
    from qkdstack.processing.amplification import toeplitz_hash
    from qkdstack.processing.warmup import warm_up_in_background

    warming = warm_up_in_background(["amplification"])  # load the kernels while files load
    key = load_bit_file(key_path, "--in")
    seed = load_bit_file(seed_path, "--seed")
    n = int(key.shape[0])
    if n == 0:
        raise ParameterError(f"Argument '--in' must hold at least one bit, not 0 ('{key_path}').")
    if out_bits > n:
        raise ParameterError(
            f"Argument '--out-bits' must be <= the key length {n}, not {out_bits}."
        )
    if seed.shape[0] != n + out_bits - 1:
        raise ParameterError(
            f"Argument '--seed' must hold n + M - 1 = {n + out_bits - 1} bits, not {seed.shape[0]}."
        )
    check_output_path(out, "--out", {"--in": key_path, "--seed": seed_path})
    warming.join()
    t0 = time.perf_counter()
    result = toeplitz_hash(key, seed, out_bits)
    seconds = time.perf_counter() - t0
    save_bit_file(out, result)
    report = {"bits_in": n, "bits_out": out_bits, "seconds": round(seconds, 6), "out": str(out)}
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for name, value in report.items():
            typer.echo(f"{name:>8}: {value}")


def register(app: typer.Typer) -> None:
    """Add ``qkd amplify`` to ``app``."""
    app.command("amplify")(_amplify_command)
