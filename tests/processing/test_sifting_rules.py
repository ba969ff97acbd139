"""Sifting rules of six-state, B92, BBM92 and E91 on hand-made records."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.link.records import RecordMeta, Records
from qkdstack.processing.sifting import RULES, B92Rule, E91Rule, get_rule
from qkdstack.typing import Role


def _rec(role: Role, protocol: str, basis: list[int], bit: list[int]) -> Records:
    n = len(basis)
    return Records(
        role=role,
        pulse_index=np.arange(n, dtype=np.int64),
        basis=np.array(basis, dtype=np.uint8),
        bit=np.array(bit, dtype=np.uint8),
        meta=RecordMeta(protocol=protocol, pulses=n),
    )


def test_registry_has_all_protocols() -> None:
    assert set(RULES) == {"bb84", "decoy-bb84", "six-state", "b92", "bbm92", "e91"}
    with pytest.raises(ParameterError, match="one of b92, bb84"):
        get_rule("x")


def test_six_state_keeps_equal_bases() -> None:
    rule = get_rule("six-state")
    a = _rec(Role.ALICE, "six-state", [0, 1, 2, 2], [1, 0, 1, 0])
    b = _rec(Role.BOB, "six-state", [0, 2, 2, 1], [1, 1, 1, 0])
    assert rule.keep(rule.alice_announces(a), rule.bob_announces(b)).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_b92_reveals_only_conclusiveness() -> None:
    rule = get_rule("b92")
    assert isinstance(rule, B92Rule)
    # Alice: bit = basis. Bob: (basis, outcome); outcome 1 is conclusive, key bit = 1 - basis.
    a = _rec(Role.ALICE, "b92", [0, 1, 1, 0], [0, 1, 1, 0])
    b = _rec(Role.BOB, "b92", [1, 0, 1, 0], [1, 1, 0, 1])
    bob_pub = rule.bob_announces(b)
    assert set(bob_pub) == {"conclusive"} and rule.alice_announces(a) == {}
    keep = rule.keep({}, bob_pub)
    assert keep.tolist() == [True, True, False, True]
    assert rule.bob_bits(b)[keep].tolist() == [0, 1, 1]
    assert rule.alice_bits(a)[keep].tolist() == [0, 1, 0]  # the last event is an error


def test_e91_key_and_chsh_positions() -> None:
    rule = get_rule("e91")
    assert isinstance(rule, E91Rule)
    a = _rec(Role.ALICE, "e91", [0, 1, 2, 2, 0, 1], [0] * 6)
    b = _rec(Role.BOB, "e91", [1, 1, 2, 3, 3, 3], [0] * 6)
    pa, pb = rule.alice_announces(a), rule.bob_announces(b)
    assert rule.keep(pa, pb).tolist() == [False, True, True, False, False, False]
    assert rule.chsh_mask(pa, pb).tolist() == [True, False, False, True, True, False]


def test_bbm92_keeps_equal_settings() -> None:
    rule = get_rule("bbm92")
    a = _rec(Role.ALICE, "bbm92", [0, 1], [0, 1])
    b = _rec(Role.BOB, "bbm92", [0, 0], [0, 1])
    assert rule.keep(rule.alice_announces(a), rule.bob_announces(b)).tolist() == [True, False]
