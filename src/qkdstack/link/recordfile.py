"""Detection-record files: one Parquet file per party, with a documented schema and metadata block.

Schema (format ``qkdstack-records``, version 1); one row per detection event (or per pulse for
hardware records that list every pulse), sorted by strictly increasing ``pulse_index``:

=============== ======== ======== ===============================================================
column          type     required meaning
=============== ======== ======== ===============================================================
``pulse_index`` int64    yes      pulse (time-slot) index, in ``[0, pulses)``
``basis``       uint8    yes      basis / measurement-setting code (see the protocol's conventions)
``bit``         uint8    yes      prepared bit (Alice) or measured outcome (Bob), 0 or 1
``intensity``   uint8    no       intensity class, index into ``intensities`` (Alice)
``time_tag_ps`` int64    no       detection time in picoseconds, when modelled or measured
=============== ======== ======== ===============================================================

No column may hold nulls. The Parquet key-value metadata holds one key, ``qkdstack``, whose value is
a JSON object:

``format`` ("qkdstack-records"), ``format_version`` (1), ``role`` ("alice" or "bob"),
``protocol``, ``pulses`` (pulses sent), ``intensities`` (list of mean photon numbers),
``sent_counts`` (Alice: list of lists, pulses sent per intensity class and basis; or null),
``params`` (the link parameters), ``seed`` (int or null; null for hardware data), and
``qkdstack_version``.

:func:`read_records` and :func:`check_pair` raise :class:`~qkdstack.errors.RecordError` with a
message naming the file, the field and the problem. See also ``docs/records.md``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from qkdstack._version import __version__
from qkdstack.errors import RecordError
from qkdstack.link.records import RecordMeta, Records, check_listed
from qkdstack.params import LinkParams
from qkdstack.protocol import registry
from qkdstack.typing import Role

__all__ = [
    "BASIS_CODES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "RecordWriter",
    "check_pair",
    "read_records",
    "write_records",
]

FORMAT_NAME = "qkdstack-records"
FORMAT_VERSION = 1
_META_KEY = b"qkdstack"
_COLUMNS: dict[str, tuple[pa.DataType, bool]] = {
    "pulse_index": (pa.int64(), True),
    "basis": (pa.uint8(), True),
    "bit": (pa.uint8(), True),
    "intensity": (pa.uint8(), False),
    "time_tag_ps": (pa.int64(), False),
}


def _meta_json(records: Records) -> bytes:
    return _meta_block(records.meta, records.role)


def _meta_block(meta: RecordMeta, role: Role) -> bytes:
    block: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "role": role.value,
        "protocol": meta.protocol,
        "pulses": int(meta.pulses),
        "intensities": [float(x) for x in meta.intensities],
        "sent_counts": None if meta.sent_counts is None else meta.sent_counts.tolist(),
        "params": meta.params,
        "seed": meta.seed,
        "qkdstack_version": __version__,
    }
    return json.dumps(block, sort_keys=True).encode()


def write_records(records: Records, path: str | os.PathLike[str]) -> None:
    """Write one party's records to a Parquet file (written to a temporary name, then renamed).

    Parameters
    ----------
    records : Records
    path : path-like
        Destination file; its directory must exist.
    """
    path = Path(path)
    columns: dict[str, np.ndarray] = {
        "pulse_index": records.pulse_index,
        "basis": records.basis,
        "bit": records.bit,
    }
    if records.intensity is not None:
        columns["intensity"] = records.intensity
    if records.time_tag_ps is not None:
        columns["time_tag_ps"] = records.time_tag_ps
    fields = [pa.field(name, _COLUMNS[name][0], nullable=False) for name in columns]
    schema = pa.schema(fields, metadata={_META_KEY: _meta_json(records)})
    table = pa.table(
        [pa.array(columns[f.name], type=f.type) for f in fields],
        schema=schema,
    )
    tmp = path.with_name(path.name + ".partial")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class RecordWriter:
    """Write one party's records chunk by chunk (bounded memory); the metadata is added on close.

    The file is written under a temporary name and renamed by :meth:`close`; :meth:`abort`
    removes it. Chunks must continue the strictly increasing pulse order.

    Parameters
    ----------
    path : path-like
        Destination file.
    role : Role
    intensity, time_tags : bool
        Whether the optional ``intensity`` and ``time_tag_ps`` columns are written.
    """

    def __init__(
        self, path: str | os.PathLike[str], role: Role, *, intensity: bool, time_tags: bool
    ) -> None:
        self.path = Path(path)
        self.role = role
        names = ["pulse_index", "basis", "bit"]
        if intensity:
            names.append("intensity")
        if time_tags:
            names.append("time_tag_ps")
        self._fields = [pa.field(n, _COLUMNS[n][0], nullable=False) for n in names]
        self._schema = pa.schema(self._fields)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
        self._last = -1
        self.rows = 0

    def write(self, columns: dict[str, np.ndarray]) -> None:
        """Append rows; ``columns`` maps each column name of this file to a 1-D array."""
        index = columns["pulse_index"]
        if index.shape[0] == 0:
            return
        if int(index[0]) <= self._last:
            raise RecordError(
                f"Record field 'pulse_index' must be strictly increasing across chunks, "
                f"not {int(index[0])} after {self._last}."
            )
        arrays = [pa.array(columns[f.name], type=f.type) for f in self._fields]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._last = int(index[-1])
        self.rows += int(index.shape[0])

    def close(self, meta: RecordMeta) -> None:
        """Add the metadata block, finish the file and move it to its final name."""
        self._writer.add_key_value_metadata({_META_KEY: _meta_block(meta, self.role)})
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Close and delete the unfinished file."""
        try:
            self._writer.close()
        finally:
            if self._tmp.exists():
                self._tmp.unlink()


class _BasisCodes(Mapping[str, tuple[frozenset[int], frozenset[int]]]):
    """Each registered protocol's ``record_bases`` (a read-only view of the protocol registry)."""

    def __getitem__(self, protocol: str) -> tuple[frozenset[int], frozenset[int]]:
        if not registry.is_registered(protocol):
            raise KeyError(protocol)
        return registry.get(protocol).record_bases

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names())

    def __len__(self) -> int:
        return len(registry.names())


BASIS_CODES: Mapping[str, tuple[frozenset[int], frozenset[int]]] = _BasisCodes()
"""The documented ``basis`` codes of each protocol (docs/records.md): (Alice's, Bob's)."""


def _finite(value: Any) -> bool:
    """A metadata value holds no inf or NaN (numbers nested in lists included)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


_PARAM_DEFAULTS: dict[str, Any] = LinkParams().to_dict()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _param_type_ok(name: str, value: Any) -> bool:
    """A link parameter in the metadata has its field's type (the proof reads some of them)."""
    if name not in _PARAM_DEFAULTS or value is None:
        return True
    default = _PARAM_DEFAULTS[name]
    if isinstance(default, list):
        return isinstance(value, list) and all(_is_number(v) for v in value)
    if isinstance(default, float):
        return _is_number(value)
    return isinstance(value, str)


def _param_kind(name: str) -> str:
    default = _PARAM_DEFAULTS.get(name)
    if isinstance(default, list):
        return "a list of finite numbers"
    if isinstance(default, str):
        return "a name"
    return "finite numbers" if default is None else "a finite number"


def _need(ok: bool, path: Path, message: str) -> None:
    if not ok:
        raise RecordError(f"Record file '{path}': {message}")


def read_records(path: str | os.PathLike[str]) -> Records:
    """Read and validate a record file written by :func:`write_records` (or by hardware tools).

    Raises
    ------
    RecordError
        When the file is missing, not Parquet, lacks the metadata block, has a wrong or missing
        column, nulls, out-of-range values, or unsorted pulse indices.
    """
    path = Path(path)
    _need(path.is_file(), path, "no such file.")
    try:
        parquet = pq.ParquetFile(path)
        table = parquet.read()
        # The file-level key-value metadata (written by write_table and by RecordWriter.close).
        file_meta = parquet.metadata.metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise RecordError(f"Record file '{path}': not a readable Parquet file ({exc}).") from None
    raw = file_meta.get(_META_KEY)
    _need(raw is not None, path, "missing the 'qkdstack' metadata block.")
    try:
        block = json.loads(raw)  # type: ignore[arg-type]
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RecordError(f"Record file '{path}': the 'qkdstack' metadata is not JSON.") from None
    _need(isinstance(block, dict), path, "the 'qkdstack' metadata must be a JSON object.")
    _need(
        block.get("format") == FORMAT_NAME,
        path,
        f"metadata 'format' must be {FORMAT_NAME!r}, not {block.get('format')!r}.",
    )
    _need(
        block.get("format_version") == FORMAT_VERSION,
        path,
        f"metadata 'format_version' must be {FORMAT_VERSION}, not {block.get('format_version')!r}.",
    )
    roles = [r.value for r in Role]
    _need(
        block.get("role") in roles,
        path,
        f"metadata 'role' must be one of {roles}, not {block.get('role')!r}.",
    )
    protocol = block.get("protocol")
    _need(
        isinstance(protocol, str) and bool(protocol),
        path,
        f"metadata 'protocol' must be a name, not {protocol!r}.",
    )
    pulses = block.get("pulses")
    _need(
        isinstance(pulses, int) and not isinstance(pulses, bool) and pulses >= 0,
        path,
        f"metadata 'pulses' must be an integer >= 0, not {pulses!r}.",
    )
    _need(
        protocol in BASIS_CODES,
        path,
        f"metadata 'protocol' must be one of {', '.join(BASIS_CODES)}, not {protocol!r}.",
    )
    intensities = block.get("intensities", [])
    _need(
        isinstance(intensities, list)
        and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0
            for x in intensities
        ),
        path,
        f"metadata 'intensities' must be a list of finite numbers >= 0, not {intensities!r}.",
    )
    seed = block.get("seed")
    _need(
        seed is None or (isinstance(seed, int) and not isinstance(seed, bool)),
        path,
        f"metadata 'seed' must be an integer or null, not {seed!r}.",
    )
    params = block.get("params", {})
    _need(isinstance(params, dict), path, "metadata 'params' must be an object.")
    for name, value in params.items():
        _need(
            _finite(value) and _param_type_ok(name, value),
            path,
            f"metadata 'params' entry {name!r} must hold {_param_kind(name)}, not {value!r}.",
        )
    sent_counts = None
    if block.get("sent_counts") is not None:
        try:
            sent_counts = np.asarray(block["sent_counts"], dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            sent_counts = None
        _need(
            sent_counts is not None and sent_counts.ndim == 2 and bool((sent_counts >= 0).all()),
            path,
            "metadata 'sent_counts' must be a 2-D list of counts >= 0.",
        )
        assert sent_counts is not None
        _need(
            int(sent_counts.sum()) == pulses,
            path,
            f"metadata 'sent_counts' must sum to 'pulses' = {pulses}, not {int(sent_counts.sum())}.",
        )
        _need(
            not intensities or sent_counts.shape[0] == len(intensities),
            path,
            f"metadata 'sent_counts' must have one row per intensity ({len(intensities)}), "
            f"not {sent_counts.shape[0]}.",
        )

    names = set(table.column_names)
    unknown = sorted(names - set(_COLUMNS))
    _need(not unknown, path, f"unknown column {unknown[0]!r}." if unknown else "")
    arrays: dict[str, np.ndarray] = {}
    for name, (dtype, required) in _COLUMNS.items():
        if name not in names:
            _need(not required, path, f"missing required column {name!r}.")
            continue
        column = table.column(name)
        _need(
            column.type == dtype,
            path,
            f"column {name!r} must have type {dtype}, not {column.type}.",
        )
        _need(column.null_count == 0, path, f"column {name!r} must not hold nulls.")
        arrays[name] = column.to_numpy()
    n = table.num_rows
    if n:
        _need(int(arrays["bit"].max()) <= 1, path, "column 'bit' must hold only 0 and 1.")
        role = Role(block["role"])
        allowed = BASIS_CODES[str(protocol)][0 if role is Role.ALICE else 1]
        codes = np.unique(arrays["basis"])
        bad = [int(c) for c in codes if int(c) not in allowed]
        _need(
            not bad,
            path,
            f"column 'basis' must hold the {protocol} codes of {role.value} "
            f"({', '.join(map(str, sorted(allowed)))}; see docs/records.md), not {bad[0] if bad else ''}.",
        )
        if protocol == "b92" and role is Role.ALICE:
            _need(
                bool(np.array_equal(arrays["basis"], arrays["bit"])),
                path,
                "columns 'basis' and 'bit' must be equal for b92's Alice (her bit is her basis).",
            )
        if "intensity" in arrays and intensities:
            top = int(arrays["intensity"].max())
            _need(
                top < len(intensities),
                path,
                f"column 'intensity' must index 'intensities' (< {len(intensities)}), not {top}.",
            )
    meta = RecordMeta(
        protocol=str(protocol),
        pulses=int(pulses),
        intensities=tuple(float(x) for x in intensities),
        sent_counts=sent_counts,
        params=params,
        seed=seed,
    )
    try:
        return Records(
            role=Role(block["role"]),
            pulse_index=np.ascontiguousarray(arrays["pulse_index"]),
            basis=np.ascontiguousarray(arrays["basis"]),
            bit=np.ascontiguousarray(arrays["bit"]),
            meta=meta,
            intensity=arrays.get("intensity"),
            time_tag_ps=arrays.get("time_tag_ps"),
        )
    except RecordError as exc:
        raise RecordError(f"Record file '{path}': {exc}") from None


def check_pair(alice: Records, bob: Records) -> None:
    """Check that two record sets are Alice's and Bob's records of the same run.

    Bob's pulse indices must all appear in Alice's records (Alice lists at least her settings for
    Bob's detections; hardware records may list every pulse).

    Raises
    ------
    RecordError
        Naming the first mismatch found.
    """
    if alice.role is not Role.ALICE:
        raise RecordError(f"Records 'alice' must have role 'alice', not {alice.role.value!r}.")
    if bob.role is not Role.BOB:
        raise RecordError(f"Records 'bob' must have role 'bob', not {bob.role.value!r}.")
    if alice.meta.protocol != bob.meta.protocol:
        raise RecordError(
            f"Records of Alice and Bob must have the same 'protocol', not "
            f"{alice.meta.protocol!r} and {bob.meta.protocol!r}."
        )
    if alice.meta.pulses != bob.meta.pulses:
        raise RecordError(
            f"Records of Alice and Bob must have the same 'pulses', not "
            f"{alice.meta.pulses} and {bob.meta.pulses}."
        )
    if alice.meta.seed != bob.meta.seed:
        raise RecordError(
            f"Records of Alice and Bob must come from the same run ('seed'), not "
            f"{alice.meta.seed!r} and {bob.meta.seed!r}."
        )
    check_listed(alice, bob)
