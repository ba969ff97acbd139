"""The protocol registry: names, aliases (``di`` is ``e91``), refusals, and the views that the
layers keep for their old tables (they must agree with the specs)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from golden_cases import VOLATILE
from qkdstack.errors import ParameterError
from qkdstack.protocol import ALIASES, ProtocolName, ProtocolSpec, get, names, register, resolve

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "run_reports.json").read_text())
BUILTIN = ("bb84", "decoy-bb84", "six-state", "b92", "bbm92", "e91")


def test_the_six_builtin_protocols_in_order() -> None:
    assert names()[:6] == BUILTIN
    assert tuple(ProtocolName) == BUILTIN
    assert all(type(n) is str for n in names())  # plain strings in records and reports


def test_di_is_an_alias_of_e91() -> None:
    assert ALIASES == {"di": "e91"}
    assert resolve("di") == "e91" and get("di") is get("e91")
    assert get("e91").aliases == ("di",)


def test_an_unknown_name_lists_the_known_ones_and_the_aliases() -> None:
    with pytest.raises(ParameterError) as err:
        get("bb85")
    message = str(err.value)
    assert message.startswith("Argument 'protocol' must be one of ")
    assert all(n in message for n in BUILTIN) and "di = e91" in message and "'bb85'" in message


def test_a_taken_name_or_alias_is_refused() -> None:
    spec = get("bb84")
    with pytest.raises(ParameterError, match="already registered: 'bb84'"):
        register(spec)
    alias_taken = ProtocolSpec(**{**spec.__dict__, "name": "bb84-copy", "aliases": ("di",)})
    with pytest.raises(ParameterError, match="already registered: 'di'"):
        register(alias_taken)
    assert "bb84-copy" not in names()


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [("qber_limit", 0.0, "'qber_limit' must be in"), ("name", "Two Words", "'name' must be")],
)
def test_a_bad_spec_is_refused(field: str, value: object, constraint: str) -> None:
    with pytest.raises(ParameterError, match=constraint):
        ProtocolSpec(**{**get("bb84").__dict__, field: value})


def test_the_old_tables_are_views_of_the_specs() -> None:
    from qkdstack.adversary.sampler import ATTACKED_PROTOCOLS
    from qkdstack.link.protocols import ENTANGLED, PROTOCOLS
    from qkdstack.link.protocols.prepare_measure import bb84_table
    from qkdstack.link.recordfile import BASIS_CODES
    from qkdstack.processing.key_length import BB84_QBER_LIMIT, SOURCE_PROOFS
    from qkdstack.processing.pipeline import QBER_LIMITS
    from qkdstack.processing.sifting import RULES, B92Rule, E91Rule

    # The values the scattered tables held before the registry (issue 19).
    assert dict(QBER_LIMITS) == {
        "bb84": BB84_QBER_LIMIT, "decoy-bb84": BB84_QBER_LIMIT, "six-state": 0.126, "b92": 0.5,
        "bbm92": BB84_QBER_LIMIT, "e91": BB84_QBER_LIMIT,
    }  # fmt: skip
    assert SOURCE_PROOFS == ("bb84", "six-state")
    assert ATTACKED_PROTOCOLS == ("bb84", "decoy-bb84")
    assert set(ENTANGLED) == {"bbm92", "e91"} and "bb84" not in ENTANGLED
    assert PROTOCOLS["bb84"] is bb84_table and list(PROTOCOLS) == list(BUILTIN)
    assert isinstance(RULES["b92"], B92Rule) and isinstance(RULES["e91"], E91Rule)
    assert BASIS_CODES["e91"] == (frozenset({0, 1, 2}), frozenset({1, 2, 3}))
    assert BASIS_CODES["six-state"] == (frozenset({0, 1, 2}),) * 2
    assert BASIS_CODES["bb84"] == (frozenset({0, 1}),) * 2


def test_every_builtin_reference_resolves() -> None:
    from qkdstack.processing.sifting import SiftingRule

    for name in BUILTIN:
        spec = get(name)
        assert callable(spec.event_builder()) and callable(spec.length_rule())
        assert isinstance(spec.sifting_rule(), SiftingRule) and spec.sifting_rule().name == name


def test_the_registry_imports_nothing_above_it() -> None:
    """The registry sits below every layer: only errors, units, typing and itself."""
    allowed = ("qkdstack.errors", "qkdstack.units", "qkdstack.typing", "qkdstack.protocol")
    package = Path(__file__).parents[2] / "src" / "qkdstack" / "protocol"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if module.startswith("qkdstack"):
                assert module.startswith(allowed), f"{path.name} imports {module}"


def test_theory_accepts_e91_and_keeps_di() -> None:
    from qkdstack.theory.curves import SystemModel, key_rate, max_distance_km

    good = SystemModel(detector_efficiency=0.99, visibility=0.999, dark_count_prob=1e-9)
    assert key_rate("e91", 1.0, good) == key_rate("di", 1.0, good)
    assert key_rate("e91", 1.0, good)[0] > 0
    assert max_distance_km("e91", good, step_km=0.5) == max_distance_km("di", good, step_km=0.5)


def test_qkd_run_with_di_is_the_e91_run(capsys: pytest.CaptureFixture[str]) -> None:
    from qkdstack.cli.main import main

    args = ["--seed", "1", "--pulses", "3e8", "--distance-km", "1"]
    assert main(["run", "--json", "--protocol", "di", *args]) == 0
    rep = json.loads(capsys.readouterr().out)
    want = GOLDEN[" ".join(["--protocol", "e91", *args])]
    for name in VOLATILE:
        rep.pop(name, None)
    assert rep == want
