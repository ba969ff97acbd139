"""The KME key pool alone (no HTTP, no TLS): durable deliveries per second with group commit.

8 concurrent deliveries of one 256-bit key each to a slave at the same KME, on a store of 8 Mbit,
for 2 s, three times in a row (the WAL grows during the first). Prints deliveries/s, p50/p99
latency, the mean number of deliveries per transaction (the group-commit batch) and the WAL size.
Baseline in the same process: one transaction per delivery (no batching: one worker).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from qkdstack.kms.pool import KeyPool, Reservation
from qkdstack.kms.store import KeyStore


async def _worker(pool: KeyPool, stop_at: float, lat: list[float]) -> None:
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        ((key, segs),) = pool.allocate(1, 32)
        r = Reservation(key.key_id, "SAE_A", ("SAE_A2",), segs)
        await pool.commit_delivery([(r, key.material)], ["SAE_A2"], remote=False)
        lat.append(time.perf_counter() - t0)


async def _phase(pool: KeyPool, workers: int, seconds: float, wal: Path) -> str:
    lat: list[float] = []
    commits0 = pool.commits
    t0 = time.perf_counter()
    await asyncio.gather(*[_worker(pool, t0 + seconds, lat) for _ in range(workers)])
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1e3
    batch = len(lat) / max(1, pool.commits - commits0)
    return (
        f"{workers} workers: {len(lat) / wall:6.0f} deliveries/s  p50 {np.percentile(ms, 50):5.2f} ms"
        f"  p99 {np.percentile(ms, 99):5.2f} ms  batch {batch:4.1f}  WAL {wal.stat().st_size >> 10} KiB"
    )


def main() -> int:
    seconds = 1.0 if "--quick" in sys.argv else 2.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.db"
        with KeyStore(path) as store:
            store.deposit(np.random.default_rng(0).integers(0, 2, 8 * 2**20, dtype=np.uint8))
        pool = KeyPool(path, "KME_A", None)
        wal = Path(str(path) + "-wal")
        print(f"load before: {os.getloadavg()[0]:.2f} (1-min average)")
        try:
            for workers in (1, 8, 8, 8):
                print(asyncio.run(_phase(pool, workers, seconds, wal)), flush=True)
        finally:
            pool.close()
        print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
