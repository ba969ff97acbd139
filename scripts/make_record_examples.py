"""Write the example record-file pair of docs/records.md: ``examples/records/bb84-laser/``.

A hardware-style pair: bb84 with an attenuated laser (mu = 0.05) over 5 km, 10^7 pulses, written
with the *minimal* metadata a hardware tool must give (``params`` = ``source`` and ``mu`` only,
``seed`` null), so that ``qkd process`` applies the laser (GLLP) proof and treats the files as
hardware records (no simulation oracle). The detections are simulated with a fixed seed, so the
files are reproducible. Run from the repository root:

    .venv/bin/python scripts/make_record_examples.py [--out examples/records]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from qkdstack.link import simulate
from qkdstack.link.recordfile import write_records
from qkdstack.link.records import RecordMeta
from qkdstack.params import LinkParams

PULSES = 10**7
SEED = 2026
MU = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("examples/records"))
    args = parser.parse_args()
    link = simulate("bb84", LinkParams(source="laser", mu=MU, distance_km=5.0), PULSES, seed=SEED)
    target = args.out / "bb84-laser"
    target.mkdir(parents=True, exist_ok=True)
    for name, records in (("alice", link.alice), ("bob", link.bob)):
        meta = RecordMeta(
            protocol="bb84",
            pulses=PULSES,
            intensities=(MU,),
            sent_counts=records.meta.sent_counts,
            params={"source": "laser", "mu": MU},
            seed=None,
        )
        # Only the required columns (one intensity class: no 'intensity'; no time tags).
        slim = dataclasses.replace(records, meta=meta, intensity=None, time_tag_ps=None)
        write_records(slim, target / f"{name}.parquet")
        print(f"wrote {target / f'{name}.parquet'} ({len(records):,} rows)")


if __name__ == "__main__":
    main()
