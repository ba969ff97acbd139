"""The LEB128 gap form of Bob's detection indices, against a per-value reference encoder."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.processing.index_coding import decode_increasing, encode_increasing


def _reference(values: list[int]) -> bytes:
    """Unsigned LEB128 (DWARF 2, Sec. 7.6) of the first value and each gap minus one, per value."""
    out = bytearray()
    previous = -1
    for v in values:
        gap = v - previous - 1
        previous = v
        while True:
            low, gap = gap & 0x7F, gap >> 7
            out.append(low | (0x80 if gap else 0))
            if not gap:
                break
    return bytes(out)


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0],
        [127],
        [128],
        [0, 1, 2, 3],
        [5, 133, 16517, 16518, 2**40],
        [2**63 - 2, 2**63 - 1],
        [0, 2**63 - 1],
    ],
)
def test_matches_the_reference_and_round_trips(values: list[int]) -> None:
    arr = np.array(values, dtype=np.int64)
    data = encode_increasing(arr)
    assert data == _reference(values)
    back = decode_increasing(data, len(values))
    assert back.dtype == np.int64 and np.array_equal(back, arr)


def test_random_detection_indices() -> None:
    rng = np.random.default_rng(7)
    # Detections of a lossy link: geometric gaps of mean 1000, plus a few huge jumps.
    gaps = rng.geometric(1e-3, size=20_000).astype(np.int64)
    gaps[rng.integers(0, gaps.size, 20)] += 10**12
    values = np.cumsum(gaps) - 1
    data = encode_increasing(values)
    assert data == _reference(values.tolist())
    assert np.array_equal(decode_increasing(data, values.size), values)
    # Mostly two bytes per detection instead of eight.
    assert len(data) < 2.2 * values.size


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.array([3, 3]), "strictly increasing"),
        (np.array([4, 2]), "strictly increasing"),
        (np.array([-1, 2]), "non-negative"),
        (np.zeros((2, 2), dtype=np.int64), "1-D integer"),
        (np.array([0.5, 1.5]), "1-D integer"),
    ],
)
def test_encoder_rejects_what_is_not_an_index_list(values: np.ndarray, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        encode_increasing(values)


@pytest.mark.parametrize(
    ("data", "count", "match"),
    [
        (b"\x01\x02", 3, "complete values"),  # too few values
        (b"\x01\x02", 1, "complete values"),  # too many
        (b"\x01\x82", 2, "complete values"),  # truncated: ends inside a value
        (b"\x01", 0, "complete values"),
        (b"\x80\x00", 1, "shortest form"),  # 0 in two bytes
        (b"\xff" * 9 + b"\x01", 1, "63 bits"),  # ten groups
        (b"\xff" * 8 + b"\x7f\x00", 2, "exceed"),  # 2**63 - 1, then one more
        (b"", -1, "count"),
    ],
)
def test_decoder_rejects_malformed_bytes(data: bytes, count: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decode_increasing(data, count)


def test_decoder_rejects_a_wrap_past_2_64() -> None:
    # Three gaps of 2**62 each pass 2**63: the running sum must not wrap silently.
    big = _reference([2**62])
    with pytest.raises(ValueError, match="exceed"):
        decode_increasing(big * 5, 5)
