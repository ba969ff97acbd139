"""How long a new user waits: ``qkd run --seed 1`` cold and warm, and ``qkd --help``.

*Cold* is the first run after ``make install``: a fresh process with an empty numba cache
(``NUMBA_CACHE_DIR`` pointed at a new folder), so the numba kernels are compiled and cached.
*Warm* is every later run: a fresh process that loads the cached kernels. The baseline, measured
the same way, is a bare interpreter (``python -c pass``). Results in BENCHMARKS.md; run from the
repository root:

    .venv/bin/python benchmarks/bench_cli_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QKD = str(Path(sys.executable).with_name("qkd"))


def _wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 repeat instead of 3")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    cache = tempfile.mkdtemp(prefix="numba-cold-")
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    try:
        load = os.getloadavg()[0]
        cold = _wall([QKD, "run", "--seed", "1"], env)
        warm = [_wall([QKD, "run", "--seed", "1"], env) for _ in range(repeats)]
        helps = [_wall([QKD, "--help"], env) for _ in range(repeats)]
        bare = [_wall([sys.executable, "-c", "pass"], env) for _ in range(repeats)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"load average (1 min) at start: {load:.2f}")
    print(f"qkd run --seed 1, cold: {cold:.2f} s")
    print(f"qkd run --seed 1, warm: median {statistics.median(warm):.2f} s of {warm}")
    print(f"qkd --help: median {statistics.median(helps):.2f} s")
    base = statistics.median(bare)
    print(f"python -c pass (baseline): median {base:.3f} s")
    print(
        f"ratios to the baseline: cold {cold / base:.0f}x, warm "
        f"{statistics.median(warm) / base:.0f}x, help {statistics.median(helps) / base:.0f}x"
    )


if __name__ == "__main__":
    main()
