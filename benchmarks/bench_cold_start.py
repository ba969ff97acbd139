"""Cold start of Cascade: a fresh `qkd reconcile` of 10^6 bits against the warm figure.

Every figure comes from fresh subprocesses (medians over --runs):

- ``cli``: ``qkd reconcile --json`` as shipped (kernels warmed in a thread while the inputs load);
- ``cli_no_warmup``: the same command with the background warm-up replaced by nothing, i.e.
  ``qkd reconcile`` as it was before issue 16 (its first kernel call pays numba's start-up);
- ``warm``: one process calling ``reconcile`` three times; the median of calls 2 and 3;
- ``no_cache`` (one run): ``cli_no_warmup`` with ``NUMBA_CACHE_DIR`` pointing at an empty directory,
  the first run of an install whose caches were not built (what ``make install``'s ``qkd warmup``
  avoids).

Reported: the ``seconds`` each run reports for the reconciliation, its Mbit/s, and the wall time of
the whole process. QBER 2%, the default method (cascade), seed 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_NO_WARMUP = """
import sys
import qkdstack.cli.reconcile as command
from qkdstack.cli.main import main

class _Nothing:
    def join(self) -> None:
        pass

command.warm_up_in_background = lambda stages: _Nothing()
sys.exit(main(sys.argv[1:]))
"""
_LIBRARY = """
import sys, numpy as np
from qkdstack.processing.reconciliation import reconcile
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
for _ in range(int(sys.argv[3])):
    print(reconcile(a, b, 0.02, method="cascade", seed=1).seconds)
"""


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[list[float], float]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    wall = time.perf_counter() - t0
    lines = done.stdout.strip().splitlines()
    if lines and lines[0].startswith("{"):
        return [float(json.loads(lines[0])["seconds"])], wall
    return [float(x) for x in lines], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bits", type=int, default=10**6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cache-run", action="store_true", help="also time a cache-less run")
    parser.add_argument("--quick", action="store_true", help="2 runs of 2 x 10^5 bits")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.bits = 2, 2 * 10**5
    qkd = str(Path(sys.executable).with_name("qkd"))
    rng = np.random.default_rng(1)
    alice = rng.integers(0, 2, args.bits, dtype=np.uint8)
    bob = alice ^ (rng.random(args.bits) < 0.02).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        a, b, c = (str(Path(tmp) / name) for name in ("a.npy", "b.npy", "c.npy"))
        np.save(a, alice)
        np.save(b, bob)
        cli_cmd = [qkd, "reconcile", "--alice", a, "--bob", b, "--qber", "0.02", "--out", c]
        cli_cmd += ["--seed", "1", "--json"]
        old_cmd = [sys.executable, "-c", _NO_WARMUP, *cli_cmd[1:]]
        lib_cmd = [sys.executable, "-c", _LIBRARY, a, b]
        load0 = os.getloadavg()[0]
        rows: dict[str, tuple[float, float]] = {}
        cli, lib, cli_wall, lib_wall = [], [], [], []
        for _ in range(args.runs):  # interleaved, so load drifts hit both alike
            s, w = _run(cli_cmd)
            cli.append(s[0])
            cli_wall.append(w)
            s, w = _run(old_cmd)
            lib.append(s[0])
            lib_wall.append(w)
        rows["cli"] = (statistics.median(cli), statistics.median(cli_wall))
        rows["cli_no_warmup"] = (statistics.median(lib), statistics.median(lib_wall))
        s, w = _run([*lib_cmd, "3"])
        rows["warm"] = (statistics.median(s[1:]), float("nan"))
        if args.no_cache_run:
            with tempfile.TemporaryDirectory() as cache:
                s, w = _run(old_cmd, env={**os.environ, "NUMBA_CACHE_DIR": cache})
            rows["no_cache"] = (s[0], w)
        load1 = os.getloadavg()[0]
    warm = rows["warm"][0]
    print(f"# {args.bits:,} bits, runs {args.runs}, load average {load0:.2f} -> {load1:.2f}")
    for name, (seconds, wall) in rows.items():
        print(
            f"{name:>13}: reported {seconds:6.3f} s = {args.bits / seconds / 1e6:5.2f} Mbit/s "
            f"({seconds / warm:4.2f}x warm), process wall {wall:5.2f} s"
        )


if __name__ == "__main__":
    main()
