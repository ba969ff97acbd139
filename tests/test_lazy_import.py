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


def test_the_attack_help_does_not_load_the_attacks() -> None:
    # `qkd run --help` lists every attack from the registry: the registry must not import the
    # attacks (the link simulator and numba) to do it; building one attack loads them.
    code = "from qkdstack.cli.run import attack_help\nassert 'intercept-resend' in attack_help()"
    assert _loaded_after(code, ("numba", "qkdstack.link.simulator", "qkdstack.adversary.pns")) == []
    code = "from qkdstack.adversary import parse_attack\nparse_attack('pns')"
    assert "qkdstack.adversary.pns" in _loaded_after(code, ("qkdstack.adversary.pns",))


def test_a_light_processing_module_does_not_load_the_pipeline() -> None:
    heavy = ("numba", "qkdstack.processing.pipeline")
    assert _loaded_after("import qkdstack.processing.channel", heavy) == []
    loaded = _loaded_after("from qkdstack.processing import PipelineOptions", heavy)
    assert "qkdstack.processing.pipeline" in loaded


def test_the_lazy_packages_name_the_defining_modules_objects() -> None:
    import qkdstack.adversary as adversary
    import qkdstack.processing as processing
    from qkdstack.adversary import cloner, registry
    from qkdstack.processing import pipeline

    assert adversary.Cloner is cloner.Cloner and adversary.ATTACKS is registry.ATTACKS
    assert processing.PipelineOptions is pipeline.PipelineOptions
    for package in (adversary, processing):
        assert set(package.__all__) <= set(dir(package))
        assert not hasattr(package, "no_such_name")
    for spec in registry.ATTACKS.values():  # every registered class can be found
        assert spec.factory.__name__ == spec.target.rpartition(":")[2]


def test_the_method_names_cost_no_import_and_match_what_the_modules_register() -> None:
    # `qkd --help` (and `qkd reconcile --help`) list the error-correction methods by name without
    # loading Cascade's and LDPC's numba kernels; the names must be exactly what they register.
    assert _loaded_after("import qkdstack.cli.main", ("numba",)) == []
    code = (
        "from qkdstack.processing.reconciliation.base import BUILT_IN_METHODS, method_names\n"
        "import qkdstack.processing.reconciliation.cascade, qkdstack.processing.reconciliation.ldpc"
        "\nfrom qkdstack.processing.reconciliation.base import METHODS\n"
        "assert sorted(METHODS) == sorted(BUILT_IN_METHODS) == method_names(), sorted(METHODS)\n"
        "for name, module in BUILT_IN_METHODS.items():\n"
        "    assert METHODS[name].make_bob.__module__.startswith(module), name"
    )
    _loaded_after(code, ())  # check=True: a failed assertion fails the probe
    code = "from qkdstack.processing.reconciliation.base import get_method\nget_method('ldpc')"
    assert _loaded_after(code, ("qkdstack.processing.reconciliation.ldpc",)) != []
