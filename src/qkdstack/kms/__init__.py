"""Key delivery: the embedded key store (and, later, the ETSI GS QKD 014 service)."""

from __future__ import annotations

from qkdstack.kms.store import KeyStore, deposit_pair

__all__ = ["KeyStore", "deposit_pair"]
