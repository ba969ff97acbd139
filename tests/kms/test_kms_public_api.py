"""The public names of the key delivery modules exist (a contract, as for the other packages)."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "qkdstack.kms",
    "qkdstack.kms.store",
    "qkdstack.kms.pool",
    "qkdstack.kms.config",
    "qkdstack.kms.certs",
    "qkdstack.kms.api",
    "qkdstack.kms.server",
    "qkdstack.kms.link",
    "qkdstack.kms.client",
    "qkdstack.kms.envelope",
    "qkdstack.kms.demo",
]


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_name_exists(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__, module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_the_package_exports_the_pool_and_config() -> None:
    import qkdstack.kms as kms

    assert {"KeyStore", "deposit_pair", "KeyPool", "KMEConfig", "load_config"} <= set(kms.__all__)
