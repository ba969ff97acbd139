"""Envelopes: a file encrypted with keys delivered by a KME, carrying the IDs of those keys.

Layout: the magic line ``QKDSTACK-ENVELOPE-1``, one line of JSON (the header: ``mode``,
``master_SAE_ID``, ``key_IDs`` and, for AES, the ``nonce``), then the ciphertext and its tag. The
magic and header are authenticated with the ciphertext, so any change to the envelope is refused.

- ``aes-256-gcm``: one 256-bit key; AES-256-GCM (NIST SP 800-38D) with a 96-bit random nonce, the
  header as associated data, the 128-bit tag after the ciphertext.
- ``otp``: a one-time pad (Vernam 1926), using exactly as many key bits as the file has, plus 256
  key bits for the authentication tag: HMAC-SHA256 (RFC 2104) over magic, header and ciphertext,
  keyed with those 256 bits. The pad is information-theoretically secret; the tag key is used once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qkdstack.errors import AuthenticationError

__all__ = [
    "MAGIC",
    "Envelope",
    "Mode",
    "key_bytes_needed",
    "open_envelope",
    "parse_envelope",
    "seal",
]

MAGIC = b"QKDSTACK-ENVELOPE-1\n"
Mode = Literal["aes-256-gcm", "otp"]
OTP_TAG_KEY_BYTES = 32
_MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: mode, master SAE, key IDs, nonce and the authenticated bytes."""

    mode: Mode
    master_sae_id: str
    key_ids: tuple[str, ...]
    nonce: bytes
    authenticated: bytes
    body: bytes


def key_bytes_needed(mode: Mode, plaintext_bytes: int) -> int:
    """Key bytes an envelope of ``plaintext_bytes`` consumes."""
    return 32 if mode == "aes-256-gcm" else plaintext_bytes + OTP_TAG_KEY_BYTES


def seal(plaintext: bytes, key: bytes, key_ids: list[str], master_sae_id: str, mode: Mode) -> bytes:
    """Encrypt ``plaintext`` with ``key`` (the delivered keys, concatenated)."""
    header: dict[str, Any] = {"mode": mode, "master_SAE_ID": master_sae_id, "key_IDs": key_ids}
    if mode == "aes-256-gcm":
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 256-bit key")
        nonce = secrets.token_bytes(12)
        header["nonce"] = nonce.hex()
        head = MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n"
        return head + AESGCM(key).encrypt(nonce, plaintext, head)
    if len(key) < len(plaintext) + OTP_TAG_KEY_BYTES:
        raise ValueError("the one-time pad needs as many key bytes as the file, plus 32")
    head = MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n"
    pad, tag_key = key[: len(plaintext)], key[len(plaintext) : len(plaintext) + OTP_TAG_KEY_BYTES]
    cipher = _xor(plaintext, pad)
    tag = hmac.new(tag_key, head + cipher, hashlib.sha256).digest()
    return head + cipher + tag


def parse_envelope(data: bytes) -> Envelope:
    """Read an envelope's header; raises :class:`AuthenticationError` if it is malformed."""
    refused = AuthenticationError("the envelope is malformed or was tampered with")
    if not data.startswith(MAGIC):
        raise refused
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER_BYTES)
    if end < 0:
        raise refused
    try:
        header = json.loads(data[len(MAGIC) : end])
        mode = header["mode"]
        master = header["master_SAE_ID"]
        key_ids = header["key_IDs"]
        nonce = bytes.fromhex(header["nonce"]) if mode == "aes-256-gcm" else b""
    except (ValueError, KeyError, TypeError):
        raise refused from None
    if (
        mode not in ("aes-256-gcm", "otp")
        or not isinstance(master, str)
        or not isinstance(key_ids, list)
        or not key_ids
        or not all(isinstance(k, str) for k in key_ids)
        or (mode == "aes-256-gcm" and (len(nonce) != 12 or len(key_ids) != 1))
    ):
        raise refused
    return Envelope(mode, master, tuple(key_ids), nonce, data[: end + 1], data[end + 1 :])


def open_envelope(envelope: Envelope, key: bytes) -> bytes:
    """Decrypt and authenticate; raises :class:`AuthenticationError` on any tampering."""
    refused = AuthenticationError("the envelope is malformed or was tampered with")
    if envelope.mode == "aes-256-gcm":
        if len(key) != 32:
            raise refused
        try:
            return AESGCM(key).decrypt(envelope.nonce, envelope.body, envelope.authenticated)
        except InvalidTag:
            raise refused from None
    if len(envelope.body) < 32:
        raise refused
    cipher, tag = envelope.body[:-32], envelope.body[-32:]
    if len(key) < len(cipher) + OTP_TAG_KEY_BYTES:
        raise refused
    tag_key = key[len(cipher) : len(cipher) + OTP_TAG_KEY_BYTES]
    expected = hmac.new(tag_key, envelope.authenticated + cipher, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, tag):
        raise refused
    return _xor(cipher, key[: len(cipher)])


def _xor(a: bytes, b: bytes) -> bytes:
    return np.bitwise_xor(np.frombuffer(a, np.uint8), np.frombuffer(b, np.uint8)).tobytes()
