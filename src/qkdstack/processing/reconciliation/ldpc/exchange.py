"""The syndrome exchange both LDPC protocols share: Bob's opening, Alice's syndromes, Bob's LLRs.

Alice sends the syndrome ``s = H x`` of every frame, her punctured positions filled with fresh
secret bits; the syndrome rows those bits mask travel as public values (``masked_rows``,
``masked``) and the others as disclosed (``syndrome``), so the channel counts ``M - |R|`` bits of
leakage per frame (:func:`~qkdstack.processing.reconciliation.ldpc.frames.masked_rows`). Bob's
channel log-likelihood ratios are ``L = (1 - 2 y) ln((1 - Q) / Q)`` on key bits, a large known
value on shortened positions and 0 on punctured ones (Liveris, Xiong, Georghiades 2002; Elkouss et
al. 2010).

References
----------
A. D. Liveris, Z. Xiong, C. N. Georghiades, IEEE Commun. Lett. 6, 440 (2002).
D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, ITW 2010, arXiv:1006.2660.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.ldpc.codes import LDPCCode, syndrome
from qkdstack.processing.reconciliation.ldpc.frames import _STAGE, _FramePlan, masked_rows
from qkdstack.randomness import secret_bits
from qkdstack.typing import BitArray

__all__: list[str] = []

_LLR_KNOWN = 50.0  # LLR of a shortened (known) bit


def _begin(
    key: BitArray, qber: float, channel: ClassicalChannel, method: str, rng: np.random.Generator
) -> tuple[BitArray, int, int]:
    """Check Bob's inputs, draw the public frame seed and open the exchange with ``ec.start``."""
    bits = np.ascontiguousarray(key, dtype=np.uint8).copy()
    if bits.ndim != 1 or bits.shape[0] < 1:
        raise ParameterError(
            f"Argument 'key' must be a non-empty 1-D bit array, not shape {bits.shape}."
        )
    if not 0.0 < qber < 0.5:
        raise ParameterError(f"Argument 'qber' must be in (0, 0.5), not {qber}.")
    n_key = int(bits.shape[0])
    seed = int(rng.integers(0, 2**63))
    reply = channel.ask(Message("ec.start", public={"method": method, "n": n_key}))
    if reply.kind != "ec.ready":
        raise ProtocolAbort(f"LDPC: expected 'ec.ready', got {reply.kind!r}.", stage=_STAGE)
    return bits, n_key, seed


def _int(public: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = public.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise ProtocolAbort(
            f"LDPC message field {name!r} must be an int in [{low}, {high}), not {value!r}.",
            stage=_STAGE,
        )
    return value


def _punctured_syndromes(
    key: BitArray, plan: _FramePlan, code: LDPCCode, kind: str
) -> tuple[Message, BitArray]:
    """Alice's syndromes of every frame, punctured positions filled with fresh secret bits.

    Returns the reply (masked rows public, the others disclosed) and the punctured values.
    """
    d = plan.punctured.size
    values = secret_bits(plan.frames * d).reshape(plan.frames, d)
    rows = masked_rows(code, plan.punctured)
    rest = np.setdiff1d(np.arange(code.m), rows)
    synd = np.empty((plan.frames, code.m), dtype=np.uint8)
    size = plan.payload
    for f in range(plan.frames):
        word = np.zeros(code.n, dtype=np.uint8)
        chunk = key[f * size : (f + 1) * size]
        word[plan.payload_positions[: chunk.size]] = chunk
        word[plan.punctured] = values[f]
        synd[f] = syndrome(code, word)
    reply = Message(
        kind,
        public={"masked_rows": rows, "masked": synd[:, rows].reshape(-1)},
        disclosed={"syndrome": synd[:, rest].reshape(-1)},
    )
    return reply, values


def _read_syndromes(reply: Message, kind: str, plan: _FramePlan, code: LDPCCode) -> BitArray:
    """Bob's view of Alice's syndrome reply: the ``(frames, M)`` syndromes."""
    rows = reply.public.get("masked_rows")
    masked = reply.public.get("masked")
    rest_synd = reply.disclosed.get("syndrome")
    if (
        reply.kind != kind
        or not isinstance(rows, np.ndarray)
        or not isinstance(masked, np.ndarray)
        or not isinstance(rest_synd, np.ndarray)
        or rows.ndim != 1
        or rows.dtype.kind not in "iu"
        or (rows.size and (rows.min() < 0 or rows.max() >= code.m))
        or np.unique(rows).size != rows.size
        or masked.size != plan.frames * rows.size
        or rest_synd.size != plan.frames * (code.m - rows.size)
    ):
        raise ProtocolAbort("LDPC: malformed syndrome reply.", stage=_STAGE)
    rest = np.setdiff1d(np.arange(code.m), rows)
    synd = np.empty((plan.frames, code.m), dtype=np.uint8)
    synd[:, rows] = masked.reshape(plan.frames, rows.size)
    synd[:, rest] = rest_synd.reshape(plan.frames, rest.size)
    return synd


def _frame_llr(
    bits: BitArray, qber: float, plan: _FramePlan, frame: int
) -> npt.NDArray[np.float32]:
    """Bob's channel LLRs of one frame: key bits ``+-ln((1-Q)/Q)``, shortened known, punctured 0."""
    magnitude = math.log((1.0 - qber) / qber)
    size = plan.payload
    chunk = bits[frame * size : (frame + 1) * size]
    llr = np.zeros(plan.length, dtype=np.float32)
    llr[plan.payload_positions] = _LLR_KNOWN  # unused positions: known 0
    llr[plan.payload_positions[: chunk.size]] = magnitude * (1.0 - 2.0 * chunk)
    return llr


def _frame_llrs(bits: BitArray, qber: float, plan: _FramePlan) -> npt.NDArray[np.float32]:
    """:func:`_frame_llr` of every frame, shape ``(frames, N)``."""
    return np.stack([_frame_llr(bits, qber, plan, f) for f in range(plan.frames)])
