"""The security checks ``qkd run`` and ``qkd process`` share: what may be stored, what a report
may publish about a key, and what the human-readable table must warn about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError

__all__ = ["add_key_digest", "check_store_allowed", "report_warnings"]


def check_store_allowed(store: Path | None, *, insecure_seeded_keys: bool, no_auth: bool) -> None:
    """Refuse ``--store`` for keys that must never be stored or served, before any work.

    Insecure-seeded keys are reproducible from the printed seed, and keys agreed over an
    unauthenticated channel may be shared with a man in the middle: neither is a secret key.
    """
    if store is None:
        return
    for flag, option in ((insecure_seeded_keys, "--insecure-seeded-keys"), (no_auth, "--no-auth")):
        if flag:
            raise ParameterError(
                f"Argument '--store' cannot be combined with '{option}': such keys are not "
                f"secret and are never stored, not '{store}'."
            )


def add_key_digest(report: dict[str, Any], key: np.ndarray | None) -> None:
    """Add ``key_sha256`` (``--key-digest``, for tests only) when a key was produced.

    A digest of an information-theoretically secret key is a computational leak: it is never in
    a report unless asked for.
    """
    from qkdstack.experiment import key_digest

    if key is not None:
        report["key_sha256"] = key_digest(key)


def report_warnings(report: dict[str, Any]) -> list[str]:
    """The warnings the human-readable table shows first: insecure-seeded keys, an
    unauthenticated channel, a run that used more authentication key than it produced."""
    warnings = []
    if report.get("secure_randomness") is False:
        warnings.append("keys insecure-seeded: reproducible from the seed, NOT SECURE")
    if report.get("authenticated") is False:
        warnings.append("classical channel unauthenticated: a man in the middle can share the key")
    if report.get("net_key_positive") is False and report.get("net_key_note"):
        warnings.append(str(report["net_key_note"]))
    return warnings
