"""``import qkdstack`` is cheap: the public names load their modules on first use (PEP 562).

Run in fresh interpreters (this test process has long since imported everything), checking
``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import qkdstack

HEAVY = ("numba", "scipy", "qkdstack.link", "qkdstack.processing", "qkdstack.experiment")


def _loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``heavy`` in ``sys.modules`` after running ``code`` in a new process."""
    probe = (
        f"import sys, json\n{code}\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_import_qkdstack_loads_neither_numba_nor_scipy_nor_the_layers() -> None:
    assert _loaded_after("import qkdstack") == []


def test_a_public_name_loads_its_module_on_first_use() -> None:
    loaded = _loaded_after(
        "import qkdstack\nfrom qkdstack.link import simulate\nassert qkdstack.simulate is simulate"
    )
    assert "qkdstack.link" in loaded and "qkdstack.experiment" not in loaded


def test_the_core_modules_stay_light() -> None:
    # errors, params and the version are what every layer reads first
    assert _loaded_after("import qkdstack.errors, qkdstack.params, qkdstack._version") == []


def test_every_public_name_is_the_defining_modules_object() -> None:
    from qkdstack import errors, experiment, link, params
    from qkdstack.processing import channel, pipeline

    for name in qkdstack.__all__:
        if name == "__version__":
            continue
        value = getattr(qkdstack, name)
        homes = [
            m for m in (errors, experiment, link, params, channel, pipeline) if hasattr(m, name)
        ]
        assert homes and all(getattr(m, name) is value for m in homes), name


def test_dir_lists_the_lazy_names_and_unknown_names_raise() -> None:
    assert set(qkdstack.__all__) <= set(dir(qkdstack))
    assert not hasattr(qkdstack, "no_such_name")
    assert qkdstack.theory.entropy.binary_entropy(0.5) == 1.0  # sub-packages as attributes
    assert qkdstack.__version__ == qkdstack._version.__version__


def test_scipy_optimize_is_imported_only_to_optimise() -> None:
    # scipy.optimize is the slowest import of the CLI (about 0.9 s): `qkd --help`, the theory
    # package and the link do not need it until a curve or a finite-key setting is optimised.
    code = "import qkdstack.cli.main, qkdstack.theory, qkdstack.link"
    assert _loaded_after(code, ("scipy.optimize",)) == []
    code += "\nfrom qkdstack.theory import SystemModel, max_distance_km"
    code += "\nmax_distance_km('bb84', SystemModel())"
    assert _loaded_after(code, ("scipy.optimize",)) == ["scipy.optimize"]
