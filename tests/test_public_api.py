"""The public names of each package are a contract: they are listed here and must exist."""

from __future__ import annotations

import importlib

import pytest

import qkdstack

MODULES = [
    "qkdstack.errors",
    "qkdstack.typing",
    "qkdstack.units",
    "qkdstack.randomness",
    "qkdstack.params",
    "qkdstack.experiment",
    "qkdstack.blocked",
    "qkdstack.stream",
    "qkdstack.link",
    "qkdstack.link.records",
    "qkdstack.processing",
    "qkdstack.processing.channel",
    "qkdstack.processing.wire",
    "qkdstack.processing.authentication",
    "qkdstack.processing.sifting",
    "qkdstack.processing.estimation",
    "qkdstack.processing.verification",
    "qkdstack.processing.amplification",
    "qkdstack.processing.key_length",
    "qkdstack.processing.pipeline",
    "qkdstack.processing.alice",
    "qkdstack.processing.bob",
    "qkdstack.processing.length_rules",
    "qkdstack.processing.report",
    "qkdstack.protocol",
    "qkdstack.processing.sanity",
    "qkdstack.processing.reconciliation",
    "qkdstack.theory",
    "qkdstack.theory.entropy",
    "qkdstack.kms",
    "qkdstack.kms.store",
    "qkdstack.node",
    "qkdstack.node.framing",
    "qkdstack.node.pool",
    "qkdstack.node.sink",
]


def test_top_level_public_names() -> None:
    assert set(qkdstack.__all__) >= {
        "ClassicalChannel", "LinkParams", "PipelineOptions", "QKDError", "run_experiment",
        "run_postprocessing", "simulate", "__version__",
    }  # fmt: skip
    for name in qkdstack.__all__:
        assert hasattr(qkdstack, name), name


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_name_exists(module: str) -> None:
    mod = importlib.import_module(module)
    assert hasattr(mod, "__all__"), module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_errors_form_one_tree() -> None:
    from qkdstack import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.QKDError)
    assert issubclass(errors.ParameterError, ValueError)
    assert issubclass(errors.AuthenticationError, errors.ProtocolAbort)
    assert issubclass(errors.ImplausibleStatistics, errors.ProtocolAbort)
