"""``qkd bench ...``: quick throughput figures of single stages on this machine.

``qkd bench amplify --bits N [--out-bits M] [--repeats R] [--json]`` hashes a random N-bit key to M
bits (default N/2) with the Toeplitz hash of the pipeline and prints ``bits_in``, ``bits_out``,
``seconds`` (the median of R timed calls, after one untimed call that warms caches and compiled
kernels) and ``mbit_per_s`` (input bits per second). The random key and seed are benchmark data
from a seeded generator, never key material.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Annotated

import numpy as np
import typer

from qkdstack.errors import ParameterError

__all__ = ["register"]

_MAX_BENCH_BITS = 1 << 30

bench_app = typer.Typer(
    help="Throughput of single stages on this machine.", no_args_is_help=True, add_completion=False
)


@bench_app.command("amplify")
def _bench_amplify(
    bits: Annotated[int, typer.Option("--bits", help="Input length N (bits).")],
    out_bits: Annotated[
        int | None, typer.Option("--out-bits", help="Output length M, 0 <= M <= N (default N/2).")
    ] = None,
    repeats: Annotated[int, typer.Option("--repeats", help="Timed calls (median).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Time Toeplitz privacy amplification of N random bits."""
    from qkdstack.processing.amplification import toeplitz_hash

    if not 1 <= bits <= _MAX_BENCH_BITS:
        raise ParameterError(f"Argument '--bits' must be in [1, {_MAX_BENCH_BITS}], not {bits}.")
    m = bits // 2 if out_bits is None else out_bits
    if not 0 <= m <= bits:
        raise ParameterError(f"Argument '--out-bits' must be in [0, {bits}], not {out_bits}.")
    if not 1 <= repeats <= 1000:
        raise ParameterError(f"Argument '--repeats' must be in [1, 1000], not {repeats}.")
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2, bits, dtype=np.uint8)
    seed = rng.integers(0, 2, bits + m - 1, dtype=np.uint8)
    toeplitz_hash(key, seed, m)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        toeplitz_hash(key, seed, m)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    report = {
        "bits_in": bits,
        "bits_out": m,
        "seconds": round(seconds, 6),
        "mbit_per_s": round(bits / seconds / 1e6, 3),
    }
    if as_json:
        typer.echo(json.dumps(report))
    else:
        for name, value in report.items():
            typer.echo(f"{name:>10}: {value}")


def register(app: typer.Typer) -> None:
    """Add the ``qkd bench`` group to ``app``."""
    app.add_typer(bench_app, name="bench")
