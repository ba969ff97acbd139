"""Bad input through the ``qkd`` command, as a user gives it: never a key, a traceback or a changed
file (issue 13).

Every refusal is checked the same way: the exit status, one line on stderr naming the option and the
value, no traceback, and a snapshot of the working directory (names, modes, sizes, mtimes, link
targets) that is unchanged.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qkdstack.cli.main import main

from helpers import noisy_pair

Snapshot = dict[str, tuple[int, int, int, str]]


def _snapshot(root: Path) -> Snapshot:
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        target = os.readlink(path) if path.is_symlink() else ""
        out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, target)
    return out


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (stray files written to the cwd would show in its snapshot)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(
    capsys: pytest.CaptureFixture[str],
    root: Path,
    args: list[str],
    *names: str,
    status: int = 2,
) -> str:
    capsys.readouterr()
    before = _snapshot(root)
    rc = main(args)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert rc == status, (rc, err, captured.out[-500:])
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err + captured.out
    for name in names:
        assert name in err, (name, err)
    assert _snapshot(root) == before
    return err


def _simulate(out: Path, *extra: str, protocol: str = "bb84", pulses: str = "2e5") -> Path:
    args = ["simulate", "--protocol", protocol, "--pulses", pulses, "--seed", "3"]
    assert main([*args, "--out", str(out), *extra]) == 0
    return out


def _rewrite_records(
    path: Path, *, meta: dict | None = None, basis: np.ndarray | None = None
) -> None:
    """Rewrite a record file with changed metadata entries or a changed basis column."""
    table = pq.read_table(path)
    block = json.loads(pq.ParquetFile(path).metadata.metadata[b"qkdstack"])
    for key, value in (meta or {}).items():
        if key == "params":
            block["params"].update(value)
        else:
            block[key] = value
    if basis is not None:
        index = table.schema.get_field_index("basis")
        table = table.set_column(index, table.schema.field("basis"), pa.array(basis, pa.uint8()))
    text = json.dumps(block).encode()  # json writes NaN and Infinity as such
    pq.write_table(table.replace_schema_metadata({b"qkdstack": text}), path)


# -- a physically impossible run never produces a key --------------------------------------------


@pytest.mark.parametrize(
    ("args", "name", "value"),
    [
        (["--protocol", "bbm92", "--set", "mu_pair=inf"], "mu_pair", "inf"),
        (["--protocol", "bb84", "--set", "dead_time_ns=inf"], "dead_time_ns", "inf"),
        (["--protocol", "bb84", "--set", "pulse_rate_hz=inf"], "pulse_rate_hz", "inf"),
        (
            ["--protocol", "bb84", "--set", "attenuation_db_per_km=nan"],
            "attenuation_db_per_km",
            "nan",
        ),
        (["--protocol", "decoy-bb84", "--set", "intensities=0.5,inf,0"], "intensities", "inf"),
        (["--protocol", "bb84", "--source", "laser", "--mu", "inf"], "--mu", "inf"),
        (["--protocol", "bb84", "--set", "ec_efficiency=inf"], "ec_efficiency", "inf"),
    ],
)
def test_non_finite_parameters_are_refused_before_the_run(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], name: str, value: str
) -> None:
    store = work / "store"
    store.mkdir()
    cmd = ["run", "--pulses", "1e5", "--seed", "1", "--store", str(store), *args]
    _refused(capsys, work, cmd, f"'{name}'", value)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["rates", "--distance-km", "0:inf:10"], ("'--distance-km'", "0:inf:10")),
        (["rates", "--distance-km", "0:1e308:1e-300"], ("'--distance-km'", "1e-300")),
        (["rates", "--distance-km", "0,inf"], ("'--distance-km'", "inf")),
        # The numerical rates' range took an infinite span to an OverflowError (exit 1).
        (["rates", "--protocol", "bb84", "--channel", "depolarizing", "--noise", "0:inf:0.1"],
         ("'--noise'", "0:inf:0.1")),
        (["rates", "--protocol", "bb84", "--channel", "depolarizing", "--noise", "0:1:1e-320"],
         ("'--noise'", "1e-320")),
        (
            ["reconcile", "--alice", "a.npy", "--bob", "b.npy", "--qber", "0.02", "--out", "c.npy",
             "--method", "ldpc", "--target-efficiency", "inf"],
            ("'--target-efficiency'", "inf"),
        ),
        (["process", "--alice", "a", "--bob", "b", "--mu", "inf"], ("'--mu'", "inf")),
    ],
)  # fmt: skip
def test_non_finite_options_of_every_command_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], names: tuple[str, ...]
) -> None:
    _refused(capsys, work, args, *names)


def test_non_finite_values_in_a_config_file_and_toml_booleans_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for text, name, value in (
        ("mu_pair = inf\n", "mu_pair", "inf"),
        ("distance_km = nan\n", "distance_km", "nan"),
        ("distance_km = true\n", "distance_km", "True"),
        ("source = true\nmu = 0.5\n", "source", "True"),
    ):
        cfg = work / "link.toml"
        cfg.write_text(text)
        args = ["run", "--protocol", "bbm92", "--pulses", "1e5", "--config", str(cfg)]
        _refused(capsys, work, args, f"'{name}'", value)
        _refused(capsys, work, ["simulate", "--config", str(cfg), "--out", "recs"], name, value)


def test_statistics_the_declared_link_cannot_produce_give_no_key(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Records of a 0 km link (about 0.04 secret bits per pulse) declared as a 100 km link, whose
    # PLOB bound is -log2(1 - 10^-2) = 0.0145 bits per pulse: the key would beat the bound.
    recs = _simulate(work / "recs", "--set", "distance_km=0", pulses="4e5")
    _rewrite_records(recs / "alice.parquet", meta={"params": {"distance_km": 100.0}})
    store = work / "store"
    store.mkdir()
    args = ["process", "--alice", str(recs / "alice.parquet"), "--bob", str(recs / "bob.parquet")]
    capsys.readouterr()
    assert main([*args, "--seed", "1", "--store", str(store), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["aborted"] and rep["secret_bits"] == 0 and "stored_keys" not in rep
    assert rep["abort_reason"].startswith("ImplausibleStatistics") and "PLOB" in rep["abort_reason"]
    assert list(store.iterdir()) == []
    # The same records declared with a detector 20 times less efficient: about 0.1 detections per
    # pulse where at most 1 - e^{-0.005} = 0.005 are possible even without any fibre.
    _rewrite_records(
        recs / "alice.parquet", meta={"params": {"distance_km": 0.0, "detector_efficiency": 0.005}}
    )
    assert main([*args, "--seed", "1", "--store", str(store), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["aborted"] and rep["secret_bits"] == 0 and "detections" in rep["abort_reason"]
    assert list(store.iterdir()) == []


def test_a_nan_statistic_aborts_with_no_key() -> None:
    from qkdstack.errors import ImplausibleStatistics
    from qkdstack.link.records import RecordMeta
    from qkdstack.processing.sanity import check_statistics

    meta = RecordMeta(protocol="bb84", pulses=1000, params={})
    check_statistics(meta, detections=10, secret_bits=1, statistics={"qber": 0.01})
    with pytest.raises(ImplausibleStatistics, match="'qber_upper' is nan"):
        check_statistics(
            meta, detections=10, secret_bits=1, statistics={"qber": 0.0, "qber_upper": np.nan}
        )


def test_an_honest_run_passes_the_sanity_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--protocol", "bb84", "--pulses", "1e6", "--seed", "2", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert not rep["aborted"] and rep["secret_bits"] > 0


# -- checks that fire before the run, not after it -------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (
            ["run", "--set", "intensities=0.3,0.2,0.1"],
            ("'intensities'", "mu_1 > mu_2 + mu_3", "0.3"),
        ),
        (["run", "--set", "intensities=0.1,0.2,0.5"], ("'intensities'", "0.1, 0.2, 0.5")),
        (["run", "--protocol", "e91", "--source", "laser"], ("'source'", "'laser'", "e91")),
        (["run", "--protocol", "bbm92", "--source", "laser"], ("'source'", "'laser'")),
        (["run", "--pulses", "10**400"], ("'--pulses'", "10**400")),
        (["run", "--pulses", "1e400"], ("'--pulses'", "1e400")),
        (["run", "--pulses", "10**10**9"], ("'--pulses'",)),
        (["run", "--pulses", "2.5"], ("'--pulses'", "2.5")),
        (["simulate", "--pulses", "0", "--out", "recs"], ("'--pulses'", "'0'")),
        (
            [
                "simulate",
                "--protocol",
                "decoy-bb84",
                "--set",
                "intensities=0.2,0.2,0",
                "--out",
                "r",
            ],
            ("'intensities'", "0.2, 0.2"),
        ),
    ],
)
def test_unusable_settings_are_refused_before_the_run(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], names: tuple[str, ...]
) -> None:
    if args[0] == "run":
        args = [*args, "--seed", "1"] + ([] if "--pulses" in args else ["--pulses", "1e5"])
    _refused(capsys, work, args, *names)


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        (["--mu", "-1"], ("'--mu'", "-1")),
        (["--mu", "nan"], ("'--mu'", "nan")),
        (["--source", "spdc"], ("'--source'", "spdc")),
        (["--sample-fraction", "1.5"], ("'--sample-fraction'", "1.5")),
    ],
)
def test_process_options_are_checked_before_the_files_are_read(
    work: Path, capsys: pytest.CaptureFixture[str], extra: list[str], names: tuple[str, ...]
) -> None:
    recs = _simulate(work / "recs")
    args = ["process", "--alice", str(recs / "alice.parquet"), "--bob", str(recs / "bob.parquet")]
    _refused(capsys, work, [*args, *extra], *names)


# -- record files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "role", "code"),
    [("bb84", "alice", 2), ("bb84", "bob", 7), ("six-state", "bob", 3), ("e91", "bob", 0)],
)
def test_undocumented_basis_codes_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], protocol: str, role: str, code: int
) -> None:
    recs = _simulate(work / "recs", protocol=protocol)
    path = recs / f"{role}.parquet"
    basis = pq.read_table(path).column("basis").to_numpy().copy()
    basis[0] = code
    _rewrite_records(path, basis=basis)
    args = ["process", "--alice", str(recs / "alice.parquet"), "--bob", str(recs / "bob.parquet")]
    err = _refused(capsys, work, args, f"{role}.parquet", "'basis'", f"not {code}")
    assert "docs/records.md" in err


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_intensity_tables_and_params_with_nan_or_inf_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], value: float
) -> None:
    recs = _simulate(work / "recs", protocol="decoy-bb84")
    alice, bob = recs / "alice.parquet", recs / "bob.parquet"
    args = ["process", "--alice", str(alice), "--bob", str(bob)]
    _rewrite_records(alice, meta={"intensities": [0.6, value, 0.0]})
    _refused(capsys, work, args, "'intensities'", repr(value))
    _rewrite_records(alice, meta={"intensities": [0.6, 0.2, 0.0], "params": {"mu": value}})
    _refused(capsys, work, args, "'mu'", repr(value))
    _rewrite_records(alice, meta={"params": {"mu": "0.5", "intensity_probs": [0.8, True, 0.1]}})
    _refused(capsys, work, args, "'params'", "'intensity_probs'")


# -- paths are checked before work and never damaged ------------------------------------------


def test_missing_store_and_output_directories_are_refused_before_the_run(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(work / "nowhere")
    _refused(capsys, work, ["run", "--pulses", "1e5", "--store", missing], "'--store'", missing)
    recs = _simulate(work / "recs")
    args = ["process", "--alice", str(recs / "alice.parquet"), "--bob", str(recs / "bob.parquet")]
    _refused(capsys, work, [*args, "--store", missing], "'--store'", missing)
    plot = str(work / "nowhere" / "p.png")
    _refused(capsys, work, ["rates", "--plot", plot], "'--plot'", plot)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_read_only_directories_are_refused_before_the_run(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ro = work / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _refused(capsys, work, ["run", "--pulses", "1e5", "--store", str(ro)], "'--store'", "ro")
        _refused(capsys, work, ["simulate", "--out", str(ro)], "'--out'", "ro")
        _refused(capsys, work, ["rates", "--plot", str(ro / "p.png")], "'--plot'")
    finally:
        ro.chmod(0o700)


def test_a_directory_this_process_cannot_write_is_refused(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same refusals for any user: the kernel's answer to access(2) is replaced by 'no' for
    the directory 'ro' (root may write anywhere, so a real read-only directory proves nothing)."""
    ro = work / "ro"
    ro.mkdir()
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if Path(path).resolve() == ro.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    _refused(capsys, work, ["run", "--pulses", "1e5", "--store", str(ro)], "'--store'", "writable")
    _refused(capsys, work, ["simulate", "--out", str(ro)], "'--out'", "read-only")
    _refused(capsys, work, ["simulate", "--out", str(ro / "new")], "'--out'", "read-only")
    _refused(capsys, work, ["rates", "--plot", str(ro / "p.png")], "'--plot'", "read-only")
    args = ["reconcile", "--alice", "a.npy", "--bob", "b.npy", "--qber", "0.02"]
    _refused(capsys, work, [*args, "--out", str(ro / "c.npy")], "'--out'", "read-only")


def _foreign_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "kind", ["directory", "text", "sqlite", "symlink", "dangling", "public", "journal-link"]
)
def test_a_store_path_that_is_not_a_store_is_refused_untouched(
    work: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    store = work / "store"
    store.mkdir()
    target = work / "precious.txt"
    target.write_text("do not touch\n")
    target.chmod(0o644)
    bob_db = store / "bob.db"
    if kind == "directory":
        bob_db.mkdir()
    elif kind == "text":
        bob_db.write_text("my notes\n")
        bob_db.chmod(0o600)
    elif kind == "sqlite":
        _foreign_sqlite(bob_db)
        bob_db.chmod(0o600)
    elif kind == "symlink":
        bob_db.symlink_to(target)
    elif kind == "dangling":
        bob_db.symlink_to(work / "elsewhere.db")
    elif kind == "journal-link":  # no store yet, but its journal name leads elsewhere
        (store / "bob.db-wal").symlink_to(target)
    else:  # a store file someone made readable by others: refused, its mode is not changed
        from qkdstack.kms.store import KeyStore

        KeyStore(bob_db).close()
        for name in list(store.iterdir()):
            if name != bob_db:
                name.unlink()
        bob_db.chmod(0o644)
    args = ["run", "--protocol", "bb84", "--pulses", "1e6", "--seed", "2", "--store", str(store)]
    _refused(capsys, work, args, "'--store'", "bob.db")
    assert not (store / "alice.db").exists()
    assert target.read_text() == "do not touch\n" and stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("flag", ["--no-auth", "--insecure-seeded-keys"])
def test_keys_that_are_not_secure_are_never_stored(
    work: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    store = work / "store"
    store.mkdir()
    args = ["run", "--protocol", "bb84", "--pulses", "1e6", "--seed", "2", "--store", str(store)]
    _refused(capsys, work, [*args, flag], "'--store'", flag)
    if flag == "--no-auth":
        recs = _simulate(work / "recs")
        args = [
            "process",
            "--alice",
            str(recs / "alice.parquet"),
            "--bob",
            str(recs / "bob.parquet"),
        ]
        _refused(capsys, work, [*args, "--store", str(store), flag], "'--store'", flag)


def test_key_store_library_refuses_links_without_touching_them(tmp_path: Path) -> None:
    from qkdstack.errors import KeyStoreError
    from qkdstack.kms.store import KeyStore, deposit_pair

    target = tmp_path / "precious.txt"
    target.write_text("keep\n")
    target.chmod(0o644)
    link = tmp_path / "k.db"
    link.symlink_to(target)
    with pytest.raises(KeyStoreError, match="symbolic link"):
        KeyStore(link)
    assert target.read_text() == "keep\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    # A journal name that leads elsewhere: refused, and the link (not ours) is not deleted.
    (tmp_path / "j.db-wal").symlink_to(target)
    with pytest.raises(KeyStoreError, match="regular file"):
        KeyStore(tmp_path / "j.db")
    assert (tmp_path / "j.db-wal").is_symlink() and not (tmp_path / "j.db").exists()
    # Bob's store cannot be opened: Alice's freshly created one is not left behind.
    store = tmp_path / "store"
    store.mkdir()
    (store / "bob.db").mkdir()
    with pytest.raises(KeyStoreError, match="directory"):
        deposit_pair(store, np.zeros(512, np.uint8), np.zeros(512, np.uint8))
    assert sorted(p.name for p in store.iterdir()) == ["bob.db"]


def test_simulate_does_not_overwrite_records_without_force(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recs = _simulate(work / "recs")
    err = _refused(capsys, work, ["simulate", "--pulses", "1e5", "--out", str(recs)], "'--out'")
    assert "alice.parquet" in err and "--force" in err
    before = (recs / "bob.parquet").stat().st_mtime_ns
    assert main(["simulate", "--pulses", "1e5", "--seed", "4", "--out", str(recs), "--force"]) == 0
    assert (recs / "bob.parquet").stat().st_mtime_ns != before
    assert (recs / "alice.parquet").name in capsys.readouterr().out  # it says where it wrote


def _key_pair(root: Path, n: int = 20000, errors: int = 400) -> tuple[Path, Path, np.ndarray]:
    alice, bob = noisy_pair(np.random.default_rng(8), n, errors)
    np.save(root / "a.npy", alice)
    np.save(root / "b.npy", bob)
    return root / "a.npy", root / "b.npy", alice


def test_reconcile_writes_exactly_the_given_out_path_and_says_so(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, alice = _key_pair(work)
    out = work / "corrected.bits"  # no .npy suffix is added
    args = ["reconcile", "--alice", str(a), "--bob", str(b), "--qber", "0.02", "--seed", "1"]
    assert main([*args, "--out", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["out"] == str(out) and not (work / "corrected.bits.npy").exists()
    assert np.array_equal(np.load(out), alice)
    assert sorted(p.name for p in work.iterdir()) == ["a.npy", "b.npy", "corrected.bits"]
    _refused(capsys, work, [*args, "--out", str(b)], "'--out'", "'--bob'")
    _refused(capsys, work, [*args, "--out", "./a.npy"], "'--out'", "'--alice'")
    _refused(capsys, work, [*args, "--out", str(work)], "'--out'", "directory")
    _refused(capsys, work, [*args, "--out", str(work / "no" / "c.npy")], "'--out'", "missing")


def test_reconcile_with_failed_frames_exits_1_and_writes_nothing(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 8% errors where --qber says 1%: the LDPC syndrome is sized for 1% and the frames fail.
    a, b, _ = _key_pair(work, n=300_000, errors=24_000)
    out = work / "c.npy"
    args = ["reconcile", "--alice", str(a), "--bob", str(b), "--qber", "0.01", "--method", "ldpc"]
    _refused(capsys, work, [*args, "--out", str(out), "--seed", "1"], "frames failed", status=1)
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("npz", ("'--bob'", ".npz archive")),
        ("empty", ("'--bob'", "empty file")),
        ("text", ("'--bob'", "no NumPy .npy header")),
    ],
)
def test_reconcile_names_what_a_bad_key_file_is(
    work: Path, capsys: pytest.CaptureFixture[str], content: str, names: tuple[str, ...]
) -> None:
    a, b, _ = _key_pair(work, n=1000, errors=10)
    if content == "npz":
        np.savez(work / "k.npz", bits=np.zeros(10, np.uint8))
        (work / "k.npz").rename(b)
    elif content == "empty":
        b.write_bytes(b"")
    else:
        b.write_text("0 1 1 0 1\n")
    args = ["reconcile", "--alice", str(a), "--bob", str(b), "--qber", "0.02"]
    err = _refused(capsys, work, [*args, "--out", str(work / "c.npy")], *names)
    assert "pickled" not in err


# -- options mean one thing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "--attack", "intercept-resend:fraction=0.5,fraction=0.2"], ("'--attack'", "'fraction'")),
        (["run", "--attack", "mitm:kind=nothing"], ("'--attack'", "'kind'", "'nothing'")),
        (["run", "--attack", "mitm:mode=bytes,kind=sift"], ("'--attack'", "'kind'", "'sift'")),
        (["rates", "--protocol", "decoy-bb84", "--block-bits", "1000.5"], ("'--block-bits'", "1000.5")),
        (["rates", "--protocol", "decoy-bb84", "--block-bits", "1e6,2.5e3,7.25"], ("'--block-bits'", "7.25")),
    ],
)  # fmt: skip
def test_options_that_could_mean_two_things_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], names: tuple[str, ...]
) -> None:
    _refused(capsys, work, [*args, "--pulses", "1e5"] if args[0] == "run" else args, *names)


def test_mitm_without_authentication_is_an_experiment_not_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["run", "--protocol", "bb84", "--pulses", "2e5", "--seed", "3", "--json"]
    assert main([*args, "--attack", "mitm", "--no-auth"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["aborted"] and rep["secret_bits"] == 0 and rep["abort_reason"]
    assert rep["eve"]["attack"] == "mitm" and rep["eve"]["tampered_messages"] >= 1


# -- failures that are not usage errors ------------------------------------------------------


def test_a_failure_exits_1_with_one_line(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import qkdstack.experiment

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", "/var/keys")

    monkeypatch.setattr(qkdstack.experiment, "run_experiment", full_disk)
    err = _refused(capsys, work, ["run", "--pulses", "1e5"], "No space left", status=1)
    assert "/var/keys" in err

    def bug(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(qkdstack.experiment, "run_experiment", bug)
    _refused(capsys, work, ["run", "--pulses", "1e5"], "KeyError", status=1)
