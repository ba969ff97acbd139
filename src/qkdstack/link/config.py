"""Link parameters from the command line: a named set, a TOML file, and ``name=value`` overrides.

Precedence, lowest first: ``base`` (or the defaults of :class:`~qkdstack.params.LinkParams`), the
named set ``--params NAME``, the ``--config FILE.toml`` values, then each ``--set name=value`` in
order. The TOML file holds top-level ``name = value`` pairs with the same names as ``--set``
(lists for ``intensities`` and ``intensity_probs``), for example::

    distance_km = 50
    source = "laser"
    intensities = [0.5, 0.1, 0.0002]

Unknown names raise :class:`~qkdstack.errors.ParameterError` listing the known ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams, get_param_set, parse_assignment

__all__ = ["load_config", "resolve_params"]


def load_config(config_path: Path) -> dict[str, Any]:
    """Read the parameter assignments of a TOML file; errors name ``--config`` and the file."""
    path = Path(config_path)
    if not path.is_file():
        raise ParameterError(f"Argument '--config' must be an existing TOML file, not '{path}'.")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(
            f"Argument '--config' must be a valid TOML file, not '{path}' ({exc})."
        ) from None
    nested = sorted(k for k, v in data.items() if isinstance(v, dict))
    if nested:
        raise ParameterError(
            f"Argument '--config' must hold top-level 'name = value' pairs, not the table "
            f"[{nested[0]}] in '{path}'; known parameters: {', '.join(LinkParams.field_names())}."
        )
    return dict(data)


def resolve_params(
    params_name: str | None,
    assignments: list[str],
    config_path: Path | None,
    base: LinkParams | None = None,
) -> LinkParams:
    """Build :class:`LinkParams` from ``--params``, ``--config`` and ``--set`` (in that order).

    Parameters
    ----------
    params_name : str or None
        A named parameter set (``"gys"``, ``"lim2014"``), applied over ``base``.
    assignments : list of str
        ``name=value`` strings, applied last, in order.
    config_path : Path or None
        A TOML file of ``name = value`` pairs.
    base : LinkParams or None
        Starting point when ``params_name`` is None (default: ``LinkParams()``).

    Raises
    ------
    ParameterError
        For an unknown set or parameter name (listing the known ones) or an invalid value.
    """
    params = get_param_set(params_name) if params_name is not None else (base or LinkParams())
    # One replace() for all changes, so that related fields (``intensities`` and
    # ``intensity_probs``) may change together and are validated together.
    changes: dict[str, Any] = load_config(config_path) if config_path is not None else {}
    for text in assignments:
        name, value = parse_assignment(text)
        changes[name] = value
    return params.replace(**changes) if changes else params
