"""``qkd kms serve|certs|demo`` and ``qkd encrypt|decrypt``: key delivery and its applications."""

from __future__ import annotations

import math
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import typer
import typer.core

from qkdstack.errors import AuthenticationError, KeyStoreError, ParameterError

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    print(f"qkd: error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(1)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory (nothing is left
    behind on failure)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_io(in_file: Path, out_file: Path) -> None:
    if not in_file.is_file():
        raise ParameterError(f"Argument 'IN' must be an existing file, not '{in_file}'.")
    if not out_file.parent.is_dir():
        raise ParameterError(
            f"Argument 'OUT' must be a path in an existing directory, not '{out_file}'."
        )
    if out_file.is_dir() or out_file.is_symlink():
        raise ParameterError(f"Argument 'OUT' must not be a directory or a link, not '{out_file}'.")
    if out_file.exists() and out_file.resolve() == in_file.resolve():
        raise ParameterError(f"Argument 'OUT' must differ from IN, not '{out_file}'.")


class _RepeatedValuesCommand(typer.core.TyperCommand):
    """Lets ``--kme A B --sae C D`` mean ``--kme A --kme B --sae C --sae D``."""

    repeated = ("--kme", "--sae")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        out: list[str] = []
        current: str | None = None
        for arg in args:
            if arg in self.repeated:
                current = arg
                out.append(arg)
                continue
            if current is not None and out[-1] != current and not arg.startswith("-"):
                out.append(current)
            elif arg.startswith("-"):
                current = None
            out.append(arg)
        return list(super().parse_args(ctx, out))


def register(app: typer.Typer) -> None:
    kms = typer.Typer(
        name="kms",
        help="Key management: an ETSI GS QKD 014 key delivery service over mutual TLS.",
        no_args_is_help=True,
    )
    app.add_typer(kms, name="kms")

    @kms.command("serve")
    def serve(
        config: Path = typer.Option(..., "--config", help="The KME's TOML configuration."),
    ) -> None:
        """Serve ETSI GS QKD 014 (HTTPS, mutual TLS) until SIGINT/SIGTERM."""
        from qkdstack.kms.api import OPENAPI_PATH
        from qkdstack.kms.config import load_config
        from qkdstack.kms.server import bind_socket, build_app, make_server

        cfg = load_config(config)
        try:
            sock = bind_socket(cfg.host, cfg.port)
        except OSError as exc:
            raise _fail(
                f"{cfg.kme_id} cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}."
            ) from None
        try:
            app_ = build_app(cfg)
        except KeyStoreError as exc:
            sock.close()
            raise _fail(str(exc)) from None
        server = make_server(app_)
        print(
            f"{cfg.kme_id}: ETSI GS QKD 014 on {cfg.url} (mutual TLS; OpenAPI at {OPENAPI_PATH})",
            file=sys.stderr,
            flush=True,
        )
        try:
            server.run(sockets=[sock])
        finally:
            app_.pool.close()
            sock.close()

    @kms.command("certs", cls=_RepeatedValuesCommand)
    def certs(
        out: Path = typer.Option(..., "--out", help="Directory for ca.crt, ID.crt and ID.key."),
        kme: list[str] = typer.Option([], "--kme", help="KME IDs (--kme A B or --kme A --kme B)."),
        sae: list[str] = typer.Option([], "--sae", help="SAE IDs (--sae A B or --sae A --sae B)."),
    ) -> None:
        """Write a test CA and a certificate and key (0600) per KME and SAE."""
        from qkdstack.kms.certs import write_certificates

        written = write_certificates(out, kme, sae)
        print(f"wrote {len(written)} files in {out}")

    @kms.command("demo")
    def demo(
        directory: Path = typer.Option(
            Path("qkd-kms-demo"), "--dir", help="Directory for certificates, stores, demo.json."
        ),
        pulses: str = typer.Option(
            "1e8", help="Pulses per round of the two nodes feeding the KMEs."
        ),
    ) -> None:
        """Two KMEs (KME_A for SAE_A, KME_B for SAE_B) fed by a simulated link through two nodes;
        runs until SIGINT/SIGTERM and writes DIR/demo.json once both hold keys."""
        from qkdstack.cli.run import parse_count
        from qkdstack.kms.demo import run_demo

        n = parse_count("--pulses", pulses)
        raise typer.Exit(run_demo(directory, n, echo=lambda line: print(line, flush=True)))

    @app.command("encrypt")
    def encrypt(
        in_file: Path = typer.Argument(..., metavar="IN", help="File to encrypt."),
        out_file: Path = typer.Argument(..., metavar="OUT", help="Envelope to write."),
        kme: str = typer.Option(..., "--kme", help="URL of this SAE's KME (https://host:port)."),
        sae: str = typer.Option(..., "--sae", help="This SAE's ID (the master SAE)."),
        cert: Path = typer.Option(..., "--cert", help="This SAE's certificate."),
        key: Path = typer.Option(..., "--key", help="This SAE's private key."),
        ca: Path = typer.Option(..., "--ca", help="CA of the KME's certificate."),
        to: str = typer.Option(..., "--to", help="The slave SAE ID (who will decrypt)."),
        otp: bool = typer.Option(False, "--otp", help="One-time pad instead of AES-256-GCM."),
    ) -> None:
        """Encrypt a file with a key from the KME (enc_keys); the envelope carries the key IDs."""
        from qkdstack.kms.client import SAEClient
        from qkdstack.kms.envelope import Mode, key_bytes_needed, seal

        _check_io(in_file, out_file)
        if not sae or not to or sae == to:
            raise ParameterError(f"Argument '--to' must be an SAE ID other than --sae, not {to!r}.")
        plaintext = in_file.read_bytes()
        mode: Mode = "otp" if otp else "aes-256-gcm"
        try:
            with SAEClient(kme, cert, key, ca) as client:
                if mode == "aes-256-gcm":
                    number, size_bytes = 1, 32
                else:
                    status = client.status(to)
                    need = key_bytes_needed("otp", len(plaintext))
                    per_key = status["max_key_size"] // 8
                    number = math.ceil(need / per_key)
                    size_bytes = max(math.ceil(need / number), status["min_key_size"] // 8)
                    if number > status["max_key_per_request"]:
                        raise _fail(
                            f"the file needs {number} keys of {per_key * 8} bits for a one-time "
                            f"pad; the KME gives at most {status['max_key_per_request']} at once."
                        )
                keys = client.enc_keys(to, number, size_bytes * 8)
        except KeyStoreError as exc:
            raise _fail(str(exc)) from None
        envelope = seal(plaintext, b"".join(k for _, k in keys), [i for i, _ in keys], sae, mode)
        _write_atomically(out_file, envelope)
        print(f"encrypted {len(plaintext)} bytes ({mode}, {len(keys)} key(s)) into {out_file}")

    @app.command("decrypt")
    def decrypt(
        in_file: Path = typer.Argument(..., metavar="IN", help="Envelope to decrypt."),
        out_file: Path = typer.Argument(..., metavar="OUT", help="File to restore."),
        kme: str = typer.Option(..., "--kme", help="URL of this SAE's KME (https://host:port)."),
        sae: str = typer.Option(..., "--sae", help="This SAE's ID (a slave SAE)."),
        cert: Path = typer.Option(..., "--cert", help="This SAE's certificate."),
        key: Path = typer.Option(..., "--key", help="This SAE's private key."),
        ca: Path = typer.Option(..., "--ca", help="CA of the KME's certificate."),
    ) -> None:
        """Decrypt an envelope with its keys fetched from the KME (dec_keys); a tampered
        envelope is refused and nothing is written."""
        from qkdstack.kms.client import SAEClient
        from qkdstack.kms.envelope import open_envelope, parse_envelope

        _check_io(in_file, out_file)
        try:
            envelope = parse_envelope(in_file.read_bytes())
            if envelope.master_sae_id == sae:
                raise AuthenticationError("the envelope names this SAE as its own master")
            with SAEClient(kme, cert, key, ca) as client:
                keys = dict(client.dec_keys(envelope.master_sae_id, list(envelope.key_ids)))
            plaintext = open_envelope(envelope, b"".join(keys[i] for i in envelope.key_ids))
        except (KeyStoreError, AuthenticationError) as exc:
            raise _fail(f"{exc}; nothing was written") from None
        _write_atomically(out_file, plaintext)
        print(f"decrypted {len(plaintext)} bytes into {out_file}")
