"""Checks the commands make before any work: counts, finite numbers, and the paths they write.

Every check raises :class:`~qkdstack.errors.ParameterError` (exit status 2, one line) naming the
option, the constraint and the value. Output paths are checked before a run starts, so that a
missing or read-only directory is reported at once and not after minutes of simulation; nothing is
created or changed by a check.
"""

from __future__ import annotations

import math
import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from qkdstack.errors import ParameterError
from qkdstack.params import MAX_PULSES

if TYPE_CHECKING:
    pass

__all__ = [
    "check_finite",
    "check_new_file",
    "check_not_an_input",
    "check_process_options",
    "check_writable_dir",
    "parse_count",
    "parse_grid",
]

_POWER = re.compile(r"^\s*(\d+)\s*\*\*\s*(\d+)\s*$")


def parse_count(option: str, text: str, minimum: int = 1, maximum: int = MAX_PULSES) -> int:
    """Parse a count such as ``100000000``, ``1e8`` or ``10**8``, exactly; errors name the option.

    The value must be an integer in ``[minimum, maximum]``; ``10**400`` or ``1e400`` is refused as
    too large (not converted to a float that overflows), ``1.5`` as not an integer.
    """
    cleaned = text.strip().replace("_", "")
    power = _POWER.match(cleaned)
    value: Decimal | int
    if power:
        base, exp = int(power.group(1)), int(power.group(2))
        # Decide the size from the logarithm first: 10**10**9 is never built.
        if base > 1 and exp * math.log10(base) > math.log10(maximum) + 1:
            raise ParameterError(
                f"Argument '{option}' must be an integer in [{minimum}, {maximum:.0e}], "
                f"not {text!r}."
            )
        value = base**exp
    else:
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ParameterError(
                f"Argument '{option}' must be an integer count, not {text!r}."
            ) from None
        if not value.is_finite():
            raise ParameterError(f"Argument '{option}' must be a finite count, not {text!r}.")
        if value != value.to_integral_value():
            raise ParameterError(f"Argument '{option}' must be an integer, not {text!r}.")
    if not minimum <= value <= maximum:
        raise ParameterError(
            f"Argument '{option}' must be an integer in [{minimum}, {maximum:.0e}], not {text!r}."
        )
    return int(value)


def parse_grid(
    option: str, text: str, *, example: str, max_points: int, digits: int | None = None
) -> list[float]:
    """A list ``"0,25,50"`` or a range ``"0:150:5"`` (start:stop:step, stop included) of floats.

    A range needs a finite step > 0, ``stop >= start`` and at most ``max_points`` points; its
    points are ``start + i * step`` (rounded to ``digits`` decimals when given, so that
    ``0:0.1:0.01`` gives 0.03 and not 0.030000000000000002). Every value is finite. The caller
    checks the values' own domain.

    Raises
    ------
    ParameterError
        Naming ``option``, the form and the text (exit status 2).
    """
    text = text.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if not (math.isfinite(start) and math.isfinite(stop) and math.isfinite(step)):
                raise ValueError
            if not step > 0 or not stop >= start:
                raise ValueError
            span = (stop - start) / step  # finite: a huge stop / tiny step overflows to inf
            if not span < max_points:
                raise ValueError
            count = math.floor(span + 1e-9) + 1
            if count > max_points:
                raise ValueError
            values = [start + i * step for i in range(count)]
            if digits is not None:
                values = [round(v, digits) for v in values]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
            if not values:
                raise ValueError
    except ValueError:
        raise ParameterError(
            f"Argument '{option}' must be a list like {example} or a range start:stop:step with "
            f"step > 0 and at most {max_points} points, not {text!r}."
        ) from None
    for v in values:
        if not math.isfinite(v):
            raise ParameterError(f"Argument '{option}' must hold finite numbers, not {v!r}.")
    return values


def check_finite(option: str, value: float | None) -> None:
    """Refuse ``inf`` and ``nan`` given to a numeric option."""
    if value is not None and not math.isfinite(value):
        raise ParameterError(f"Argument '{option}' must be a finite number, not {value!r}.")


def check_writable_dir(option: str, directory: Path) -> None:
    """``directory`` must be an existing directory this process may create files in."""
    if not directory.is_dir():
        what = "a file" if directory.exists() else "missing"
        raise ParameterError(
            f"Argument '{option}' must be an existing directory, not '{directory}' ({what})."
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ParameterError(
            f"Argument '{option}' must be a writable directory, not '{directory}' (read-only)."
        )


def check_new_file(option: str, path: Path, *, force: bool = False) -> None:
    """``path`` is a file this command may write: its directory is writable, and it is not a
    directory or a link; an existing file is refused unless ``force`` is given."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_symlink():
        raise ParameterError(f"Argument '{option}' must not be a symbolic link, not '{path}'.")
    if path.is_dir():
        raise ParameterError(
            f"Argument '{option}' must be a file path, not the directory '{path}'."
        )
    if path.exists() and not force:
        raise ParameterError(
            f"Argument '{option}' would overwrite the existing file '{path}'; "
            f"give --force to replace it."
        )
    if path.exists() and not path.is_file():
        raise ParameterError(f"Argument '{option}' must be a regular file, not '{path}'.")
    if not parent.is_dir():
        raise ParameterError(
            f"Argument '{option}' must be in an existing directory, not '{path}' "
            f"('{parent}' is missing)."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ParameterError(
            f"Argument '{option}' must be in a writable directory, not '{path}' "
            f"('{parent}' is read-only)."
        )


def check_not_an_input(option: str, path: Path, inputs: dict[str, Path]) -> None:
    """Refuse an output path that names one of the command's input files."""
    for name, given in inputs.items():
        same = path.resolve() == given.resolve()
        if not same and path.exists() and given.exists():
            same = os.path.samefile(path, given)
        if same:
            raise ParameterError(
                f"Argument '{option}' must differ from the input '{name}', not '{path}'."
            )


def check_process_options(
    *, sample_fraction: float | None, source: str | None, mu: float | None
) -> None:
    """The options of ``qkd process`` that override the proof's inputs, checked before any file
    is read: ``--sample-fraction`` in (0, 1), ``--source`` single-photon or laser, ``--mu`` > 0."""
    check_finite("--sample-fraction", sample_fraction)
    if sample_fraction is not None and not 0.0 < sample_fraction < 1.0:
        raise ParameterError(
            f"Argument '--sample-fraction' must be in (0, 1), not {sample_fraction!r}."
        )
    if source is not None and source not in ("single-photon", "laser"):
        raise ParameterError(
            f"Argument '--source' must be 'single-photon' or 'laser', not {source!r}."
        )
    check_finite("--mu", mu)
    if mu is not None and not mu > 0.0:
        raise ParameterError(f"Argument '--mu' must be > 0, not {mu!r}.")
