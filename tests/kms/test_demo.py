"""``qkd kms demo``: two KMEs fed by the simulated link; demo.json and the printed curl work."""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
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
        assert proc.wait(timeout=60) == 0
