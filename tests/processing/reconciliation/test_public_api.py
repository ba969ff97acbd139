"""The reconciliation package's public names: every listed name exists, the registry is complete."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "qkdstack.processing.reconciliation",
    "qkdstack.processing.reconciliation.base",
    "qkdstack.processing.reconciliation.cascade",
    "qkdstack.processing.reconciliation.cascade_kernels",
    "qkdstack.processing.reconciliation.ldpc",
    "qkdstack.processing.reconciliation.ldpc.blind",
    "qkdstack.processing.reconciliation.ldpc.codes",
    "qkdstack.processing.reconciliation.ldpc.decoder",
    "qkdstack.processing.reconciliation.ldpc.frames",
    "qkdstack.processing.reconciliation.ldpc.rate_adaptive",
    "qkdstack.processing.reconciliation.shuffle",
    "qkdstack.cli.reconcile",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}: {missing}"


def test_package_exports_the_pipeline_api() -> None:
    rec = importlib.import_module("qkdstack.processing.reconciliation")
    assert {"reconcile", "ReconcileResult", "get_method", "alice_responder", "METHODS"} <= set(
        rec.__all__
    )
    assert set(rec.METHODS) == {
        "cascade",
        "cascade-original",
        "cascade-biconf",
        "cascade-yan",
        "cascade-opt7",
        "cascade-opt8",
        "ldpc",
        "ldpc-blind",
    }
