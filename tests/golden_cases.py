"""The argument sets of the golden `qkd run --json` reports (tests/golden/run_reports.json)."""

from __future__ import annotations

VOLATILE = ("timings_s",)
"""Report fields that measure the machine, not the run: left out of the comparison.

Cases whose report depends on what `secrets` draws (B92's test rounds, Eve's agreement with the
final key, which depends on the privacy-amplification seed) run with `--insecure-seeded-keys`."""

_SMALL = ["--pulses", "4e6"]

CASES: list[list[str]] = [
    *(
        ["--protocol", protocol, "--seed", str(seed), *size]
        for protocol, size in (
            ("bb84", _SMALL),
            ("decoy-bb84", ["--pulses", "3e7"]),
            ("six-state", _SMALL),
            ("b92", [*_SMALL, "--insecure-seeded-keys"]),
            ("bbm92", ["--pulses", "1e8", "--distance-km", "1"]),
            ("e91", ["--pulses", "3e8", "--distance-km", "1"]),
        )
        for seed in (1, 2)
    ),
    ["--seed", "1"],
    ["--protocol", "decoy-bb84", "--seed", "4", "--pulses", "2e8", "--distance-km", "50"],
    ["--protocol", "bb84", "--seed", "5", *_SMALL, "--source", "laser", "--mu", "0.3"],
    ["--protocol", "bb84", "--seed", "6", *_SMALL, "--ec-method", "ldpc"],
    ["--protocol", "bb84", "--seed", "7", *_SMALL, "--auth-scope", "message"],
    [
        "--protocol",
        "bb84",
        "--seed",
        "8",
        *_SMALL,
        "--attack",
        "intercept-resend:fraction=0.1",
        "--insecure-seeded-keys",
    ],
    ["--protocol", "bb84", "--seed", "9", *_SMALL, "--attack", "intercept-resend"],
    ["--protocol", "decoy-bb84", "--seed", "10", "--pulses", "3e7", "--attack", "pns"],
    [
        "--protocol",
        "bb84",
        "--seed",
        "11",
        *_SMALL,
        "--attack",
        "cloner:disturbance=0.03",
        "--insecure-seeded-keys",
    ],
    ["--protocol", "bb84", "--seed", "12", *_SMALL, "--attack", "mitm:mode=flip"],
    [
        "--protocol",
        "bbm92",
        "--seed",
        "13",
        "--pulses",
        "1e8",
        "--distance-km",
        "1",
        "--set",
        "visibility=0.97",
    ],
    ["--protocol", "decoy-bb84", "--seed", "14", "--pulses", "3e7", "--params", "lim2014"],
    ["--protocol", "bb84", "--seed", "15", *_SMALL, "--insecure-seeded-keys", "--key-digest"],
]
