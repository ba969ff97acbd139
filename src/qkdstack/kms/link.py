"""The KME-to-KME link: reservations pushed to the peer KME over mutual TLS.

The master SAE's KME sends each reservation (key ID, master and slave SAE IDs, and the segments of
the shared store keys it was cut from; never key material) to the KME of the slave SAEs, which
answers only once it has stored them durably. Both ends authenticate with their KME certificates;
the receiving KME accepts a push only from the certificate whose common name is its configured
peer. Pushes waiting while one is in flight travel together in the next request (batching).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

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


class PeerLink:
    """Pushes reservations to the peer KME, batching the pushes that wait.

    Parameters
    ----------
    url : str
        The peer KME's base URL (``https://host:port``).
    ssl_context : ssl.SSLContext
        Client context with this KME's certificate (:func:`client_ssl_context`).
    workers : int
        Requests in flight at once.
    timeout_s : float
        Seconds before a push is given up (the outbox pushes it again later).
    """

    def __init__(
        self, url: str, ssl_context: ssl.SSLContext, workers: int = 2, timeout_s: float = 5.0
    ) -> None:
        self.url = url.rstrip("/") + LINK_PATH
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._workers = workers
        self._client: httpx.AsyncClient | None = None
        self._pending: list[tuple[list[Reservation], asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self) -> None:
        self._client = httpx.AsyncClient(
            verify=self._ssl_context,
            timeout=self._timeout_s,
            limits=httpx.Limits(
                max_connections=self._workers, max_keepalive_connections=self._workers
            ),
        )
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self._workers)]

    async def push(self, reservations: Sequence[Reservation]) -> None:
        """Return once the peer KME has stored ``reservations``; raises on any failure."""
        if self._client is None:
            self._start()
        assert self._wake is not None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((list(reservations), future))
        self._wake.set()
        await future

    async def _worker(self) -> None:
        assert self._wake is not None and self._client is not None
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
                response = await self._client.post(self.url, json=body)
                if response.status_code != 200:
                    error = KeyStoreError(f"peer KME answered {response.status_code}")
            except (httpx.HTTPError, OSError) as exc:
                error = KeyStoreError(f"peer KME unreachable: {type(exc).__name__}")
            for _, future in batch:
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._client is not None:
            await self._client.aclose()
