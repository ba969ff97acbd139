"""The quantum link: sources, channels, detectors, protocols, and the detection records they yield.

Public entry point: :func:`simulate`. Kernels for reuse (attacks, tests): :mod:`.sources`,
:mod:`.channels`, :mod:`.detectors`, :mod:`.events`, :mod:`.protocols`.
"""

from __future__ import annotations

from qkdstack.link.records import LinkOutput, RecordMeta, Records
from qkdstack.link.simulator import LinkStream, simulate, simulate_to_files, stream

__all__ = [
    "LinkOutput",
    "LinkStream",
    "RecordMeta",
    "Records",
    "simulate",
    "simulate_to_files",
    "stream",
]
