"""The planned (cached) encoding serves arrays whose dtype equals the plan's without being the same
object (numba returns such arrays): same bytes as the field-by-field encoding, without it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from qkdstack.processing import wire as ch


def test_equal_dtype_objects_use_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    other_uint8 = pickle.loads(pickle.dumps(np.dtype(np.uint8)))  # equal, not identical
    assert other_uint8 is not np.dtype(np.uint8) and other_uint8 == np.dtype(np.uint8)
    first = ch.Message("h7.parities", disclosed={"parity": np.array([1, 0, 1], np.uint8)})
    reference = ch.encode_message(first)  # makes the plan
    calls: list[object] = []
    real = ch._encode
    monkeypatch.setattr(ch, "_encode", lambda m, k: calls.append(k) or real(m, k))
    same = np.array([1, 0, 1], np.uint8).view(other_uint8)
    wire = ch.encode_message(ch.Message("h7.parities", disclosed={"parity": same}))
    assert wire == reference and calls == []
    # A different dtype still leaves the plan (and encodes as itself).
    wide = ch.encode_message(
        ch.Message("h7.parities", disclosed={"parity": np.array([1, 0, 1], np.int16)})
    )
    assert calls and wide != reference
