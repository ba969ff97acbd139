"""A study file: which command to run, over which grid of options, how many times, from which seed.

A study is a TOML file (a contract: extend it, never rename its keys)::

    command = "run"          # or "rates"
    repeats = 3              # runs per grid point
    seed = 2026              # root of the SeedSequence
    [fixed]                  # options as `qkd run` / `qkd rates` name them
    protocol = "decoy-bb84"
    pulses = 1e8
    [axes]                   # the grid is the product of the axes; a list, or {start, stop, step}
    distance_km = [10, 30, 50]

Option names are the command's long options without the dashes, with ``_`` for ``-``
(``--distance-km`` is ``distance_km``, ``--set`` is ``set``). A parameter of
:class:`~qkdstack.params.LinkParams` that the command has no option for (``basis_prob_z``,
``intensities``...) is passed as ``--set name=value``. A flag (``no_auth``) takes ``true`` or
``false``; a repeatable option (``set``, ``block_bits``) takes a list.

Everything is checked before anything runs; an error names the file, the line and the reason
(``study.toml:7: axis 'distance_km': step must be > 0, not -5``).

The command line a study drives is injected as a :class:`Commands` object (its options, and a way to
run it in-process): the ``qkd`` one is :data:`qkdstack.cli.sweep.QKD_COMMANDS`. The sweep sits below
the CLI and never imports it (issue 19: data flows one way).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qkdstack.errors import ParameterError

__all__ = [
    "COMMANDS",
    "MAX_RUNS",
    "Commands",
    "OptionInfo",
    "Study",
    "StudyError",
    "load_study",
    "parse_study",
]

COMMANDS: tuple[str, ...] = ("run", "rates")
"""The ``qkd`` sub-commands a study may sweep."""

MAX_RUNS = 1_000_000
"""Grid points times repeats above which a study is refused (a typo in a range, most likely)."""

_TOP_KEYS = ("command", "repeats", "seed", "fixed", "axes")

# Options a study may not set: the sweep owns the seed and the output, and never stores keys.
_RESERVED: Mapping[str, str] = {
    "seed": "the sweep spawns each run's seed from the study's root 'seed'",
    "json": "the sweep always reads the command's JSON report",
    "store": "a sweep never stores keys",
    "plot": "a sweep draws no per-run figures (use 'qkd plot' on its results)",
    "help": "not an option of a run",
}

Scalar = str | int | float | bool
Value = Scalar | list[Scalar]


class StudyError(ParameterError):
    """A study file that cannot run: the message starts with ``FILE:LINE:``."""


@dataclass(frozen=True)
class Study:
    """A parsed, checked study.

    Attributes
    ----------
    command : str
        ``"run"`` or ``"rates"``.
    repeats : int
        Runs per grid point, >= 1.
    seed : int
        Root entropy of the :class:`numpy.random.SeedSequence` that every run's seed is spawned from.
    fixed : dict
        Option name -> value, the same for every run.
    axes : dict
        Option name -> the list of its values (ranges expanded), in file order.
    commands : Commands
        The command line the study was checked against and runs on (not part of its identity).
    path : Path or None
        The file it came from.
    """

    command: str
    repeats: int
    seed: int
    fixed: dict[str, Value]
    axes: dict[str, list[Value]]
    commands: Commands = field(compare=False, repr=False)
    path: Path | None = None

    @property
    def n_points(self) -> int:
        """Grid points: the product of the axes' lengths (1 without axes)."""
        return math.prod(len(v) for v in self.axes.values())

    @property
    def n_runs(self) -> int:
        """Grid points times repeats."""
        return self.n_points * self.repeats

    def canonical(self) -> dict[str, Any]:
        """What defines the study's results (not its comments or layout), JSON-ready."""
        return {
            "command": self.command,
            "repeats": self.repeats,
            "seed": self.seed,
            "fixed": self.fixed,
            "axes": self.axes,
        }

    @property
    def digest(self) -> str:
        """SHA-256 of :meth:`canonical`: two files with one digest give the same rows."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _line_of(text: str, table: str | None, key: str | None) -> int:
    """The 1-based line where ``key`` is set inside ``[table]`` (or the table header; else 1).

    tomllib reports positions only for syntax errors; for an error in a value we find the key
    ourselves: a ``key =`` line under the right header, a dotted ``table.key =`` at the top, or an
    ``[table.key]`` sub-table.
    """
    current: str | None = None
    header_line = 1
    key_re = re.compile(r"""^\s*["']?([A-Za-z0-9_.-]+?)["']?\s*=""")
    header_re = re.compile(r"""^\s*\[\s*["']?([A-Za-z0-9_.-]+?)["']?\s*\]""")
    for number, line in enumerate(text.splitlines(), start=1):
        header = header_re.match(line)
        if header:
            current = header.group(1)
            if table is not None and current == table and key is None:
                return number
            if table is not None and key is not None and current == f"{table}.{key}":
                return number
            if table is not None and current == table:
                header_line = number
            continue
        match = key_re.match(line)
        if match is None:
            continue
        name = match.group(1)
        if table is None and current is None and name == key:
            return number
        if table is not None and current == table and name == key:
            return number
        if table is not None and current is None and name == f"{table}.{key}":
            return number
    return header_line


class _Reporter:
    """Builds ``FILE:LINE: reason`` errors for one study text."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def error(self, table: str | None, key: str | None, reason: str) -> StudyError:
        return StudyError(f"{self.source}:{_line_of(self.text, table, key)}: {reason}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(rep: _Reporter, table: str, key: str, value: object) -> Value:
    """A fixed value or one axis value: a scalar, or a list of scalars (a repeatable option)."""
    if isinstance(value, str | bool):
        return value
    if _is_number(value):
        if not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise rep.error(table, key, f"'{key}' must be a finite number, not {value!r}")
        return value  # type: ignore[return-value]
    if isinstance(value, list) and all(isinstance(v, str | bool) or _is_number(v) for v in value):
        return list(value)
    raise rep.error(
        table, key, f"'{key}' must be a string, number, boolean or list of them, not {value!r}"
    )


def _expand_range(rep: _Reporter, key: str, spec: Mapping[str, Any]) -> list[Value]:
    """``{start, stop, step}``: start, start + step, ... up to stop included (a float tolerance)."""
    missing = [k for k in ("start", "stop", "step") if k not in spec]
    extra = sorted(set(spec) - {"start", "stop", "step"})
    if missing or extra:
        what = f"missing {', '.join(missing)}" if missing else f"unknown key {extra[0]!r}"
        raise rep.error("axes", key, f"axis '{key}': a range is {{start, stop, step}}, {what}")
    start, stop, step = spec["start"], spec["stop"], spec["step"]
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if not _is_number(v) or not math.isfinite(float(v)):
            raise rep.error("axes", key, f"axis '{key}': {name} must be a number, not {v!r}")
    if not step > 0:
        raise rep.error("axes", key, f"axis '{key}': step must be > 0, not {step!r}")
    if stop < start:
        raise rep.error(
            "axes", key, f"axis '{key}': stop must be >= start ({start!r}), not {stop!r}"
        )
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_RUNS:
        raise rep.error("axes", key, f"axis '{key}': {count} values is more than {MAX_RUNS}")
    integral = all(isinstance(v, int) for v in (start, stop, step))
    values: list[Value] = [
        start + i * step if integral else round(start + i * step, 12) for i in range(count)
    ]
    return values


def _check_option(
    rep: _Reporter, table: str, key: str, value: Value, options: Mapping[str, OptionInfo]
) -> None:
    """``key`` names an option of the command (or a LinkParams field) and ``value`` fits it."""
    from qkdstack.params import LinkParams, get_param_set, parse_assignment

    if key in _RESERVED:
        raise rep.error(table, key, f"'{key}' cannot be set in a study: {_RESERVED[key]}")
    info = options.get(key)
    if info is None:
        if key in LinkParams.field_names():
            try:
                LinkParams().replace(**{key: value})
            except ParameterError as exc:
                raise rep.error(table, key, str(exc).rstrip(".")) from None
            return
        known = sorted({*options, *LinkParams.field_names()} - set(_RESERVED))
        raise rep.error(table, key, f"unknown option '{key}'; known: {', '.join(known)}")
    if info.is_flag and not isinstance(value, bool):
        raise rep.error(table, key, f"'{key}' is a flag: true or false, not {value!r}")
    if not info.is_flag and isinstance(value, bool):
        raise rep.error(table, key, f"'{key}' takes a value, not {value!r}")
    if isinstance(value, list) and not info.multiple:
        raise rep.error(table, key, f"'{key}' takes one value, not the list {value!r}")
    try:
        if key in LinkParams.field_names() and not isinstance(value, list):
            LinkParams().replace(**{key: value})
        elif key == "set":
            for text in value if isinstance(value, list) else [value]:
                name, given = parse_assignment(str(text))
                LinkParams().replace(**{name: given})
        elif key == "params":
            get_param_set(str(value))
    except ParameterError as exc:
        raise rep.error(table, key, str(exc).rstrip(".")) from None


@dataclass(frozen=True)
class OptionInfo:
    """What the study checker needs to know about one option of a command."""

    flag: str
    is_flag: bool
    multiple: bool


class Commands(Protocol):
    """The command line a study drives: its options, and a way to run one command in-process.

    The sweep needs nothing else from the CLI; the ``qkd`` implementation is
    :data:`qkdstack.cli.sweep.QKD_COMMANDS`. It must pickle (it travels to Dask workers with each
    :class:`~qkdstack.sweep.grid.RunSpec`).
    """

    def options(self, command: str) -> Mapping[str, OptionInfo]:
        """The options of ``COMMAND`` by study name (``--distance-km`` -> ``distance_km``)."""
        ...

    def run(self, argv: list[str]) -> None:
        """Run ``ARGV`` (the command first) in this process; its report goes to ``sys.stdout``."""
        ...


def parse_study(
    text: str, source: str = "<study>", path: Path | None = None, *, commands: Commands
) -> Study:
    """Parse and check a study's TOML text against ``commands``; raise :class:`StudyError` naming the
    line and reason."""
    rep = _Reporter(text, source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends "(at line L, column C)".
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = match.group(1) if match else "1"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        if "end of document" in message:
            reason = re.sub(r"\s*\(at end of document\)", "", message)
            line = str(max(1, len(text.splitlines())))
        raise StudyError(f"{source}:{line}: invalid TOML: {reason}") from None
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise rep.error(
            None, unknown[0], f"unknown key '{unknown[0]}'; a study has {', '.join(_TOP_KEYS)}"
        )
    command = doc.get("command")
    if command is None:
        raise StudyError(f"{source}:1: missing key 'command' (one of {', '.join(COMMANDS)})")
    if command not in COMMANDS:
        raise rep.error(
            None, "command", f"'command' must be one of {', '.join(COMMANDS)}, not {command!r}"
        )
    repeats = doc.get("repeats", 1)
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise rep.error(None, "repeats", f"'repeats' must be an integer >= 1, not {repeats!r}")
    if "seed" not in doc:
        raise StudyError(f"{source}:1: missing key 'seed' (the root of the SeedSequence)")
    seed = doc["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise rep.error(None, "seed", f"'seed' must be an integer >= 0, not {seed!r}")
    options = commands.options(command)
    fixed_doc = doc.get("fixed", {})
    axes_doc = doc.get("axes", {})
    for table, value in (("fixed", fixed_doc), ("axes", axes_doc)):
        if not isinstance(value, dict):
            raise rep.error(None, table, f"'{table}' must be a table, not {value!r}")
    fixed: dict[str, Value] = {}
    for key, value in fixed_doc.items():
        checked = _check_value(rep, "fixed", key, value)
        _check_option(rep, "fixed", key, checked, options)
        fixed[key] = checked
    axes: dict[str, list[Value]] = {}
    for key, spec in axes_doc.items():
        if key in fixed:
            raise rep.error("axes", key, f"'{key}' is both fixed and an axis")
        values: list[Value]
        if isinstance(spec, dict):
            values = _expand_range(rep, key, spec)
        elif isinstance(spec, list):
            if not spec:
                raise rep.error("axes", key, f"axis '{key}' has no values")
            values = [_check_value(rep, "axes", key, v) for v in spec]
        else:
            raise rep.error(
                "axes", key, f"axis '{key}' must be a list or {{start, stop, step}}, not {spec!r}"
            )
        for v in values:
            _check_option(rep, "axes", key, v, options)
        axes[key] = values
    study = Study(command, repeats, seed, fixed, axes, commands, path)
    if study.n_runs > MAX_RUNS:
        raise rep.error(
            None, "repeats", f"{study.n_runs} runs is more than {MAX_RUNS} (points x repeats)"
        )
    return study


def load_study(path: Path, *, commands: Commands) -> Study:
    """Read and check the study file at ``path`` against ``commands`` (see :func:`parse_study`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParameterError(
            f"Argument 'STUDY' must be a readable file, not '{path}' ({exc.strerror})."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StudyError(f"{path}:1: not UTF-8 text") from None
    return parse_study(text, str(path), path, commands=commands)


def argv_for(key: str, value: Value, options: Mapping[str, OptionInfo]) -> list[str]:
    """The command-line words that give option ``key`` the study value ``value``."""
    info = options.get(key)
    if info is None:  # a LinkParams field without an option of its own
        return ["--set", f"{key}={_word(value)}"]
    if info.is_flag:
        return [info.flag] if value else []
    values: Sequence[Scalar] = value if isinstance(value, list) else [value]
    out: list[str] = []
    for v in values:
        out += [info.flag, _word(v)]
    return out


def _word(value: Value) -> str:
    """A value as the command line spells it (``1e8`` -> ``100000000``; lists comma-joined)."""
    if isinstance(value, list):
        return ",".join(_word(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    return str(value)
