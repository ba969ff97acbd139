"""The public names of qkdstack.theory and its modules exist, and theory stays a leaf."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import qkdstack.theory

MODULES = ["bounds", "curves", "entropy", "finite_key", "models", "rates"]


@pytest.mark.parametrize("name", MODULES)
def test_module_all_names_exist(name: str) -> None:
    mod = importlib.import_module(f"qkdstack.theory.{name}")
    for public in mod.__all__:
        assert hasattr(mod, public), f"{name}.{public}"


def test_package_exports_the_pipeline_entry_points() -> None:
    assert {"lim2014_key_length", "FiniteKeyResult", "plob_bound", "tgw_bound"} <= set(
        qkdstack.theory.__all__
    )
    for public in qkdstack.theory.__all__:
        assert hasattr(qkdstack.theory, public)


def test_theory_imports_no_other_layer() -> None:
    root = Path(qkdstack.theory.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
                assert not mod.startswith(
                    ("qkdstack.link", "qkdstack.processing", "qkdstack.kms", "qkdstack.cli")
                ), f"{path.name} imports {mod}"
