"""Two nodes over TCP with an added round-trip time: secret key bits per wall second.

Alice and Bob run as two ``qkd node`` processes on loopback; Bob reaches Alice through a delay
proxy (:class:`qkdstack.node.proxy.DelayProxy`) that holds every classical frame RTT/2 in each
direction (the fibre connection is direct). For each RTT (0, 1, 10 ms) the same rounds (same
``--seed``: the same links, the same Cascade work) run with ``--window`` rounds in flight, and the
rate is the secret bits of all rounds over Bob's wall time from his first connection to his last
round. Cascade's efficiency f is reported per RTT (the rounds are the same, so it must not move).

Goal (issue 14): rate at 1 ms >= 80% of the rate at 0 ms, at 10 ms >= 50%, f <= 1.05 unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qkdstack.node.proxy import DelayProxy


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _PeakRSS:
    """Peak resident memory (``VmHWM``, MiB) of processes, sampled from ``/proc`` until stopped."""

    def __init__(self) -> None:
        import threading

        self.pids: dict[str, int] = {}
        self.peak_mib: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for name, pid in list(self.pids.items()):
                try:
                    text = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    if line.startswith("VmHWM:"):
                        mib = int(line.split()[1]) / 1024
                        self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), mib)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_once(rtt_ms: float, rounds: int, window: str, link: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        cmd = [sys.executable, "-m", "qkdstack.cli.main", "node"]
        subprocess.run([*cmd, "init-psk", "--out", str(d / "psk")], check=True, capture_output=True)
        (d / "psk-b").write_bytes((d / "psk").read_bytes())
        os.chmod(d / "psk-b", 0o600)
        port, fibre = _free_port(), _free_port()
        common = ["--fibre", f"127.0.0.1:{fibre}", "--json", "--rounds", str(rounds), *link]
        alice = subprocess.Popen(
            [*cmd, "alice", "--listen", f"127.0.0.1:{port}", "--psk", str(d / "psk"),
             "--store", str(d / "a.db"), *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        rss = _PeakRSS()
        rss.pids["alice"] = alice.pid
        proxy = DelayProxy("127.0.0.1", port, delay_s=rtt_ms / 2000)
        proxy_port = proxy.start()
        time.sleep(0.5)
        try:
            bob = subprocess.Popen(
                [*cmd, "bob", "--connect", f"127.0.0.1:{proxy_port}", "--psk", str(d / "psk-b"),
                 "--store", str(d / "b.db"), "--window", str(window), *common],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            rss.pids["bob"] = bob.pid
            stdout, stderr = bob.communicate(timeout=600)
        finally:
            proxy.stop()
            alice.wait(30)
            rss.stop()
        reports = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        if bob.returncode or len(reports) != rounds:
            raise RuntimeError(f"bob failed: {stderr[-500:]}")
        bits = sum(r["secret_bits"] for r in reports)
        elapsed = max(r["elapsed_s"] for r in reports)
        effs = [r["ec_efficiency"] for r in reports if r.get("ec_efficiency")]
        return {
            "rtt_ms": rtt_ms,
            "bits_per_s": bits / elapsed,
            "secret_bits": bits,
            "elapsed_s": elapsed,
            "aborted": sum(r["aborted"] for r in reports),
            "f_median": statistics.median(effs),
            "round_trips_median": statistics.median(r["round_trips"] for r in reports),
            "window_max": max(int(r.get("window", 0)) for r in reports),
            "alice_peak_rss_mib": round(rss.peak_mib.get("alice", 0.0)),
            "bob_peak_rss_mib": round(rss.peak_mib.get("bob", 0.0)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=96)
    parser.add_argument("--window", default="auto", help="auto (the default) or a number")
    parser.add_argument("--pulses", default="1e7")
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[0.0, 1.0, 10.0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="8 rounds of 10^6 pulses")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.pulses = 8, "1e6"
    link = ["--protocol", "bb84", "--pulses", args.pulses, "--seed", "7"]
    print(
        f"load: {os.getloadavg()}; rounds {args.rounds} x {args.pulses} pulses, window {args.window}"
    )
    results: dict[float, list[dict[str, float]]] = {rtt: [] for rtt in args.rtt_ms}
    for _ in range(args.repeats):
        for rtt in args.rtt_ms:  # interleaved: the machine's load hits every RTT alike
            results[rtt].append(run_once(rtt, args.rounds, args.window, link))
    base = statistics.median(r["bits_per_s"] for r in results[args.rtt_ms[0]])
    for rtt, runs in results.items():
        rate = statistics.median(r["bits_per_s"] for r in runs)
        f = statistics.median(r["f_median"] for r in runs)
        trips = runs[0]["round_trips_median"]
        print(
            f"RTT {rtt:5.1f} ms: {rate:12,.0f} bit/s  ratio {rate / base:5.2f}  f {f:.3f}  "
            f"round trips/round {trips:.0f}  window <= {max(r['window_max'] for r in runs):.0f}  "
            f"aborted {sum(r['aborted'] for r in runs):.0f}  peak RSS Alice "
            f"{max(r['alice_peak_rss_mib'] for r in runs):,.0f} MiB, Bob "
            f"{max(r['bob_peak_rss_mib'] for r in runs):,.0f} MiB"
        )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
