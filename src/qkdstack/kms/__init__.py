"""Key delivery: the embedded key store, the KME key pool, and the ETSI GS QKD 014 service.

Modules: :mod:`~qkdstack.kms.store` (the store a node fills), :mod:`~qkdstack.kms.pool` (a KME's
durable reservations), :mod:`~qkdstack.kms.config` (a KME's TOML file), :mod:`~qkdstack.kms.api`
(the ETSI GS QKD 014 ASGI app), :mod:`~qkdstack.kms.server` (mutual TLS serving),
:mod:`~qkdstack.kms.link` (KME-to-KME reservations), :mod:`~qkdstack.kms.client` (an SAE's
client), :mod:`~qkdstack.kms.envelope` (files encrypted with delivered keys),
:mod:`~qkdstack.kms.certs` (test PKI) and :mod:`~qkdstack.kms.demo`. Only the light ones are
imported here; the service modules are imported where they are used.
"""

from __future__ import annotations

from qkdstack.kms.config import KMEConfig, load_config
from qkdstack.kms.pool import KeyPool
from qkdstack.kms.store import KeyStore, deposit_pair

__all__ = ["KMEConfig", "KeyPool", "KeyStore", "deposit_pair", "load_config"]
