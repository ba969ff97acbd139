"""One party's process: Alice and Bob as separate nodes over TCP.

* :mod:`~qkdstack.node.framing` - typed, versioned, numbered frames;
* :mod:`~qkdstack.node.transport` - one connection's frames with their order checks;
* :mod:`~qkdstack.node.fibre` - each round's records (Bob's half over the fibre connection);
* :mod:`~qkdstack.node.pool` - the durable authentication pool (pads never reused);
* :mod:`~qkdstack.node.sink` - the two-phase key sink a key store satisfies;
* :mod:`~qkdstack.node.alice`, :mod:`~qkdstack.node.bob` - the two roles;
* :mod:`~qkdstack.node.runner` - a node's process with its signal handling;
* :mod:`~qkdstack.node.proxy` - a man in the middle and a delay line, for tests and benchmarks.

The node sits above :mod:`qkdstack.processing` and below the key store: it never imports
:mod:`qkdstack.kms` or :mod:`qkdstack.cli`.
"""

from qkdstack.node.config import NodeConfig, RoundReport
from qkdstack.node.fibre import RoundSource
from qkdstack.node.messages import AUTH_BITS_PER_ROUND, AUTH_PADS_PER_ROUND, KEY_SIZE_BITS
from qkdstack.node.pool import DEFAULT_PSK_BITS, AuthPool, read_psk, write_psk
from qkdstack.node.runner import run_node
from qkdstack.node.sink import KeySink, MemorySink

__all__ = [
    "AUTH_BITS_PER_ROUND",
    "AUTH_PADS_PER_ROUND",
    "DEFAULT_PSK_BITS",
    "KEY_SIZE_BITS",
    "AuthPool",
    "KeySink",
    "MemorySink",
    "NodeConfig",
    "RoundReport",
    "RoundSource",
    "read_psk",
    "run_node",
    "write_psk",
]
