"""Key deliveries per second over mutual TLS with the durable store (ETSI GS QKD 014 enc_keys).

Starts two KMEs (``qkd kms serve``, one process each) on loopback, fed with 2 x 24 Mbit of shared
key, and drives KME_A with N kept-alive TLS clients (one connection each, one request in flight per
connection) from a separate client process. Each request is ``GET enc_keys`` for one 256-bit key:

- ``peer``: the slave SAE is at KME_B, so each delivery is also reserved at KME_B over the
  KME-to-KME link before it is returned (the full path);
- ``local``: the slave SAE is at KME_A (no link);
- ``status`` (baseline, same processes, same minute): ``GET status``, no storage at all.

Prints deliveries/s, p50/p99 latency, and the KMEs' CPU time per request (both processes, all
threads; less sensitive than throughput to other work on a shared machine) per case. ``--quick``: 3 s per case instead of 6.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of processes ``pids`` (Linux /proc), all threads."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def _setup(root: Path) -> tuple[list[Path], list[int]]:
    sys.path.insert(0, str(REPO / "src"))
    from qkdstack.kms.certs import write_certificates
    from qkdstack.kms.store import deposit_pair

    write_certificates(root / "certs", ["KME_A", "KME_B"], ["SAE_A", "SAE_A2", "SAE_B"])
    bits = np.random.default_rng(0).integers(0, 2, 24 * 2**20, dtype=np.uint8)  # not secret
    deposit_pair(root, bits, bits)
    ports = [_free_port(), _free_port()]
    configs = []
    for i, (kme, saes, store) in enumerate(
        (("KME_A", ["SAE_A", "SAE_A2"], "alice.db"), ("KME_B", ["SAE_B"], "bob.db"))
    ):
        peer, peer_saes = (("KME_B", ["SAE_B"]), ("KME_A", ["SAE_A", "SAE_A2"]))[i]
        path = root / f"{kme}.toml"
        path.write_text(
            f'kme_id = "{kme}"\nlisten = "127.0.0.1:{ports[i]}"\nstore = "{store}"\n'
            f"sae_ids = {json.dumps(saes)}\nmax_key_count = 100000000\n[tls]\n"
            f'cert = "certs/{kme}.crt"\nkey = "certs/{kme}.key"\nca = "certs/ca.crt"\n'
            f'[peer]\nkme_id = "{peer}"\nurl = "https://127.0.0.1:{ports[1 - i]}"\n'
            f"sae_ids = {json.dumps(peer_saes)}\n"
        )
        configs.append(path)
    return configs, ports


async def _client(
    port: int, ctx: ssl.SSLContext, path: str, stop_at: float, lat: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"status {status}")
        lat.append(time.perf_counter() - t0)
    writer.close()


async def _drive(port: int, ctx: ssl.SSLContext, path: str, clients: int, seconds: float) -> dict:
    warm: list[float] = []
    await asyncio.gather(
        *[_client(port, ctx, path, time.perf_counter() + 0.5, warm) for _ in range(clients)]
    )
    lat: list[float] = []
    t0 = time.perf_counter()
    await asyncio.gather(*[_client(port, ctx, path, t0 + seconds, lat) for _ in range(clients)])
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1e3
    return {
        "count": len(lat) + len(warm),
        "per_s": len(lat) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> int:
    seconds = 3.0 if "--quick" in sys.argv else 6.0
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--case=")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        configs, ports = _setup(root)
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "qkdstack.cli.main", "kms", "serve", "--config", str(c)],
                env=env,
                stderr=subprocess.DEVNULL,
            )
            for c in configs
        ]
        try:
            ctx = ssl.create_default_context(cafile=str(root / "certs" / "ca.crt"))
            ctx.load_cert_chain(
                str(root / "certs" / "SAE_A.crt"), str(root / "certs" / "SAE_A.key")
            )
            deadline = time.monotonic() + 60
            while True:
                try:
                    with (
                        socket.create_connection(("127.0.0.1", ports[0]), timeout=1),
                        socket.create_connection(("127.0.0.1", ports[1]), timeout=1),
                    ):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            print(f"load before: {os.getloadavg()[0]:.2f} (1-min average)")
            rows = []
            for clients in (8, 32):
                for case, path in (
                    ("status", "/api/v1/keys/SAE_B/status"),
                    ("local", "/api/v1/keys/SAE_A2/enc_keys"),
                    ("peer", "/api/v1/keys/SAE_B/enc_keys"),
                ):
                    if only and case not in only:
                        continue
                    cpu0 = [_cpu_s([p.pid]) for p in procs]
                    r = asyncio.run(_drive(ports[0], ctx, path, clients, seconds))
                    cpu_us = [
                        (_cpu_s([p.pid]) - c0) / r["count"] * 1e6
                        for p, c0 in zip(procs, cpu0, strict=True)
                    ]
                    rows.append((clients, case, r))
                    print(
                        f"{clients:3d} clients  {case:7s} {r['per_s']:8.0f} /s  "
                        f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                        f"KME CPU {sum(cpu_us):5.0f} us/request "
                        f"(KME_A {cpu_us[0]:.0f}, KME_B {cpu_us[1]:.0f})",
                        flush=True,
                    )
            print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
