"""The public frame plan of LDPC reconciliation: code, frames, key bits and punctured positions.

Rate adaptation (Elkouss, Martinez-Mateo, Lancho, Martin, "Rate compatible protocol for information
reconciliation: an application to QKD", ITW 2010): the key is spread evenly over the fewest frames
of ``N`` bits, ``p`` key bits each. From the estimate ``Q`` a frame should leak
``L = ceil(f* h(Q) p)`` bits; the mother code with the fewest checks ``M >= L`` is taken, ``d = M - L``
of its positions are *punctured* (Alice fills them with fresh secret bits, Bob gives them LLR 0;
the syndrome bits they mask are sent as public values, see :func:`masked_rows`) and the other
``N - p - d`` are *shortened* (known zeros). Positions are a public random choice
(:func:`_frame_plan`). :func:`plan_frames` plans at a given ``f*``, :func:`default_plan` at the
measured defaults (:data:`DEFAULT_EFFICIENCY`, :data:`LONG_FRAME_LIMITS`,
:data:`TOP_RATE_EFFICIENCY`), :func:`plan_blind` for blind reconciliation (Martinez-Mateo, Elkouss,
Martin 2012).

References
----------
D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, ITW 2010, arXiv:1006.2660 (puncturing and
shortening). J. Martinez-Mateo, D. Elkouss, V. Martin, "Blind reconciliation", Quantum Inf.
Comput. 12, 791 (2012). D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, ISIT 2009
(efficiency f = M / (n h(Q)); Table I: density-evolution thresholds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ProtocolAbort
from qkdstack.processing.reconciliation.ldpc.codes import (
    _N,
    CODE_LENGTHS,
    CODE_RATES,
    LDPCCode,
    _checks,
    load_code,
)
from qkdstack.theory.entropy import binary_entropy

__all__ = [
    "DEFAULT_EFFICIENCY",
    "LONG_FRAME_LIMITS",
    "TOP_RATE_EFFICIENCY",
    "FramePlan",
    "LongFrameLimits",
    "default_plan",
    "masked_rows",
    "plan_blind",
    "plan_frames",
]

_STAGE = "reconciliation"
_MAX_SHORTENED = 0.2  # shortened fraction of a frame above which a shorter code is preferred


class FramePlan(NamedTuple):
    """The public plan of an ``ldpc`` run (:func:`plan_frames`)."""

    rate: float
    """Mother code rate (one of :data:`CODE_RATES`)."""
    frames: int
    """Number of frames."""
    payload: int
    """Key bits per frame (the last frame may carry fewer)."""
    punctured: int
    """Punctured positions per frame."""
    length: int
    """Mother code length (one of :data:`CODE_LENGTHS`)."""


def plan_frames(
    n_key: int, qber: float, target_efficiency: float, lengths: tuple[int, ...] = CODE_LENGTHS
) -> FramePlan:
    """Pick the mother code (rate, length), frames, key bits and punctured bits per frame.

    The key is spread evenly over the fewest frames ``F = ceil(n / N)``, ``p = ceil(n / F)`` key
    bits each, so no frame is mostly padding. A frame should leak ``L = ceil(f* h(Q) p)`` bits.
    Of the mother codes, the one with the fewest checks ``M >= L`` is taken and ``d = M - L`` of
    its positions are *punctured* (filled by Alice with secret random bits, unknown to Bob; the
    ``d`` syndrome bits they mask are not leakage, see :func:`masked_rows`), the other
    ``N - p - d`` non-key positions are *shortened* (known zeros). This is the rate-compatible
    construction of Elkouss, Martinez-Mateo, Lancho, Martin (2010): a mother code of rate
    ``R_0`` with ``d`` punctured and ``s`` shortened positions has rate
    ``R = (R_0 N - s) / (N - d - s)``, here ``1 - L / p`` exactly, as long as ``d <= M / 10``.
    Frame counts from ``F`` to ``2F`` (``p >= N / 2``) are tried, the longest codes
    (``N = 2^20``, then ``2^18``) first: the fit with the fewest shortened positions is taken if at
    most a fifth of the frame is shortened, else the next shorter codes, and failing that the least
    shortened fit of any length. ``lengths``: the code lengths allowed (default: all). With no fit
    at all, the 65536-bit codes are used with puncturing capped (and by the room ``N - p``),
    leaking more than ``f* h(Q)``:
    frames punctured by 14-19% of ``M`` failed about one in 20-50 at f* = 1.2, by up to 11% none
    of about 200 (2026-11-27, BENCHMARKS.md), and 46% of the rate-0.9 code failed 7 frames in 16
    at Q = 0.5%. Past the lowest rate, more frames (shorter payloads) are used.
    """
    h = float(binary_entropy(qber))
    by_checks = sorted(CODE_RATES, reverse=True)  # fewest checks first
    # Exact fits: 0 <= d = M - ceil(f* h p) <= M / 10 and p + d <= N, for 1 to 2x the fewest
    # frames (p >= N / 2). Heavily shortened high-rate codes decode badly (a rate-0.85 frame of
    # 100000 key bits in 262144 failed 6 times in 6 at Q = 6%, f* = 1.15), so the longest codes
    # that fit with at most a fifth of the frame shortened win; among those, the least shortening.
    best: tuple[float, FramePlan] | None = None
    for length in sorted(lengths, reverse=True):
        first = max(1, -(-n_key // length))
        for frames in range(first, max(first, -(-2 * n_key // length)) + 1):
            payload = -(-n_key // frames)
            leak = math.ceil(target_efficiency * h * payload)
            for rate in by_checks:
                m = _checks(rate, length)
                if m >= leak:
                    d = m - leak
                    if d <= min(m // 10, length - payload):
                        shortened = (length - payload - d) / length
                        if best is None or shortened < best[0]:
                            best = (shortened, FramePlan(rate, frames, payload, d, length))
                    break
        if best is not None and best[0] <= _MAX_SHORTENED:
            return best[1]
    if best is not None:
        return best[1]
    # Otherwise the fewest frames, puncturing capped (past the lowest rate: more frames).
    first = max(1, -(-n_key // _N))
    for frames in range(first, first + 64):
        payload = -(-n_key // frames)
        leak = math.ceil(target_efficiency * h * payload)
        for rate in by_checks:
            m = _checks(rate, _N)
            if m >= leak:
                d = max(0, min(m - leak, m // 10, _N - payload))
                return FramePlan(rate, frames, payload, d, _N)
    return FramePlan(CODE_RATES[0], first, -(-n_key // first), 0, _N)


DEFAULT_EFFICIENCY: Mapping[int, float] = MappingProxyType(
    {1048576: 1.10, 262144: 1.15, 65536: 1.25}
)
"""Default target efficiency ``f*`` by mother-code length (see :func:`default_plan`).

2^20-bit frames: 1.10, taken only for plans like the measured ones (:data:`LONG_FRAME_LIMITS`):
0 frames in error out of about 3,000 or more at each of Q = 2, 3, 4, 5, 6, 7 and 8%
(3.2 x 10^7-bit keys, 2026-11-27, BENCHMARKS.md). 2^18-bit frames: 1.15, the smallest value tried
that kept the frame error rate below 10^-3 at Q = 2, 4, 6 and 8% (0 of 3440-3741 frames each,
10^7-bit keys, 2026-11-27, BENCHMARKS.md); at 1.10, 9 of 369 frames failed at Q = 4% and 6 of 40
at Q = 2%. 65536-bit frames: 1.25 (BENCHMARKS.md gives the frame error rates measured there).
"""


class LongFrameLimits(NamedTuple):
    """Bounds within which a default plan on the 2^20-bit codes is taken (:func:`default_plan`)."""

    rates: tuple[float, ...]
    """Mother-code rates whose 2^20-bit codes were measured at f* = 1.10."""
    punctured: float
    """Largest punctured fraction of the checks, ``d / M``."""
    shortened: float
    """Largest shortened fraction of the frame, ``(N - p - d) / N``."""


LONG_FRAME_LIMITS = LongFrameLimits(
    rates=(0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85), punctured=0.033, shortened=0.075
)
"""The envelope of the plans measured at f* = 1.10 on 2^20-bit frames (BENCHMARKS.md): the codes
of rates 0.55-0.85 (Q = 2-8%), at most 3.3% of the checks punctured (15,395 at Q = 8%) and 7.3%
of the frame shortened (Q = 3%). Puncturing more costs margin: a 10^7-bit key at Q = 4% (11
frames, 7.6% of the checks punctured) failed 2 of 11 frames at f* = 1.10. Outside it the default
plan falls back to the 2^18-bit codes at 1.15."""


def _within_long_frame_limits(plan: FramePlan) -> bool:
    """Whether a 2^20-bit ``plan`` lies in :data:`LONG_FRAME_LIMITS`."""
    m = _checks(plan.rate, plan.length)
    shortened = plan.length - plan.payload - plan.punctured
    return (
        any(abs(plan.rate - rate) < 1e-9 for rate in LONG_FRAME_LIMITS.rates)
        and plan.punctured <= LONG_FRAME_LIMITS.punctured * m
        and shortened <= LONG_FRAME_LIMITS.shortened * plan.length
    )


TOP_RATE_EFFICIENCY = 1.35
"""Default ``f*`` where the plan lands on the rate-0.9 code (Q below about 1.5%), see
:func:`default_plan`."""


def default_plan(n_key: int, qber: float) -> FramePlan:
    """:func:`plan_frames` at the default ``f*`` of the code it lands on.

    Planned at ``DEFAULT_EFFICIENCY[L]`` with the lengths up to ``L`` of
    :data:`DEFAULT_EFFICIENCY`, for ``L`` from the longest down, until the plan uses length ``L``
    (and, for the 2^20-bit codes, lies within :data:`LONG_FRAME_LIMITS`; failing that, the last
    plan); if the plan uses the rate-0.9 code (low QBER), planned again at
    :data:`TOP_RATE_EFFICIENCY`.
    """
    longest = max(DEFAULT_EFFICIENCY)
    for length in sorted(DEFAULT_EFFICIENCY, reverse=True):
        allowed = tuple(k for k in DEFAULT_EFFICIENCY if k <= length)
        plan = plan_frames(n_key, qber, DEFAULT_EFFICIENCY[length], allowed)
        if plan.length == length and (length != longest or _within_long_frame_limits(plan)):
            break
    if plan.rate == max(CODE_RATES):
        # The rate-0.9 code's density-evolution threshold is f = 1.153 (Elkouss et al. 2009,
        # Table I: Q = 0.0109): below it no length decodes.
        plan = plan_frames(n_key, qber, TOP_RATE_EFFICIENCY, allowed)
    return plan


def masked_rows(code: LDPCCode, punctured: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rows ``R`` of ``H`` such that ``H[R, punctured]`` has full rank ``|R|`` = rank of the
    punctured columns (Gaussian elimination over GF(2)).

    Alice fills the punctured positions with fresh secret bits ``x_P``, so the syndrome entries
    ``s_R = H_K[R] x_K + H_P[R] x_P`` are uniform and independent of her key: they travel as public
    values, and only the other ``M - |R|`` syndrome bits are counted as disclosed. This is the
    ``M - p`` leakage of punctured codes (Elkouss et al. 2010; Martinez-Mateo, Elkouss, Martin
    2012) made visible to the channel.
    """
    column_of = np.full(code.n, -1, dtype=np.int64)
    column_of[punctured] = np.arange(punctured.size)
    sel = column_of[code.edge_var] >= 0
    rows = code.edge_check[sel]
    cols = column_of[code.edge_var[sel]]
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    # Each row restricted to the punctured columns as a bitset (a Python int), inserted in row
    # order into a basis keyed by leading bit: a row that does not reduce to zero is independent
    # of the rows kept before it. The kept rows span the row space of H[:, punctured], so their
    # count is its rank and H[kept, punctured] has full row rank. Rows are sparse here (a few
    # punctured columns each), so this costs about the number of such rows, not M x |punctured|.
    bounds = np.flatnonzero(np.diff(rows)) + 1
    basis: dict[int, int] = {}
    pivots: list[int] = []
    for group_rows, group_cols in zip(np.split(rows, bounds), np.split(cols, bounds), strict=True):
        if group_rows.size == 0:
            continue
        bitset = 0
        for j in group_cols.tolist():
            bitset ^= 1 << j
        while bitset:
            lead = bitset.bit_length() - 1
            if lead not in basis:
                basis[lead] = bitset
                pivots.append(int(group_rows[0]))
                break
            bitset ^= basis[lead]
    return np.sort(np.array(pivots, dtype=np.int64))


@dataclass(frozen=True)
class _FramePlan:
    rate: float
    length: int
    punctured: npt.NDArray[np.int64]  # frame positions, in reveal order
    payload_positions: npt.NDArray[np.int64]  # the other positions, key bits in the first ones
    payload: int  # key bits per frame (the first ``payload`` payload positions; the rest are 0)
    frames: int
    step: int  # punctured bits revealed per round


def _frame_plan(
    rate: float, length: int, n_key: int, punctured_count: int, payload: int, step: int, seed: int
) -> _FramePlan:
    rng = np.random.default_rng([seed, 2])
    order = rng.permutation(length).astype(np.int64)
    punctured = order[:punctured_count]
    positions = order[punctured_count:]  # random order: key bits first, the rest shortened
    if not 1 <= payload <= positions.size:
        raise ProtocolAbort(f"LDPC: payload {payload} does not fit a frame.", stage=_STAGE)
    frames = max(1, -(-n_key // payload))
    return _FramePlan(rate, length, punctured, positions, payload, frames, step)


def plan_blind(
    n_key: int, qber: float, start_efficiency: float, fraction: float
) -> tuple[float, int, int]:
    """Mother rate, punctured bits per frame and key bits per frame for blind reconciliation.

    A frame carrying ``p`` key bits with ``d`` punctured positions starts at leakage ``M - d`` and
    ends, all revealed, at ``M``. The key is spread evenly over ``ceil(n / (N - d_0))`` frames with
    ``d_0 = fraction N``; then, from the highest rate down, the first mother code for which
    ``d = M - ceil(start_efficiency h(Q) p)`` is at least ``d_0`` (and leaves room for ``p``) is
    taken, so the first attempt runs at ``start_efficiency`` whatever the spacing of the code rates.
    """
    d0 = round(fraction * _N)
    frames = max(1, -(-n_key // (_N - d0)))
    payload = -(-n_key // frames)
    start_leak = math.ceil(start_efficiency * float(binary_entropy(qber)) * payload)
    for rate in sorted(CODE_RATES, reverse=True):
        d = load_code(rate).m - start_leak
        if d0 <= d <= _N - payload:
            return rate, d, payload
    # No code fits exactly: the lowest rate with the largest puncturing that leaves room.
    rate = CODE_RATES[0]
    return rate, max(0, min(load_code(rate).m - start_leak, _N - payload, _N // 2)), payload
