"""Compact wire form of strictly increasing pulse indices: gaps as LEB128 varints.

Bob's sifting message names the pulses he detected. As raw int64 that is 8 bytes per detection,
most of the classical traffic of a run; the gaps between consecutive detections are small (about
1 / (detection probability): tens to thousands of pulses), so each is sent as an unsigned LEB128
varint (7 bits per byte, high bit set on every byte but a value's last; DWARF 2, Sec. 7.6): the
first index itself, then ``index[i] - index[i - 1] - 1`` (0 for adjacent pulses). A gap below 128
takes one byte, below 16384 two.

Decoding is strict, so every index list has exactly one wire form and a tampered or truncated one
is rejected before use: the byte string must hold exactly ``count`` values, end on a value's last
byte, use the fewest bytes for each value (no trailing zero groups) and stay below ``2**63``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qkdstack.errors import ParameterError
from qkdstack.typing import IndexArray

__all__ = ["decode_increasing", "encode_increasing"]

_MAX_GROUPS = 9  # 9 x 7 = 63 bits: every non-negative int64
_INT64_MAX = np.iinfo(np.int64).max


def encode_increasing(values: IndexArray) -> bytes:
    """The LEB128 gap form of strictly increasing non-negative integers (see the module doc)."""
    v = np.asarray(values)
    if v.ndim != 1 or (v.size and v.dtype.kind not in "iu"):
        raise ParameterError(
            f"Argument 'values' must be a 1-D integer array, not {v.dtype} of shape {v.shape}."
        )
    if v.size and v.dtype == np.uint64 and v.max() > _INT64_MAX:
        raise ParameterError(f"Argument 'values' must be below 2**63, not {int(v.max())}.")
    out, bad = _encode(np.ascontiguousarray(v, dtype=np.int64))
    if bad == 0 and v[0] < 0:
        raise ParameterError(f"Argument 'values' must be non-negative, not {int(v[0])} first.")
    if bad >= 0:
        raise ParameterError(
            f"Argument 'values' must be strictly increasing, not {int(v[bad - 1])} then "
            f"{int(v[bad])} at position {bad}."
        )
    return out.tobytes()


@njit(cache=True)
def _encode(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(LEB128 bytes, -1), or (empty, i) where ``values[i]`` is negative or not above its predecessor."""
    total = 0
    prev = -1
    for i in range(values.shape[0]):
        x = values[i]
        if x <= prev:
            return np.zeros(0, dtype=np.uint8), i
        gap = x - prev - 1
        total += 1
        while gap >= 128:
            gap >>= 7
            total += 1
        prev = x
    out = np.empty(total, dtype=np.uint8)
    pos = 0
    prev = -1
    for i in range(values.shape[0]):
        x = values[i]
        gap = x - prev - 1
        while gap >= 128:
            out[pos] = (gap & 0x7F) | 0x80
            gap >>= 7
            pos += 1
        out[pos] = gap
        pos += 1
        prev = x
    return out, -1


_DECODE_ERRORS = {
    1: "the index bytes do not hold exactly {count} complete values",
    2: "an index gap does not fit in 63 bits",
    3: "an index gap is not in its shortest form",
    4: "the indices exceed 2**63 - 1",
}


def decode_increasing(data: bytes, count: int) -> IndexArray:
    """The ``count`` indices of :func:`encode_increasing`'s ``data``; ``ValueError`` if malformed."""
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    b = np.frombuffer(data, dtype=np.uint8)
    if count > b.size:  # every value takes at least one byte
        raise ValueError(_DECODE_ERRORS[1].format(count=count))
    values, status = _decode(b, count)
    if status:
        raise ValueError(_DECODE_ERRORS[status].format(count=count))
    return values


@njit(cache=True)
def _decode(b: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """(indices, 0), or (partial, status) with a :data:`_DECODE_ERRORS` code."""
    out = np.empty(count, dtype=np.int64)
    n = b.shape[0]
    pos = 0
    prev = -1
    for i in range(count):
        value = 0
        groups = 0
        while True:
            if pos >= n:
                return out, 1
            if groups == _MAX_GROUPS:
                return out, 2
            byte = int(b[pos])
            pos += 1
            value |= (byte & 0x7F) << (7 * groups)
            groups += 1
            if byte < 0x80:
                if byte == 0 and groups > 1:
                    return out, 3
                break
        if value > _INT64_MAX - (prev + 1):
            return out, 4
        prev = prev + 1 + value
        out[i] = prev
    if pos != n:
        return out, 1
    return out, 0
