"""The layer contract (``[tool.importlinter]`` in pyproject.toml) holds, and it fails on an upward import.

``lint-imports`` runs on the real tree, and on copies of ``src/qkdstack`` into which one upward import
(or an unplaced package) is written: each copy must break the contract that forbids it, and the
unchanged copy must pass (so a failure is the planted import's, not the copy's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the copy, ahead of the installed package
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml (the contracts) in ``tmp_path``."""
    shutil.copytree(
        ROOT / "src" / "qkdstack",
        tmp_path / "qkdstack",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_real_tree_keeps_every_contract() -> None:
    result = _lint(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_unchanged_copy_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree, tree / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # theory imports the link: both the leaf contract and the layers break
        ("theory/entropy.py", "from qkdstack.link import records", "theory is a leaf"),
        ("theory/entropy.py", "from qkdstack import params", "theory is a leaf"),
        ("link/channels.py", "import qkdstack.processing.sifting", "qkdstack layers"),
        ("processing/sifting.py", "from qkdstack.adversary import eve", "qkdstack layers"),
        ("link/simulator.py", "from qkdstack.adversary import registry", "qkdstack layers"),
        ("kms/store.py", "from qkdstack.cli import main", "qkdstack layers"),
        ("errors.py", "import qkdstack.units", "qkdstack layers"),
        ("link/recordfile.py", "import qkdstack", "no module imports the top-level facade"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tree: Path, module: str, line: str, broken: str
) -> None:
    path = tree / "qkdstack" / module
    # Inside a function: an import that only runs late still counts.
    path.write_text(path.read_text() + f"\n\ndef _planted() -> None:\n    {line}  # noqa\n")
    result = _lint(tree, tree / "pyproject.toml")
    assert result.returncode != 0, result.stdout
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout


def test_a_package_outside_the_layers_breaks_the_contract(tree: Path) -> None:
    (tree / "qkdstack" / "newlayer").mkdir()
    (tree / "qkdstack" / "newlayer" / "__init__.py").write_text('"""Not placed in the layers."""\n')
    result = _lint(tree, tree / "pyproject.toml")
    assert result.returncode != 0, result.stdout
    assert "qkdstack.newlayer" in result.stdout + result.stderr
