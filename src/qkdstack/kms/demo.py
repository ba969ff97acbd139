"""``qkd kms demo``: two KMEs fed by a simulated link through two nodes, for application developers.

What it sets up in ``DIR``: test certificates (``certs/``), a pre-shared authentication secret
(``psk``, ``psk.bob``: each node's copy, 0600), the two stores of a link (``alice.db`` for ``KME_A``,
``bob.db`` for ``KME_B``) and a configuration per KME, then it starts both KMEs (``qkd kms serve``
processes). Keys come the way they would in a deployment: two node processes, ``qkd node alice``
and ``qkd node bob`` (:mod:`qkdstack.node`), run the simulated link and the whole authenticated
post-processing between them over TCP and store each round's key on both sides (pending, then
confirmed); each KME serves its node's store. The nodes run a few rounds whenever a KME holds
fewer than ``low_water_keys`` keys, so an idle demo does not fill the disk; their output goes to
``DIR/logs``. Once both KMEs hold keys it writes ``DIR/demo.json`` and prints a curl command that
works as printed. It runs until SIGINT or SIGTERM, then stops Bob, Alice and the KMEs in turn.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from qkdstack.errors import KeyStoreError, ParameterError
from qkdstack.kms.certs import write_certificates
from qkdstack.kms.client import SAEClient
from qkdstack.kms.store import KeyStore
from qkdstack.node import DEFAULT_PSK_BITS, write_psk

__all__ = ["DEMO_KMES", "NodePair", "run_demo", "write_demo_configs"]

DEMO_KMES = (("KME_A", "SAE_A", "alice.db"), ("KME_B", "SAE_B", "bob.db"))

DEMO_PROTOCOL = "decoy-bb84"
"""The demo's link: decoy-state BB84 with a laser over the default fibre (as ``qkd run``)."""


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


def _write_psk_copies(directory: Path) -> tuple[Path, Path]:
    """Alice's and Bob's copies of one pre-shared secret (kept from an earlier demo run, whose
    authentication pools beside the stores are in step with it)."""
    alice, bob = directory / "psk", directory / "psk.bob"
    if not (alice.is_file() and bob.is_file()):
        for path in (alice, bob):
            path.unlink(missing_ok=True)
        secret = secrets.token_bytes(DEFAULT_PSK_BITS // 8)
        write_psk(alice, secret)
        write_psk(bob, secret)
    return alice, bob


def _spawn(args: Sequence[str], log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "qkdstack.cli.main", *args],
        stdout=log if log is not None else None,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )


def _terminate(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, once (a second one makes a KME skip its graceful shutdown)."""
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)


def _reap(child: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for a child told to stop; SIGKILL if it hangs."""
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _stop(child: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """SIGTERM (a node finishes or drops its round cleanly), then SIGKILL if it hangs."""
    _terminate(child)
    _reap(child, timeout_s)


class NodePair:
    """``qkd node alice`` and ``qkd node bob`` on loopback, run ``rounds`` rounds at a time."""

    def __init__(self, directory: Path, pulses: int, rounds: int) -> None:
        self._dir = directory
        self._pulses = pulses
        self._rounds = rounds
        self._psk = _write_psk_copies(directory)
        self._logs = directory / "logs"
        self._logs.mkdir(exist_ok=True)
        self._children: list[subprocess.Popen[bytes]] = []  # Alice, Bob
        self.runs = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        return any(child.poll() is None for child in self._children)

    def start(self) -> None:
        """Start a run of both nodes (Bob retries until Alice listens)."""
        port, fibre = _free_port(), _free_port()
        link = ["--protocol", DEMO_PROTOCOL, "--pulses", str(self._pulses)]
        common = ["--fibre", f"127.0.0.1:{fibre}", "--rounds", str(self._rounds), "--json"]
        self.runs += 1
        self._children = []
        for role, address, psk, store in (
            ("alice", ("--listen", f"127.0.0.1:{port}"), self._psk[0], "alice.db"),
            ("bob", ("--connect", f"127.0.0.1:{port}"), self._psk[1], "bob.db"),
        ):
            with (self._logs / f"{role}.log").open("ab") as log:
                self._children.append(
                    _spawn(
                        ["node", role, *address, "--psk", str(psk), "--store",
                         str(self._dir / store), *link, *common],
                        log,
                    )
                )  # fmt: skip

    def finished(self) -> bool | None:
        """None while a run goes on; True if the last run ended well, False if a node failed."""
        if not self._children:
            return None
        if self.running:
            if not any(child.poll() not in (None, 0) for child in self._children):
                return None
            self.stop()  # one node failed: the other would wait for it forever
            self.failures += 1
            return False
        ok = all(child.returncode == 0 for child in self._children)
        self.failures = 0 if ok else self.failures + 1
        self._children = []
        return ok

    def stop(self) -> None:
        """Bob first (he drives the rounds), then Alice."""
        for child in reversed(self._children):
            _stop(child)
        self._children = []


def run_demo(
    directory: Path,
    pulses: int,
    echo: Callable[[str], None] = print,
    low_water_keys: int = 64,
    rounds_per_run: int = 2,
    max_failed_runs: int = 3,
) -> int:
    """Set up and run the demo until SIGINT/SIGTERM; returns the exit status."""
    if directory.exists() and not directory.is_dir():
        raise ParameterError(f"Argument '--dir' must be a directory, not '{directory}'.")
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()
    certs = directory / "certs"
    write_certificates(certs, [k for k, _, _ in DEMO_KMES], [s for _, s, _ in DEMO_KMES])
    for _, _, store in DEMO_KMES:
        KeyStore(directory / store).close()  # both stores exist (0600) before a KME reads them
    ports = (_free_port(), _free_port())
    configs = write_demo_configs(directory, ports)
    nodes = NodePair(directory, pulses, rounds_per_run)
    stop = {"now": False}

    def _on_signal(*_: object) -> None:
        stop["now"] = True

    old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    kmes = [_spawn(["kms", "serve", "--config", str(c)]) for c in configs]
    urls = [f"https://127.0.0.1:{p}" for p in ports]
    try:
        clients = [
            SAEClient(urls[i], certs / f"{sae}.crt", certs / f"{sae}.key", certs / "ca.crt")
            for i, (_, sae, _) in enumerate(DEMO_KMES)
        ]
        written = False
        while not stop["now"]:
            if any(kme.poll() is not None for kme in kmes):
                echo("A KME stopped; the demo ends.")
                return 1
            if nodes.finished() is False:
                echo(f"A node stopped with an error (see {directory / 'logs'}).")
                if nodes.failures >= max_failed_runs:
                    echo(f"The nodes failed {nodes.failures} runs in a row; the demo ends.")
                    return 1
            counts = []
            for i, client in enumerate(clients):
                try:
                    counts.append(client.status(DEMO_KMES[1 - i][1])["stored_key_count"])
                except KeyStoreError:
                    counts.append(-1)  # not up yet
            if not written and all(c > 0 for c in counts):
                _write_demo_json(directory, urls)
                written = True
                _print_example(echo, directory, urls)
            if min(counts) >= 0 and min(counts) < low_water_keys and not nodes.running:
                echo(
                    f"Running the nodes: {rounds_per_run} rounds of {pulses:.0e} pulses of "
                    f"{DEMO_PROTOCOL} (logs in {directory / 'logs'})..."
                )
                nodes.start()
            time.sleep(0.5)
        return 0
    finally:
        nodes.stop()
        for kme in kmes:
            _terminate(kme)  # both at once, then wait for each
        for kme in kmes:
            _reap(kme, timeout_s=15.0)
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _print_example(echo: Callable[[str], None], directory: Path, urls: list[str]) -> None:
    certs = directory / "certs"
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
