"""What a fresh process pays to import qkdstack: ``import qkdstack``, ``qkd --help`` and simple commands.

For each command, a fresh interpreter is started ``--repeats`` times (the first start is reported
apart as *first*: it may read files the OS has not cached yet; the median of the others is *warm*:
pyc files compiled, OS cache warm). Beside the wall times, one more run of each command lists which
heavy modules it loaded (numba, scipy, scipy.optimize, the link and processing layers), and
``python -X importtime -c 'import qkdstack'`` gives the import's own cumulative time. The baseline in
the same script is a bare interpreter (``python -c pass``).

``--before DIR`` measures another source tree (a checkout's ``src``) with this interpreter too, its
starts alternating with this tree's, so that the figures before and after a change share the load::

    git archive aab059f src | tar -x -C /tmp/before
    .venv/bin/python benchmarks/bench_import_time.py --before /tmp/before/src

Results in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = (
    "numba",
    "scipy",
    "scipy.optimize",
    "qkdstack.link",
    "qkdstack.processing",
    "qkdstack.theory.curves",
)

_CLI = "import sys; sys.argv = ['qkd', *{args!r}]; from qkdstack.cli.main import main; main()"

COMMANDS: dict[str, str] = {
    "python -c 'import qkdstack'": "import qkdstack",
    "qkd --help": _CLI.format(args=["--help"]),
    "qkd run --help": _CLI.format(args=["run", "--help"]),
    "qkd rates --help": _CLI.format(args=["rates", "--help"]),
    "qkd kms --help": _CLI.format(args=["kms", "--help"]),
}

_REPORT = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('HEAVY', *[m for m in {heavy!r} if m in sys.modules], "
    "file=sys.stderr))\n"
)


def _env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wall(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def heavy_modules(code: str, env: dict[str, str]) -> list[str]:
    """The modules of :data:`HEAVY` that ``code`` loaded, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _REPORT.format(heavy=HEAVY) + code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(x for x in out.stderr.splitlines() if x.startswith("HEAVY"))
    return line.split()[1:]


def importtime_us(module: str, env: dict[str, str]) -> int:
    """Cumulative microseconds of ``module``'s line of ``python -X importtime -c 'import MODULE'``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    for line in out.stderr.splitlines():
        match = re.match(rf"import time:\s+\d+ \|\s+(\d+) \| {re.escape(module)}$", line)
        if match:
            return int(match.group(1))
    raise RuntimeError(f"no {module} line in -X importtime output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="another tree's src: its starts alternate with ours",
    )
    parser.add_argument("--repeats", type=int, default=6, help="starts per command (first + 5)")
    args = parser.parse_args()
    trees = {"this": _env(args.src.resolve())}
    if args.before is not None:
        trees = {"before": _env(args.before.resolve()), **trees}
    print(f"trees: {args.before} -> {args.src}; load average (1, 5 min): {os.getloadavg()[:2]}")
    bare = [_wall("pass", trees["this"]) for _ in range(args.repeats)]
    print(f"python -c pass: median {statistics.median(bare[1:]):.3f} s")
    for name, code in COMMANDS.items():
        times: dict[str, list[float]] = {tree: [] for tree in trees}
        for _ in range(args.repeats):  # alternate the trees: the load drifts between starts
            for tree, env in trees.items():
                times[tree].append(_wall(code, env))
        warm = {tree: statistics.median(t[1:]) for tree, t in times.items()}
        for tree, t in times.items():
            print(
                f"{name} [{tree}]: first {t[0]:.3f} s, warm median {warm[tree]:.3f} s of "
                f"{[round(x, 3) for x in t[1:]]}; loads "
                f"{', '.join(heavy_modules(code, trees[tree])) or 'none of the heavy modules'}"
            )
        if "before" in warm:
            print(f"{name}: before / this = {warm['before'] / warm['this']:.2f}x")
    for module in ("qkdstack", "qkdstack.cli.main"):
        for tree, env in trees.items():
            cumulative = [importtime_us(module, env) for _ in range(args.repeats - 1)]
            print(
                f"-X importtime, {module} [{tree}] cumulative: median "
                f"{statistics.median(cumulative) / 1e3:.1f} ms of {[round(c / 1e3) for c in cumulative]}"
            )
    print(f"load average (1, 5 min) at the end: {os.getloadavg()[:2]}")


if __name__ == "__main__":
    main()
