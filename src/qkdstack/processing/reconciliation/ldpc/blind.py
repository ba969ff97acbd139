"""The ``ldpc-blind`` method: blind reconciliation, punctured bits revealed on failure.

Every frame starts with ``d`` punctured positions (leakage ``M - d``); the frames that do not
decode get ``step`` of their punctured bits revealed per round and are decoded again, until they
decode or all are revealed (leakage ``M``) (Martinez-Mateo, Elkouss, Martin 2012). The codes are
the 65536-bit ones.

Messages: ``ec.start`` (public ``method, n``) answered by ``ec.ready``; ``ec.blind`` (public
``rate, punctured, step, seed, payload, frames``) answered as ``ec.syndromes`` is by the ``ldpc``
method; then ``ec.reveal`` (public ``frames``) rounds answered by ``ec.revealed`` (disclosed
``values``).

References
----------
J. Martinez-Mateo, D. Elkouss, V. Martin, "Blind reconciliation", Quantum Inf. Comput. 12, 791
(2012).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.base import (
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
)
from qkdstack.processing.reconciliation.ldpc.codes import _N, CODE_RATES, load_code
from qkdstack.processing.reconciliation.ldpc.decoder import decode_syndromes
from qkdstack.processing.reconciliation.ldpc.exchange import (
    _LLR_KNOWN,
    _begin,
    _frame_llrs,
    _int,
    _punctured_syndromes,
    _read_syndromes,
)
from qkdstack.processing.reconciliation.ldpc.frames import (
    _STAGE,
    _frame_plan,
    _FramePlan,
    plan_blind,
)
from qkdstack.randomness import as_generator
from qkdstack.typing import BitArray, Seed

__all__ = ["METHOD", "AliceBlind", "BobBlind"]


class AliceBlind(AliceReconciler):
    """Alice's half of blind reconciliation: syndromes of punctured frames, then reveals."""

    def __init__(self, key: BitArray, params: Mapping[str, Any]) -> None:
        self._key = np.ascontiguousarray(key, dtype=np.uint8)
        n = _int(params, "n", 1, 2**40)
        if n != self._key.shape[0]:
            raise ProtocolAbort(
                f"LDPC: Bob's key has {n} bits but Alice's has {self._key.shape[0]}.", stage=_STAGE
            )
        self._plan: _FramePlan | None = None
        self._punct_values: BitArray | None = None
        self._revealed: npt.NDArray[np.int64] | None = None

    def handle(self, request: Message) -> Message:
        """Answer ``ec.start``, ``ec.blind`` (syndromes) and ``ec.reveal``."""
        if request.kind == "ec.start":
            return Message("ec.ready")
        if request.kind == "ec.blind":
            return self._syndromes(request)
        if request.kind == "ec.reveal":
            return self._reveal(request)
        raise ProtocolAbort(f"LDPC: unexpected message kind {request.kind!r}.", stage=_STAGE)

    def _syndromes(self, request: Message) -> Message:
        rate = request.public.get("rate")
        if rate not in CODE_RATES:
            raise ProtocolAbort(f"LDPC: unknown code rate {rate!r}.", stage=_STAGE)
        code = load_code(float(rate))
        d = _int(request.public, "punctured", 0, code.n // 2 + 1)
        step = _int(request.public, "step", 1, code.n)
        seed = _int(request.public, "seed", 0, 2**63)
        payload = _int(request.public, "payload", 1, code.n + 1)
        plan = _frame_plan(float(rate), _N, self._key.shape[0], d, payload, step, seed)
        if _int(request.public, "frames", 1, 2**40) != plan.frames:
            raise ProtocolAbort("LDPC: frame count does not cover the key.", stage=_STAGE)
        # Fresh secret bits in the punctured positions: they mask |R| syndrome bits.
        reply, values = _punctured_syndromes(self._key, plan, code, "ec.blind")
        self._plan = plan
        self._punct_values = values
        self._revealed = np.zeros(plan.frames, dtype=np.int64)
        return reply

    def _reveal(self, request: Message) -> Message:
        if self._plan is None or self._punct_values is None or self._revealed is None:
            raise ProtocolAbort("LDPC: 'ec.reveal' before 'ec.blind'.", stage=_STAGE)
        frames = np.asarray(request.public.get("frames"))
        if (
            frames.ndim != 1
            or frames.dtype.kind not in "iu"
            or (frames.size and (frames.min() < 0 or frames.max() >= self._plan.frames))
            or np.unique(frames).size != frames.size
        ):
            raise ProtocolAbort("LDPC: malformed reveal request.", stage=_STAGE)
        d = self._plan.punctured.size
        out = []
        for f in frames.tolist():
            lo = int(self._revealed[f])
            hi = min(d, lo + self._plan.step)
            out.append(self._punct_values[f, lo:hi])
            self._revealed[f] = hi
        values = np.concatenate(out) if out else np.zeros(0, dtype=np.uint8)
        return Message("ec.revealed", disclosed={"values": values.astype(np.uint8)})


class BobBlind(BobReconciler):
    """Bob's half of blind reconciliation (Martinez-Mateo, Elkouss, Martin 2012).

    Parameters
    ----------
    seed : int, Generator or None
        Drives the public puncturing pattern.
    start_efficiency : float
        Efficiency of the first decoding attempt (all modulated bits punctured).
    fraction : float
        Modulated fraction ``d / N`` of each frame.
    rounds : int
        Reveal rounds that take a frame from all punctured to all shortened.
    max_iter : int
        Belief-propagation iteration limit.
    """

    def __init__(
        self,
        seed: Seed = None,
        start_efficiency: float = 1.0,
        fraction: float = 0.1,
        rounds: int = 15,
        max_iter: int = 60,
    ) -> None:
        if not 0.0 < fraction <= 0.5:
            raise ParameterError(f"Argument 'fraction' must be in (0, 0.5], not {fraction}.")
        if rounds < 1:
            raise ParameterError(f"Argument 'rounds' must be >= 1, not {rounds}.")
        if not start_efficiency > 0.0:
            raise ParameterError(
                f"Argument 'start_efficiency' must be > 0, not {start_efficiency}."
            )
        self._rng = as_generator(seed)
        self._start = start_efficiency
        self._fraction = fraction
        self._rounds = rounds
        self._max_iter = max_iter

    def reconcile(
        self, key: BitArray, qber: float, channel: ClassicalChannel
    ) -> ReconciliationOutcome:
        """Decode every frame, revealing punctured bits of the failed ones round by round."""
        bits, n_key, seed = _begin(key, qber, channel, "ldpc-blind", self._rng)
        rate, d, payload = plan_blind(n_key, qber, self._start, self._fraction)
        step = max(1, -(-d // self._rounds))
        plan = _frame_plan(rate, _N, n_key, d, payload, step, seed)
        code = load_code(rate)
        reply = channel.ask(
            Message(
                "ec.blind",
                public={
                    "rate": rate,
                    "punctured": d,
                    "step": step,
                    "seed": seed,
                    "payload": payload,
                    "frames": plan.frames,
                },
            )
        )
        synd = _read_syndromes(reply, "ec.blind", plan, code)
        llrs = _frame_llrs(bits, qber, plan)
        size = plan.payload
        revealed = np.zeros(plan.frames, dtype=np.int64)
        pending = np.arange(plan.frames)
        while True:
            still = []
            words, _, ok = decode_syndromes(code, llrs[pending], synd[pending], self._max_iter)
            for i, f in enumerate(pending.tolist()):
                if ok[i]:
                    chunk_len = min(size, n_key - f * size)
                    bits[f * size : f * size + chunk_len] = words[
                        i, plan.payload_positions[:chunk_len]
                    ]
                else:
                    still.append(f)
            pending = np.array([f for f in still if revealed[f] < d], dtype=np.int64)
            if pending.size == 0:
                break
            reply = channel.ask(Message("ec.reveal", public={"frames": pending}))
            values = reply.disclosed.get("values")
            counts = np.minimum(revealed[pending] + step, d) - revealed[pending]
            if (
                reply.kind != "ec.revealed"
                or not isinstance(values, np.ndarray)
                or values.size != int(counts.sum())
            ):
                raise ProtocolAbort("LDPC: malformed reveal reply.", stage=_STAGE)
            offset = 0
            for f, c in zip(pending.tolist(), counts.tolist(), strict=True):
                positions = plan.punctured[revealed[f] : revealed[f] + c]
                llrs[f, positions] = _LLR_KNOWN * (1.0 - 2.0 * values[offset : offset + c])
                offset += c
                revealed[f] += c
        failed = len(still)
        return ReconciliationOutcome(key=bits, frames=plan.frames, frames_failed=failed)


def _make_blind_bob(seed: Seed = None, **options: Any) -> BobBlind:
    unknown = set(options) - {"start_efficiency", "fraction", "rounds", "max_iter"}
    if unknown:
        raise ParameterError(
            "Method 'ldpc-blind' takes 'seed', 'start_efficiency', 'fraction', 'rounds', "
            f"'max_iter', not {sorted(unknown)}."
        )
    return BobBlind(seed=seed, **options)


def _make_blind_alice(key: BitArray, params: Mapping[str, Any]) -> AliceBlind:
    return AliceBlind(key, params)


METHOD = Method(
    "ldpc-blind",
    _make_blind_bob,
    _make_blind_alice,
    "Blind LDPC reconciliation: punctured frames, punctured bits revealed on failure "
    "(Martinez-Mateo, Elkouss, Martin 2012).",
)
"""The ``ldpc-blind`` registry entry (registered by the package's ``__init__``)."""
