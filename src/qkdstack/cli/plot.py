"""``qkd plot``: a figure of a sweep's results (placeholder until written)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``qkd plot`` to the application."""
