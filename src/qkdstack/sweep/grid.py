"""The runs of a study: grid points (the product of the axes) times repeats, each with its seed.

Run ``index = point * repeats + repeat``, the points numbered in the order of
:func:`itertools.product` over the axes as the file lists them. The seed of each run is spawned from
the study's root: ``SeedSequence(seed, spawn_key=(point, repeat))`` is exactly the ``repeat``-th
child of the ``point``-th child of ``SeedSequence(seed)`` (NumPy's spawn tree), so a run's seed
depends only on its place in the grid, never on the executor, the worker count or the order in which
runs finish.

References
----------
NumPy, "Parallel random number generation" (``SeedSequence.spawn``), numpy.org/doc/stable/reference
/random/parallel.html.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from qkdstack.sweep.study import Commands, Study, Value

__all__ = ["RunSpec", "run_seed", "study_runs"]


@dataclass(frozen=True)
class RunSpec:
    """One run of a study.

    Attributes
    ----------
    index : int
        ``point * repeats + repeat``: the key of its row and of its part file.
    point : int
        Position of its grid point in the product of the axes.
    repeat : int
        0 .. repeats - 1.
    seed : int
        The run's seed, in [0, 2**63).
    command : str
        ``"run"`` or ``"rates"``.
    values : dict
        Every fixed and axis option of this run by its study name (fixed first, then the axes).
    commands : Commands
        The command line that runs it (:attr:`Study.commands <qkdstack.sweep.study.Study>`).
    """

    index: int
    point: int
    repeat: int
    seed: int
    command: str
    values: dict[str, Value]
    commands: Commands = field(compare=False, repr=False)


def run_seed(root: int, point: int, repeat: int) -> int:
    """The seed of run (``point``, ``repeat``) of a study whose root seed is ``root``.

    Returns
    -------
    int
        63 bits of ``SeedSequence(root, spawn_key=(point, repeat)).generate_state``, so that it
        fits a signed 64-bit Parquet column and ``qkd run --seed`` (which wants a value >= 0).
    """
    seq = np.random.SeedSequence(root, spawn_key=(point, repeat))
    return int(seq.generate_state(1, dtype=np.uint64)[0]) >> 1


def study_runs(study: Study) -> Iterator[RunSpec]:
    """Every run of ``study`` in index order."""
    names = list(study.axes)
    for point, combo in enumerate(itertools.product(*study.axes.values())):
        values: dict[str, Value] = {**study.fixed, **dict(zip(names, combo, strict=True))}
        for repeat in range(study.repeats):
            yield RunSpec(
                index=point * study.repeats + repeat,
                point=point,
                repeat=repeat,
                seed=run_seed(study.seed, point, repeat),
                command=study.command,
                values=values,
                commands=study.commands,
            )
