"""Test certificates for KMEs and SAEs: one CA, and a certificate and key per entity.

``qkd kms certs`` writes ``ca.crt`` (and ``ca.key``), and ``ID.crt`` / ``ID.key`` for every KME and
SAE. Subjects carry the ID as common name (the SAE ID a KME reads from a client certificate). KME
certificates serve both ends of TLS (server and client: a KME is a client of its peer KME) and
name 127.0.0.1 and localhost. Keys are ECDSA P-256, written with mode 0600. These certificates are
for development and tests; a deployment uses its own PKI.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from qkdstack.errors import ParameterError

__all__ = ["write_certificates"]

_VALIDITY = datetime.timedelta(days=365)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qkdstack test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_certificates(
    out_dir: str | os.PathLike[str], kme_ids: Sequence[str], sae_ids: Sequence[str]
) -> list[Path]:
    """Write a test CA and a certificate and key for each KME and SAE into ``out_dir``.

    Returns the paths written. Raises :class:`ParameterError` on an empty, repeated or unsafe ID
    (checked before anything is written)."""
    out = Path(out_dir)
    ids = [*kme_ids, *sae_ids]
    if not kme_ids and not sae_ids:
        raise ParameterError("Arguments '--kme'/'--sae' must name at least one ID, not none.")
    for ident in ids:
        if not ident or not all(ch.isalnum() or ch in "_.-" for ch in ident) or ident == "ca":
            raise ParameterError(
                f"Arguments '--kme'/'--sae' must be IDs of letters, digits or _.- (not 'ca'), "
                f"not {ident!r}."
            )
    if len(set(ids)) != len(ids):
        raise ParameterError(f"Arguments '--kme'/'--sae' must be distinct, not {ids!r}.")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"Argument '--out' must be a directory, not '{out}'.")
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("qkdstack test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    written = [out / "ca.crt", out / "ca.key"]
    (out / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(out / "ca.key", _key_pem(ca_key))
    for ident in ids:
        is_kme = ident in kme_ids
        key = ec.generate_private_key(ec.SECP256R1())
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        if is_kme:
            usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(ident))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if is_kme:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        (out / f"{ident}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(out / f"{ident}.key", _key_pem(key))
        written += [out / f"{ident}.crt", out / f"{ident}.key"]
    return written
