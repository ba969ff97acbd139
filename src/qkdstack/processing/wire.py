"""The wire codec: a :class:`Message` as bytes, and back.

The classical channel (:mod:`qkdstack.processing.channel`) and the TCP endpoints
(:mod:`qkdstack.processing.endpoint`) carry messages as the bytes this module writes, so no array
is ever shared in memory between Alice and Bob. A message's ``disclosed`` part is counted here as
it is decoded (:func:`decode_counted`), which is how the channel measures leakage.

Wire format, version 1 (all integers little-endian; ``docs/protocol.md`` has the same layout)::

    message    := head | kind | descriptor* | dims | zero padding to a multiple of 16 | body*
    head       := 'Q' (0x51) | version u8 (= 1) | kind_len u8 | n_fields u16 | desc_len u16
    kind       := kind_len bytes of UTF-8
    descriptor := section u8 (0 public, 1 disclosed) | code u8 | ndim u8 | name_len u8
                  | name (UTF-8) | [dtype_len u8 | dtype (ASCII), when code = 15]
    dims       := u64 per dimension: each field's ndim dimensions, in field order
    body       := zero padding to the array's alignment (from the start of the message) | data

``code`` says what a field is: an array of one of the eleven common dtypes (16-26 for u1 i1 u2 i2
u4 i4 u8 i8 f4 f8 b1, little-endian), an array of a spelled-out dtype (15: numpy's canonical
``dtype.str``, such as ``>i4`` or ``<c16``), ``bytes`` (0), or a public scalar: ``str`` (1, UTF-8),
a JSON value (2: lists, dicts, ints beyond int64), ``int`` (3, int64), ``float`` (4, float64),
``bool`` (5, one byte 0/1), ``None`` (6, no body). An array's body is ``prod(dims) * itemsize``
bytes in C order; ``bytes``, ``str`` and JSON fields have ``ndim = 1`` and their byte length as
their dimension; fixed-size scalars have ``ndim = 0``. Fields come public first, then disclosed,
each in its mapping's order.

The kind and descriptors (the message's *schema*) repeat from one round trip to the next, so the
decoder keeps the parsed schemas of short messages in a small bounded cache, and the encoder keeps,
per kind and field names, a plan for messages made of arrays only (their head, kind and descriptors
as bytes, checked against each message's dtypes and ndims before use); dimensions and bodies are
written and read every time. Every length is checked against the bytes actually present before
anything is allocated: garbage, truncated or trailing bytes raise
:class:`~qkdstack.errors.ProtocolAbort`, never an uncaught error or a huge allocation.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from qkdstack.errors import ParameterError, ProtocolAbort

__all__ = [
    "WIRE_VERSION",
    "Message",
    "decode_counted",
    "decode_message",
    "encode_message",
]

WIRE_VERSION: Final = 1
"""Version byte of the wire format written by :func:`encode_message` (the only one it reads)."""

_MAGIC: Final = 0x51  # "Q"
_HEAD = struct.Struct("<BBBHH")  # magic, version, kind_len, n_fields, desc_len
_FIELD = struct.Struct("<BBBB")  # section, code, ndim, name_len
_I8 = struct.Struct("<q")
_F8 = struct.Struct("<d")
_MAX_NDIM: Final = 64  # numpy 2's limit
_MAX_NAME_BYTES: Final = 0xFF
_MAX_FIELDS: Final = 0xFFFF
_MAX_DESC_BYTES: Final = 0xFFFF
_BODY_ALIGN: Final = 16  # bodies start at a multiple of this; every dtype's alignment divides it
_PADS: Final = tuple(bytes(k) for k in range(_BODY_ALIGN))
_DIMS = [struct.Struct(f"<{k}Q") for k in range(33)]  # dims of up to 32 in all; more: made on use
# Parsed schemas of recent messages, keyed by their exact wire bytes (bounded: see _decode).
_SCHEMA_CACHE: dict[bytes, _Schema] = {}
_MAX_CACHED_SCHEMAS: Final = 512
_MAX_CACHED_SCHEMA_BYTES: Final = 1024
# Encoding plans of recent all-array messages, keyed by (kind, public names, disclosed names).
_PLAN_CACHE: dict[_PlanKey, _Plan] = {}
_MAX_PLANS: Final = 256
_MAX_PLAN_FIELDS: Final = 16
# Payloads shorter than this are copied once and their arrays are views of the copy; longer ones
# get one copy per array (no large buffer kept alive by a small array). Arrays at least this large
# are also joined from a view of their memory when encoded (one copy, not two).
_VIEW_BYTES: Final = 1 << 16

_PUBLIC: Final = 0
_DISCLOSED: Final = 1
# Codes of the bodies that are not arrays. Variable length (ndim 1): bytes, str, JSON.
_BYTES: Final = 0
_STR: Final = 1
_JSON: Final = 2
# Fixed size (ndim 0).
_INT: Final = 3
_FLOAT: Final = 4
_BOOL: Final = 5
_NONE: Final = 6
_SPELLED: Final = 15
# One-byte codes of the common array dtypes.
_CODE_DTYPES: Final[dict[int, np.dtype[Any]]] = {
    16 + i: np.dtype(s)
    for i, s in enumerate(
        ("u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8", "b1")
    )
}
_B1: Final = 26
_ARRAY_CODES: Final[dict[np.dtype[Any], tuple[int, int]]] = {
    dt: (code, dt.alignment) for code, dt in _CODE_DTYPES.items()
}
# Spelled-out dtypes: unstructured numeric, datetime, string or raw-void dtypes, as numpy's canonical
# dtype.str. Object arrays never travel (their buffers are pointers), nor do structured ones.
_SPELLED_KINDS: Final = frozenset("biufcmMSUV")
_SPELLED_RE: Final = re.compile(r"[<>|][biufcmMSUV][0-9]{1,9}(\[[0-9]*[a-zA-Z]+\])?")

# A parsed field descriptor: (disclosed?, name, code, dtype or None, ndim, itemsize, alignment).
_Field = tuple[bool, str, int, "np.dtype[Any] | None", int, int, int]
# An encoding plan: (head + kind + descriptors, (dtype, ndim, alignment) per field, dims Struct,
# zero padding before the bodies).
_PlanKey = tuple[str, tuple[str, ...], tuple[str, ...]]
_Plan = tuple[bytes, tuple[tuple["np.dtype[Any]", int, int], ...], struct.Struct, bytes]
# A parsed schema: (kind, fields, dims Struct, offset of the bodies, its zero padding, has arrays?).
_Schema = tuple[str, tuple[_Field, ...], struct.Struct, int, bytes, bool]


def _dims_struct(n_dims: int) -> struct.Struct:
    return _DIMS[n_dims] if n_dims < len(_DIMS) else struct.Struct(f"<{n_dims}Q")


@dataclass(frozen=True, slots=True)
class Message:
    """One public message.

    Parameters
    ----------
    kind : str
        What the message is (``"sift"``, ``"ec.parities"``...); the receiver dispatches on it.
    public : mapping
        Values that carry no information about the key: numpy arrays (pulse indices, bases, block
        boundaries), ``bytes`` (seeds) or scalars (``int``, ``float``, ``str``, ``bool``, ``None``,
        small JSON lists and dicts).
    disclosed : mapping
        Values that depend on the key: ``uint8`` 0/1 bit arrays (1 bit each) or ``bytes`` (8 bits
        each). Their size is the leakage the channel counts.
    """

    kind: str
    public: Mapping[str, Any] = field(default_factory=dict)
    disclosed: Mapping[str, Any] = field(default_factory=dict)

    def disclosed_bits(self) -> int:
        """Number of key-dependent bits this message reveals: 1 per array element, 8 per byte."""
        total = 0
        for value in self.disclosed.values():
            if type(value) is np.ndarray:
                total += value.size
            elif isinstance(value, bytes | bytearray):
                total += 8 * len(value)
            else:
                total += int(np.asarray(value).size)
        return total


def _spelled_dtype(dt: np.dtype[Any], name: str) -> bytes:
    """The wire spelling of a dtype that has no one-byte code; raise if it cannot travel."""
    spelled = dt.str
    if dt.kind not in _SPELLED_KINDS or dt.fields is not None or not _SPELLED_RE.fullmatch(spelled):
        raise ParameterError(
            f"Array field {name!r} must have a numeric, datetime, string or raw dtype, not {dt}."
        )
    return spelled.encode("ascii")


def _scalar_body(value: Any, name: str) -> tuple[int, bytes]:
    """Code and body of a public scalar (a numpy scalar travels as the equal Python value)."""
    if isinstance(value, np.generic):
        value = value.item()
    kind = type(value)
    if kind is bool:
        return _BOOL, b"\x01" if value else b"\x00"
    if kind is int and -(1 << 63) <= value < (1 << 63):
        return _INT, _I8.pack(value)
    if kind is float:
        return _FLOAT, _F8.pack(value)
    if value is None:
        return _NONE, b""
    try:
        if kind is str:
            return _STR, value.encode()
        return _JSON, json.dumps(value).encode()
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"Public field {name!r} must be an array, bytes or a JSON-encodable scalar, not "
            f"{kind.__name__} ({exc})."
        ) from exc


def encode_message(message: Message) -> bytes:
    """Encode a message to bytes (wire format version 1, see the module docstring).

    Parameters
    ----------
    message : Message
        The message. Arrays keep dtype and shape (any ndim, 0-d and empty included) and travel in
        C order; ``bytes``/``bytearray`` arrive as ``bytes``; public scalars arrive as the equal
        Python value (JSON values as JSON decodes them: tuples become lists, keys strings).

    Returns
    -------
    bytes
        The payload; the channel appends the authentication tag.

    Raises
    ------
    ParameterError
        A disclosed value that is not an array or bytes, an object or structured array, a scalar
        JSON cannot encode, a field name that is not a ``str``, or a kind or field name longer
        than 255 UTF-8 bytes.
    """
    public = message.public
    disclosed = message.disclosed
    plan_key = None
    if type(public) is dict and type(disclosed) is dict and type(message.kind) is str:
        plan_key = (message.kind, tuple(public), tuple(disclosed))
        plan = _PLAN_CACHE.get(plan_key)
        if plan is not None:
            wire = _encode_planned(plan, public, disclosed)
            if wire is not None:
                return wire
            plan_key = None  # a plan exists for these names but not for these dtypes
    return _encode(message, plan_key)


def _encode_planned(plan: _Plan, public: dict[str, Any], disclosed: dict[str, Any]) -> bytes | None:
    """Encode an all-array message by its plan; None when a value does not fit the plan."""
    prefix, specs, dims_struct, pad = plan
    dims: list[int] = []
    bodies: list[Any] = [prefix, b"", pad]  # [1]: the dims, packed last
    body_bytes = 0
    values = [*public.values(), *disclosed.values()]  # as many as specs: the plan key has the names
    for value, (dt, ndim, align) in zip(values, specs):  # noqa: B905 (strict= costs 0.1 us here)
        if type(value) is not np.ndarray or value.ndim != ndim:
            return None
        if value.dtype is not dt and value.dtype != dt:  # arrays made by numba: equal, not same
            return None
        dims.extend(value.shape)
        if body_bytes % align:
            gap = _PADS[-body_bytes % align]
            bodies.append(gap)
            body_bytes += len(gap)
        nbytes = value.nbytes
        if nbytes >= _VIEW_BYTES and value.flags.c_contiguous:
            bodies.append(value.reshape(-1).view(np.uint8).data)  # copied once, by join
        else:
            bodies.append(value.tobytes())  # C order whatever the strides
        body_bytes += nbytes
    bodies[1] = dims_struct.pack(*dims)
    return b"".join(bodies)


def _encode(message: Message, plan_key: _PlanKey | None) -> bytes:
    """Encode field by field; store a plan under ``plan_key`` when every field is an array."""
    # A name longer than its u8 length or a kind or name that is not a str fails in struct.pack
    # or str.encode; _check_names then says which and why.
    try:
        desc: list[bytes] = []  # two entries per field
        specs: list[tuple[np.dtype[Any], int, int]] = []
        dims: list[int] = []
        bodies: list[Any] = []
        body_bytes = 0
        pack_field = _FIELD.pack
        for section, mapping in ((_PUBLIC, message.public), (_DISCLOSED, message.disclosed)):
            if not mapping:
                continue
            for name, value in mapping.items():
                name_b = name.encode()
                if isinstance(value, np.ndarray):
                    dt = value.dtype
                    shape = value.shape
                    known = _ARRAY_CODES.get(dt)
                    if known is None:
                        spelled = _spelled_dtype(dt, name)
                        desc.append(pack_field(section, _SPELLED, len(shape), len(name_b)))
                        desc.append(name_b + bytes((len(spelled),)) + spelled)
                        align = dt.alignment
                    else:
                        code, align = known
                        desc.append(pack_field(section, code, len(shape), len(name_b)))
                        desc.append(name_b)
                    dims.extend(shape)
                    specs.append((dt, len(shape), align))
                    if body_bytes % align:
                        pad = _PADS[-body_bytes % align]
                        bodies.append(pad)
                        body_bytes += len(pad)
                    nbytes = value.nbytes
                    if nbytes >= _VIEW_BYTES and value.flags.c_contiguous:
                        bodies.append(value.reshape(-1).view(np.uint8).data)  # copied once, by join
                    else:
                        bodies.append(value.tobytes())  # C order whatever the strides
                    body_bytes += nbytes
                    continue
                if isinstance(value, bytes | bytearray):
                    code, body = _BYTES, value
                elif section == _DISCLOSED:
                    raise ParameterError(
                        f"Disclosed field {name!r} must be a bit array or bytes, not {type(value).__name__}."
                    )
                else:
                    code, body = _scalar_body(value, name)
                if code < _INT:
                    desc.append(pack_field(section, code, 1, len(name_b)))
                    dims.append(len(body))
                else:
                    desc.append(pack_field(section, code, 0, len(name_b)))
                desc.append(name_b)
                bodies.append(body)
                body_bytes += len(body)
        kind_b = message.kind.encode()
        desc_b = b"".join(desc)
        if len(desc_b) > _MAX_DESC_BYTES:
            raise ParameterError(
                f"A message's field descriptors must take at most {_MAX_DESC_BYTES} bytes, "
                f"not {len(desc_b)}."
            )
        n_dims = len(dims)
        prefix = _HEAD.size + len(kind_b) + len(desc_b) + 8 * n_dims
        parts: list[Any] = [
            _HEAD.pack(_MAGIC, WIRE_VERSION, len(kind_b), len(desc) >> 1, len(desc_b)),
            kind_b,
            desc_b,
            (_DIMS[n_dims] if n_dims < len(_DIMS) else _dims_struct(n_dims)).pack(*dims),
            _PADS[-prefix % _BODY_ALIGN],
        ]
        if plan_key is not None and len(specs) == len(desc) >> 1 <= _MAX_PLAN_FIELDS:
            if len(_PLAN_CACHE) >= _MAX_PLANS:
                _PLAN_CACHE.clear()
            _PLAN_CACHE[plan_key] = (
                b"".join(parts[:3]),
                tuple(specs),
                _dims_struct(n_dims),
                parts[4],
            )
        parts += bodies
        return b"".join(parts)
    except (struct.error, AttributeError) as exc:
        _check_names(message)
        raise ParameterError(f"Message cannot be encoded: {exc}.") from exc


def _check_names(message: Message) -> None:
    """Raise the :class:`ParameterError` that explains why a message's names cannot be encoded."""
    for mapping in (message.public, message.disclosed):
        for name in mapping:
            if type(name) is not str:
                raise ParameterError(f"Field names must be str, not {type(name).__name__}.")
            if len(name.encode()) > _MAX_NAME_BYTES:
                raise ParameterError(
                    f"Field name {name!r} must be at most {_MAX_NAME_BYTES} UTF-8 bytes, "
                    f"not {len(name.encode())}."
                )
    if type(message.kind) is not str:
        raise ParameterError(f"Message kind must be str, not {type(message.kind).__name__}.")
    if len(message.kind.encode()) > _MAX_NAME_BYTES:
        raise ParameterError(
            f"Message kind {message.kind!r} must be at most {_MAX_NAME_BYTES} UTF-8 bytes, "
            f"not {len(message.kind.encode())}."
        )
    n_fields = len(message.public) + len(message.disclosed)
    if n_fields > _MAX_FIELDS:
        raise ParameterError(f"A message must have at most {_MAX_FIELDS} fields, not {n_fields}.")


def _read_dtype(data: bytes, pos: int, schema_end: int) -> tuple[np.dtype[Any], int]:
    """Parse a spelled-out dtype at ``pos``; only canonical spellings of dtypes that travel pass."""
    end = pos + 1 + data[pos]
    spelled = data[pos + 1 : end].decode("ascii")
    if end > schema_end or not _SPELLED_RE.fullmatch(spelled):
        raise ValueError(f"bad dtype {spelled!r}")
    dt = np.dtype(spelled)
    if dt.str != spelled or dt.kind not in _SPELLED_KINDS or dt.itemsize == 0 or dt in _ARRAY_CODES:
        raise ValueError(f"bad dtype {spelled!r}")
    return dt, end


def _parse_schema(data: bytes, kind_len: int, n_fields: int, schema_end: int) -> _Schema:
    """Parse the kind and field descriptors, ``data[_HEAD.size:schema_end]``."""
    pos = _HEAD.size + kind_len
    kind = data[_HEAD.size : pos].decode()
    fields: list[_Field] = []
    seen: set[tuple[int, str]] = set()
    n_dims = 0
    for _ in range(n_fields):
        if pos + _FIELD.size > schema_end:
            raise ValueError("truncated field descriptor")
        section, code, ndim, name_len = _FIELD.unpack_from(data, pos)
        pos += _FIELD.size
        end = pos + name_len
        if end > schema_end:
            raise ValueError("truncated field name")
        name = data[pos:end].decode()
        pos = end
        if section > _DISCLOSED:
            raise ValueError(f"field {name!r}: unknown section {section}")
        if (section, name) in seen:
            raise ValueError(f"field {name!r} appears twice")
        seen.add((section, name))
        dt = _CODE_DTYPES.get(code)
        if code == _SPELLED:
            dt, pos = _read_dtype(data, pos, schema_end)
        if dt is not None:
            if ndim > _MAX_NDIM:
                raise ValueError(f"field {name!r}: ndim {ndim} > {_MAX_NDIM}")
            fields.append((section == _DISCLOSED, name, code, dt, ndim, dt.itemsize, dt.alignment))
        else:
            if code > _NONE:
                raise ValueError(f"field {name!r}: unknown code {code}")
            if section == _DISCLOSED and code != _BYTES:
                raise ValueError(f"disclosed field {name!r} must be an array or bytes")
            if ndim != (1 if code < _INT else 0):
                raise ValueError(f"field {name!r}: code {code} cannot have ndim {ndim}")
            fields.append((section == _DISCLOSED, name, code, None, ndim, 1, 1))
        n_dims += ndim
    if pos != schema_end:
        raise ValueError(f"{schema_end - pos} bytes left in the field descriptors")
    dims_end = schema_end + 8 * n_dims
    pad = _PADS[-dims_end % _BODY_ALIGN]
    has_arrays = any(f[3] is not None for f in fields)
    return kind, tuple(fields), _dims_struct(n_dims), dims_end + len(pad), pad, has_arrays


_new_message = object.__new__
_ndarray = np.ndarray
# A decoded message is built through its slots: the frozen dataclass __init__ costs twice as much.
_set_kind = Message.__dict__["kind"].__set__
_set_public = Message.__dict__["public"].__set__
_set_disclosed = Message.__dict__["disclosed"].__set__
_HEAD_ID: Final = _MAGIC | WIRE_VERSION << 8  # the first two bytes as one little-endian u16
_HEAD_U16 = struct.Struct("<HBHH")  # the head with magic and version read as one number


def _decode(data: bytes) -> tuple[Message, int]:
    """Decode a payload; return the message and its disclosed bits. Raise ValueError on garbage."""
    n = len(data)
    if n < _HEAD.size:
        raise ValueError(f"{n} bytes is shorter than the {_HEAD.size}-byte head")
    head_id, kind_len, n_fields, desc_len = _HEAD_U16.unpack_from(data, 0)
    if head_id != _HEAD_ID:
        raise ValueError(f"not a version-{WIRE_VERSION} message (starts {data[:2]!r})")
    schema_end = _HEAD.size + kind_len + desc_len
    if schema_end > n:
        raise ValueError("truncated schema")
    key = data[2:schema_end]  # everything the parse depends on
    schema = _SCHEMA_CACHE.get(key)
    if schema is None:
        schema = _parse_schema(data, kind_len, n_fields, schema_end)
        if len(key) <= _MAX_CACHED_SCHEMA_BYTES:  # bounded: forged schemas cannot grow it
            if len(_SCHEMA_CACHE) >= _MAX_CACHED_SCHEMAS:
                _SCHEMA_CACHE.clear()
            _SCHEMA_CACHE[key] = schema
    kind, fields, dims_struct, pos, pad, has_arrays = schema
    if pos > n:
        raise ValueError("truncated dims")
    dims = dims_struct.unpack_from(data, schema_end)
    if pad and not data.startswith(pad, pos - len(pad)):
        raise ValueError("bad padding before the bodies")
    # Small payloads: one writable copy, and the arrays are views of it (they alias nothing that
    # the sender, the wire or another message holds). Large ones: one copy per array.
    buf = bytearray(data) if has_arrays and n < _VIEW_BYTES else None
    public: dict[str, Any] = {}
    disclosed: dict[str, Any] = {}
    disclosed_bits = 0
    di = 0
    value: Any
    for is_disclosed, name, code, dt, ndim, itemsize, align in fields:
        if dt is not None:
            shape: Any
            if ndim == 1:
                shape = count = dims[di]
            else:
                shape = dims[di : di + ndim]
                count = math.prod(shape)
            di += ndim
            if align > 1 and pos % align:
                gap = _PADS[-pos % align]
                if not data.startswith(gap, pos):
                    raise ValueError(f"field {name!r}: bad padding")
                pos += len(gap)
            end = pos + count * itemsize
            if end > n:
                raise ValueError(f"field {name!r}: truncated array")
            if buf is None:
                value = _ndarray(shape, dt, data, pos).copy()
            else:
                # Aligned: `pos` is a multiple of the dtype's alignment and CPython allocates the
                # bytearray on a 16-byte boundary, as malloc does numpy's own buffers.
                value = _ndarray(shape, dt, buf, pos)
            if code == _B1 and data[pos:end].translate(None, b"\x00\x01"):
                raise ValueError(f"field {name!r}: bool array holds bytes other than 0 and 1")
            pos = end
            if is_disclosed:
                disclosed_bits += count
                disclosed[name] = value
            else:
                public[name] = value
            continue
        if code < _INT:
            end = pos + dims[di]
            di += 1
            if end > n:
                raise ValueError(f"field {name!r}: truncated body")
            body = data[pos:end]
            pos = end
            if code == _BYTES:
                value = body
                if is_disclosed:
                    disclosed_bits += 8 * len(body)
            elif code == _STR:
                value = body.decode()
            else:
                value = json.loads(body.decode())
        elif code == _INT:
            (value,) = _I8.unpack_from(data, pos)
            pos += 8
        elif code == _FLOAT:
            (value,) = _F8.unpack_from(data, pos)
            pos += 8
        elif code == _BOOL:
            flag = data[pos]
            if flag > 1:
                raise ValueError(f"field {name!r}: bool byte {flag}")
            value = flag == 1
            pos += 1
        else:
            value = None
        if is_disclosed:
            disclosed[name] = value
        else:
            public[name] = value
    if pos != n:
        raise ValueError(f"{n - pos} trailing bytes")
    message = _new_message(Message)
    _set_kind(message, kind)
    _set_public(message, public)
    _set_disclosed(message, disclosed)
    return message, disclosed_bits


_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    struct.error,
)


def decode_message(data: bytes) -> Message:
    """Decode bytes made by :func:`encode_message`.

    Arrays are writable and alias nothing outside the message (small messages' arrays are views
    of one private copy of ``data``, large ones' are copies).

    Raises
    ------
    ProtocolAbort
        On anything that is not exactly one well-formed message: a wrong magic or version, a
        truncated or overlong field, trailing bytes, an unknown code or dtype, a forged length.
    """
    if type(data) is not bytes:
        data = bytes(data)
    try:
        return _decode(data)[0]
    except _MALFORMED as exc:
        raise ProtocolAbort(f"malformed classical message: {exc}", stage="channel") from exc


def decode_counted(data: bytes) -> tuple[Message, int]:
    """Decode ``data`` (``bytes``, as made by :func:`encode_message`) and count its disclosed bits.

    Returns
    -------
    message, disclosed_bits
        The message, and the key-dependent bits it carries (1 per element of a disclosed array, 8
        per disclosed byte): what :class:`~qkdstack.processing.channel.ClassicalChannel` adds to
        the leakage of the stage.

    Raises
    ------
    ProtocolAbort
        As :func:`decode_message`.
    """
    try:
        return _decode(data)
    except _MALFORMED as exc:
        raise ProtocolAbort(f"malformed classical message: {exc}", stage="channel") from exc
