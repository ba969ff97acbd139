"""Post-processing: two nodes turn detection records into a verified secret key over a classical
channel (sifting, estimation, reconciliation, verification, amplification).

The names below are imported on first access (PEP 562), so that importing one light module of
the package (``qkdstack.processing.channel``, say) does not load the whole pipeline and its
compiled kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qkdstack._lazy import lazy_attributes

if TYPE_CHECKING:
    from qkdstack.processing.channel import ClassicalChannel, Message
    from qkdstack.processing.pipeline import (
        AliceNode,
        BobNode,
        PipelineOptions,
        PipelineResult,
        run_postprocessing,
    )

_LAZY = {
    "AliceNode": "qkdstack.processing.pipeline",
    "BobNode": "qkdstack.processing.pipeline",
    "ClassicalChannel": "qkdstack.processing.channel",
    "Message": "qkdstack.processing.channel",
    "PipelineOptions": "qkdstack.processing.pipeline",
    "PipelineResult": "qkdstack.processing.pipeline",
    "run_postprocessing": "qkdstack.processing.pipeline",
}

__all__ = [
    "AliceNode",
    "BobNode",
    "ClassicalChannel",
    "Message",
    "PipelineOptions",
    "PipelineResult",
    "run_postprocessing",
]


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
