"""Record files: exact round trip, schema, and clear errors for malformed or mismatched input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qkdstack.errors import RecordError
from qkdstack.link import simulate
from qkdstack.link.recordfile import check_pair, read_records, write_records
from qkdstack.link.records import RecordMeta, Records
from qkdstack.params import LinkParams
from qkdstack.typing import Role


def _assert_same(x: Records, y: Records) -> None:
    assert x.role is y.role
    for name in ("pulse_index", "basis", "bit", "intensity", "time_tag_ps"):
        ax, ay = getattr(x, name), getattr(y, name)
        if ax is None:
            assert ay is None
        else:
            assert ay is not None and ax.dtype == ay.dtype and np.array_equal(ax, ay)
    assert x.meta.protocol == y.meta.protocol and x.meta.pulses == y.meta.pulses
    assert x.meta.intensities == y.meta.intensities and x.meta.seed == y.meta.seed
    assert x.meta.params == y.meta.params
    if x.meta.sent_counts is None:
        assert y.meta.sent_counts is None
    else:
        assert y.meta.sent_counts is not None
        assert np.array_equal(x.meta.sent_counts, y.meta.sent_counts)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    out = simulate("decoy-bb84", LinkParams(distance_km=10.0), 200_000, seed=4)
    write_records(out.alice, tmp_path / "a.parquet")
    write_records(out.bob, tmp_path / "b.parquet")
    a = read_records(tmp_path / "a.parquet")
    b = read_records(tmp_path / "b.parquet")
    _assert_same(out.alice, a)
    _assert_same(out.bob, b)
    check_pair(a, b)


def test_time_tags_round_trip_and_schema_types(tmp_path: Path) -> None:
    rec = Records(
        role=Role.BOB,
        pulse_index=np.array([0, 5, 9], dtype=np.int64),
        basis=np.array([0, 1, 2], dtype=np.uint8),
        bit=np.array([1, 0, 1], dtype=np.uint8),
        meta=RecordMeta(protocol="six-state", pulses=10, seed=None),
        time_tag_ps=np.array([0, 5000, 9000], dtype=np.int64),
    )
    write_records(rec, tmp_path / "b.parquet")
    schema = pq.read_schema(tmp_path / "b.parquet")
    assert schema.field("pulse_index").type == pa.int64()
    assert schema.field("bit").type == pa.uint8() and not schema.field("bit").nullable
    block = json.loads(schema.metadata[b"qkdstack"])
    assert block["format"] == "qkdstack-records" and block["format_version"] == 1
    assert block["role"] == "bob" and block["seed"] is None
    _assert_same(rec, read_records(tmp_path / "b.parquet"))


def _write_raw(path: Path, columns: dict[str, pa.Array], block: dict | None) -> None:
    meta = None if block is None else {b"qkdstack": json.dumps(block).encode()}
    pq.write_table(pa.table(columns).replace_schema_metadata(meta), path)


def _block(**changes: object) -> dict:
    block = {
        "format": "qkdstack-records",
        "format_version": 1,
        "role": "bob",
        "protocol": "bb84",
        "pulses": 10,
        "intensities": [],
        "sent_counts": None,
        "params": {},
        "seed": 1,
    }
    block.update(changes)
    return block


def _cols(**changes: pa.Array) -> dict[str, pa.Array]:
    cols = {
        "pulse_index": pa.array([1, 3], pa.int64()),
        "basis": pa.array([0, 1], pa.uint8()),
        "bit": pa.array([0, 1], pa.uint8()),
    }
    cols.update(changes)
    return cols


@pytest.mark.parametrize(
    ("columns", "block", "message"),
    [
        (_cols(), None, "missing the 'qkdstack' metadata"),
        (_cols(), _block(format="other"), "'format' must be"),
        (_cols(), _block(role="eve"), "'role' must be one of"),
        (_cols(), _block(pulses=-1), "'pulses' must be an integer >= 0"),
        (_cols(bit=pa.array([0, 2], pa.uint8())), _block(), "'bit' must hold only 0 and 1"),
        (_cols(bit=pa.array([0, 1], pa.int32())), _block(), "column 'bit' must have type uint8"),
        (_cols(pulse_index=pa.array([3, 1], pa.int64())), _block(), "strictly increasing"),
        (_cols(pulse_index=pa.array([1, 30], pa.int64())), _block(), r"must lie in \[0, 10\)"),
        (_cols(bit=pa.array([0, None], pa.uint8())), _block(), "must not hold nulls"),
        (_cols(extra=pa.array([0, 1], pa.uint8())), _block(), "unknown column 'extra'"),
        (
            {"pulse_index": pa.array([1], pa.int64()), "bit": pa.array([1], pa.uint8())},
            _block(),
            "missing required column 'basis'",
        ),
        (_cols(), _block(sent_counts=[[1, 2]]), "'sent_counts' must sum to 'pulses'"),
    ],
)
def test_malformed_files_are_rejected(
    tmp_path: Path, columns: dict, block: dict | None, message: str
) -> None:
    path = tmp_path / "r.parquet"
    _write_raw(path, columns, block)
    with pytest.raises(RecordError, match=message):
        read_records(path)


def test_not_parquet_or_missing(tmp_path: Path) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(RecordError, match="not a readable Parquet file"):
        read_records(bad)
    with pytest.raises(RecordError, match="no such file"):
        read_records(tmp_path / "missing.parquet")


def test_mismatched_pairs_are_rejected() -> None:
    p = LinkParams(source="laser")
    run1 = simulate("bb84", p, 50_000, seed=1)
    run2 = simulate("bb84", p, 50_000, seed=2)
    check_pair(run1.alice, run1.bob)
    with pytest.raises(RecordError, match="role 'alice'"):
        check_pair(run1.bob, run1.bob)
    with pytest.raises(RecordError, match="same run"):
        check_pair(run1.alice, run2.bob)
    other = simulate("six-state", p, 50_000, seed=1)
    with pytest.raises(RecordError, match="same 'protocol'"):
        check_pair(run1.alice, other.bob)
    # Bob reports a pulse that Alice does not list.
    a = run1.alice
    short = Records(
        role=Role.ALICE,
        pulse_index=a.pulse_index[1:],
        basis=a.basis[1:],
        bit=a.bit[1:],
        meta=a.meta,
    )
    with pytest.raises(RecordError, match=f"pulse {int(a.pulse_index[0])}"):
        check_pair(short, run1.bob)


@pytest.mark.parametrize("protocol", ["decoy-bb84", "e91", "b92"])
def test_streamed_files_equal_simulate(tmp_path: Path, protocol: str) -> None:
    from qkdstack.link.simulator import simulate_to_files

    p = LinkParams(
        distance_km=5.0,
        afterpulse_prob=0.05,
        dead_time_ns=3.0,
        mu_pair=0.2,
        detector_efficiency=0.5,
    )
    summary = simulate_to_files(protocol, p, 300_000, tmp_path, seed=12, chunk_detections=997)
    ref = simulate(protocol, p, 300_000, seed=12, chunk_detections=997)
    a = read_records(tmp_path / "alice.parquet")
    b = read_records(tmp_path / "bob.parquet")
    _assert_same(ref.alice, a)
    _assert_same(ref.bob, b)
    assert summary["detections"] == len(b) > 997 * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.parquet", "bob.parquet"]
