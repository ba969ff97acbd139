"""parse_attack: names, parameters and errors that list the known ones."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.adversary import (
    ATTACKS,
    Attack,
    BeamSplitting,
    Cloner,
    InterceptResend,
    ManInTheMiddle,
    PhotonNumberSplitting,
    parse_attack,
)
from qkdstack.adversary.registry import classical_tamper
from qkdstack.adversary.tamper import MitmTamper
from qkdstack.errors import ParameterError


def test_registry_names_follow_the_issue() -> None:
    assert list(ATTACKS) == ["intercept-resend", "beam-splitting", "pns", "cloner", "mitm"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("intercept-resend:fraction=0.5,basis=random", InterceptResend(0.5, "random")),
        ("intercept-resend", InterceptResend(1.0, "random")),
        (" intercept-resend : basis = breidbart ", InterceptResend(1.0, "breidbart")),
        ("beam-splitting", BeamSplitting()),
        ("pns", PhotonNumberSplitting()),
        ("cloner:disturbance=0.1", Cloner(0.1)),
        ("mitm:mode=basis,sender=bob", ManInTheMiddle("basis", "bob")),
    ],
)
def test_parse_attack_builds_the_attack(spec: str, expected: Attack) -> None:
    attack = parse_attack(spec)
    assert attack == expected
    assert isinstance(attack, Attack)
    assert attack.name == spec.split(":")[0].strip()


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(
        ParameterError, match=r"intercept-resend, beam-splitting, pns, cloner, mitm.*'trojan'"
    ):
        parse_attack("trojan:power=1")


def test_unknown_parameter_lists_known_parameters() -> None:
    with pytest.raises(
        ParameterError, match=r"'intercept-resend' has no parameter 'strength'.*fraction, basis"
    ):
        parse_attack("intercept-resend:strength=2")
    with pytest.raises(ParameterError, match=r"'pns' has no parameter 'mu'.*none"):
        parse_attack("pns:mu=0.1")


def test_malformed_or_bad_values_are_rejected() -> None:
    with pytest.raises(ParameterError, match=r"name=value.*'fraction'"):
        parse_attack("intercept-resend:fraction")
    with pytest.raises(ParameterError, match=r"'fraction'.*float.*'half'"):
        parse_attack("intercept-resend:fraction=half")
    with pytest.raises(ParameterError, match=r"'disturbance'"):
        parse_attack("cloner:disturbance=-0.1")
    with pytest.raises(ParameterError, match=r"'mode'.*flip, basis, replace, bytes"):
        parse_attack("mitm:mode=drop")
    with pytest.raises(ParameterError, match=r"'sender'"):
        parse_attack("mitm:sender=carol")


def test_only_mitm_touches_the_classical_channel() -> None:
    assert classical_tamper(parse_attack("pns")) is None
    assert classical_tamper(None) is None
    tamper = classical_tamper(parse_attack("mitm:mode=flip,sender=alice"), seed=1)
    assert isinstance(tamper, MitmTamper) and tamper.mode == "flip"


def test_public_names_are_accurate() -> None:
    import importlib

    modules = [
        "qkdstack.adversary",
        "qkdstack.adversary.registry",
        "qkdstack.adversary.sampler",
        "qkdstack.adversary.eve_records",
        "qkdstack.adversary.intercept_resend",
        "qkdstack.adversary.beam_splitting",
        "qkdstack.adversary.pns",
        "qkdstack.adversary.cloner",
        "qkdstack.adversary.man_in_the_middle",
        "qkdstack.adversary.eve",
        "qkdstack.adversary.tamper",
        "qkdstack.adversary.eve_knowledge",
        "qkdstack.link.attack",
    ]
    for name in modules:
        module = importlib.import_module(name)
        for public in module.__all__:
            assert hasattr(module, public), f"{name}.__all__ lists missing {public!r}"


def test_link_simulate_delegates_to_the_attack() -> None:
    from qkdstack.adversary import EveRecords
    from qkdstack.link import simulate
    from qkdstack.params import LinkParams

    out = simulate("bb84", LinkParams(), 200_000, seed=3, attack=parse_attack("cloner"))
    assert isinstance(out.eve, EveRecords)
    assert out.eve.attack == "cloner"
    assert np.array_equal(out.eve.pulse_index, out.bob.pulse_index)
