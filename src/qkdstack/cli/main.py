"""The ``qkd`` command: a thin layer over the library, one module per sub-command group.

Usage errors (a bad option value, a missing file, an unknown name) exit with status 2 and print one
line naming the argument, the constraint and the value; no traceback is shown for user errors. A
protocol abort is not a usage error: the command reports it (exit status 0 with ``aborted: true``).
Any other failure (a key store that cannot be written, an I/O error, a bug) exits with status 1 and
one line, never a traceback.
"""

from __future__ import annotations

import importlib
import re
import sys

import typer

from qkdstack.errors import ParameterError, QKDError, RecordError

__all__ = ["app", "main"]

app = typer.Typer(
    name="qkd",
    help="qkdstack: simulate QKD links, post-process detection records, compute key rates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """qkdstack: simulate QKD links, post-process detection records, compute key rates."""


# Each module registers its commands on ``app`` with a ``register(app)`` function.
_COMMAND_MODULES: tuple[str, ...] = ("run", "process", "simulate", "rates", "reconcile", "kms")

_COMMAND_MODULES += ("sweep", "plot")  # studies: parameter sweeps on Dask and their figures
_COMMAND_MODULES += (
    "amplify",
    "bench",
    "warmup",
)  # privacy amplification, benchmarks, kernel caches
_COMMAND_MODULES += ("node", "keys")  # Alice and Bob as two processes over TCP; their stores
for _name in _COMMAND_MODULES:
    importlib.import_module(f"qkdstack.cli.{_name}").register(app)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _given_value(option: str, argv: list[str]) -> str | None:
    """The value given to ``option`` on the command line (``--opt v`` or ``--opt=v``)."""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1 :]
    return None


def _usage_message(message: str, argv: list[str]) -> str:
    """Make sure a conversion error names the value it refused."""
    match = re.match(r"Invalid value for '([^']+)'", message)
    if match:
        for option in match.group(1).split(" / "):
            value = _given_value(option, argv)
            if value is not None and repr(value) not in message:
                return f"{message.rstrip('.')}, not {value!r}."
    return message


def _is_usage_error(exc: BaseException) -> bool:
    """Click's (or typer's vendored click's) UsageError, recognised by its shape."""
    return callable(getattr(exc, "format_message", None)) and getattr(exc, "exit_code", None) == 2


def _failure_message(exc: BaseException) -> str:
    """One line for a failure that is not a usage error (exit status 1)."""
    text = _one_line(str(exc))
    if isinstance(exc, QKDError):
        return text or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        where = f" '{exc.filename}'" if exc.filename else ""
        return f"{exc.strerror}{where}."
    return (
        f"unexpected {type(exc).__name__}: {text}" if text else f"unexpected {type(exc).__name__}"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qkd`` console script; returns the exit status."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = command.main(args=args, prog_name="qkd", standalone_mode=False)
    except (ParameterError, RecordError) as exc:
        print(f"qkd: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        print("qkd: aborted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _is_usage_error(exc):
            # Not a usage error: a failure (a key store that cannot be written, a full disk, a
            # bug). One line and exit status 1, never a traceback.
            print(f"qkd: error: {_failure_message(exc)}", file=sys.stderr)
            return 1
        message = _one_line(exc.format_message())  # type: ignore[attr-defined]
        if not message:  # a bare ``qkd``: the help was printed
            return 2
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "qkd"
        print(f"{where}: error: {_usage_message(message, args)}", file=sys.stderr)
        return 2
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
