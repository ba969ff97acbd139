"""Where a sweep's rows go: one Parquet part per finished run, then one Parquet file.

While a sweep runs, each finished run is written at once to ``OUT.parts/run-INDEX.parquet``
(written beside and renamed into place, so a part is either whole or absent). ``OUT.parts/study.json``
holds the study's digest. An interrupted sweep leaves its parts; the next ``qkd sweep`` of the same
study finds them (and the rows already in ``OUT``) and runs only what is missing. When every run has
a row, the parts are gathered, sorted by ``run_index``, into ``OUT`` (also written beside and
renamed), and the parts directory is removed. ``OUT``'s schema metadata carries the study
(``qkdstack.study``, ``qkdstack.study_digest``), so ``qkd plot`` knows what was swept.

Rows of different runs may have different columns (a failed run has no report fields; some fields
exist only for some protocols): the merge takes the union, with nulls where a row has no value.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qkdstack.errors import ParameterError
from qkdstack.sweep.study import Study

__all__ = ["ResultStore", "read_results", "study_of"]

_META_STUDY = b"qkdstack.study"
_META_DIGEST = b"qkdstack.study_digest"


def _write_atomically(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _row_table(row: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist([row])


def read_results(path: Path) -> pa.Table:
    """The rows of a finished sweep's Parquet file."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ParameterError(
            f"Argument 'RESULTS' must be a Parquet file written by qkd sweep, not '{path}' ({exc})."
        ) from None


def study_of(table: pa.Table) -> dict[str, Any] | None:
    """The canonical study stored in a results table's metadata (None if absent)."""
    meta = table.schema.metadata or {}
    raw = meta.get(_META_STUDY)
    return None if raw is None else json.loads(raw)


class ResultStore:
    """The rows of one study's sweep into ``out``: finished runs, new parts, the final merge."""

    def __init__(self, study: Study, out: Path) -> None:
        self.study = study
        self.out = out
        self.parts = out.with_name(out.name + ".parts")
        self._previous: pa.Table | None = None

    def check(self) -> None:
        """Refuse (before anything runs or is written) an ``out`` that holds another study."""
        digest = self.study.digest
        if self.out.exists():
            try:
                meta = pq.read_schema(self.out).metadata or {}
            except (OSError, pa.ArrowException):
                meta = {}
            if meta.get(_META_DIGEST, b"").decode() != digest:
                raise ParameterError(
                    f"Argument '--out' holds something other than this study's results, not "
                    f"overwriting '{self.out}' (remove it or choose another path)."
                )
        marker = self.parts / "study.json"
        if self.parts.exists():
            try:
                stored = json.loads(marker.read_text()).get("digest")
            except (OSError, ValueError, AttributeError):
                stored = None
            if stored != digest:
                raise ParameterError(
                    f"Argument '--out' has unfinished parts of another study in '{self.parts}' "
                    "(remove them or choose another path)."
                )
        parent = self.out.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise ParameterError(
                f"Argument '--out' must be in a writable directory, not '{self.out}'."
            )

    def finished(self) -> set[int]:
        """Run indices that already have a row (in ``out`` or as a part)."""
        done: set[int] = set()
        if self.out.exists():
            self._previous = pq.read_table(self.out)
            done.update(self._previous.column("run_index").to_pylist())
        if self.parts.is_dir():
            for part in self.parts.glob("run-*.parquet"):
                done.add(int(part.stem.removeprefix("run-")))
        return done

    def begin(self) -> None:
        """Create the parts directory and its study marker."""
        self.parts.mkdir(exist_ok=True)
        marker = self.parts / "study.json"
        if not marker.exists():
            marker.write_text(json.dumps({"digest": self.study.digest, **self.study.canonical()}))

    def add(self, row: dict[str, Any]) -> None:
        """Write one finished run's row as its part."""
        _write_atomically(_row_table(row), self.parts / f"run-{row['run_index']:07d}.parquet")

    def merge(self) -> pa.Table:
        """Gather the previous rows and every part into ``out``; remove the parts."""
        tables: list[pa.Table] = []
        if self._previous is not None:
            tables.append(self._previous.replace_schema_metadata(None))
        tables += [pq.read_table(p) for p in sorted(self.parts.glob("run-*.parquet"))]
        table = _concat(tables)
        order = pc.sort_indices(table, sort_keys=[("run_index", "ascending")])
        table = table.take(order)
        meta = {
            _META_STUDY: json.dumps(self.study.canonical()).encode(),
            _META_DIGEST: self.study.digest.encode(),
        }
        table = table.replace_schema_metadata(meta)
        _write_atomically(table, self.out)
        shutil.rmtree(self.parts, ignore_errors=True)
        return table


def _concat(tables: Iterable[pa.Table]) -> pa.Table:
    """Concatenate rows with different columns: the union, nulls where a row has no value.

    Columns keep the order in which they first appear (the run's options first, then the report).
    """
    tables = list(tables)
    names: list[str] = []
    for t in tables:
        names += [n for n in t.column_names if n not in names]
    merged = pa.concat_tables(tables, promote_options="permissive")
    return merged.select(names)
