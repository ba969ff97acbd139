"""The package version, in a module of its own so that any layer can read it without importing the
top-level package's public facade (:mod:`qkdstack`), which names every layer."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
