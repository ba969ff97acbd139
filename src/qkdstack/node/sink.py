"""Where a node puts its keys: a two-phase key sink (pending, then confirmed or dropped).

The node does not know the key store; it writes through this protocol, which
:class:`qkdstack.kms.store.KeyStore` satisfies (the command line wires one into the other). A
round's keys are put as *pending* under a batch ID on both sides, confirmed once both sides hold
them, and pending batches are reconciled after a crash (:mod:`qkdstack.node.bob`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from qkdstack.typing import BitArray

__all__ = ["KeySink", "MemorySink"]


class KeySink(Protocol):
    """The store operations a node needs (all durable before they return)."""

    def put_pending(
        self,
        batch_id: str,
        key: BitArray,
        key_ids: Sequence[str],
        key_size_bits: int = 256,
        source: str = "qkd-node",
    ) -> None:
        """Store one key of ``key_size_bits`` per ID, cut from ``key``, as pending."""
        ...

    def confirm(self, batch_id: str) -> None:
        """Make the pending batch's keys usable (idempotent)."""
        ...

    def drop(self, batch_id: str) -> None:
        """Delete a pending batch (idempotent)."""
        ...

    def list_pending(self) -> list[str]:
        """The pending batch IDs."""
        ...

    def is_confirmed(self, batch_id: str) -> bool:
        """Whether the batch was confirmed here."""
        ...


class MemorySink:
    """An in-memory :class:`KeySink` (tests, benchmarks): nothing survives the process."""

    def __init__(self) -> None:
        self.pending: dict[str, list[tuple[str, bytes]]] = {}
        self.confirmed: dict[str, list[tuple[str, bytes]]] = {}
        self.dropped: set[str] = set()

    def put_pending(
        self,
        batch_id: str,
        key: BitArray,
        key_ids: Sequence[str],
        key_size_bits: int = 256,
        source: str = "qkd-node",
    ) -> None:
        import numpy as np

        packed = np.packbits(key[: len(key_ids) * key_size_bits]).tobytes()
        step = key_size_bits // 8
        self.pending[batch_id] = [
            (kid, packed[i * step : (i + 1) * step]) for i, kid in enumerate(key_ids)
        ]

    def confirm(self, batch_id: str) -> None:
        if batch_id in self.pending:
            self.confirmed[batch_id] = self.pending.pop(batch_id)

    def drop(self, batch_id: str) -> None:
        self.pending.pop(batch_id, None)
        self.dropped.add(batch_id)

    def list_pending(self) -> list[str]:
        return sorted(self.pending)

    def is_confirmed(self, batch_id: str) -> bool:
        return batch_id in self.confirmed
