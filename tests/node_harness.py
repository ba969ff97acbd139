"""Start and stop real node processes (``qkd node alice`` / ``qkd node bob``) on loopback.

Every process gets its own ports and files under a test's temporary directory, a timeout, and
is killed at the end of the test whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

LINK = ["--protocol", "bb84", "--pulses", "1e6", "--seed", "11"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def qkd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qkdstack.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Node:
    """One node process; its stdout JSON lines are collected as they come."""

    def __init__(self, role: str, args: list[str]) -> None:
        self.role = role
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qkdstack.cli.main", "node", role, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.reports: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._listening = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                self.reports.append(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())
            if "listening on" in line:
                self._listening.set()

    def wait_listening(self, timeout: float = 30) -> None:
        if not self._listening.wait(timeout):
            raise AssertionError(f"{self.role} did not start: {self.stderr}")

    def wait(self, timeout: float = 60) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.role} did not finish in {timeout} s: {self.stderr[-5:]}"
            ) from None
        for t in self._threads:
            t.join(5)
        return rc

    def wait_reports(self, count: int, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while len(self.reports) < count:
            if time.monotonic() > end or self.proc.poll() is not None:
                return
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)


class Pair:
    """Alice and Bob of one test: PSK, stores and ports under ``tmp``."""

    def __init__(self, tmp: Path, link: list[str] | None = None, psk_bits: int | None = None):
        self.tmp = tmp
        self.link = LINK if link is None else link
        self.port, self.fibre = free_port(), free_port()
        psk = tmp / "psk"
        args = ["node", "init-psk", "--out", str(psk)]
        if psk_bits is not None:
            args += ["--bits", str(psk_bits)]
        done = qkd(*args)
        assert done.returncode == 0, done.stderr
        self.psk_a, self.psk_b = tmp / "psk-a", tmp / "psk-b"
        for copy in (self.psk_a, self.psk_b):
            copy.write_bytes(psk.read_bytes())
            os.chmod(copy, 0o600)
        self.store_a, self.store_b = tmp / "alice.db", tmp / "bob.db"
        self.nodes: list[Node] = []

    def alice(self, *extra: str) -> Node:
        node = Node(
            "alice",
            [
                "--listen", f"127.0.0.1:{self.port}", "--fibre", f"127.0.0.1:{self.fibre}",
                "--psk", str(self.psk_a), "--store", str(self.store_a), "--json", "--verbose",
                *self.link, *extra,
            ],
        )  # fmt: skip
        self.nodes.append(node)  # Bob retries until she listens
        return node

    def bob(self, *extra: str, port: int | None = None) -> Node:
        node = Node(
            "bob",
            [
                "--connect", f"127.0.0.1:{port or self.port}",
                "--fibre", f"127.0.0.1:{self.fibre}",
                "--psk", str(self.psk_b), "--store", str(self.store_b), "--json", "--verbose",
                *self.link, *extra,
            ],
        )  # fmt: skip
        self.nodes.append(node)
        return node

    def close(self) -> None:
        for node in self.nodes:
            node.kill()


def pool_state(store: Path) -> tuple[int, list[str]]:
    """(position in bytes, active refills in order) of a node's pool file, read directly."""
    import sqlite3

    db = sqlite3.connect(f"file:{store}.authpool?mode=ro", uri=True)
    try:
        position = db.execute("SELECT value FROM state WHERE name = 'position'").fetchone()[0]
        refills = [
            r[0]
            for r in db.execute(
                "SELECT batch_id FROM pads WHERE active_order IS NOT NULL ORDER BY active_order"
            )
        ]
    finally:
        db.close()
    return int(position), refills


def store_state(store: Path) -> tuple[int, list[str]]:
    """(confirmed keys, pending batches) of a key store."""
    import sqlite3

    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        keys = db.execute("SELECT COUNT(*) FROM keys").fetchone()[0]
        pending = [r[0] for r in db.execute("SELECT batch_id FROM batches WHERE state='pending'")]
    finally:
        db.close()
    return int(keys), pending
