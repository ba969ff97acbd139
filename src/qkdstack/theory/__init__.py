"""Security theory: entropies, key rates and bounds. A leaf: imports nothing from the other layers."""

from __future__ import annotations

from qkdstack.theory.entropy import binary_entropy

__all__ = ["binary_entropy"]
