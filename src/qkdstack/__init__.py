"""qkdstack: a complete, fast, honest Quantum Key Distribution stack.

Four layers, data flowing one way (link -> records -> processing -> key store):

* :mod:`qkdstack.link` - simulated quantum links (sources, fibre, detectors, protocols, attacks) that
  yield each party's detection records;
* :mod:`qkdstack.processing` - post-processing between two nodes over an authenticated classical
  channel: sifting, estimation, error correction, verification, privacy amplification;
* :mod:`qkdstack.theory` - key rates and bounds from the literature;
* :mod:`qkdstack.kms` - the key store behind key delivery.
"""

from __future__ import annotations

__version__ = "0.1.0"

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
