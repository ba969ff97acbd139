"""Which proof a record set gets: declared by its metadata, never the single-photon one by default."""

from __future__ import annotations

import pytest

from qkdstack.errors import RecordError
from qkdstack.link.records import RecordMeta, Records
from qkdstack.processing.key_length import proof_source
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing

from synthetic import make_bb84_records


@pytest.mark.parametrize(
    ("params", "source", "mu", "expected"),
    [
        ({"source": "single-photon"}, None, None, "single-photon"),
        ({"source": "laser", "mu": 0.1}, None, None, "laser"),
        ({}, "laser", 0.2, "laser"),
        ({"source": "laser"}, None, 0.2, "laser"),
        ({"source": "laser", "mu": 0.1}, "single-photon", None, "single-photon"),
    ],
)
def test_declared_or_overridden_source(
    params: dict, source: str | None, mu: float | None, expected: str
) -> None:
    assert proof_source("bb84", params, source, mu) == expected


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "must declare 'source'"),
        ({"source": "spdc"}, "'params.source' must be 'single-photon' or 'laser'"),
        ({"source": "laser"}, "'params.mu'"),
        ({"source": "laser", "mu": 0}, "'params.mu'"),
    ],
)
def test_undeclared_or_invalid_source_is_refused(params: dict, needle: str) -> None:
    with pytest.raises(RecordError, match=needle):
        proof_source("six-state", params)


def test_protocols_whose_proof_ignores_the_source_need_none() -> None:
    for protocol in ("decoy-bb84", "bbm92", "e91", "b92"):
        assert proof_source(protocol, {}) is None


def test_pipeline_refuses_undeclared_records_before_any_message() -> None:
    alice, bob = make_bb84_records(2000, 0.02, seed=1)
    bare = RecordMeta(protocol="bb84", pulses=alice.meta.pulses)
    alice = Records(alice.role, alice.pulse_index, alice.basis, alice.bit, bare)
    with pytest.raises(RecordError, match="must declare 'source'"):
        run_postprocessing(alice, bob, seed=1)
    # Declaring the source through the options is enough.
    res = run_postprocessing(alice, bob, PipelineOptions(source="single-photon"), seed=1)
    assert res.report["key_length_formula"].startswith("Shor-Preskill")
