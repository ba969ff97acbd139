"""A protocol is one place: a toy protocol, registered from this test alone, runs end to end.

The toy is BB84 under another name with its own QBER limit (5%) and a trivial key-length rule
(half of what the leakage leaves; no proof, tests only). Nothing in the library names it: the
link makes its events, the nodes sift, estimate, abort and decide its length, theory draws its
curve and ``qkd run`` runs it, all from the one :class:`ProtocolSpec` below.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from qkdstack.errors import ParameterError, QBERTooHigh
from qkdstack.link.simulator import simulate
from qkdstack.params import LinkParams
from qkdstack.processing.key_length import KeyLength
from qkdstack.processing.length_rules import LengthInputs
from qkdstack.processing.pipeline import PipelineOptions, run_postprocessing
from qkdstack.processing.sifting import SiftingRule
from qkdstack.protocol import ProtocolSpec, get, names, registered
from qkdstack.theory.curves import SystemModel, key_rate

TOY = "toy-bb84"
TOY_QBER_LIMIT = 0.05
TOY_FORMULA = "toy rule: (n - leak) / 2, no proof (tests only)"


def toy_length(x: LengthInputs) -> KeyLength:
    """Half of the key bits the error correction's leakage leaves."""
    return KeyLength(
        length_bits=(x.n_key - x.leak_bits) // 2,
        formula=TOY_FORMULA,
        phase_error_upper=x.sample_error_fraction,
        single_photon_fraction=1.0,
        margin_bits=0.0,
    )


SPEC = ProtocolSpec(
    name=TOY,
    description="BB84 under another name, with a 5% QBER limit and a trivial length rule",
    family="prepare-and-measure",
    events="qkdstack.link.protocols.prepare_measure:bb84_table",  # a reference...
    sifting=SiftingRule,  # ...or the object itself
    estimation="sample",
    qber_limit=TOY_QBER_LIMIT,
    key_length=toy_length,
    theory_model="bb84",
)


@pytest.fixture
def toy() -> Iterator[ProtocolSpec]:
    assert TOY not in names()
    with registered(SPEC) as spec:
        yield spec
    assert TOY not in names()  # removed again: no test sees it afterwards


def test_the_toy_runs_through_the_library(toy: ProtocolSpec) -> None:
    link = simulate(TOY, LinkParams(), 4 * 10**6, seed=1)
    assert link.alice.meta.protocol == TOY
    res = run_postprocessing(link.alice, link.bob, PipelineOptions(secure_randomness=False), seed=2)
    rep = res.report
    assert res.error is None, rep["abort_reason"]
    assert rep["key_length_formula"] == TOY_FORMULA
    # The toy's own rule decided the length, from the counts the report shows.
    assert rep["secret_bits"] == (rep["key_bits_before_ec"] - rep["leaked_ec_bits"]) // 2
    assert rep["keys_match"] and res.alice_key is not None and res.bob_key is not None
    assert res.alice_key.shape[0] == rep["secret_bits"] > 1000
    # Sifted as BB84: about half of the detections (5 sigma of the binomial).
    n = rep["detections"]
    assert abs(rep["sifted_bits"] - n / 2) < 5 * math.sqrt(n / 4)


def test_the_toy_aborts_above_its_own_qber_limit(toy: ProtocolSpec) -> None:
    # 7% misalignment: below BB84's 11% limit, above the toy's 5%.
    params = LinkParams(misalignment_error=0.07)
    options = PipelineOptions(secure_randomness=False)
    bb84 = simulate("bb84", params, 4 * 10**6, seed=3)
    assert run_postprocessing(bb84.alice, bb84.bob, options, seed=4).error is None
    link = simulate(TOY, params, 4 * 10**6, seed=3)
    res = run_postprocessing(link.alice, link.bob, options, seed=4)
    assert isinstance(res.error, QBERTooHigh)
    assert f"{TOY_QBER_LIMIT:.4f} limit of {TOY}" in str(res.error)
    assert res.alice_key is None and res.bob_key is None


def test_the_toy_runs_through_qkd_run(
    toy: ProtocolSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    from qkdstack.cli.main import main

    rc = main(["run", "--json", "--protocol", TOY, "--seed", "1", "--pulses", "4e6"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["protocol"] == TOY and not rep["aborted"]
    assert rep["key_length_formula"] == TOY_FORMULA
    assert rep["secret_bits"] == (rep["key_bits_before_ec"] - rep["leaked_ec_bits"]) // 2 > 0


def test_the_toy_has_the_theory_model_its_spec_names(toy: ProtocolSpec) -> None:
    model = SystemModel()
    assert key_rate(TOY, 20.0, model) == key_rate("bb84", 20.0, model)


def test_the_toy_is_refused_where_its_spec_says_no(toy: ProtocolSpec) -> None:
    from qkdstack.adversary.registry import parse_attack

    with pytest.raises(ParameterError, match="under attack"):
        simulate(TOY, LinkParams(), 10**5, seed=1, attack=parse_attack("intercept-resend"))


def test_an_unregistered_protocol_is_unknown_everywhere() -> None:
    with pytest.raises(ParameterError, match=f"'protocol' must be one of .* not '{TOY}'"):
        get(TOY)
    with pytest.raises(ParameterError, match="'protocol' must be one of"):
        simulate(TOY, LinkParams(), 10**5, seed=1)
