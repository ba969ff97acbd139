"""``qkd kms demo``: two KMEs fed by a simulated link, ready for an application developer.

What it sets up in ``DIR``: test certificates (``certs/``), the two stores of a link (``alice.db``
for ``KME_A``, ``bob.db`` for ``KME_B``) and a configuration per KME, then it starts both KMEs
(``qkd kms serve`` processes). Until the two-node processes exist, the link is the in-process
two-party pipeline of ``qkd run`` (Alice's and Bob's post-processing, each with its own state,
talking over the classical channel), whose final keys are deposited into both stores; the demo
runs it again whenever the KMEs run low. Once both KMEs hold keys it writes ``DIR/demo.json`` and
prints a curl command that works as printed. It runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qkdstack.errors import KeyStoreError, ParameterError, ProtocolAbort
from qkdstack.kms.certs import write_certificates
from qkdstack.kms.client import SAEClient

__all__ = ["DEMO_KMES", "run_demo", "write_demo_configs"]

DEMO_KMES = (("KME_A", "SAE_A", "alice.db"), ("KME_B", "SAE_B", "bob.db"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_demo_configs(directory: Path, ports: tuple[int, int]) -> list[Path]:
    """Write ``kme_a.toml`` and ``kme_b.toml`` (each naming the other as its peer)."""
    paths = []
    for i, (kme, sae, store) in enumerate(DEMO_KMES):
        peer_kme, peer_sae, _ = DEMO_KMES[1 - i]
        text = (
            f'kme_id = "{kme}"\nlisten = "127.0.0.1:{ports[i]}"\nstore = "{store}"\n'
            f'sae_ids = ["{sae}"]\n\n[tls]\ncert = "certs/{kme}.crt"\nkey = "certs/{kme}.key"\n'
            f'ca = "certs/ca.crt"\n\n[peer]\nkme_id = "{peer_kme}"\n'
            f'url = "https://127.0.0.1:{ports[1 - i]}"\nsae_ids = ["{peer_sae}"]\n'
        )
        path = directory / f"kme_{kme[-1].lower()}.toml"
        path.write_text(text)
        paths.append(path)
    return paths


def feed_link(directory: Path, pulses: int) -> int:
    """Run the two-party pipeline once and deposit its key in both stores; returns the number of
    256-bit keys deposited (0 if the run aborted: an aborted run outputs no key)."""
    from qkdstack.experiment import run_experiment
    from qkdstack.kms.store import deposit_pair
    from qkdstack.params import LinkParams
    from qkdstack.processing.pipeline import PipelineOptions

    params = LinkParams()  # run_experiment gives decoy-bb84 its laser (qkdstack.model)
    try:
        result = run_experiment(
            "decoy-bb84", params, pulses, options=PipelineOptions(secure_randomness=True)
        )
    except ProtocolAbort:
        return 0
    pipeline = result.pipeline
    if pipeline.alice_key is None or pipeline.bob_key is None:
        return 0
    return len(deposit_pair(directory, pipeline.alice_key, pipeline.bob_key))


def run_demo(
    directory: Path,
    pulses: int,
    echo: Callable[[str], None] = print,
    low_water_keys: int = 64,
) -> int:
    """Set up and run the demo until SIGINT/SIGTERM; returns the exit status."""
    if directory.exists() and not directory.is_dir():
        raise ParameterError(f"Argument '--dir' must be a directory, not '{directory}'.")
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()
    certs = directory / "certs"
    write_certificates(certs, [k for k, _, _ in DEMO_KMES], [s for _, s, _ in DEMO_KMES])
    ports = (_free_port(), _free_port())
    configs = write_demo_configs(directory, ports)
    echo(f"Simulating the link ({pulses:.0e} pulses) to fill both stores...")
    deposited = feed_link(directory, pulses)
    echo(f"Deposited {deposited} keys of 256 bits in alice.db and bob.db.")
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "qkdstack.cli.main", "kms", "serve", "--config", str(c)],
            start_new_session=True,
        )
        for c in configs
    ]
    urls = [f"https://127.0.0.1:{p}" for p in ports]
    try:
        clients = [
            SAEClient(urls[i], certs / f"{sae}.crt", certs / f"{sae}.key", certs / "ca.crt")
            for i, (_, sae, _) in enumerate(DEMO_KMES)
        ]
        written = False
        while not stop["now"]:
            if any(child.poll() is not None for child in children):
                echo("A KME stopped; the demo ends.")
                return 1
            counts = []
            for i, client in enumerate(clients):
                try:
                    counts.append(client.status(DEMO_KMES[1 - i][1])["stored_key_count"])
                except KeyStoreError:
                    counts.append(-1)
            if not written and all(c > 0 for c in counts):
                _write_demo_json(directory, urls)
                written = True
                echo(f"Both KMEs hold keys; wrote {directory / 'demo.json'}. Try:")
                echo(
                    f"  curl --cacert {certs / 'ca.crt'} --cert {certs / 'SAE_A.crt'} "
                    f"--key {certs / 'SAE_A.key'} {urls[0]}/api/v1/keys/SAE_B/enc_keys"
                )
                echo(
                    f"  curl --cacert {certs / 'ca.crt'} --cert {certs / 'SAE_B.crt'} "
                    f"--key {certs / 'SAE_B.key'} '{urls[1]}/api/v1/keys/SAE_A/dec_keys"
                    f"?key_ID=<key_ID from the first answer>'"
                )
                echo("Press Ctrl+C to stop.")
            if min(counts) >= 0 and min(counts) < low_water_keys:
                # Low, or nothing yet (a run that aborts outputs no key): run the link again.
                echo(f"Simulating the link again ({pulses:.0e} pulses)...")
                echo(f"Deposited {feed_link(directory, pulses)} keys of 256 bits.")
            time.sleep(0.5)
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _write_demo_json(directory: Path, urls: list[str]) -> None:
    certs = directory / "certs"
    doc: dict[str, Any] = {
        "ca": str(certs / "ca.crt"),
        "kmes": [
            {"kme_id": kme, "url": urls[i], "sae_ids": [sae]}
            for i, (kme, sae, _) in enumerate(DEMO_KMES)
        ],
        "saes": [
            {
                "sae_id": sae,
                "cert": str(certs / f"{sae}.crt"),
                "key": str(certs / f"{sae}.key"),
                "kme_url": urls[i],
            }
            for i, (_, sae, _) in enumerate(DEMO_KMES)
        ],
    }
    tmp = directory / "demo.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(directory / "demo.json")
