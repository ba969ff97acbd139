"""Post-processing: two nodes turn detection records into a verified secret key over a classical
channel (sifting, estimation, reconciliation, verification, amplification)."""

from __future__ import annotations

from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.pipeline import (
    AliceNode,
    BobNode,
    PipelineOptions,
    PipelineResult,
    run_postprocessing,
)

__all__ = [
    "AliceNode",
    "BobNode",
    "ClassicalChannel",
    "Message",
    "PipelineOptions",
    "PipelineResult",
    "run_postprocessing",
]
