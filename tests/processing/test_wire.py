"""The wire codec (processing/wire.py): round trips, the documented layout, what cannot travel,
garbage and forged lengths."""

from __future__ import annotations

import math
import struct
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing import wire as wire_module
from qkdstack.processing.wire import Message, decode_message, encode_message

_FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def _same_array(got: Any, want: np.ndarray) -> bool:
    """Bit-exact: dtype, shape and every byte (NaN payloads included)."""
    return (
        isinstance(got, np.ndarray)
        and got.dtype == want.dtype
        and got.dtype.str == want.dtype.str
        and got.shape == want.shape
        and got.tobytes() == np.ascontiguousarray(want).tobytes()
    )


# --- encoding: round trips ------------------------------------------------------------------------


def test_encode_decode_round_trip_copies_arrays() -> None:
    arr = np.arange(10, dtype=np.int64)
    bits = np.array([0, 1, 1, 0], dtype=np.uint8)
    msg = Message(
        "x", public={"a": arr, "n": 3, "s": "hi", "b": b"\x01\x02"}, disclosed={"p": bits}
    )
    back = decode_message(encode_message(msg))
    assert back.kind == "x"
    assert np.array_equal(back.public["a"], arr) and back.public["a"] is not arr
    assert back.public["n"] == 3 and back.public["s"] == "hi" and back.public["b"] == b"\x01\x02"
    assert np.array_equal(back.disclosed["p"], bits)
    assert back.disclosed_bits() == 4


_COMMON = ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8", "b1"]
_SPELLED = [">i4", ">f8", "<f2", "<c8", "<c16", "<M8[ns]", "<m8[s]", "|S5", "<U3", "|V4", "<f16"]


@pytest.mark.parametrize("dtype", _COMMON + _SPELLED)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 4), (2, 0, 3), (2, 1, 3, 2)])
def test_arrays_keep_dtype_shape_and_bytes(dtype: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(5)
    dt = np.dtype(dtype)
    raw = rng.integers(0, 256, int(np.prod(shape)) * dt.itemsize, dtype=np.uint8)
    if dt.kind == "b":
        raw &= 1  # a bool is one byte, 0 or 1
    arr = raw.view(dt).reshape(shape)
    back = decode_message(encode_message(Message("a", public={"x": arr, "y": 1})))
    assert _same_array(back.public["x"], arr)
    assert back.public["x"].flags.writeable and back.public["x"].flags.aligned


def test_non_contiguous_and_large_arrays_round_trip() -> None:
    rng = np.random.default_rng(6)
    big = rng.integers(-(2**40), 2**40, (300, 200), dtype=np.int64)  # 480 kB: the view path
    cases = {
        "strided": big[::3, ::7],
        "fortran": np.asfortranarray(big[:50, :40]),
        "big": big,
        "big_strided": big[:, ::2],
        "reversed": big[0, ::-1],
    }
    back = decode_message(encode_message(Message("a", public=cases)))
    for name, arr in cases.items():
        assert _same_array(back.public[name], arr), name
        assert not np.shares_memory(back.public[name], big)


def test_decoded_arrays_are_independent_writable_copies() -> None:
    a = np.arange(5, dtype=np.int32)
    wire = encode_message(Message("a", public={"a": a, "b": a}))
    one, two = decode_message(wire), decode_message(wire)
    one.public["a"][:] = 99
    assert np.array_equal(one.public["b"], a)  # same message, other field: untouched
    assert np.array_equal(two.public["a"], a)  # same bytes decoded again: untouched
    assert np.array_equal(a, np.arange(5))  # the sender's array: untouched


_SCALARS: list[Any] = [
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**63,  # beyond int64: travels as JSON, still exact
    -(10**30),
    0.1,
    -0.0,
    1e-310,
    float("inf"),
    True,
    False,
    None,
    "",
    "ascii",
    "ünïcødé ✓",
    [1, 2.5, "x", None, True],
    {"a": [1, {"b": None}], "c": "d"},
    [],
    {},
]


@pytest.mark.parametrize("value", _SCALARS, ids=repr)
def test_public_scalars_round_trip_exactly(value: Any) -> None:
    back = decode_message(encode_message(Message("s", public={"v": value}))).public["v"]
    assert type(back) is type(value) and back == value
    if isinstance(value, float):
        assert math.copysign(1.0, back) == math.copysign(1.0, value)


def test_nan_numpy_scalars_and_bytes_round_trip() -> None:
    public = {
        "nan": float("nan"),
        "i": np.int64(-5),
        "u": np.uint8(200),
        "f": np.float32(0.1),
        "b": np.bool_(True),
        "raw": bytearray(b"\x00\xff"),
        "empty": b"",
    }
    back = decode_message(encode_message(Message("s", public=public))).public
    assert math.isnan(back["nan"])
    assert back["i"] == -5 and type(back["i"]) is int
    assert back["u"] == 200 and type(back["u"]) is int
    assert back["f"] == float(np.float32(0.1)) and type(back["f"]) is float
    assert back["b"] is True
    assert back["raw"] == b"\x00\xff" and type(back["raw"]) is bytes
    assert back["empty"] == b""


def test_empty_message_and_both_sections_with_one_name() -> None:
    assert decode_message(encode_message(Message("ack"))) == Message("ack", {}, {})
    msg = Message("x", public={"v": b"1"}, disclosed={"v": b"22"})
    back = decode_message(encode_message(msg))
    assert back.public == {"v": b"1"} and back.disclosed == {"v": b"22"}


def test_known_answer_bytes_assembled_from_the_documented_layout() -> None:
    """The layout in docs/protocol.md, written out field by field with struct (not the library)."""
    msg = Message(
        "k",
        public={"n": 7, "a": np.array([1, -2], dtype="<i8")},
        disclosed={"p": np.array([1, 0, 1], dtype=np.uint8)},
    )
    descriptors = (
        bytes([0, 3, 0, 1]) + b"n"  # public, int, ndim 0, name "n"
        + bytes([0, 23, 1, 1]) + b"a"  # public, i8 (16 + 7), ndim 1, name "a"
        + bytes([1, 16, 1, 1]) + b"p"  # disclosed, u1 (16 + 0), ndim 1, name "p"
    )  # fmt: skip
    head = struct.pack("<BBBHH", 0x51, 1, 1, 3, len(descriptors)) + b"k"
    dims = struct.pack("<QQ", 2, 3)
    prefix = head + descriptors + dims  # 7 + 1 + 15 + 16 = 39 bytes
    bodies = (
        struct.pack("<q", 7)  # n, at offset 48
        + struct.pack("<qq", 1, -2)  # a, at 56: already 8-aligned
        + bytes([1, 0, 1])  # p
    )
    expected = prefix + bytes(48 - len(prefix)) + bodies
    assert encode_message(msg) == expected
    assert len(expected) == 75


class _Sub(np.ndarray):
    pass


def test_encoding_plans_give_the_field_by_field_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)

    def msg(x: Any, y: Any = None) -> Message:
        y = np.zeros((2, 2)) if y is None else y
        return Message("p", public={"x": x, "y": y}, disclosed={"z": np.ones(5, np.uint8)})

    base = msg(np.arange(3, dtype=np.int32))
    encode_message(base)  # makes the plan
    assert ("p", ("x", "y"), ("z",)) in wire_module._PLAN_CACHE
    variants = [
        base,
        msg(np.arange(4, dtype=np.int32)),  # other length
        msg(np.arange(3, dtype=np.int64)),  # other dtype
        msg(np.arange(3, dtype=">i4")),  # other byte order
        msg(np.arange(6, dtype=np.int32).reshape(2, 3)),  # other ndim
        msg(np.arange(3, dtype=np.int32).view(_Sub)),  # a subclass
        msg(7),  # a scalar
        msg(np.arange(3, dtype=np.int32), rng.random((300, 100))),  # large: the view path
        msg(np.arange(3, dtype=np.int32), rng.random((300, 100))[:, ::3]),  # large, strided
        msg(np.arange(3, dtype=np.int32), np.zeros((0, 2))),  # empty
    ]
    for variant in variants:
        encode_message(base)
        field_by_field = wire_module._encode(variant, None)
        assert encode_message(variant) == field_by_field
    # The plan really is used: with the field-by-field encoder gone, planned messages still encode.
    encode_message(base)

    def no_fallback(*args: Any) -> bytes:
        raise AssertionError("field-by-field encoding used")

    monkeypatch.setattr(wire_module, "_encode", no_fallback)
    assert decode_message(encode_message(variants[1])).public["x"].tolist() == [0, 1, 2, 3]


def test_encoding_plans_stay_bounded() -> None:
    for i in range(3 * wire_module._MAX_PLANS):
        encode_message(Message("k", public={f"v{i}": np.zeros(1)}))
        assert len(wire_module._PLAN_CACHE) <= wire_module._MAX_PLANS


# --- encoding: what cannot travel ----------------------------------------------------------------


def test_disclosed_scalar_is_rejected() -> None:
    with pytest.raises(ParameterError, match="'q'"):
        encode_message(Message("x", disclosed={"q": 3}))


@pytest.mark.parametrize(
    ("public", "match"),
    [
        ({"o": np.array([1, "a"], dtype=object)}, "'o'"),
        ({"r": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])}, "'r'"),
        ({"s": {1, 2}}, "'s'"),
        ({"x" * 256: 1}, "255"),
        ({3: 1}, "str"),
    ],
)
def test_unencodable_public_fields_are_rejected(public: dict[Any, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        encode_message(Message("x", public=public))


def test_overlong_kind_is_rejected() -> None:
    with pytest.raises(ParameterError, match="kind"):
        encode_message(Message("k" * 256))


# --- decoding: garbage -----------------------------------------------------------------------------


def test_garbage_is_rejected() -> None:
    with pytest.raises(ProtocolAbort):
        decode_message(b"\x05\x00\x00\x00{bad")


def _sample_wires() -> list[bytes]:
    rng = np.random.default_rng(7)
    return [
        encode_message(
            Message(
                "ec.parity",
                public={
                    "pass": np.array([0, 1, 1], dtype=np.uint8),
                    "start": np.array([0, 64, 128], dtype=np.int32),
                    "end": np.array([32, 96, 160], dtype=np.int64),
                },
            )
        ),
        encode_message(
            Message("ec.parities", disclosed={"parity": np.array([1, 0, 1], dtype=np.uint8)})
        ),
        encode_message(
            Message(
                "mixed",
                public={
                    "m": rng.integers(0, 9, (2, 3)).astype(">i2"),
                    "c": np.array([1 + 2j], dtype=np.complex128),
                    "flag": np.array([True, False]),
                    "n": -3,
                    "x": 2.5,
                    "ok": True,
                    "none": None,
                    "s": "text",
                    "j": {"a": [1, 2]},
                },
                disclosed={"tag": b"0123456789abcdef"},
            )
        ),
        encode_message(Message("ack")),
    ]


def test_every_truncation_and_any_trailing_byte_is_rejected() -> None:
    for wire in _sample_wires():
        for cut in range(len(wire)):
            with pytest.raises(ProtocolAbort):
                decode_message(wire[:cut])
        for extra in (b"\x00", b"\x01" * 17):
            with pytest.raises(ProtocolAbort, match="trailing"):
                decode_message(wire + extra)


def _forge(kind: bytes, descriptors: bytes, n_fields: int, dims: list[int], rest: bytes) -> bytes:
    head = struct.pack("<BBBHH", 0x51, 1, len(kind), n_fields, len(descriptors))
    prefix = head + kind + descriptors + struct.pack(f"<{len(dims)}Q", *dims)
    return prefix + bytes(-len(prefix) % 16) + rest


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (b"", "shorter"),
        (struct.pack("<BBBHH", 0x51, 2, 0, 0, 0), "version"),
        (struct.pack("<BBBHH", 0x50, 1, 0, 0, 0), "version"),
        (_forge(b"k", bytes([2, 16, 1, 1]) + b"a", 1, [1], b"\x00"), "section"),
        (_forge(b"k", bytes([0, 99, 1, 1]) + b"a", 1, [1], b"\x00"), "code"),
        (_forge(b"k", bytes([0, 16, 1, 1]) + b"a" + bytes([0, 16, 1, 1]) + b"a", 2, [1, 1], b"ab"), "twice"),
        (_forge(b"k", bytes([1, 3, 0, 1]) + b"a", 1, [], bytes(8)), "disclosed"),
        (_forge(b"k", bytes([0, 3, 1, 1]) + b"a", 1, [8], bytes(8)), "ndim"),
        (_forge(b"k", bytes([0, 0, 0, 1]) + b"a", 1, [], b""), "ndim"),
        (_forge(b"k", bytes([0, 16, 65, 1]) + b"a", 1, [1] * 65, b"\x00"), "ndim"),
        (_forge(b"k", bytes([0, 16, 1, 1]) + b"\xff", 1, [1], b"\x00"), "utf-8"),
        (_forge(b"\xc3", b"", 0, [], b""), "utf-8"),
        (_forge(b"k", bytes([0, 26, 1, 1]) + b"a", 1, [2], b"\x01\x02"), "bool"),
        (_forge(b"k", bytes([0, 5, 0, 1]) + b"a", 1, [], b"\x02"), "bool"),
        (_forge(b"k", bytes([0, 2, 1, 1]) + b"a", 1, [3], b"{x}"), "Expecting"),
        (_forge(b"k", bytes([0, 2, 1, 1]) + b"a", 1, [4000], b"[" * 4000), "recursion"),
        (_forge(b"k", bytes([0, 16, 1, 1]) + b"a", 2, [1], b"\x00"), "truncated"),
        (_forge(b"k", bytes([0, 16, 1, 1]) + b"a", 1, [5], b"abc"), "truncated array"),
        (_forge(b"k", bytes([0, 16, 1, 1]) + b"ab", 1, [1], b"\x00"), "left"),
        (_forge(b"k", bytes([0, 23, 1, 1]) + b"a", 1, [1], bytes(8))[:-9] + b"\x01" + bytes(8), "padding"),
    ],
)  # fmt: skip
def test_malformed_messages_abort_with_a_reason(wire: bytes, match: str) -> None:
    with pytest.raises(ProtocolAbort, match=f"(?i){match}"):
        decode_message(wire)


def _spelled(dtype: bytes, dims: list[int], body: bytes) -> bytes:
    descriptor = bytes([0, 15, len(dims), 1]) + b"a" + bytes([len(dtype)]) + dtype
    return _forge(b"k", descriptor, 1, dims, body)


@pytest.mark.parametrize(
    "dtype",
    [b"|O8", b"O", b"<i8", b"i4", b"<i4,<i4", b"(2,)<i4", b"|S0", b"<a5", b"<q", b"|V0", b"\xff"],
)
def test_spelled_dtypes_must_be_canonical_and_plain(dtype: bytes) -> None:
    with pytest.raises(ProtocolAbort, match=r"dtype|utf-8|ascii"):
        decode_message(_spelled(dtype, [1], bytes(16)))


def test_spelled_dtype_decodes_when_canonical() -> None:
    back = decode_message(_spelled(b">i4", [2], b"\x00\x00\x00\x01\x00\x00\x00\x02"))
    assert _same_array(back.public["a"], np.array([1, 2], dtype=">i4"))


@pytest.mark.parametrize("dims", [[2**40], [2**62, 2**62], [2**64 - 1], [0, 2**63 - 1], [3, 2**63]])
def test_forged_lengths_allocate_nothing_large(dims: list[int]) -> None:
    wire = _forge(b"k", bytes([0, 16, len(dims), 1]) + b"a", 1, dims, bytes(64))
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolAbort):
            decode_message(wire)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_forged_bytes_length_is_rejected() -> None:
    with pytest.raises(ProtocolAbort, match="truncated"):
        decode_message(_forge(b"k", bytes([1, 0, 1, 1]) + b"t", 1, [2**50], b"abc"))


def test_decode_accepts_any_bytes_like() -> None:
    wire = _sample_wires()[1]
    for data in (bytearray(wire), memoryview(wire)):
        assert decode_message(data).kind == "ec.parities"  # type: ignore[arg-type]


def test_schema_cache_stays_bounded() -> None:
    for i in range(3 * wire_module._MAX_CACHED_SCHEMAS):
        decode_message(encode_message(Message(f"k{i}", public={"v": np.zeros(1)})))
        assert len(wire_module._SCHEMA_CACHE) <= wire_module._MAX_CACHED_SCHEMAS
    assert 0 < len(wire_module._SCHEMA_CACHE)
    long_name = "n" * 255
    before = dict(wire_module._SCHEMA_CACHE)
    decode_message(
        encode_message(Message("k", public={f"{long_name}{i}"[-255:]: 1 for i in range(5)}))
    )
    assert wire_module._SCHEMA_CACHE.keys() - before.keys() == set()  # too long to keep


@given(st.binary(max_size=200))
@_FUZZ
def test_fuzz_random_bytes_abort_or_decode(data: bytes) -> None:
    try:
        decode_message(data)
    except ProtocolAbort:
        pass


@given(
    which=st.integers(0, 3),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 10**6),
    insert=st.binary(max_size=3),
)
@_FUZZ
def test_fuzz_mutated_messages_abort_or_decode(
    which: int, edits: list[tuple[int, int]], cut: int, insert: bytes
) -> None:
    wire = bytearray(_sample_wires()[which])
    for pos, byte in edits:
        wire[pos % len(wire)] = byte
    cut %= len(wire) + 1
    mutated = bytes(wire[:cut]) + insert + bytes(wire[cut:])
    try:
        msg = decode_message(mutated)
    except ProtocolAbort:
        return
    # Whatever decodes re-encodes to a fixed point, and to the very same bytes unless the message
    # has a JSON body (the one part with more than one spelling: sample 2).
    again = encode_message(msg)
    assert encode_message(decode_message(again)) == again
    if which != 2:
        assert again == mutated


_dtypes = st.sampled_from([*_COMMON, ">i4", "<f2", "<c16", "<M8[us]", "|S3"])
_arrays = _dtypes.flatmap(
    lambda dt: hnp.arrays(
        np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    )
)
_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
_public_values = st.one_of(
    _arrays,
    st.binary(max_size=8),
    _json_scalars,
    st.lists(_json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=3), _json_scalars, max_size=3),
)


@given(
    kind=st.text(max_size=10),
    public=st.dictionaries(st.text(max_size=6), _public_values, max_size=5),
    disclosed=st.dictionaries(
        st.text(max_size=6), st.one_of(_arrays, st.binary(max_size=8)), max_size=3
    ),
)
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_fuzz_valid_messages_round_trip(
    kind: str, public: dict[str, Any], disclosed: dict[str, Any]
) -> None:
    wire = encode_message(Message(kind, public, disclosed))
    back = decode_message(wire)
    assert back.kind == kind
    for got_map, want_map in ((back.public, public), (back.disclosed, disclosed)):
        assert list(got_map) == list(want_map)
        for name, want in want_map.items():
            got = got_map[name]
            if isinstance(want, np.ndarray):
                assert _same_array(got, want)
            else:
                assert type(got) is type(want) and got == want
    assert encode_message(back) == wire  # canonical: one encoding per message
