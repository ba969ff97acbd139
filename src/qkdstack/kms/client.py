"""A small ETSI GS QKD 014 client over mutual TLS (what an application, an SAE, uses)."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import httpx

from qkdstack.errors import KeyStoreError, ParameterError

__all__ = ["SAEClient"]


class SAEClient:
    """Talks to one KME as one SAE (identified by its certificate).

    Parameters
    ----------
    kme_url : str
        ``https://host:port`` of the SAE's KME.
    cert, key, ca : path
        The SAE's certificate and key, and the CA that signed the KME's certificate.
    """

    def __init__(self, kme_url: str, cert: Path, key: Path, ca: Path, timeout_s: float = 10.0):
        if not kme_url.startswith("https://"):
            raise ParameterError(f"Argument '--kme' must be an https:// URL, not {kme_url!r}.")
        for name, path in (("--cert", cert), ("--key", key), ("--ca", ca)):
            if not Path(path).is_file():
                raise ParameterError(f"Argument '{name}' must be an existing file, not '{path}'.")
        try:
            ctx = ssl.create_default_context(cafile=str(ca))
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(cert), str(key))
        except (ssl.SSLError, ValueError) as exc:
            raise ParameterError(
                f"Arguments '--cert'/'--key'/'--ca' must be a matching PEM certificate, key and "
                f"CA, not '{cert}', '{key}', '{ca}' ({exc})."
            ) from exc
        self._http = httpx.Client(base_url=kme_url.rstrip("/"), verify=ctx, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SAEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise KeyStoreError(f"the KME cannot be reached: {type(exc).__name__}") from exc
        if response.status_code == 200:
            return response.json()
        if response.status_code == 401:
            raise KeyStoreError("the KME refused this SAE (401 unauthorized)")
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = ""
        raise KeyStoreError(f"the KME answered {response.status_code}: {message}")

    def status(self, slave_sae_id: str) -> dict[str, Any]:
        """``GET /api/v1/keys/{slave}/status``."""
        result: dict[str, Any] = self._call("GET", f"/api/v1/keys/{slave_sae_id}/status")
        return result

    def enc_keys(self, slave_sae_id: str, number: int, size_bits: int) -> list[tuple[str, bytes]]:
        """``POST enc_keys``: ``number`` keys of ``size_bits`` for ``slave_sae_id``."""
        body = self._call(
            "POST",
            f"/api/v1/keys/{slave_sae_id}/enc_keys",
            json={"number": number, "size": size_bits},
        )
        return [(k["key_ID"], base64.b64decode(k["key"])) for k in body["keys"]]

    def dec_keys(self, master_sae_id: str, key_ids: list[str]) -> list[tuple[str, bytes]]:
        """``POST dec_keys``: the keys ``key_ids`` that ``master_sae_id`` obtained."""
        body = self._call(
            "POST",
            f"/api/v1/keys/{master_sae_id}/dec_keys",
            json={"key_IDs": [{"key_ID": k} for k in key_ids]},
        )
        return [(k["key_ID"], base64.b64decode(k["key"])) for k in body["keys"]]
