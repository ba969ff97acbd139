"""``qkd keys``: what a node's key store holds (IDs, sizes, times; never material)."""

from __future__ import annotations

import datetime
import hmac
from pathlib import Path

import typer

from qkdstack.errors import ParameterError

__all__ = ["register"]


def _open(option: str, path: Path):  # type: ignore[no-untyped-def]
    from qkdstack.kms.store import KeyStore

    if not path.is_file():
        raise ParameterError(f"Argument '{option}' must be an existing key store, not '{path}'.")
    return KeyStore(path)


def register(app: typer.Typer) -> None:
    """Add ``qkd keys`` to the application."""
    keys = typer.Typer(name="keys", help="Inspect node key stores.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("list")
    def list_keys(
        store: Path = typer.Option(..., "--store", help="Key store database."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    ) -> None:
        """List the confirmed keys: IDs, sizes and creation times (never material)."""
        with _open("--store", store) as db:
            rows = db.list_keys()
            pending = db.list_pending()
        if as_json:
            from qkdstack.cli.report import print_json

            print_json(
                {
                    "keys": [{"key_id": k, "size_bits": b, "created_unix": t} for k, b, t in rows],
                    "count": len(rows),
                    "pending_batches": len(pending),
                }
            )
            return
        for key_id, size_bits, created in rows:
            when = datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat()
            print(f"{key_id}  {size_bits:>5} bits  {when}")
        print(f"{len(rows)} keys, {len(pending)} pending batches")

    @keys.command("compare")
    def compare(
        store_a: Path = typer.Argument(..., metavar="DB_A"),
        store_b: Path = typer.Argument(..., metavar="DB_B"),
    ) -> None:
        """Exit 0 when both stores hold the same key IDs with identical material, else 1
        (prints counts only)."""
        with _open("DB_A", store_a) as a, _open("DB_B", store_b) as b:
            keys_a, keys_b = a.material_by_id(), b.material_by_id()
        common = keys_a.keys() & keys_b.keys()
        differ = sum(not hmac.compare_digest(keys_a[k], keys_b[k]) for k in common)
        only_a, only_b = len(keys_a) - len(common), len(keys_b) - len(common)
        same = differ == 0 and only_a == 0 and only_b == 0
        print(
            f"{'identical' if same else 'different'}: {len(common)} common keys, "
            f"{differ} with different material, {only_a} only in DB_A, {only_b} only in DB_B"
        )
        raise typer.Exit(0 if same else 1)
