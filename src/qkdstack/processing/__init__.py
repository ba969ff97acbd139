"""Post-processing: two nodes turn detection records into a verified secret key over a classical
channel (sifting, estimation, reconciliation, verification, amplification).

The names below are imported on first access (PEP 562), so that importing one light module of
the package (``qkdstack.processing.channel``, say) does not load the whole pipeline and its
compiled kernels.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first access and cache the value (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'qkdstack.processing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
