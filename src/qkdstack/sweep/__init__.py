"""Parameter sweeps: a study file's grid of ``qkd run`` / ``qkd rates`` runs, on Dask, into Parquet.

* :mod:`~qkdstack.sweep.study` - the study file (TOML), checked before anything runs;
* :mod:`~qkdstack.sweep.grid` - the runs: grid points times repeats, seeds spawned by position;
* :mod:`~qkdstack.sweep.runner` - one run: the ``qkd`` command in-process, its report as a row;
* :mod:`~qkdstack.sweep.results` - rows streamed to Parquet parts, resumed, merged;
* :mod:`~qkdstack.sweep.execute` - the driver, on a local Dask cluster or a given scheduler.
"""

from __future__ import annotations

from qkdstack.sweep.execute import SweepSummary, dask_executor, run_sweep
from qkdstack.sweep.grid import RunSpec, run_seed, study_runs
from qkdstack.sweep.results import read_results
from qkdstack.sweep.runner import execute_run
from qkdstack.sweep.study import Study, StudyError, load_study, parse_study

__all__ = [
    "RunSpec",
    "Study",
    "StudyError",
    "SweepSummary",
    "dask_executor",
    "execute_run",
    "load_study",
    "parse_study",
    "read_results",
    "run_seed",
    "run_sweep",
    "study_runs",
]
