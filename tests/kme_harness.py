"""Two KMEs on loopback with real mutual TLS, for the KMS tests (started and stopped by the test)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from qkdstack.kms.api import KMEApp
from qkdstack.kms.certs import write_certificates
from qkdstack.kms.config import KMEConfig, load_config
from qkdstack.kms.server import build_app, make_server
from qkdstack.kms.store import deposit_pair


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def write_config(
    path: Path,
    kme_id: str,
    port: int,
    store: str,
    sae_ids: list[str],
    peer: tuple[str, int, list[str]] | None,
    extra: str = "",
) -> Path:
    lines = [
        f'kme_id = "{kme_id}"',
        f'listen = "127.0.0.1:{port}"',
        f'store = "{store}"',
        f"sae_ids = {sae_ids!r}".replace("'", '"'),
        extra,
        "[tls]",
        f'cert = "certs/{kme_id}.crt"',
        f'key = "certs/{kme_id}.key"',
        'ca = "certs/ca.crt"',
    ]
    if peer is not None:
        lines += [
            "[peer]",
            f'kme_id = "{peer[0]}"',
            f'url = "https://127.0.0.1:{peer[1]}"',
            f"sae_ids = {peer[2]!r}".replace("'", '"'),
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Pair:
    root: Path
    config_a: KMEConfig
    config_b: KMEConfig
    url_a: str
    url_b: str

    def client(self, sae: str, url: str | None = None) -> httpx.Client:
        certs = self.root / "certs"
        import ssl

        ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        ctx.load_cert_chain(str(certs / f"{sae}.crt"), str(certs / f"{sae}.key"))
        base = url or (self.url_a if sae in self.config_a.sae_ids else self.url_b)
        return httpx.Client(base_url=base, verify=ctx, timeout=10.0)


def make_pair_files(
    root: Path, key_bits: int = 256 * 64, extra_a: str = "", extra_b: str = ""
) -> tuple[Path, Path, socket.socket, socket.socket]:
    """Certificates, two stores sharing keys, and two configs; returns the configs and sockets."""
    write_certificates(
        root / "certs", ["KME_A", "KME_B"], ["SAE_A", "SAE_B", "SAE_A2", "SAE_B2", "SAE_X"]
    )
    key = np.random.default_rng(7).integers(0, 2, key_bits, dtype=np.uint8)
    if key_bits:
        deposit_pair(root, key, key.copy())
    else:
        (root / "alice.db").touch(mode=0o600)
        (root / "bob.db").touch(mode=0o600)
    sock_a, sock_b = free_socket(), free_socket()
    port_a, port_b = sock_a.getsockname()[1], sock_b.getsockname()[1]
    cfg_a = write_config(
        root / "kme_a.toml", "KME_A", port_a, "alice.db", ["SAE_A", "SAE_A2"],
        ("KME_B", port_b, ["SAE_B", "SAE_B2"]), extra_a,
    )  # fmt: skip
    cfg_b = write_config(
        root / "kme_b.toml", "KME_B", port_b, "bob.db", ["SAE_B", "SAE_B2"],
        ("KME_A", port_a, ["SAE_A", "SAE_A2"]), extra_b,
    )  # fmt: skip
    return cfg_a, cfg_b, sock_a, sock_b


@contextmanager
def serve_in_threads(*servers: tuple[KMEConfig, socket.socket]) -> Iterator[list[KMEApp]]:
    """Run KMEs in threads of this process (yields their apps); stop them all at the end."""
    running = []
    try:
        for config, sock in servers:
            app = build_app(config, refresh_interval_s=0.1)
            server = make_server(app, graceful_shutdown_s=1.0)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            running.append((app, server, thread, sock))
            deadline = time.monotonic() + 20
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("KME did not start")
                time.sleep(0.02)
        yield [app for app, _, _, _ in running]
    finally:
        for _, server, _, _ in running:
            server.should_exit = True
        for app, _, thread, sock in running:
            thread.join(timeout=20)
            app.pool.close()
            sock.close()


@contextmanager
def running_pair(
    root: Path, key_bits: int = 256 * 64, extra_a: str = "", extra_b: str = ""
) -> Iterator[Pair]:
    cfg_a, cfg_b, sock_a, sock_b = make_pair_files(root, key_bits, extra_a, extra_b)
    a, b = load_config(cfg_a), load_config(cfg_b)
    with serve_in_threads((a, sock_a), (b, sock_b)):
        yield Pair(root, a, b, a.url, b.url)
