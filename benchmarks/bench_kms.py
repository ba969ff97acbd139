"""Key deliveries per second over mutual TLS with the durable store (ETSI GS QKD 014 enc_keys).

Starts two KMEs (``qkd kms serve``, one process each) on loopback, and drives KME_A with N
kept-alive TLS clients (one connection each, opened before the clock starts, one request in flight
per connection) from this process. Each request is ``GET enc_keys`` for one
256-bit key:

- ``local``: the slave SAE is at KME_A (same-KME delivery: one durable commit at KME_A);
- ``peer``: the slave SAE is at KME_B, so the key must be reserved at KME_B, durably, before it
  is returned; KME_A reserves keys there ahead of the requests in blocks (``reserve_ahead_keys``,
  :mod:`qkdstack.kms.ahead`);
- ``peer/req`` (the baseline for ``peer``, measured last): KME_A restarted on the same store with
  ``reserve_ahead_keys = 0`` reserves each request's key at KME_B over the link before answering;
- ``status`` (the baseline for ``local``, same minute): ``GET status``, no storage at all.

Prints, per case, deliveries/s, p50/p99 latency, and the KMEs' CPU time per request (both KMEs,
all threads, and KME_A's event-loop thread alone; less sensitive than throughput to
other work on a shared machine), with ``uptime`` before and after, then a Markdown table.

    python benchmarks/bench_kms.py            # 4 s per case, about a minute in all
    python benchmarks/bench_kms.py --quick    # 2 s per case
    python benchmarks/bench_kms.py --case=peer --case=peer/req   # only some cases
    python benchmarks/bench_kms.py --reserve-ahead=64            # KME_A's reserve_ahead_keys
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
CASES = ("status", "local", "peer", "peer/req")
CLIENTS = (8, 32)
WARM_S = 0.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int, main_only: bool = False) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc): all threads, or only its main
    thread (the event loop)."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_only else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _written_bytes(pid: int) -> int:
    """Bytes process ``pid`` caused to be written to storage (``write_bytes`` of /proc/PID/io)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def _uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _setup(root: Path, key_mbit: int) -> tuple[list[Path], list[int]]:
    """Certificates, a shared store of ``key_mbit`` Mbit, and the two KMEs' configurations."""
    sys.path.insert(0, str(REPO / "src"))
    from qkdstack.kms.certs import write_certificates
    from qkdstack.kms.store import deposit_pair

    root.mkdir()
    write_certificates(root / "certs", ["KME_A", "KME_B"], ["SAE_A", "SAE_A2", "SAE_B"])
    raw = np.random.default_rng(0).bytes(key_mbit * 2**17)  # not secret: a benchmark's key
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))
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
            f"sae_ids = {json.dumps(saes)}\nmax_key_count = 100000000\n"
            "\n[tls]\n"
            f'cert = "certs/{kme}.crt"\nkey = "certs/{kme}.key"\nca = "certs/ca.crt"\n'
            f'[peer]\nkme_id = "{peer}"\nurl = "https://127.0.0.1:{ports[1 - i]}"\n'
            f"sae_ids = {json.dumps(peer_saes)}\n"
        )
        configs.append(path)
    return configs, ports


def _wait_serving(
    ports: list[int], procs: list[subprocess.Popen[bytes]], ctx: ssl.SSLContext
) -> None:
    """Wait until each KME answers ``GET status`` (its port listens before its pool is loaded),
    then a second more, so that no case pays for a KME's start."""
    deadline = time.monotonic() + 120
    request = b"GET /api/v1/keys/SAE_B/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for port in ports:
        while True:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a KME process exited")
            try:
                with (
                    socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
                ):
                    tls.sendall(request)
                    if tls.recv(64).startswith(b"HTTP/1.1 "):
                        break
            except (OSError, ssl.SSLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("a KME did not answer")
            time.sleep(0.2)
    time.sleep(1.0)


class _Client:
    """One kept-alive TLS connection sending one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def run(
        self, request: bytes, stop_at: float, lat: list[float], errors: list[int]
    ) -> None:
        reader, writer = self.reader, self.writer
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
                errors.append(status)
                return
            lat.append(time.perf_counter() - t0)


async def _drive(
    port: int, ctx: ssl.SSLContext, path: str, clients: int, seconds: float
) -> dict[str, float]:
    conns = [
        _Client(*await asyncio.open_connection("127.0.0.1", port, ssl=ctx)) for _ in range(clients)
    ]  # the TLS handshakes happen here, before any clock starts
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    warm: list[float] = []
    errors: list[int] = []
    stop = time.perf_counter() + WARM_S
    await asyncio.gather(*[c.run(request, stop, warm, errors) for c in conns])
    lat: list[float] = []
    t0 = time.perf_counter()
    await asyncio.gather(*[c.run(request, t0 + seconds, lat, errors) for c in conns])
    wall = time.perf_counter() - t0
    for c in conns:
        c.writer.close()
    if errors or not lat:
        raise RuntimeError(f"{path}: answers {sorted(set(errors))} (store exhausted?)")
    ms = np.array(lat) * 1e3
    return {
        "requests": len(lat) + len(warm),
        "per_s": len(lat) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def _start(configs: list[Path]) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "qkdstack.cli.main", "kms", "serve", "--config", str(c)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for c in configs
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)


def main() -> int:
    seconds = 2.0 if "--quick" in sys.argv else 4.0
    only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--case=")]
    cases = [c for c in CASES if not only or c in only]
    ahead = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--reserve-ahead=")]
    started = time.monotonic()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load {_uptime()}, "
          f"{seconds:g} s per case", flush=True)  # fmt: skip
    # Enough key for every delivery case at up to 5,000 deliveries/s (KME_A allocates half).
    paths = sum(c != "status" for c in cases)
    key_mbit = max(1, int(paths * 5000 * (seconds + WARM_S) * len(CLIENTS) * 32 * 2 * 8 / 2**20))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kms"
        configs, ports = _setup(root, key_mbit)
        if ahead:  # KME_A's largest block reserved ahead (default: the KME's default)
            text = configs[0].read_text()
            configs[0].write_text(
                text.replace("\n[tls]", f"reserve_ahead_keys = {ahead[-1]}\n[tls]")
            )
        certs = root / "certs"
        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        ctx.load_cert_chain(str(certs / "SAE_A.crt"), str(certs / "SAE_A.key"))
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        procs = _start(configs)
        try:
            _wait_serving(ports, procs, ctx)
            print(f"load when serving: {_uptime()}", flush=True)
            for case in cases:
                if case == "peer/req":  # KME_A again, reserving per request
                    _stop(procs[:1])
                    text = configs[0].read_text()
                    text = "\n".join(
                        line for line in text.split("\n") if not line.startswith("reserve_ahead")
                    )
                    configs[0].write_text(text.replace("\n[tls]", "reserve_ahead_keys = 0\n[tls]"))
                    procs[0] = _start(configs[:1])[0]
                    _wait_serving(ports[:1], procs, ctx)
                for clients in CLIENTS:
                    slave = "SAE_A2" if case == "local" else "SAE_B"
                    verb = "status" if case == "status" else "enc_keys"
                    pids = [p.pid for p in procs]
                    cpu0 = [_cpu_s(pids[0], True)] + [_cpu_s(p) for p in pids]
                    written0 = _written_bytes(pids[0])
                    path = f"/api/v1/keys/{slave}/{verb}"
                    r = asyncio.run(_drive(ports[0], ctx, path, clients, seconds))
                    cpu1 = [_cpu_s(pids[0], True)] + [_cpu_s(p) for p in pids]
                    us = [(b - a) / r["requests"] * 1e6 for a, b in zip(cpu0, cpu1, strict=True)]
                    kib = (_written_bytes(pids[0]) - written0) / r["requests"] / 1024
                    rows.append((clients, case, r, us, kib))
                    print(
                        f"{clients:3d} clients  {case:8s} {r['per_s']:7.0f} /s  "
                        f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  KME CPU "
                        f"{us[1] + us[2]:4.0f} us/request (KME_A {us[1]:.0f}, of it event loop "
                        f"{us[0]:.0f}; KME_B {us[2]:.0f}); KME_A writes {kib:.1f} KiB/request",
                        flush=True,
                    )
        finally:
            _stop(procs)
    print(f"load after: {_uptime()}; {time.monotonic() - started:.0f} s in all\n")
    print(
        "| clients | case | deliveries/s | p50 ms | p99 ms | KME CPU us/request (A loop, A, B) "
        "| KME_A KiB written/request |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for clients, case, r, us, kib in rows:
        print(
            f"| {clients} | {case} | {r['per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{us[1] + us[2]:.0f} ({us[0]:.0f}, {us[1]:.0f}, {us[2]:.0f}) | {kib:.1f} |"
        )
    by = {(c, k): r["per_s"] for c, k, r, _, _ in rows}
    for clients in CLIENTS:
        if (clients, "peer") in by and (clients, "peer/req") in by:
            print(f"\n{clients} clients: peer / peer-per-request = "
                  f"{by[clients, 'peer'] / by[clients, 'peer/req']:.2f}x", end="")  # fmt: skip
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
