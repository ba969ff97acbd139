"""What a node is told: addresses, its round source, post-processing options, limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qkdstack.node.fibre import RoundSource
from qkdstack.node.framing import MAX_FRAME_BYTES
from qkdstack.processing.pipeline import PipelineOptions

__all__ = ["NodeConfig", "RoundReport"]

RoundReport = dict[str, Any]
"""One round's outcome: ``round``, ``secret_bits``, ``net_secret_bits``, ``qber``, ``aborted``,
``abort_reason``, ``seconds``, ``auth_key_bits_used``, ``auth_pool_bits`` (and more)."""


@dataclass
class NodeConfig:
    """A node's settings.

    Attributes
    ----------
    host, port : str, int
        Alice: where she listens; Bob: where he connects (the classical channel).
    fibre_host, fibre_port : str, int
        The fibre connection (Alice listens, Bob connects).
    source : RoundSource
    options : PipelineOptions
    rounds : int or None
        Rounds to run (Bob: attempts; Alice: stop after this many or Bob's goodbye); None: until
        stopped.
    window : int or None
        Rounds in flight at once (Bob): hides the network's round-trip time. None (the
        default): sized from the measured round-trip time and CPU per round
        (:func:`qkdstack.node.window.auto_window`).
    timeout_s : float
        How long to wait for any expected frame before the round is dropped.
    connect_timeout_s : float
        How long Bob keeps retrying (with backoff) to reach Alice before he gives up.
    on_round : callable
        Called with each round's :data:`RoundReport`.
    """

    host: str
    port: int
    fibre_host: str
    fibre_port: int
    source: RoundSource
    options: PipelineOptions
    rounds: int | None = None
    window: int | None = None
    timeout_s: float = 30.0
    connect_timeout_s: float = 30.0
    max_frame_bytes: int = MAX_FRAME_BYTES
    on_round: Callable[[RoundReport], None] = field(default=lambda report: None)
    on_event: Callable[[str], None] = field(default=lambda message: None)
