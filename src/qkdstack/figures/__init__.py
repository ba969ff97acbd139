"""Figures: a sweep's results (``qkd plot``), one run's story (``qkd run --plot``), and the lines
theory expects beside simulated points."""

from __future__ import annotations

from qkdstack.figures.results import check_figure_path, plot_results
from qkdstack.figures.run_story import draw_run_story

__all__ = ["check_figure_path", "draw_run_story", "plot_results"]
