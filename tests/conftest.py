"""Test-suite set-up: the shared helpers of ``tests/helpers.py`` get pytest's assertion rewriting.

``tests/`` is on the path (``pythonpath`` in pyproject.toml), so test modules import the helpers as
``from helpers import h2, noisy_pair, ...``; those helpers never import qkdstack, so that a test
holds the library to an independent reference.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("helpers")
