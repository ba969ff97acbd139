"""The ETSI GS QKD 014 V1.1.1 REST API of a KME, as a bare ASGI application.

Methods (ETSI GS QKD 014 V1.1.1, clause 5)::

    GET       /api/v1/keys/{slave_SAE_ID}/status      Get status
    GET,POST  /api/v1/keys/{slave_SAE_ID}/enc_keys    Get key (caller: the master SAE)
    GET,POST  /api/v1/keys/{master_SAE_ID}/dec_keys   Get key with key IDs (caller: a slave SAE)
    GET       /api/v1/openapi.json                    this contract as an OpenAPI 3.0 document
    POST      /kme/v1/reservations                    KME-to-KME link (caller: the peer KME)

The caller's identity comes only from its TLS client certificate, read from the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_chain"]``): its subject common name, mapped through the
configuration's ``sae_map``. Status codes as the standard gives them (clause 5.1): 200; 400 with an
Error object ``{"message", "details"}`` for a bad request; 401 with no body for an unauthorised
caller; 503 with an Error object when the KME cannot serve. Any unexpected failure is answered 503,
never 500. A bare ASGI app is used instead of a framework because framework overhead halves the
delivery rate on this service's hot path (see BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.x509.oid import NameOID

from qkdstack.kms.ahead import ReserveAhead
from qkdstack.kms.config import KMEConfig
from qkdstack.kms.pool import (
    DeliveredKey,
    KeyPool,
    PoolExhausted,
    Reservation,
    ReservationRefused,
)

__all__ = ["OPENAPI_PATH", "KMEApp", "openapi_document"]

OPENAPI_PATH = "/api/v1/openapi.json"
LINK_PATH = "/kme/v1/reservations"
MAX_BODY_BYTES = 65536
LINK_MAX_BODY_BYTES = 4 * 2**20  # a block reserved ahead travels in one link request

# The standard's own messages (ETSI GS QKD 014 V1.1.1, clauses 5.2-5.4 and 6.4 examples).
KEYS_NOT_FOUND = "one or more keys specified are not found on KME"
SIZE_NOT_MULTIPLE_OF_8 = "size shall be a multiple of 8"
EXTENSION_MANDATORY_UNSUPPORTED = "not all extension_mandatory parameters are supported"

_log = logging.getLogger("qkdstack.kms")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Reply(Exception):
    """A finished response (raised from deep inside a handler)."""

    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _bad(message: str, **details: Any) -> _Reply:
    return _Reply(400, {"message": message, "details": [details] if details else []})


def _unavailable(message: str, **details: Any) -> _Reply:
    return _Reply(503, {"message": message, "details": [details] if details else []})


@lru_cache(maxsize=1)
def openapi_document() -> bytes:
    """The OpenAPI 3.0 document of this API (shipped as ``qkdstack/kms/openapi.json``)."""
    return resources.files("qkdstack.kms").joinpath("openapi.json").read_bytes()


@lru_cache(maxsize=1024)
def _common_name(pem: str) -> str | None:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if len(names) == 1 else None


def caller_common_name(scope: Scope) -> str | None:
    """The subject CN of the verified client certificate, from the ASGI TLS extension."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    return _common_name(chain[0])


def _int_param(name: str, value: Any, from_query: bool = False) -> int:
    """An integer parameter: a JSON integer in a body, decimal digits in a query string."""
    if isinstance(value, bool) or not isinstance(value, int):
        if from_query and isinstance(value, str):
            try:
                if value.strip() != value or not value:
                    raise ValueError
                return int(value, 10)
            except ValueError:
                pass
        raise _bad(f"{name} must be an integer", **{name: value})
    return value


def _uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise _bad("key_ID must be a UUID", key_ID=value)
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        raise _bad("key_ID must be a UUID", key_ID=value) from None
    if canonical != value.lower():
        raise _bad("key_ID must be a UUID", key_ID=value)
    return canonical


class KMEApp:
    """The ASGI application of one KME.

    Parameters
    ----------
    config : KMEConfig
    pool : KeyPool
    link : object with ``async push(reservations)`` and ``async close()``, optional
        The KME-to-KME link (:class:`qkdstack.kms.link.PeerLink`); required if the config names a
        peer.
    refresh_interval_s : float
        Seconds between looks for keys newly deposited in the store.
    """

    def __init__(
        self,
        config: KMEConfig,
        pool: KeyPool,
        link: Any = None,
        refresh_interval_s: float = 0.5,
    ) -> None:
        self.config = config
        self.pool = pool
        self.link = link
        self.refresh_interval_s = refresh_interval_s
        self.ahead = None if link is None else ReserveAhead(pool, link, config.reserve_ahead_keys)
        self._tasks: list[asyncio.Task[None]] = []

    # -- ASGI entry point ----------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body = 200, await self._dispatch(scope, receive)
        except _Reply as reply:
            status, body = reply.status, reply.body
        except Exception as exc:  # never a 500: the KME reports that it cannot serve
            _log.error("request failed: %s", type(exc).__name__)
            status, body = 503, {"message": "the KME cannot serve this request now", "details": []}
        await self._respond(send, status, body)

    async def _respond(self, send: Send, status: int, body: Any) -> None:
        headers = [(b"cache-control", b"no-store")]
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
            headers.append((b"content-type", b"application/json"))
        else:
            payload = json.dumps(body, separators=(",", ":")).encode()
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tasks.append(asyncio.create_task(self._refresh_loop()))
                if self.link is not None:
                    self._tasks.append(asyncio.create_task(self._outbox_loop()))
                if self.ahead is not None:
                    self.ahead.recover()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in self._tasks:
                    task.cancel()
                for task in self._tasks:
                    try:
                        await task
                    except (asyncio.CancelledError, Exception):
                        pass
                if self.ahead is not None:
                    await self.ahead.close()
                if self.link is not None:
                    await self.link.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval_s)
            try:
                self.pool.refresh()
                await self.pool.flush_outbox()
            except Exception as exc:
                _log.warning("store refresh failed: %s", type(exc).__name__)

    async def _outbox_loop(self) -> None:
        """Push reservations left in the outbox (after a crash or a peer outage) until acknowledged."""
        while True:
            pending = self.pool.outbox()
            if pending:
                try:
                    await self.link.push([r for _, items in pending for r in items])
                    self.pool.outbox_done([seq for seq, _ in pending])
                except Exception as exc:
                    _log.warning("peer KME not reachable: %s", type(exc).__name__)
            await asyncio.sleep(1.0)

    # -- routing -------------------------------------------------------------------------------
    async def _dispatch(self, scope: Scope, receive: Receive) -> Any:
        cn = caller_common_name(scope)
        if cn is None:
            raise _Reply(401)
        path: str = scope["path"]
        method: str = scope["method"]
        if path == LINK_PATH:
            if self.config.peer is None or cn != self.config.peer.kme_id:
                raise _Reply(401)
            if method != "POST":
                raise _Reply(405, {"message": "method not allowed", "details": []})
            return await self._link(await _read_json(receive, LINK_MAX_BODY_BYTES))
        caller = self.config.sae_map.get(cn, cn)
        if caller not in self.config.sae_ids:
            raise _Reply(401)
        if path == OPENAPI_PATH:
            if method != "GET":
                raise _Reply(405, {"message": "method not allowed", "details": []})
            return openapi_document()
        parts = path.split("/")
        if len(parts) != 6 or parts[:4] != ["", "api", "v1", "keys"]:
            raise _Reply(404, {"message": "not found", "details": []})
        sae_id, verb = parts[4], parts[5]
        allowed = {"status": ("GET",), "enc_keys": ("GET", "POST"), "dec_keys": ("GET", "POST")}
        if verb not in allowed:
            raise _Reply(404, {"message": "not found", "details": []})
        if method not in allowed[verb]:
            raise _Reply(405, {"message": "method not allowed", "details": []})
        if not sae_id:
            raise _bad("SAE ID in the path must not be empty")
        if method == "POST":
            body = await _read_json(receive)
            query: dict[str, list[str]] = {}
        else:
            body = None
            query = _query(scope)
        if verb == "status":
            if query:
                raise _bad("status takes no parameters", parameters=sorted(query))
            return self._status(caller, sae_id)
        if verb == "enc_keys":
            return await self._enc_keys(caller, sae_id, query, body)
        return await self._dec_keys(caller, sae_id, query, body)

    # -- the three methods ---------------------------------------------------------------------
    def _slave_kme(self, master: str, slave: str, field: str) -> str:
        if slave == master:
            raise _bad(f"{field} must differ from the master SAE ID", **{field: slave})
        kme = self.config.kme_of(slave)
        if kme is None:
            raise _bad(f"{field} is not an SAE known to this KME", **{field: slave})
        return kme

    def _status(self, master: str, slave: str) -> dict[str, Any]:
        target = self._slave_kme(master, slave, "slave_SAE_ID")
        cfg = self.config
        count = self.pool.available_bytes() // (cfg.key_size_bits // 8)
        if self.ahead is not None and target != cfg.kme_id:
            count += self.ahead.stored(master, (slave,), cfg.key_size_bits // 8)
        return {
            "source_KME_ID": cfg.kme_id,
            "target_KME_ID": target,
            "master_SAE_ID": master,
            "slave_SAE_ID": slave,
            "key_size": cfg.key_size_bits,
            "stored_key_count": min(count, cfg.max_key_count),
            "max_key_count": cfg.max_key_count,
            "max_key_per_request": cfg.max_key_per_request,
            "max_key_size": cfg.max_key_size_bits,
            "min_key_size": cfg.min_key_size_bits,
            "max_SAE_ID_count": cfg.max_sae_id_count,
        }

    async def _enc_keys(
        self, master: str, slave: str, query: dict[str, list[str]], body: Any
    ) -> bytes:
        cfg = self.config
        self._slave_kme(master, slave, "slave_SAE_ID")
        additional: list[Any] = []
        if body is None:
            unknown = set(query) - {"number", "size"}
            if unknown:
                raise _bad("unknown parameter", parameters=sorted(unknown))
            number = _int_param("number", _single(query, "number", 1), from_query=True)
            size = _int_param("size", _single(query, "size", cfg.key_size_bits), from_query=True)
        else:
            if not isinstance(body, dict):
                raise _bad("the request body must be a JSON object")
            number = _int_param("number", body.get("number", 1))
            size = _int_param("size", body.get("size", cfg.key_size_bits))
            additional = body.get("additional_slave_SAE_IDs", [])
            mandatory = body.get("extension_mandatory", [])
            optional = body.get("extension_optional", [])
            if not isinstance(additional, list):
                raise _bad("additional_slave_SAE_IDs must be an array of SAE IDs")
            for name, ext in (("extension_mandatory", mandatory), ("extension_optional", optional)):
                if not isinstance(ext, list) or not all(isinstance(e, dict) for e in ext):
                    raise _bad(f"{name} must be an array of objects")
            if mandatory:
                # No extension is supported (clause 6.2): refuse with the standard's message.
                raise _bad(
                    EXTENSION_MANDATORY_UNSUPPORTED, extension_mandatory_unsupported=mandatory
                )
            # extension_optional: none is supported; the standard lets the KME ignore them.
        if not 1 <= number <= cfg.max_key_per_request:
            raise _bad(
                f"number must be between 1 and max_key_per_request ({cfg.max_key_per_request})",
                number=number,
            )
        if size <= 0:
            raise _bad("size must be a positive number of bits", size=size)
        if size % 8:
            raise _bad(SIZE_NOT_MULTIPLE_OF_8, size=size)
        if not cfg.min_key_size_bits <= size <= cfg.max_key_size_bits:
            raise _bad(
                f"size must be between min_key_size ({cfg.min_key_size_bits}) and "
                f"max_key_size ({cfg.max_key_size_bits})",
                size=size,
            )
        if len(additional) > cfg.max_sae_id_count:
            raise _bad(
                f"additional_slave_SAE_IDs must hold at most max_SAE_ID_count "
                f"({cfg.max_sae_id_count}) SAE IDs",
                count=len(additional),
            )
        slaves = [slave]
        for extra in additional:
            if not isinstance(extra, str) or not extra.strip():
                raise _bad("additional_slave_SAE_IDs must not be blank", value=extra)
            if extra in slaves:
                raise _bad(
                    "additional_slave_SAE_IDs must not repeat the slave SAE IDs", value=extra
                )
            self._slave_kme(master, extra, "additional_slave_SAE_IDs")
            slaves.append(extra)
        local = [s for s in slaves if cfg.kme_of(s) == cfg.kme_id]
        remote = [s for s in slaves if cfg.kme_of(s) != cfg.kme_id]
        if remote and self.link is None:
            raise _unavailable("no peer KME is configured")
        size_bytes = size // 8

        async def per_request() -> list[DeliveredKey]:
            return await self._deliver(master, number, size_bytes, local, remote)

        if remote and not local and self.ahead is not None:
            keys = await self.ahead.deliver(master, tuple(remote), number, size_bytes, per_request)
        else:
            keys = await per_request()
        return _key_container(keys)

    async def _deliver(
        self, master: str, number: int, size_bytes: int, local: list[str], remote: list[str]
    ) -> list[DeliveredKey]:
        """Reserve ``number`` keys for this request alone: durable here, and at the peer KME
        (over the link) if any slave is there, before they are returned."""
        try:
            cut = self.pool.allocate(number, size_bytes)
        except PoolExhausted:
            raise _unavailable(
                "the KME holds fewer keys than requested",
                stored_key_count=self.pool.available_bytes() // size_bytes,
            ) from None
        deliveries = [
            (Reservation(k.key_id, master, tuple(remote), segs), k.material) for k, segs in cut
        ]
        seq = await self.pool.commit_delivery(deliveries, local, remote=bool(remote))
        if remote:
            reservations = [r for r, _ in deliveries]
            try:
                await self.link.push(reservations)
            except Exception as exc:
                # The outbox keeps the reservations; they are pushed again later. The keys are
                # consumed here and never handed out under another ID.
                _log.warning("peer KME did not confirm: %s", type(exc).__name__)
                raise _unavailable("the peer KME cannot be reached") from None
            assert seq is not None
            self.pool.outbox_done([seq])
        return [k for k, _ in cut]

    async def _dec_keys(
        self, slave: str, master: str, query: dict[str, list[str]], body: Any
    ) -> bytes:
        cfg = self.config
        if master == slave:
            raise _bad(
                "master_SAE_ID must differ from the calling slave SAE ID", master_SAE_ID=master
            )
        if body is None:
            unknown = set(query) - {"key_ID"}
            if unknown:
                raise _bad("unknown parameter", parameters=sorted(unknown))
            if "key_ID" not in query:
                raise _bad("key_ID is required")
            raw_ids: list[Any] = list(query["key_ID"])
            if len(raw_ids) != 1:
                raise _bad("key_ID must be given once")
        else:
            if not isinstance(body, dict) or not isinstance(body.get("key_IDs"), list):
                raise _bad("the request body must be an object with an array key_IDs")
            raw_ids = []
            for item in body["key_IDs"]:
                if not isinstance(item, dict) or "key_ID" not in item:
                    raise _bad("each key_IDs item must be an object with a key_ID")
                raw_ids.append(item["key_ID"])
        if not raw_ids:
            raise _bad("key_IDs must not be empty")
        if len(raw_ids) > cfg.max_key_per_request:
            raise _bad(
                f"key_IDs must hold at most max_key_per_request ({cfg.max_key_per_request})",
                count=len(raw_ids),
            )
        ids = [_uuid(v) for v in raw_ids]
        if len(set(ids)) != len(ids):
            raise _bad("key_IDs must not repeat a key_ID")
        try:
            keys = await self.pool.retrieve(master, slave, ids)
        except ReservationRefused as exc:
            if exc.reason == "unauthorized":
                raise _Reply(401) from None
            raise _bad(KEYS_NOT_FOUND) from None
        return _key_container(keys)

    async def _link(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("reservations"), list):
            raise _bad("the request body must be an object with an array reservations")
        try:
            items = [Reservation.from_json(r) for r in body["reservations"]]
        except (KeyError, TypeError, ValueError):
            raise _bad("malformed reservation") from None
        peer = self.config.peer
        assert peer is not None
        for r in items:
            if (
                any(s not in self.config.sae_ids for s in r.slaves)
                or r.master_sae not in peer.sae_ids
            ):
                raise _bad("reservation names SAEs outside this link")
        try:
            stored = await self.pool.accept_reservations(items)
        except ReservationRefused:
            raise _unavailable(
                "the key material of a reservation is not in this KME's store"
            ) from None
        return {"stored": stored}


def _key_container(keys: list[DeliveredKey]) -> bytes:
    """The Key container (ETSI GS QKD 014, clause 6.3) as JSON: ``{"keys": [{"key_ID", "key"}]}``.

    Written directly (a UUID and base64 need no JSON escaping): this is on the hot path."""
    items = ",".join(
        f'{{"key_ID":"{k.key_id}","key":"{base64.b64encode(k.material).decode("ascii")}"}}'
        for k in keys
    )
    return f'{{"keys":[{items}]}}'.encode("ascii")


def _query(scope: Scope) -> dict[str, list[str]]:
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return {}
    try:
        return parse_qs(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise _bad("malformed query string") from None


def _single(query: dict[str, list[str]], name: str, default: int) -> Any:
    values = query.get(name)
    if values is None:
        return default
    if len(values) != 1:
        raise _bad(f"{name} must be given once")
    return values[0]


async def _read_json(receive: Receive, limit_bytes: int = MAX_BODY_BYTES) -> Any:
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Reply(400, {"message": "the request was cut short", "details": []})
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit_bytes:
            raise _bad(f"the request body must be at most {limit_bytes} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, ValueError):
        raise _bad("the request body must be JSON") from None
