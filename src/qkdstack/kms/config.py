"""The configuration of one KME: a TOML file, checked field by field.

Example (paths are relative to the file)::

    kme_id = "KME_A"
    listen = "127.0.0.1:8443"
    store = "alice.db"              # the store its node fills (qkd run --store)
    sae_ids = ["SAE_A"]             # SAEs attached to this KME
    key_size_bits = 256             # default key size of enc_keys
    max_key_per_request = 128
    max_key_size_bits = 65536
    min_key_size_bits = 8
    max_sae_id_count = 4            # additional slave SAEs per request (0: no multicast)
    max_key_count = 1000000
    reserve_ahead_keys = 256        # largest block reserved at the peer ahead of requests (0: off)

    [tls]
    cert = "KME_A.crt"
    key = "KME_A.key"
    ca = "ca.crt"

    [sae_map]                       # optional: certificate CN -> SAE ID (default: the CN itself)
    "app-1.example" = "SAE_A"

    [peer]                          # the KME at the other end of the link
    kme_id = "KME_B"
    url = "https://127.0.0.1:8444"
    sae_ids = ["SAE_B"]

A wrong field is reported with the file, the line and the field:
``kme_a.toml:3: field 'listen' must be HOST:PORT, not '8443'.``
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qkdstack.errors import ParameterError

__all__ = ["KMEConfig", "PeerConfig", "load_config"]

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class PeerConfig:
    """The peer KME: its ID, its URL and the SAEs attached to it."""

    kme_id: str
    url: str
    sae_ids: tuple[str, ...]


@dataclass(frozen=True)
class KMEConfig:
    """One KME's settings (see the module docstring for the file layout)."""

    kme_id: str
    host: str
    port: int
    store: Path
    sae_ids: tuple[str, ...]
    cert: Path
    key: Path
    ca: Path
    peer: PeerConfig | None = None
    sae_map: dict[str, str] = field(default_factory=dict)
    key_size_bits: int = 256
    max_key_per_request: int = 128
    max_key_size_bits: int = 65536
    min_key_size_bits: int = 8
    max_sae_id_count: int = 4
    max_key_count: int = 1_000_000
    reserve_ahead_keys: int = 256

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def kme_of(self, sae_id: str) -> str | None:
        """The KME an SAE is attached to (this one, the peer, or None if unknown)."""
        if sae_id in self.sae_ids:
            return self.kme_id
        if self.peer is not None and sae_id in self.peer.sae_ids:
            return self.peer.kme_id
        return None


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, name: str) -> int | None:
        """The line of field ``name`` (``table.key`` for a key inside ``[table]``)."""
        table, _, key = name.rpartition(".")
        current = ""
        for i, text in enumerate(self.lines):
            header = re.match(r"\s*\[([^\]]+)\]", text)
            if header:
                current = header.group(1).strip()
            elif current == table and re.match(rf'\s*"?{re.escape(key)}"?\s*=', text):
                return i + 1
        return None

    def fail(self, name: str, constraint: str, value: object) -> ParameterError:
        line = self.line_of(name)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ParameterError(f"{where}: field '{name}' must be {constraint}, not {value!r}.")

    def missing(self, name: str) -> ParameterError:
        return ParameterError(f"{self.path}: field '{name}' is required.")

    def ident(self, table: dict[str, Any], key: str, prefix: str = "") -> str:
        name = prefix + key
        if key not in table:
            raise self.missing(name)
        value = table[key]
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(name, "an ID of 1-64 letters, digits or _.:-", value)
        return value

    def idents(self, table: dict[str, Any], key: str, prefix: str = "") -> tuple[str, ...]:
        name = prefix + key
        if key not in table:
            raise self.missing(name)
        value = table[key]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and _ID.match(v) for v in value)
            or len(set(value)) != len(value)
        ):
            raise self.fail(name, "a non-empty list of distinct IDs", value)
        return tuple(value)

    def integer(self, table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if type(value) is not int or not low <= value <= high:
            raise self.fail(key, f"an integer in [{low}, {high}]", value)
        return value

    def file(self, table: dict[str, Any], key: str, prefix: str, must_exist: bool) -> Path:
        name = prefix + key
        if key not in table:
            raise self.missing(name)
        value = table[key]
        if not isinstance(value, str) or not value:
            raise self.fail(name, "a path", value)
        path = Path(value)
        if not path.is_absolute():
            path = self.path.parent / path
        if must_exist and not path.is_file():
            raise self.fail(name, "an existing file", value)
        if not must_exist and not path.parent.is_dir():
            raise self.fail(name, "a path in an existing directory", value)
        return path


def load_config(path: str | Path) -> KMEConfig:
    """Read and check a KME configuration file; raises :class:`ParameterError` naming the file,
    the line and the field of the first problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(
            f"Argument '--config' must be a readable TOML file, not '{p}'."
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{p}: not valid TOML: {exc}.") from exc
    c = _Checker(p, text)
    known = {
        "kme_id", "listen", "store", "sae_ids", "tls", "peer", "sae_map", "key_size_bits",
        "max_key_per_request", "max_key_size_bits", "min_key_size_bits", "max_sae_id_count",
        "max_key_count", "reserve_ahead_keys",
    }  # fmt: skip
    for entry in data:
        if entry not in known:
            raise c.fail(entry, "one of " + ", ".join(sorted(known)), "(unknown field)")
    kme_id = c.ident(data, "kme_id")
    listen = data.get("listen")
    if listen is None:
        raise c.missing("listen")
    match = re.fullmatch(r"([^:\s]+):(\d{1,5})", listen) if isinstance(listen, str) else None
    if match is None or not 0 <= int(match.group(2)) <= 65535:
        raise c.fail("listen", "HOST:PORT", listen)
    store = c.file(data, "store", "", must_exist=False)
    sae_ids = c.idents(data, "sae_ids")
    tls = data.get("tls")
    if not isinstance(tls, dict):
        raise c.missing("tls")
    cert = c.file(tls, "cert", "tls.", must_exist=True)
    key = c.file(tls, "key", "tls.", must_exist=True)
    ca = c.file(tls, "ca", "tls.", must_exist=True)
    sae_map_raw = data.get("sae_map", {})
    if not isinstance(sae_map_raw, dict) or not all(
        isinstance(v, str) and v in sae_ids for v in sae_map_raw.values()
    ):
        raise c.fail("sae_map", "a table of certificate CN = one of sae_ids", sae_map_raw)
    peer = None
    if "peer" in data:
        raw = data["peer"]
        if not isinstance(raw, dict):
            raise c.fail("peer", "a table", raw)
        peer_id = c.ident(raw, "kme_id", "peer.")
        if peer_id == kme_id:
            raise c.fail("peer.kme_id", "different from kme_id", peer_id)
        url = raw.get("url")
        if not isinstance(url, str) or not re.fullmatch(r"https://[^/\s:]+:\d{1,5}", url):
            raise c.fail("peer.url", "https://HOST:PORT", url)
        peer_saes = c.idents(raw, "sae_ids", "peer.")
        if set(peer_saes) & set(sae_ids):
            raise c.fail("peer.sae_ids", "disjoint from sae_ids", list(peer_saes))
        peer = PeerConfig(peer_id, url, peer_saes)
    min_size = c.integer(data, "min_key_size_bits", 8, 8, 2**20)
    max_size = c.integer(data, "max_key_size_bits", 65536, min_size, 2**20)
    key_size = c.integer(data, "key_size_bits", 256, min_size, max_size)
    for name, value in (("min_key_size_bits", min_size), ("max_key_size_bits", max_size),
                        ("key_size_bits", key_size)):  # fmt: skip
        if value % 8:
            raise c.fail(name, "a multiple of 8", value)
    return KMEConfig(
        kme_id=kme_id,
        host=match.group(1),
        port=int(match.group(2)),
        store=store,
        sae_ids=sae_ids,
        cert=cert,
        key=key,
        ca=ca,
        peer=peer,
        sae_map=dict(sae_map_raw),
        key_size_bits=key_size,
        max_key_per_request=c.integer(data, "max_key_per_request", 128, 1, 10_000),
        max_key_size_bits=max_size,
        min_key_size_bits=min_size,
        max_sae_id_count=c.integer(data, "max_sae_id_count", 4, 0, 64),
        max_key_count=c.integer(data, "max_key_count", 1_000_000, 1, 2**40),
        reserve_ahead_keys=c.integer(data, "reserve_ahead_keys", 256, 0, 4096),
    )
