"""Records whose proof inputs cannot give a key are refused by the library before any work, as
``qkd process`` refuses them (the rule is the library's, not the command's)."""

from __future__ import annotations

import dataclasses

import pytest

from qkdstack.errors import RecordError
from qkdstack.link import simulate
from qkdstack.link.records import Records
from qkdstack.params import LinkParams
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing


def _with_meta(records: Records, **changes: object) -> Records:
    return dataclasses.replace(records, meta=dataclasses.replace(records.meta, **changes))


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"intensities": (0.2, 0.2, 0.0)}, r"mu_1 > mu_2 \+ mu_3"),
        ("no intensity_probs", "'intensity_probs'"),
    ],
)
def test_run_postprocessing_refuses_unusable_decoy_records_before_any_work(
    monkeypatch: pytest.MonkeyPatch, changes: object, needle: str
) -> None:
    link = simulate("decoy-bb84", LinkParams(), 10**5, seed=1)
    if changes == "no intensity_probs":
        params = {k: v for k, v in link.alice.meta.params.items() if k != "intensity_probs"}
        alice = _with_meta(link.alice, params=params)
    else:
        assert isinstance(changes, dict)
        alice = _with_meta(link.alice, **changes)

    # Before, the run went through sifting and error correction and aborted at the 'amplify'
    # message; now no node is made.
    import qkdstack.processing.pipeline as pipeline

    def no_node(*args: object, **kwargs: object) -> None:
        raise AssertionError("a node was made: work started before the refusal")

    monkeypatch.setattr(pipeline, "AliceNode", no_node)
    with pytest.raises(RecordError, match=f"Record metadata of 'alice'.*{needle}"):
        run_postprocessing(alice, link.bob, PipelineOptions(secure_randomness=False), seed=1)
