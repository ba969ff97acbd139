"""``qkd kms demo``: two KMEs fed by a simulated link through two node processes; demo.json and
the printed curl work, the keys are the nodes' (the same IDs and material on both sides), and
SIGTERM stops every process the demo started."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def _processes_using(path: Path) -> list[str]:
    """Command lines of live processes that name ``path`` (the demo's nodes and KMEs do)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmd and "pytest" not in cmd:
            found.append(cmd)
    return found


def test_demo_runs_until_sigterm_and_its_curl_works(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qkdstack.cli.main", "kms", "demo", "--dir", str(tmp_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "demo.json").exists():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
        doc = json.loads((tmp_path / "demo.json").read_text())
        assert set(doc) == {"ca", "kmes", "saes"}
        assert [k["kme_id"] for k in doc["kmes"]] == ["KME_A", "KME_B"]
        assert [k["sae_ids"] for k in doc["kmes"]] == [["SAE_A"], ["SAE_B"]]
        for kme in doc["kmes"]:
            assert set(kme) == {"kme_id", "url", "sae_ids"}
        for sae in doc["saes"]:
            assert set(sae) == {"sae_id", "cert", "key", "kme_url"}
            assert Path(sae["cert"]).is_file() and Path(sae["key"]).is_file()
        assert Path(doc["ca"]).is_file()
        if shutil.which("curl"):
            time.sleep(0.5)
            lines = [
                ln.strip() for ln in out.read_text().splitlines() if ln.strip().startswith("curl")
            ]
            answer = subprocess.run(
                shlex.split(lines[0]), capture_output=True, check=True, timeout=30
            )
            (key,) = json.loads(answer.stdout)["keys"]
            second = lines[1].replace("<key_ID from the first answer>", key["key_ID"])
            again = subprocess.run(shlex.split(second), capture_output=True, check=True, timeout=30)
            assert json.loads(again.stdout)["keys"] == [key]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
    assert _processes_using(tmp_path) == []  # nodes and KMEs are stopped with the demo
    # The KMEs served keys two nodes made: rounds in Bob's log, node keys, identical stores.
    rounds = [
        json.loads(line)
        for line in (tmp_path / "logs" / "bob.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert rounds and any(r["secret_bits"] > 0 and not r["aborted"] for r in rounds)
    for store in ("alice.db", "bob.db"):
        db = sqlite3.connect(f"file:{tmp_path / store}?mode=ro", uri=True)
        try:
            sources = {row[0] for row in db.execute("SELECT DISTINCT source FROM keys")}
        finally:
            db.close()
        assert sources == {"qkd-node"}
    compare = subprocess.run(
        [sys.executable, "-m", "qkdstack.cli.main", "keys", "compare",
         str(tmp_path / "alice.db"), str(tmp_path / "bob.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stdout + compare.stderr


def test_a_node_that_fails_stops_its_peer_and_counts_as_a_failed_run(tmp_path: Path) -> None:
    # Alice's copy of the secret is readable by others: her node refuses to start (exit 2), and
    # Bob, who would retry his connection forever, is stopped with her.
    from qkdstack.kms.demo import NodePair
    from qkdstack.kms.store import KeyStore

    for store in ("alice.db", "bob.db"):
        KeyStore(tmp_path / store).close()
    pair = NodePair(tmp_path, pulses=10**6, rounds=1)
    os.chmod(tmp_path / "psk", 0o644)
    pair.start()
    deadline = time.monotonic() + 60
    outcome = pair.finished()
    while outcome is None:
        assert time.monotonic() < deadline, (tmp_path / "logs" / "alice.log").read_text()
        time.sleep(0.2)
        outcome = pair.finished()
    assert outcome is False and pair.failures == 1 and not pair.running
    assert _processes_using(tmp_path) == []
    assert "0600" in (tmp_path / "logs" / "alice.log").read_text()
