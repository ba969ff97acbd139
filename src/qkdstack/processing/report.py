"""The post-processing's part of the run report, as one typed object (:class:`PostprocessingReport`).

:func:`~qkdstack.processing.pipeline.run_postprocessing` fills it from Bob's node and the
channel's counts; :meth:`PostprocessingReport.as_dict` gives the JSON-ready fields of
``qkd run --json`` (docs/report.md), to which the composable accounting
(:func:`~qkdstack.processing.accounting.composable_accounting`) adds its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["ChshReport", "PostprocessingReport"]


@dataclass(frozen=True)
class ChshReport:
    """E91's Bell test: the CHSH value, its standard error and its lower confidence bound."""

    chsh_s: float | None
    chsh_s_std: float | None
    chsh_s_lower: float | None


@dataclass(frozen=True)
class PostprocessingReport:
    """What the post-processing did, in the report's field names and order.

    ``chsh`` is shown only for a protocol with a Bell test; ``details`` holds the decision's
    optional bounds (:data:`~qkdstack.processing.length_rules.OPTIONAL_DETAIL_FIELDS`), shown only
    where the rule gave them.
    """

    detections: int
    sifted_bits: int
    sample_bits: int
    sample_errors: int
    qber: float | None
    qber_upper: float | None
    key_bits_before_ec: int
    ec_method: str
    leaked_ec_bits: int
    verification_bits: int
    round_trips: int
    ec_round_trips: int
    epsilon_sec: float
    epsilon_cor: float
    epsilon_cor_verification: float | None
    key_length_formula: str | None
    phase_error_upper: float | None
    single_photon_fraction: float | None
    secret_bits: int
    keys_match: bool
    aborted: bool
    abort_reason: str | None
    abort_stage: str | None
    authenticated: bool
    auth_scope: str | None
    auth_key_bits_used: int
    secure_randomness: bool
    secret_randomness: str
    wire_bits: int
    verification_tag_bits: int
    timings_s: dict[str, float]
    counts: list[dict[str, Any]]
    chsh: ChshReport | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report's fields (a new dict; ``chsh`` and ``details`` flattened into it)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in ("chsh", "details"):
                out[f.name] = getattr(self, f.name)
        out["timings_s"] = dict(self.timings_s)
        if self.chsh is not None:
            out.update(
                chsh_s=self.chsh.chsh_s,
                chsh_s_std=self.chsh.chsh_s_std,
                chsh_s_lower=self.chsh.chsh_s_lower,
            )
        out.update(self.details)
        return out
