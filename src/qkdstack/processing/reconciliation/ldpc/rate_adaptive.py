"""The ``ldpc`` method: one-way, rate-adapted LDPC syndrome reconciliation.

Bob plans the frames (:func:`~qkdstack.processing.reconciliation.ldpc.frames.default_plan` or
:func:`~qkdstack.processing.reconciliation.ldpc.frames.plan_frames`), Alice answers with the
syndromes of her frames, Bob decodes every frame once. A frame whose decoder does not reach the
syndrome is reported failed (``frames_failed``); its key must not be used. The efficiency is
``f = leaked / (n h(Q))`` (Elkouss et al. 2009).

Messages: ``ec.start`` (public ``method, n``) answered by ``ec.ready``; ``ec.syndromes`` (public
``rate, length, frames, payload, punctured, seed``) answered by ``ec.syndromes`` with the masked
syndrome bits public (``masked_rows, masked``) and the rest disclosed (``syndrome``).

References
----------
D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, ISIT 2009 (efficiency f = M / (n h(Q))).
D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, ITW 2010, arXiv:1006.2660.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.base import (
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
)
from qkdstack.processing.reconciliation.ldpc.codes import CODE_LENGTHS, CODE_RATES, load_code
from qkdstack.processing.reconciliation.ldpc.decoder import decode_syndromes
from qkdstack.processing.reconciliation.ldpc.exchange import (
    _begin,
    _frame_llrs,
    _int,
    _punctured_syndromes,
    _read_syndromes,
)
from qkdstack.processing.reconciliation.ldpc.frames import (
    _STAGE,
    _frame_plan,
    default_plan,
    plan_frames,
)
from qkdstack.randomness import as_generator
from qkdstack.typing import BitArray, Seed

__all__ = ["METHOD", "AliceLDPC", "BobLDPC"]


class AliceLDPC(AliceReconciler):
    """Alice's half: sends the syndromes of her frames."""

    def __init__(self, key: BitArray, params: Mapping[str, Any]) -> None:
        self._key = np.ascontiguousarray(key, dtype=np.uint8)
        n = _int(params, "n", 1, 2**40)
        if n != self._key.shape[0]:
            raise ProtocolAbort(
                f"LDPC: Bob's key has {n} bits but Alice's has {self._key.shape[0]}.", stage=_STAGE
            )

    def handle(self, request: Message) -> Message:
        """Answer ``ec.start`` and ``ec.syndromes``."""
        if request.kind == "ec.start":
            return Message("ec.ready")
        if request.kind != "ec.syndromes":
            raise ProtocolAbort(f"LDPC: unexpected message kind {request.kind!r}.", stage=_STAGE)
        rate = request.public.get("rate")
        if rate not in CODE_RATES:
            raise ProtocolAbort(f"LDPC: unknown code rate {rate!r}.", stage=_STAGE)
        length = request.public.get("length")
        if length not in CODE_LENGTHS:
            raise ProtocolAbort(f"LDPC: unknown code length {length!r}.", stage=_STAGE)
        code = load_code(float(rate), int(length))
        d = _int(request.public, "punctured", 0, code.n // 2 + 1)
        payload = _int(request.public, "payload", 1, code.n + 1)
        seed = _int(request.public, "seed", 0, 2**63)
        plan = _frame_plan(float(rate), code.n, self._key.shape[0], d, payload, 1, seed)
        if _int(request.public, "frames", 1, 2**40) != plan.frames:
            raise ProtocolAbort("LDPC: frame count does not cover the key.", stage=_STAGE)
        reply, _ = _punctured_syndromes(self._key, plan, code, "ec.syndromes")
        return reply


class BobLDPC(BobReconciler):
    """Bob's half: plans the frames, asks for the syndromes, decodes.

    Parameters
    ----------
    seed : int, Generator or None
        Drives the public choice of punctured and shortened positions.
    target_efficiency : float or None
        The ``f*`` that sets the leakage ``f* h(Q)`` per key bit (> 1; higher is safer and
        leaks more). None: the default of :func:`default_plan`: 1.10 on 2^20-bit frames (within
        :data:`LONG_FRAME_LIMITS`), 1.15 on 2^18-bit frames, 1.25 on 65536-bit ones, 1.35 on
        the rate-0.9 code (QBER below about 1.5%).
    max_iter : int
        Belief-propagation iteration limit.
    """

    def __init__(
        self, seed: Seed = None, target_efficiency: float | None = None, max_iter: int = 100
    ) -> None:
        if target_efficiency is not None and not target_efficiency > 1.0:
            raise ParameterError(
                f"Argument 'target_efficiency' must be > 1, not {target_efficiency}."
            )
        if max_iter < 1:
            raise ParameterError(f"Argument 'max_iter' must be >= 1, not {max_iter}.")
        self._rng = as_generator(seed)
        self._target = target_efficiency
        self._max_iter = max_iter

    def reconcile(
        self, key: BitArray, qber: float, channel: ClassicalChannel
    ) -> ReconciliationOutcome:
        """Correct ``key`` frame by frame; frames that do not decode are counted as failed."""
        bits, n_key, seed = _begin(key, qber, channel, "ldpc", self._rng)
        rate, frames, payload, d, length = (
            default_plan(n_key, qber)
            if self._target is None
            else plan_frames(n_key, qber, self._target)
        )
        plan = _frame_plan(rate, length, n_key, d, payload, 1, seed)
        code = load_code(rate, length)
        reply = channel.ask(
            Message(
                "ec.syndromes",
                public={
                    "rate": rate,
                    "length": length,
                    "frames": frames,
                    "payload": payload,
                    "punctured": d,
                    "seed": seed,
                },
            )
        )
        synd = _read_syndromes(reply, "ec.syndromes", plan, code)
        words, _, ok = decode_syndromes(code, _frame_llrs(bits, qber, plan), synd, self._max_iter)
        for f in np.flatnonzero(ok).tolist():
            chunk = min(payload, n_key - f * payload)
            bits[f * payload : f * payload + chunk] = words[f, plan.payload_positions[:chunk]]
        return ReconciliationOutcome(key=bits, frames=frames, frames_failed=frames - int(ok.sum()))


def _make_bob(seed: Seed = None, **options: Any) -> BobLDPC:
    unknown = set(options) - {"target_efficiency", "max_iter"}
    if unknown:
        raise ParameterError(
            f"Method 'ldpc' takes 'seed', 'target_efficiency', 'max_iter', not {sorted(unknown)}."
        )
    return BobLDPC(seed=seed, **options)


def _make_alice(key: BitArray, params: Mapping[str, Any]) -> AliceLDPC:
    return AliceLDPC(key, params)


METHOD = Method(
    "ldpc",
    _make_bob,
    _make_alice,
    "LDPC syndrome decoding, rate-adapted by puncturing and shortening mother codes of rates "
    "0.50-0.90 (PEG, 65536 bits; quasi-cyclic, 2^18 and 2^20 bits) (Elkouss et al. 2009-2010).",
)
"""The ``ldpc`` registry entry (registered by the package's ``__init__``)."""
