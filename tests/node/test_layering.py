"""The node sits below the key store and the command line: importing it loads neither, and the
key store satisfies the node's key-sink protocol."""

from __future__ import annotations

import subprocess
import sys


def test_the_node_imports_neither_the_key_store_nor_the_cli() -> None:
    code = (
        "import sys, qkdstack.node, qkdstack.node.alice, qkdstack.node.bob, qkdstack.node.proxy\n"
        "print(sorted(m for m in sys.modules if m.startswith(('qkdstack.kms', 'qkdstack.cli'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_key_store_has_every_key_sink_method() -> None:
    from qkdstack.kms.store import KeyStore
    from qkdstack.node.sink import KeySink

    wanted = {"put_pending", "confirm", "drop", "list_pending", "is_confirmed"}
    assert wanted <= {m for m in dir(KeySink) if not m.startswith("_")}
    assert all(callable(getattr(KeyStore, m)) for m in wanted)
