"""The KME-to-KME link: reservations pushed to the peer KME over mutual TLS.

The master SAE's KME sends each reservation (key ID, master and slave SAE IDs, and the segments of
the shared store keys it was cut from; never key material) to the KME of the slave SAEs, which
answers only once it has stored them durably. Both ends authenticate with their KME certificates;
the receiving KME accepts a push only from the certificate whose common name is its configured
peer. Pushes waiting while one is in flight travel together in the next request (batching).
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qkdstack.errors import KeyStoreError
from qkdstack.kms.pool import Reservation

__all__ = ["PeerLink", "client_ssl_context"]

LINK_PATH = "/kme/v1/reservations"


def client_ssl_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """A TLS 1.2+ client context that presents ``cert`` and trusts only ``ca``."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class _Connection:
    """One kept-alive HTTP/1.1 connection over TLS to the peer KME (a lean client: this is the
    hot path of every delivery to a remote slave)."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext) -> None:
        self._host = host
        self._port = port
        self._ssl_context = ssl_context
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def post(self, path: str, body: bytes) -> int:
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl_context, server_hostname=self._host
            )
        assert self._reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        self._writer.write(head + body)
        response = await self._reader.readuntil(b"\r\n\r\n")
        lines = response.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        await self._reader.readexactly(length)
        if close:
            self.close()
        return status


class PeerLink:
    """Pushes reservations to the peer KME, batching the pushes that wait.

    Parameters
    ----------
    url : str
        The peer KME's base URL (``https://host:port``).
    ssl_context : ssl.SSLContext
        Client context with this KME's certificate (:func:`client_ssl_context`).
    workers : int
        Requests in flight at once (one kept-alive connection each).
    timeout_s : float
        Seconds before a push is given up (the outbox pushes it again later).
    """

    def __init__(
        self, url: str, ssl_context: ssl.SSLContext, workers: int = 2, timeout_s: float = 5.0
    ) -> None:
        parsed = urlsplit(url)
        if parsed.scheme != "https" or parsed.hostname is None or parsed.port is None:
            raise ValueError(f"peer URL must be https://host:port, not {url!r}")
        self._host, self._port = parsed.hostname, parsed.port
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._workers = workers
        self._pending: list[tuple[list[Reservation], asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self) -> None:
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._workers)]

    async def push(self, reservations: Sequence[Reservation]) -> None:
        """Return once the peer KME has stored ``reservations``; raises on any failure."""
        if self._wake is None:
            self._start()
        assert self._wake is not None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((list(reservations), future))
        self._wake.set()
        await future

    async def _send(self, connection: _Connection, body: bytes) -> None:
        # A kept-alive connection the peer has closed fails on first use: one retry on a fresh
        # connection (pushes are idempotent: the peer ignores key IDs it already holds).
        for attempt in range(2):
            try:
                status = await asyncio.wait_for(connection.post(LINK_PATH, body), self._timeout_s)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                    IndexError, TimeoutError) as exc:  # fmt: skip
                connection.close()
                if attempt:
                    raise KeyStoreError(f"peer KME unreachable: {type(exc).__name__}") from exc
                continue
            if status != 200:
                raise KeyStoreError(f"peer KME answered {status}")
            return

    async def _worker(self) -> None:
        assert self._wake is not None
        connection = _Connection(self._host, self._port, self._ssl_context)
        try:
            while True:
                await self._wake.wait()
                batch, self._pending = self._pending, []
                self._wake.clear()
                if not batch:
                    continue
                body: dict[str, Any] = {
                    "reservations": [r.to_json() for items, _ in batch for r in items]
                }
                error: BaseException | None = None
                try:
                    await self._send(connection, json.dumps(body).encode())
                except KeyStoreError as exc:
                    error = exc
                for _, future in batch:
                    if future.done():
                        continue
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)
        finally:
            connection.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
