"""The library's rules on a link's parameters (qkdstack.model): the protocol's source, the one
adapter to theory (what ``qkd rates`` computes), and the one home of the security parameters."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest

from qkdstack.cli.main import main
from qkdstack.errors import ParameterError
from qkdstack.experiment import run_experiment, security_options
from qkdstack.link import simulate
from qkdstack.model import check_protocol_source, protocol_params, system_model
from qkdstack.params import LinkParams, get_param_set
from qkdstack.processing.pipeline import PipelineOptions
from qkdstack.theory.curves import SystemModel, key_rate_curve, max_distance_km

# -- the protocol's source ------------------------------------------------------------------------


def test_run_experiment_reports_the_laser_decoy_states_come_from() -> None:
    # Before the rule moved into the library, this reported 'single-photon' (only qkd run
    # switched decoy-bb84 to a laser).
    res = run_experiment("decoy-bb84", LinkParams(distance_km=50), 10**6, seed=4)
    assert res.report["source"] == "laser"
    assert res.report["params"]["source"] == "laser"
    assert res.link.alice.meta.params["source"] == "laser"


def test_simulate_records_say_laser_for_decoy_states() -> None:
    out = simulate("decoy-bb84", LinkParams(), 10_000, seed=1)
    assert out.alice.meta.params["source"] == out.bob.meta.params["source"] == "laser"
    assert simulate("bb84", LinkParams(), 10_000, seed=1).alice.meta.params["source"] == (
        "single-photon"
    )


def test_protocol_params_switches_decoy_to_a_laser_and_pairs_to_spdc() -> None:
    single = LinkParams()
    assert protocol_params("decoy-bb84", single) == single.replace(source="laser")
    laser = LinkParams(source="laser", mu=0.3)
    assert protocol_params("decoy-bb84", laser) is laser
    for protocol in ("bb84", "six-state", "b92"):
        assert protocol_params(protocol, single) is single
    spdc = LinkParams(source="spdc")
    for protocol in ("bbm92", "e91"):
        assert protocol_params(protocol, single) == spdc
        assert protocol_params(protocol, spdc) is spdc
    with pytest.raises(ParameterError, match=r"'protocol'.*'no-such-protocol'"):
        protocol_params("no-such-protocol", single)


def test_decoy_with_an_spdc_source_is_refused_by_library_and_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ParameterError, match=r"'source' must be laser .* decoy-bb84.*'spdc'"):
        protocol_params("decoy-bb84", LinkParams(source="spdc"))
    with pytest.raises(ParameterError, match="'source' must be laser"):
        run_experiment("decoy-bb84", LinkParams(source="spdc"), 1000, seed=1)
    with pytest.raises(ParameterError, match="'--source' must be laser"):
        check_protocol_source("decoy-bb84", "single-photon", argument="--source")
    check_protocol_source("bb84", "single-photon")  # no rule for bb84
    rc = main(["run", "--seed", "1", "--pulses", "1e5", "--set", "source=spdc"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert "'source' must be laser with protocol decoy-bb84" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_pair_protocols_report_the_pair_source_they_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # bbm92 and e91 always draw their events from an SPDC pair source; their reports and records
    # said "single-photon" (the default of LinkParams) before.
    from qkdstack.link.recordfile import read_records

    for protocol in ("bbm92", "e91"):
        report = run_experiment(protocol, LinkParams(distance_km=1.0), 10**6, seed=1).report
        assert report["source"] == report["params"]["source"] == "spdc"
        out = tmp_path / protocol
        args = ["simulate", "--protocol", protocol, "--pulses", "1e5", "--seed", "1"]
        assert main([*args, "--out", str(out)]) == 0
        for role in ("alice", "bob"):
            assert read_records(out / f"{role}.parquet").meta.params["source"] == "spdc"
    capsys.readouterr()


# -- the adapter to theory ------------------------------------------------------------------------

# Every field a SystemModel shares with LinkParams, set away from both defaults.
_OFF_DEFAULT = {
    "attenuation_db_per_km": 0.23,
    "insertion_loss_db": 1.5,
    "detector_efficiency": 0.3,
    "dark_count_prob": 3e-7,
    "afterpulse_prob": 0.02,
    "misalignment_error": 0.02,
    "ec_efficiency": 1.1,
    "source": "spdc",
    "mu_pair": 0.07,
    "source_position": "alice",
    "visibility": 0.95,
    "epsilon_sec": 1e-9,
    "epsilon_cor": 1e-12,
}


def test_system_model_names_are_the_link_params_names() -> None:
    model_names = {f.name for f in dataclasses.fields(SystemModel)}
    shared = model_names & set(LinkParams.field_names())
    # The theory's own numbers (derived from intensities, or theory-only) are the rest.
    assert model_names - shared == {"weak_decoy_mu", "weakest_intensity", "secrecy_per_key_bit"}
    assert shared == set(_OFF_DEFAULT)
    params = LinkParams(**_OFF_DEFAULT, intensities=(0.5, 0.15, 0.001))
    model = system_model(params)
    for name in shared:
        assert getattr(model, name) == getattr(params, name) != getattr(SystemModel(), name), name
    assert (model.weak_decoy_mu, model.weakest_intensity) == (0.15, 0.001)
    # Fewer intensities: the theory's defaults for nu and mu_3.
    short = system_model(LinkParams(intensities=(0.5,), intensity_probs=(1.0,)))
    assert (short.weak_decoy_mu, short.weakest_intensity) == (0.1, 2e-4)


def test_pair_mean_is_a_deprecated_alias_of_mu_pair() -> None:
    with pytest.warns(DeprecationWarning, match="'pair_mean' is deprecated"):
        old = SystemModel(pair_mean=0.2)
    assert old == SystemModel(mu_pair=0.2)
    with pytest.warns(DeprecationWarning, match="mu_pair"):
        assert old.pair_mean == 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name warns of nothing
        assert dataclasses.replace(old, visibility=0.9).mu_pair == 0.2
    with pytest.raises(ParameterError, match="'pair_mean'"):
        SystemModel(pair_mean=0.2, mu_pair=0.3)
    with pytest.raises(ParameterError, match="'mu_pair'"):
        SystemModel(mu_pair=0.0)


@pytest.mark.parametrize(
    ("protocol", "params_name", "sets"),
    [
        ("decoy-bb84", "gys", []),
        ("bb84", "gys", []),
        ("decoy-bb84", "lim2014", ["intensities=0.5,0.2,0.001", "insertion_loss_db=2"]),
        ("bbm92", "gys", ["mu_pair=0.02", "source_position=alice"]),
        ("bb84", "lim2014", ["source=single-photon", "ec_efficiency=1.05"]),
    ],
)
def test_the_library_adapter_gives_what_qkd_rates_computes(
    capsys: pytest.CaptureFixture[str], protocol: str, params_name: str, sets: list[str]
) -> None:
    distances = [0.0, 40.0, 80.0]
    args = ["rates", "--json", "--protocol", protocol, "--params", params_name]
    args += ["--distance-km", ",".join(f"{d:g}" for d in distances)]
    for text in sets:
        args += ["--set", text]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    changes = dict(text.split("=", 1) for text in sets)
    model = system_model(get_param_set(params_name).replace(**changes))
    fixed = model.mu_pair if "mu_pair" in changes else None
    points = key_rate_curve(protocol, distances, model, mu=fixed)
    assert [p["rate_bits_per_pulse"] for p in doc["points"]] == [
        p.rate_bits_per_pulse for p in points
    ]
    assert [p["mu"] for p in doc["points"]] == [p.mu for p in points]
    assert doc["max_distance_km"] == max_distance_km(protocol, model, mu=fixed)


# -- the security parameters ----------------------------------------------------------------------


def test_pipeline_defaults_are_the_link_defaults() -> None:
    assert PipelineOptions().epsilon_sec == LinkParams().epsilon_sec
    assert PipelineOptions().epsilon_cor == LinkParams().epsilon_cor


def test_run_experiment_takes_the_security_parameters_from_the_link(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Before, run_experiment ignored LinkParams.epsilon_sec (PipelineOptions' 1e-10 won) while
    # qkd run --set epsilon_sec=... honoured it.
    params = LinkParams(epsilon_sec=1e-6, epsilon_cor=1e-12)
    rep = run_experiment("bb84", params, 4 * 10**6, seed=1).report
    assert (rep["epsilon_sec"], rep["epsilon_cor"]) == (1e-6, 1e-12)
    args = ["run", "--json", "--protocol", "bb84", "--pulses", "4e6", "--seed", "1"]
    assert main([*args, "--set", "epsilon_sec=1e-6", "--set", "epsilon_cor=1e-12"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert (cli["epsilon_sec"], cli["epsilon_cor"]) == (1e-6, 1e-12)
    assert cli["secret_bits"] == rep["secret_bits"]


def test_options_that_contradict_the_link_are_refused() -> None:
    params = LinkParams(epsilon_sec=1e-6)
    opts = security_options(params, PipelineOptions(ec_method="ldpc"))
    assert (opts.epsilon_sec, opts.epsilon_cor, opts.ec_method) == (1e-6, 1e-15, "ldpc")
    same = PipelineOptions(epsilon_sec=1e-6)
    assert security_options(params, same) is same
    with pytest.raises(ParameterError, match=r"'options\.epsilon_sec' .* 1e-06.*not 1e-08"):
        security_options(params, PipelineOptions(epsilon_sec=1e-8))
    with pytest.raises(ParameterError, match=r"'options\.epsilon_cor'"):
        run_experiment(
            "bb84", LinkParams(), 1000, seed=1, options=PipelineOptions(epsilon_cor=1e-9)
        )


def test_bbm92_rate_needs_a_thermal_pair_source(capsys: pytest.CaptureFixture[str]) -> None:
    from qkdstack.figures.expected import asymptotic_reach_km, rates_curve
    from qkdstack.model import check_rate_params

    poisson = LinkParams(pair_statistics="poisson")
    for call in (
        lambda: check_rate_params("bbm92", poisson),
        lambda: rates_curve("bbm92", poisson, [0.0]),
        lambda: asymptotic_reach_km("bbm92", poisson),
    ):
        with pytest.raises(ParameterError, match="'pair_statistics' must be 'thermal'"):
            call()
    check_rate_params("decoy-bb84", poisson)  # pair statistics do not enter its rate
    rc = main(["rates", "--protocol", "bbm92", "--set", "pair_statistics=poisson"])
    err = capsys.readouterr().err
    assert rc == 2 and "'pair_statistics' must be 'thermal' for the bbm92 rate" in err


def test_blocked_run_takes_the_security_parameters_from_the_link() -> None:
    from qkdstack.blocked import run_in_blocks

    params = LinkParams(epsilon_sec=1e-6)
    rep = run_in_blocks("bb84", params, 4 * 10**6, seed=3, max_detections=40_000)
    assert len(rep["blocks"]) == 4
    # Each block ran with epsilon / k; the run is epsilon-secret, and reports its own params.
    assert all(b["epsilon_sec"] == pytest.approx(1e-6 / 4) for b in rep["blocks"])
    assert rep["epsilon_sec"] == 1e-6 and rep["params"] == params.to_dict()
