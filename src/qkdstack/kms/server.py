"""Serving a KME over HTTPS with mutual TLS (uvicorn, httptools, uvloop).

uvicorn does not put the client certificate into the ASGI scope; :class:`TLSHttpToolsProtocol`
does: it reads the verified peer certificate from the connection's ``ssl_object`` once per
connection and sets the ASGI TLS extension (``scope["extensions"]["tls"]``, with
``client_cert_chain`` and ``tls_version``) on every request of that connection. The TLS context
requires a client certificate signed by the configured CA, and TLS 1.2 or later.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from qkdstack.kms.api import KMEApp
from qkdstack.kms.config import KMEConfig
from qkdstack.kms.link import PeerLink, client_ssl_context
from qkdstack.kms.pool import KeyPool

__all__ = ["TLSHttpToolsProtocol", "bind_socket", "build_app", "make_server", "server_ssl_context"]


class TLSHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the ASGI TLS extension carrying the client
    certificate."""

    _tls_extension: dict[str, Any] | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._tls_extension = None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        self._tls_extension = {
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
        }

    def shutdown(self) -> None:
        # An idle kept-alive connection (the peer KME's link, an SAE's pool) is cut at once: a
        # TLS close would wait for the peer's close_notify, which an idle client never sends.
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls_extension is not None:
            self.scope["extensions"] = {"tls": self._tls_extension}  # type: ignore[dict-item]


def server_ssl_context(config: KMEConfig) -> ssl.SSLContext:
    """TLS 1.2+, the KME's certificate, and a client certificate required (signed by the CA)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(config.cert), str(config.key))
    ctx.load_verify_locations(cafile=str(config.ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def build_app(config: KMEConfig, refresh_interval_s: float = 0.5) -> KMEApp:
    """The KME application: its pool on the configured store and its link to the peer."""
    pool = KeyPool(config.store, config.kme_id, config.peer.kme_id if config.peer else None)
    link = None
    if config.peer is not None:
        link = PeerLink(config.peer.url, client_ssl_context(config.cert, config.key, config.ca))
    return KMEApp(config, pool, link, refresh_interval_s=refresh_interval_s)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (raises ``OSError`` if the address is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def make_server(app: KMEApp, graceful_shutdown_s: float = 3.0) -> uvicorn.Server:
    """A uvicorn server for ``app`` over mutual TLS. On shutdown, connections still open after
    ``graceful_shutdown_s`` (an idle peer KME's kept-alive link) are cut."""
    ctx = server_ssl_context(app.config)
    cfg = uvicorn.Config(
        app,
        host=app.config.host,
        port=app.config.port,
        http=TLSHttpToolsProtocol,
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,  # the caller is its certificate, never a forwarded address
        ssl_context_factory=lambda _config, _default: ctx,
        timeout_graceful_shutdown=int(max(1, graceful_shutdown_s)),
    )
    return uvicorn.Server(cfg)
