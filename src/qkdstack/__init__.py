"""qkdstack: a complete, fast, honest Quantum Key Distribution stack.

Four layers, data flowing one way (link -> records -> processing -> key store):

* :mod:`qkdstack.link` - simulated quantum links (sources, fibre, detectors, protocols) that yield
  each party's detection records;
* :mod:`qkdstack.processing` - post-processing between two nodes over an authenticated classical
  channel: sifting, estimation, error correction, verification, privacy amplification;
* :mod:`qkdstack.adversary` - Eve: attacks on the quantum and the classical channel, and what she
  learned;
* :mod:`qkdstack.theory` - key rates and bounds from the literature;
* :mod:`qkdstack.kms` - the key store behind key delivery.

The names below are loaded on first use (PEP 562 module ``__getattr__``): ``import qkdstack`` costs
only this file, so a command that needs neither numba nor scipy does not pay for them.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from qkdstack._version import __version__

if TYPE_CHECKING:  # the same names, eagerly, for type checkers
    from qkdstack.errors import ParameterError, ProtocolAbort, QKDError
    from qkdstack.experiment import ExperimentResult, run_experiment
    from qkdstack.link import LinkOutput, Records, simulate
    from qkdstack.params import LinkParams
    from qkdstack.processing.channel import ClassicalChannel, Message
    from qkdstack.processing.pipeline import PipelineOptions, PipelineResult, run_postprocessing

__all__ = [
    "ClassicalChannel",
    "ExperimentResult",
    "LinkOutput",
    "LinkParams",
    "Message",
    "ParameterError",
    "PipelineOptions",
    "PipelineResult",
    "ProtocolAbort",
    "QKDError",
    "Records",
    "__version__",
    "run_experiment",
    "run_postprocessing",
    "simulate",
]

# Public name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "ClassicalChannel": "qkdstack.processing.channel",
    "ExperimentResult": "qkdstack.experiment",
    "LinkOutput": "qkdstack.link",
    "LinkParams": "qkdstack.params",
    "Message": "qkdstack.processing.channel",
    "ParameterError": "qkdstack.errors",
    "PipelineOptions": "qkdstack.processing.pipeline",
    "PipelineResult": "qkdstack.processing.pipeline",
    "ProtocolAbort": "qkdstack.errors",
    "QKDError": "qkdstack.errors",
    "Records": "qkdstack.link",
    "run_experiment": "qkdstack.experiment",
    "run_postprocessing": "qkdstack.processing.pipeline",
    "simulate": "qkdstack.link",
}


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first access (PEP 562) and cache the value.

    A sub-package or module (``qkdstack.theory``) is imported too, as when the package was eager.
    """
    if name not in _LAZY and not name.startswith("_") and find_spec(f"qkdstack.{name}") is not None:
        return importlib.import_module(f"qkdstack.{name}")  # the import binds it in globals()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qkdstack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy public ones included (PEP 562)."""
    return sorted({*globals(), *__all__})
