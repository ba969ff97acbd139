"""Link parameters from the command line: moved to :mod:`qkdstack.params`, their one home.

:func:`~qkdstack.params.load_config` and :func:`~qkdstack.params.resolve_params` (a named set, a
TOML file, and ``name=value`` overrides) are re-exported here for existing imports.
"""

from __future__ import annotations

from qkdstack.params import load_config, resolve_params

__all__ = ["load_config", "resolve_params"]
