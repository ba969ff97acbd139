"""Run one node until its rounds are done or it is stopped (SIGINT/SIGTERM: the rounds in flight
finish or are dropped cleanly; nothing half-stored is left, see :mod:`qkdstack.node.bob`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Literal

from qkdstack.node.alice import AliceServer
from qkdstack.node.bob import BobClient
from qkdstack.node.config import NodeConfig
from qkdstack.node.pool import AuthPool
from qkdstack.node.sink import KeySink

__all__ = ["run_node"]


def run_node(
    role: Literal["alice", "bob"], config: NodeConfig, pool: AuthPool, sink: KeySink
) -> None:
    """Run Alice's server or Bob's client in a fresh event loop; raise on a fatal error.

    The interpreter's thread switch interval is shortened (5 ms -> 0.5 ms) for the run: the
    event loop thread, which carries every frame, must get the GIL back quickly from the rounds'
    worker threads, or each round trip waits for a switch.
    """
    import sys

    previous = sys.getswitchinterval()
    sys.setswitchinterval(5e-4)
    try:
        _run(role, config, pool, sink)
    finally:
        sys.setswitchinterval(previous)


def _run(role: Literal["alice", "bob"], config: NodeConfig, pool: AuthPool, sink: KeySink) -> None:

    async def main() -> None:
        node: AliceServer | BobClient
        if role == "alice":
            node = AliceServer(config, pool, sink)
            work = node.serve()
        else:
            node = BobClient(config, pool, sink)
            work = node.run()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, node.stop)
        await work

    asyncio.run(main())
