"""Study files: parsing, the grid they define, and errors that name the line and the reason."""

from __future__ import annotations

import numpy as np
import pytest

from qkdstack.cli.sweep import QKD_COMMANDS
from qkdstack.sweep import RunSpec, StudyError, parse_study, run_seed, study_runs
from qkdstack.sweep.runner import flatten_report, run_argv

GOOD = """\
command = "run"
repeats = 3
seed = 2026
[fixed]
protocol = "decoy-bb84"
pulses = 1e8
[axes]
distance_km = [10, 30, 50]
mu = {start = 0.2, stop = 0.6, step = 0.2}
"""


def test_grid_is_the_product_of_the_axes_times_repeats() -> None:
    study = parse_study(GOOD, commands=QKD_COMMANDS)
    assert study.axes == {"distance_km": [10, 30, 50], "mu": [0.2, 0.4, 0.6]}
    runs = list(study_runs(study))
    assert len(runs) == 3 * 3 * 3 == study.n_runs
    assert [r.index for r in runs] == list(range(27))
    # the last axis varies fastest, then the repeat
    assert runs[3].values == {"protocol": "decoy-bb84", "pulses": 1e8, "distance_km": 10, "mu": 0.4}
    assert (runs[3].point, runs[3].repeat) == (1, 0)
    assert len({r.seed for r in runs}) == 27


def test_run_seed_is_the_spawn_tree_child() -> None:
    # Independent construction: spawn the point's child, then the repeat's child.
    child = np.random.SeedSequence(2026).spawn(5)[4].spawn(3)[2]
    assert run_seed(2026, 4, 2) == int(child.generate_state(1, dtype=np.uint64)[0]) >> 1
    assert 0 <= run_seed(2026, 4, 2) < 2**63
    assert run_seed(2026, 4, 2) != run_seed(2027, 4, 2)


def test_argv_names_the_options_as_the_command_does() -> None:
    study = parse_study(
        'command = "run"\nseed = 1\n[fixed]\npulses = 1e8\nno_auth = true\n'
        'set = ["mu=0.4"]\nbasis_prob_z = 0.7\n[axes]\ndistance_km = [10.5]\n',
        commands=QKD_COMMANDS,
    )
    spec = next(study_runs(study))
    argv = run_argv(spec)
    assert argv[0] == "run"
    assert argv[argv.index("--pulses") + 1] == "100000000"
    assert "--no-auth" in argv and argv[argv.index("--set") + 1] == "mu=0.4"
    assert "basis_prob_z=0.7" in argv  # a LinkParams field without an option: --set
    assert argv[argv.index("--distance-km") + 1] == "10.5"
    assert argv[argv.index("--seed") + 1] == str(spec.seed)
    assert "--insecure-seeded-keys" in argv and argv[-1] == "--json"


def test_rates_study_has_no_seed_option() -> None:
    spec = RunSpec(0, 0, 0, 7, "rates", {"params": "gys", "distance_km": 50}, QKD_COMMANDS)
    assert run_argv(spec) == ["rates", "--params", "gys", "--distance-km", "50", "--json"]


def test_flatten_report_dots_nested_objects_and_drops_key_digest() -> None:
    flat = flatten_report({"a": 1, "t": {"x": 0.5, "y": {"z": 2}}, "key_sha256": "ab", "l": [1]})
    assert flat == {"a": 1, "t.x": 0.5, "t.y.z": 2, "l": [1]}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('command = "run"\nseed = 1\n[axes\n', 3, "invalid TOML"),
        ('command = "simulate"\nseed = 1\n', 1, "'command' must be one of run, rates"),
        ('command = "run"\nrepeats = 0\nseed = 1\n', 2, "'repeats' must be an integer >= 1"),
        ('command = "run"\n', 1, "missing key 'seed'"),
        ('command = "run"\nseed = 1\ncolour = "red"\n', 3, "unknown key 'colour'"),
        (
            'command = "run"\nseed = 1\n[fixed]\nprotocol = "bb84"\nwarp = 9\n',
            5,
            "unknown option 'warp'",
        ),
        ('command = "run"\nseed = 1\n[fixed]\nseed = 4\n', 4, "cannot be set in a study"),
        ('command = "run"\nseed = 1\n[fixed]\nstore = "/tmp"\n', 4, "never stores keys"),
        ('command = "run"\nseed = 1\n[axes]\ndistance_km = []\n', 4, "has no values"),
        (
            'command = "run"\nseed = 1\n\n[axes]\nmu = [0.5]\ndistance_km = {start = 0, stop = 50, step = -5}\n',
            6,
            "step must be > 0, not -5",
        ),
        ('command = "run"\nseed = 1\n[axes]\nmu = [0.5, -1.0]\n', 4, "Argument 'mu' must be > 0"),
        ('command = "run"\nseed = 1\n[fixed]\nno_auth = "yes"\n', 4, "is a flag"),
        ('command = "run"\nseed = 1\n[fixed]\nset = ["mu=0.5", "mu=x"]\n', 4, "'mu' must be float"),
        ('command = "run"\nseed = 1\n[fixed]\nset = ["warp"]\n', 4, "must look like name=value"),
        (
            'command = "rates"\nseed = 1\n[axes]\nparams = ["gys", "nope"]\n',
            4,
            "'--params' must be",
        ),
        ('command = "run"\nseed = 1\n[fixed]\npulses = [1, 2]\n', 4, "takes one value"),
        (
            'command = "rates"\nseed = 1\n[fixed]\nattack = "intercept-resend"\n',
            4,
            "unknown option",
        ),
        ('command = "run"\nseed = 1\n[fixed]\nmu = 0.5\n[axes]\nmu = [0.5]\n', 6, "both fixed"),
    ],
)
def test_invalid_study_names_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(StudyError) as info:
        parse_study(text, "study.toml", commands=QKD_COMMANDS)
    message = str(info.value)
    assert message.startswith(f"study.toml:{line}: "), message
    assert reason in message
    assert "\n" not in message


def test_report_is_found_among_other_output() -> None:
    from qkdstack.sweep.runner import _report_of

    text = 'warning: {not json}\n{"a": 1,\n "b": [2]}\ntrailing\n'
    assert _report_of(text, "rates") == {"a": 1, "b": [2]}
    with pytest.raises(RuntimeError, match="printed no JSON report"):
        _report_of("nothing here\n", "run")
