"""``qkd kms certs|serve`` and ``qkd encrypt|decrypt`` across two KMEs over mutual TLS."""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from qkdstack.cli.main import main

from kme_harness import Pair, running_pair


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with running_pair(
        tmp_path_factory.mktemp("cli-kms"), key_bits=256 * 4000
    ) as p:  # ~2000 keys a KME (split by key ID)
        yield p


def _sae_args(pair: Pair, sae: str) -> list[str]:
    c = pair.root / "certs"
    url = pair.url_a if sae in pair.config_a.sae_ids else pair.url_b
    return [
        "--kme", url, "--sae", sae, "--cert", str(c / f"{sae}.crt"),
        "--key", str(c / f"{sae}.key"), "--ca", str(c / "ca.crt"),
    ]  # fmt: skip


def _encrypt(pair: Pair, src: Path, env: Path, *extra: str) -> int:
    return main(["encrypt", *_sae_args(pair, "SAE_A"), "--to", "SAE_B", str(src), str(env), *extra])


def _decrypt(pair: Pair, env: Path, out: Path, sae: str = "SAE_B") -> int:
    return main(["decrypt", *_sae_args(pair, sae), str(env), str(out)])


def test_certs_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pki"
    assert (
        main(["kms", "certs", "--out", str(out), "--kme", "K1", "--sae", "S1", "--sae", "S2"]) == 0
    )
    names = {p.name for p in out.iterdir()}
    assert {"ca.crt", "K1.crt", "K1.key", "S1.crt", "S1.key", "S2.crt", "S2.key"} <= names
    for key in out.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    kme = x509.load_pem_x509_certificate((out / "K1.crt").read_bytes())
    san = kme.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    sae = x509.load_pem_x509_certificate((out / "S1.crt").read_bytes())
    assert sae.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "S1"
    ca = x509.load_pem_x509_certificate((out / "ca.crt").read_bytes())
    sae.verify_directly_issued_by(ca)
    both = tmp_path / "both"  # "--kme ID..." also takes several IDs after one option
    assert main(["kms", "certs", "--kme", "K1", "K2", "--sae", "S1", "S2", "--out", str(both)]) == 0
    assert {p.stem for p in both.glob("*.crt")} == {"ca", "K1", "K2", "S1", "S2"}
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert main(["kms", "certs", "--out", str(bad), "--kme", "K/1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'K/1'" in err[0]
    assert not bad.exists()


def test_serve_refuses_bad_configs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kms", "serve", "--config", str(tmp_path / "none.toml")]) == 2
    assert "--config" in capsys.readouterr().err
    cfg = tmp_path / "k.toml"
    cfg.write_text('kme_id = "KME_A"\nlisten = "8443"\n')
    assert main(["kms", "serve", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{cfg}:2" in err and "'listen'" in err and "'8443'" in err and "\n" not in err


def test_round_trip_aes_and_otp(pair: Pair, tmp_path: Path) -> None:
    for size, extra in ((0, ()), (1, ()), (5000, ()), (0, ("--otp",)), (777, ("--otp",))):
        src, env, out = tmp_path / "in", tmp_path / "env", tmp_path / "out"
        data = os.urandom(size)
        src.write_bytes(data)
        assert _encrypt(pair, src, env, *extra) == 0
        # The plaintext is not in the envelope (checked where a chance match is negligible: a
        # 1-byte file's byte is in a ~100-byte envelope about a third of the time).
        assert size < 16 or data not in env.read_bytes()
        assert _decrypt(pair, env, out) == 0
        assert out.read_bytes() == data
        out.unlink()
        assert _decrypt(pair, env, out) == 1  # the key was handed out once: no second decryption
        assert not out.exists()


def test_otp_larger_than_one_key(pair: Pair, tmp_path: Path) -> None:
    src, env, out = tmp_path / "in", tmp_path / "env", tmp_path / "out"
    data = os.urandom(9000)  # > max_key_size (65536 bits = 8192 bytes): two keys
    src.write_bytes(data)
    assert _encrypt(pair, src, env, "--otp") == 0
    assert _decrypt(pair, env, out) == 0 and out.read_bytes() == data


@pytest.mark.parametrize("otp", [False, True])
@pytest.mark.parametrize("where", ["magic", "header", "body", "tail", "truncate", "append"])
def test_tampered_envelope_is_refused(
    pair: Pair, tmp_path: Path, where: str, otp: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    src, env, out = tmp_path / "in", tmp_path / "env", tmp_path / "out"
    src.write_bytes(b"attack at dawn" * 20)
    assert _encrypt(pair, src, env, *(["--otp"] if otp else [])) == 0
    blob = bytearray(env.read_bytes())
    head = blob.index(b"\n", 20)
    if where == "truncate":
        blob = blob[:-1]
    elif where == "append":
        blob += b"\x00"
    else:
        pos = {"magic": 3, "header": head - 3, "body": head + 5, "tail": len(blob) - 1}[where]
        blob[pos] ^= 0x01
    env.write_bytes(bytes(blob))
    capsys.readouterr()
    assert _decrypt(pair, env, out) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nothing was written" in err
    assert not out.exists()


def test_only_the_named_slave_decrypts(pair: Pair, tmp_path: Path) -> None:
    src, env, out = tmp_path / "in", tmp_path / "env", tmp_path / "out"
    src.write_bytes(b"for SAE_B only")
    assert _encrypt(pair, src, env) == 0
    assert _decrypt(pair, env, out, sae="SAE_B2") == 1 and not out.exists()
    assert _decrypt(pair, env, out) == 0 and out.read_bytes() == b"for SAE_B only"


def test_encrypt_usage_errors(
    pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "env"
    assert _encrypt(pair, tmp_path / "missing", env) == 2
    assert "'IN'" in capsys.readouterr().err and not env.exists()
    src = tmp_path / "in"
    src.write_bytes(b"x")
    assert _encrypt(pair, src, tmp_path / "no" / "env") == 2
    assert "'OUT'" in capsys.readouterr().err
    args = ["encrypt", *_sae_args(pair, "SAE_A"), "--to", "SAE_A", str(src), str(env)]
    assert main(args) == 2 and "'--to'" in capsys.readouterr().err
    args = ["encrypt", *_sae_args(pair, "SAE_A"), "--to", "SAE_B", str(src), str(env)]
    args[args.index("--kme") + 1] = "http://127.0.0.1:1"
    assert main(args) == 2 and "'--kme'" in capsys.readouterr().err
    assert not env.exists()


def test_run_never_stores_insecure_seeded_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--pulses", "1e5", "--store", str(tmp_path), "--insecure-seeded-keys"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "'--store'" in err and "--insecure-seeded-keys" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_serve_failures_exit_1_with_one_line(
    pair: Pair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = pair.root / "kme_a.toml"  # its port is taken by the running KME_A
    assert main(["kms", "serve", "--config", str(busy)]) == 1
    err = capsys.readouterr().err.strip()
    assert "cannot listen" in err and "\n" not in err
    (pair.root / "link.db").symlink_to(pair.root / "alice.db")
    linked = pair.root / "linked.toml"
    text = busy.read_text().replace('store = "alice.db"', 'store = "link.db"')
    linked.write_text(text.replace(f":{pair.config_a.port}", ":0"))
    assert main(["kms", "serve", "--config", str(linked)]) == 1
    err = capsys.readouterr().err.strip()
    assert "symbolic link" in err and "\n" not in err
