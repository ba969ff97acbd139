"""LDPC syndrome reconciliation: one-way error correction with belief-propagation decoding.

Alice and Bob cut their keys into frames. For each frame Alice sends the syndrome ``s = H x`` of
her bits under a low-density parity-check matrix ``H`` (``M x N``); Bob decodes his noisy copy
``y`` to the word closest to ``y`` with that syndrome, by sum-product belief propagation on the
Tanner graph of ``H`` with channel log-likelihood ratios ``L = (1 - 2 y) ln((1 - Q) / Q)`` (Gallager
1962; MacKay 1999; syndrome decoding as in Liveris, Xiong, Georghiades 2002). The syndrome bits
not masked by punctured positions (below) are the leakage of the frame.

Rate adaptation (Elkouss, Martinez-Mateo, Lancho, Martin, "Rate compatible protocol for information
reconciliation: an application to QKD", ITW 2010): the key is spread evenly over the fewest frames
of ``N`` bits, ``p`` key bits each. From the estimate ``Q`` a frame should leak
``L = ceil(f* h(Q) p)`` bits; Bob takes the mother code with the fewest checks ``M >= L``,
*punctures* ``d = M - L`` of its positions (Alice fills them with fresh secret bits, Bob gives them
LLR 0; the syndrome bits they mask are sent as public values, see :func:`masked_rows`) and
*shortens* the other ``N - p - d`` (known zeros). Positions are a public random choice. A frame
whose decoder does not reach the syndrome is reported failed (``frames_failed``); its key must not
be used. The efficiency is ``f = leaked / (n h(Q))`` (Elkouss et al. 2009).

Codes: mother codes of rates 0.50-0.90 (step 0.05) at two lengths, built by
``scripts/make_ldpc_codes.py`` from the BSC-optimised degree distributions of Elkouss et al. 2009
(Table I) and shipped as ``codes/ldpc_R<rate>_N<N>.npz``: 65536 bits, by progressive edge growth
(Hu et al. 2005), stored edge by edge; 262144 = 2^18 bits, quasi-cyclic: a 1024-column base graph
grown by progressive edge growth, lifted by 256 x 256 circulant permutations whose shifts are
chosen to leave no 4-cycle and few 6-cycles (Fossorier 2004), stored as base edges and shifts
(~17 kB per code). Long keys use the 2^18-bit codes (:func:`plan_frames`). Decoding: sum-product
with a layered schedule (:func:`decode_syndrome`).

Messages (``ldpc``): ``ec.start`` (public ``method, n``); ``ec.syndromes`` (public ``rate, length,
frames, payload, punctured, seed``) answered by ``ec.syndromes`` with the masked syndrome bits
public (``masked_rows, masked``) and the rest disclosed (``syndrome``). ``ldpc-blind`` sends ``ec.blind``
(the same plus ``step``) and then ``ec.reveal`` rounds.

References
----------
R. G. Gallager, "Low-density parity-check codes", IRE Trans. Inf. Theory 8, 21 (1962).
A. D. Liveris, Z. Xiong, C. N. Georghiades, "Compression of binary sources with side information
at the decoder using LDPC codes", IEEE Commun. Lett. 6, 440 (2002).
D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, "Efficient reconciliation protocol for
discrete-variable quantum key distribution", ISIT 2009 (efficiency f = M / (n h(Q))).
D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, ITW 2010, arXiv:1006.2660 (puncturing and
shortening). J. Martinez-Mateo, D. Elkouss, V. Martin, "Blind reconciliation", Quantum Inf. Comput.
12, 791 (2012). (Section and equation numbers were not checked against the papers.)
M. P. C. Fossorier, "Quasi-cyclic low-density parity-check codes from circulant permutation
matrices", IEEE Trans. Inf. Theory 50, 1788 (2004).
X.-Y. Hu, E. Eleftheriou, D.-M. Arnold, "Regular and irregular progressive edge-growth Tanner
graphs", IEEE Trans. Inf. Theory 51, 386 (2005).
E. Sharon, S. Litsyn, J. Goldberger, "Efficient serial message-passing schedules for LDPC
decoding", IEEE Trans. Inf. Theory 53, 4076 (2007).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.base import (
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
    register_method,
)
from qkdstack.randomness import as_generator, secret_bits
from qkdstack.theory.entropy import binary_entropy
from qkdstack.typing import BitArray, Seed

__all__ = [
    "CODE_LENGTHS",
    "CODE_RATES",
    "DEFAULT_EFFICIENCY",
    "LONG_FRAME_LIMITS",
    "TOP_RATE_EFFICIENCY",
    "AliceBlind",
    "AliceLDPC",
    "BobBlind",
    "BobLDPC",
    "FramePlan",
    "LDPCCode",
    "LongFrameLimits",
    "decode_syndrome",
    "decode_syndromes",
    "default_plan",
    "load_code",
    "masked_rows",
    "plan_blind",
    "plan_frames",
    "syndrome",
]

_STAGE = "reconciliation"
_N = 65536
_N_BASE = 1024  # columns of the base graph of the quasi-cyclic codes
_MAX_SHORTENED = 0.2  # shortened fraction of a frame above which a shorter code is preferred
CODE_RATES: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
"""Rates of the shipped mother codes (each at every length of :data:`CODE_LENGTHS`)."""
CODE_LENGTHS: tuple[int, ...] = (65536, 262144, 1048576)
"""Lengths of the shipped mother codes: PEG codes of 65536 bits, quasi-cyclic codes of 2^18 and
2^20 bits."""
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


@dataclass(frozen=True)
class LDPCCode:
    """A parity-check matrix as its Tanner-graph edges.

    Attributes
    ----------
    n, m : int
        Columns (bits per frame) and rows (syndrome bits).
    edge_check, edge_var : ndarray of int64
        Row and column of each one of ``H``, sorted by column.
    check_order : ndarray of int64
        Edge indices sorted by row; ``check_ptr`` (length m + 1) delimits each row's edges in it.
    var_ptr : ndarray of int64
        Length n + 1: column ``v``'s edges are ``var_ptr[v]:var_ptr[v+1]``.
    check_var : ndarray of int32
        ``edge_var[check_order]``: the column of every edge, edges in row order (the decoder's
        layout).
    """

    n: int
    m: int
    edge_check: npt.NDArray[np.int64]
    edge_var: npt.NDArray[np.int64]
    check_order: npt.NDArray[np.int64]
    check_ptr: npt.NDArray[np.int64]
    var_ptr: npt.NDArray[np.int64]
    check_var: npt.NDArray[np.int32]

    @property
    def rate(self) -> float:
        """Design rate ``1 - m / n``."""
        return 1.0 - self.m / self.n


@cache
def load_code(rate: float, length: int = _N) -> LDPCCode:
    """The shipped mother code of rate ``rate`` (one of :data:`CODE_RATES`) and ``length`` bits.

    Codes of 65536 bits are stored edge by edge (progressive edge growth); codes of 262144 bits
    are quasi-cyclic, stored as a base graph of 1024 columns and the shift of every base edge: base
    edge ``(c, v)`` with shift ``s`` stands for the ``Z x Z`` circulant permutation that joins
    column ``v Z + j`` to row ``c Z + (j + s) mod Z``, ``Z = 256`` (Fossorier, IEEE Trans. Inf.
    Theory 50, 1788 (2004)).
    """
    if rate not in CODE_RATES:
        raise ParameterError(f"Argument 'rate' must be one of {CODE_RATES}, not {rate}.")
    if length not in CODE_LENGTHS:
        raise ParameterError(f"Argument 'length' must be one of {CODE_LENGTHS}, not {length}.")
    name = f"ldpc_R{rate:.2f}_N{length}.npz"
    path = resources.files("qkdstack.processing.reconciliation").joinpath("codes", name)
    with path.open("rb") as fh, np.load(fh) as data:
        rows = data["rows"].astype(np.int64)
        degrees = data["degrees"].astype(np.int64)
        n, m = int(data["n"]), int(data["m"])
        shifts = data["shifts"].astype(np.int64) if "shifts" in data else None
        lift = int(data["lift"]) if "lift" in data else 1
    cols = np.repeat(np.arange(n, dtype=np.int64), degrees)
    if shifts is not None:
        # Lift: base edge e becomes the edges (rows[e] Z + (j + s_e) mod Z, cols[e] Z + j).
        # Base edges are sorted by column, then row, so within one base column the lifted edges
        # come out sorted by (column, row) when laid out as (j, edge).
        j = np.arange(lift, dtype=np.int64)
        lifted_check = np.empty(rows.size * lift, dtype=np.int64)
        lifted_var = np.empty(rows.size * lift, dtype=np.int64)
        ends = np.cumsum(degrees)
        for v in range(n):
            lo, hi = int(ends[v] - degrees[v]), int(ends[v])
            block = rows[lo:hi][None, :] * lift + (j[:, None] + shifts[lo:hi][None, :]) % lift
            lifted_check[lo * lift : hi * lift] = block.ravel()
            lifted_var[lo * lift : hi * lift] = np.repeat(v * lift + j, hi - lo)
        rows, cols = lifted_check, lifted_var
        n, m = n * lift, m * lift
    check_order = np.argsort(rows, kind="stable").astype(np.int64)
    check_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=check_ptr[1:])
    var_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n), out=var_ptr[1:])
    check_var = cols[check_order].astype(np.int32)
    return LDPCCode(n, m, rows, cols, check_order, check_ptr, var_ptr, check_var)


@njit(cache=True)
def _syndrome(
    edge_check: npt.NDArray[np.int64], edge_var: npt.NDArray[np.int64], m: int, bits: BitArray
) -> BitArray:  # pragma: no cover
    out = np.zeros(m, dtype=np.uint8)
    for e in range(edge_check.shape[0]):
        out[edge_check[e]] ^= bits[edge_var[e]]
    return out


def syndrome(code: LDPCCode, bits: BitArray) -> BitArray:
    """``H x mod 2`` for one frame ``bits`` (length ``code.n``)."""
    return _syndrome(code.edge_check, code.edge_var, code.m, np.ascontiguousarray(bits, np.uint8))


_CLAMP = np.float32(0.9999999)  # |tanh| limit: check messages stay below ~16.8 in magnitude
_EXP_LIMIT = np.float32(30.0)


@njit(cache=True)
def _decode(
    check_var: npt.NDArray[np.int32],
    check_ptr: npt.NDArray[np.int64],
    llr: npt.NDArray[np.float32],
    target: BitArray,
    max_iter: int,
) -> tuple[BitArray, bool, int]:  # pragma: no cover
    """Layered sum-product decoding towards syndrome ``target`` (tanh rule, check by check).

    Messages are single precision and stored in row order (``c2v[k]`` for edge ``k`` of
    ``check_var``), so each check reads its messages contiguously; ``tanh(x / 2)`` is computed as
    ``(e^x - 1) / (e^x + 1)`` and ``2 atanh(t)`` as ``ln((1 + t) / (1 - t))``.
    """
    n = llr.shape[0]
    m = target.shape[0]
    one = np.float32(1.0)
    c2v = np.zeros(check_var.shape[0], dtype=np.float32)
    post = llr.copy()  # posterior LLR of every bit: channel + all check messages
    width = 0
    for c in range(m):
        width = max(width, check_ptr[c + 1] - check_ptr[c])
    incoming = np.empty(width, dtype=np.float32)
    ths = np.empty(width, dtype=np.float32)
    hard = np.zeros(n, dtype=np.uint8)
    for it in range(1, max_iter + 1):
        for c in range(m):
            lo = check_ptr[c]
            hi = check_ptr[c + 1]
            # Variable-to-check messages: posterior minus this check's last message.
            prod = one if target[c] == 0 else -one
            zeros = 0
            zero_at = -1
            for k in range(lo, hi):
                x = post[check_var[k]] - c2v[k]
                incoming[k - lo] = x
                ex = math.exp(min(max(x, -_EXP_LIMIT), _EXP_LIMIT))
                t = (ex - one) / (ex + one)
                ths[k - lo] = t
                if t == 0.0:
                    zeros += 1
                    zero_at = k
                else:
                    prod *= t
            # Check-to-variable: tanh(c2v/2) = (-1)^s prod_{others} tanh(v2c/2).
            for k in range(lo, hi):
                if zeros > 1 or (zeros == 1 and k != zero_at):
                    val = np.float32(0.0)
                elif zeros == 1:
                    val = prod
                else:
                    val = prod / ths[k - lo]
                if val > _CLAMP:
                    val = _CLAMP
                elif val < -_CLAMP:
                    val = -_CLAMP
                out = math.log((one + val) / (one - val))
                c2v[k] = out
                post[check_var[k]] = incoming[k - lo] + out
        # Stop as soon as the hard decision has the target syndrome.
        for v in range(n):
            hard[v] = 1 if post[v] < 0.0 else 0
        ok = True
        for c in range(m):
            parity = target[c]
            for k in range(check_ptr[c], check_ptr[c + 1]):
                parity ^= hard[check_var[k]]
            if parity:
                ok = False
                break
        if ok:
            return hard, True, it
    return hard, False, max_iter


# Vectorisable float32 elementary functions for the batched decoder: arithmetic and selects only
# (no libm calls), so that the loop over the frames of a batch compiles to SIMD instructions.
_LOG2E = np.float32(1.4426950408889634)
_LN2 = np.float32(0.6931471805599453)
_SQRT_HALF = np.float32(0.7071067811865476)


@njit(inline="always", fastmath=True, error_model="numpy")
def _exp_neg(a: np.float32) -> np.float32:  # pragma: no cover
    """``e^{-a}`` for ``0 <= a <= 30`` in single precision (relative error < 2e-6).

    ``e^{-a} = 2^{-y}``, ``y = a log2(e) = n + g`` with ``n = floor(y)``; ``2^{-n}`` by binary
    decomposition of ``n`` (selects), ``2^{-g} = 2^{-1/2} e^{-u}``, ``u = (g - 1/2) ln 2``,
    ``|u| <= 0.347``, by its Taylor polynomial of degree 7 (remainder < 5e-9).
    """
    y = a * _LOG2E
    n = np.floor(y)
    u = (y - n - np.float32(0.5)) * _LN2
    p = np.float32(1.0 / 5040.0)
    p = p * -u + np.float32(1.0 / 720.0)
    p = p * -u + np.float32(1.0 / 120.0)
    p = p * -u + np.float32(1.0 / 24.0)
    p = p * -u + np.float32(1.0 / 6.0)
    p = p * -u + np.float32(0.5)
    p = p * -u + np.float32(1.0)
    p = p * -u + np.float32(1.0)
    s = np.float32(1.0)
    if n >= 32.0:
        s *= np.float32(2.0**-32)
        n -= np.float32(32.0)
    if n >= 16.0:
        s *= np.float32(2.0**-16)
        n -= np.float32(16.0)
    if n >= 8.0:
        s *= np.float32(2.0**-8)
        n -= np.float32(8.0)
    if n >= 4.0:
        s *= np.float32(2.0**-4)
        n -= np.float32(4.0)
    if n >= 2.0:
        s *= np.float32(0.25)
        n -= np.float32(2.0)
    if n >= 1.0:
        s *= np.float32(0.5)
    return p * s * _SQRT_HALF


@njit(inline="always", fastmath=True, error_model="numpy")
def _neg_log(w: np.float32) -> np.float32:  # pragma: no cover
    """``-ln w`` for ``2^-31 <= w <= 1`` in single precision (absolute error < 3e-6).

    ``w = 2^-e r`` with ``r`` in ``[1/sqrt(2), sqrt(2))`` by binary decomposition of ``e``
    (selects); ``ln r = 2 atanh(s)``, ``s = (r - 1) / (r + 1)``, ``|s| <= 0.172``, by the series
    ``2 (s + s^3/3 + ... + s^9/9)`` (remainder < 3e-9).
    """
    e = np.float32(0.0)
    # Ternaries (not if-blocks), unrolled, so that the compiler emits selects and vectorises.
    low = w < np.float32(1.52587890625e-05)
    w *= np.float32(65536.0) if low else np.float32(1.0)
    e += np.float32(16.0) if low else np.float32(0.0)
    low = w < np.float32(0.00390625)
    w *= np.float32(256.0) if low else np.float32(1.0)
    e += np.float32(8.0) if low else np.float32(0.0)
    low = w < np.float32(0.0625)
    w *= np.float32(16.0) if low else np.float32(1.0)
    e += np.float32(4.0) if low else np.float32(0.0)
    low = w < np.float32(0.25)
    w *= np.float32(4.0) if low else np.float32(1.0)
    e += np.float32(2.0) if low else np.float32(0.0)
    low = w < np.float32(0.5)
    w *= np.float32(2.0) if low else np.float32(1.0)
    e += np.float32(1.0) if low else np.float32(0.0)
    low = w < _SQRT_HALF
    w *= np.float32(2.0) if low else np.float32(1.0)
    e += np.float32(1.0) if low else np.float32(0.0)
    s = (w - np.float32(1.0)) / (w + np.float32(1.0))
    s2 = s * s
    q = np.float32(1.0 / 9.0)
    q = q * s2 + np.float32(1.0 / 7.0)
    q = q * s2 + np.float32(1.0 / 5.0)
    q = q * s2 + np.float32(1.0 / 3.0)
    q = q * s2 + np.float32(1.0)
    return e * _LN2 - np.float32(2.0) * s * q


_LANES = 32  # frames decoded side by side (a multiple of the 16 single-precision AVX-512 lanes)
_ROUNDS = 1  # iterations per call of the lane kernel between lane refills
_FEW_FRAMES = 8  # below this many frames, decode one frame at a time


@njit(cache=True, fastmath=True, error_model="numpy")
def _iterate_lanes(
    check_var: npt.NDArray[np.int32],
    check_ptr: npt.NDArray[np.int64],
    post: npt.NDArray[np.float32],
    c2v: npt.NDArray[np.float32],
    sign: npt.NDArray[np.float32],
    active: npt.NDArray[np.float32],
    used: npt.NDArray[np.int64],
    max_iter: int,
    rounds: int,
) -> None:  # pragma: no cover
    """Up to ``rounds`` layered sum-product iterations of ``B`` frames side by side.

    State (updated in place): posteriors ``post`` (``n x B``), check-to-variable messages
    ``c2v`` (``E x B``, in the row order of ``check_var``), syndrome signs ``sign``
    (``m x B``, ``(-1)^{s_c}``), ``active`` (1 while a lane decodes, set to 0 when its hard
    decision reaches the syndrome or it has used ``max_iter`` iterations) and ``used``
    (iterations per lane). The schedule and check rule of :func:`_decode`, with the frames in the
    innermost loop (SIMD lanes: numba's ``error_model="numpy"`` and the select-only
    :func:`_exp_neg` / :func:`_neg_log` let it vectorise); the product of the other edges'
    ``tanh`` is taken as prefix times suffix product (no division). A lane with ``active = 0``
    is frozen (its messages are not changed). Returns when no lane is active or after
    ``rounds`` iterations.
    """
    n, lanes = post.shape
    m = sign.shape[0]
    one = np.float32(1.0)
    width = 0
    for c in range(m):
        width = max(width, check_ptr[c + 1] - check_ptr[c])
    incoming = np.empty((width, lanes), dtype=np.float32)
    ths = np.empty((width, lanes), dtype=np.float32)
    pre = np.empty((width, lanes), dtype=np.float32)
    suf = np.empty(lanes, dtype=np.float32)
    hard = np.zeros((n, lanes), dtype=np.uint8)
    parity = np.zeros(lanes, dtype=np.uint8)
    failing = np.zeros(lanes, dtype=np.uint8)
    for _ in range(rounds):
        for c in range(m):
            lo = check_ptr[c]
            deg = check_ptr[c + 1] - lo
            for i in range(deg):
                v = check_var[lo + i]
                for b in range(lanes):
                    x = post[v, b] - c2v[lo + i, b]
                    incoming[i, b] = x
                    a = min(abs(x), np.float32(30.0))
                    ex = _exp_neg(a)
                    t = (one - ex) / (one + ex)
                    ths[i, b] = t if x >= 0 else -t
            for b in range(lanes):
                pre[0, b] = sign[c, b]
                suf[b] = one
            for i in range(1, deg):
                for b in range(lanes):
                    pre[i, b] = pre[i - 1, b] * ths[i - 1, b]
            for i in range(deg - 1, -1, -1):
                v = check_var[lo + i]
                for b in range(lanes):
                    val = pre[i, b] * suf[b]
                    suf[b] *= ths[i, b]
                    mag = min(abs(val), _CLAMP)
                    out = _neg_log((one - mag) / (one + mag))
                    out = out if val >= 0 else -out
                    new = c2v[lo + i, b] + active[b] * (out - c2v[lo + i, b])
                    c2v[lo + i, b] = new
                    post[v, b] = incoming[i, b] + new
        for v in range(n):
            for b in range(lanes):
                hard[v, b] = 1 if post[v, b] < 0.0 else 0
        for b in range(lanes):
            failing[b] = 0
        for c in range(m):
            for b in range(lanes):
                parity[b] = 1 if sign[c, b] < 0 else 0
            for k in range(check_ptr[c], check_ptr[c + 1]):
                v = check_var[k]
                for b in range(lanes):
                    parity[b] ^= hard[v, b]
            for b in range(lanes):
                failing[b] |= parity[b]
        remaining = 0
        for b in range(lanes):
            if active[b] != 0.0:
                used[b] += 1
                if failing[b] == 0 or used[b] >= max_iter:
                    active[b] = 0.0
                else:
                    remaining += 1
        if remaining == 0:
            return


def decode_syndromes(
    code: LDPCCode,
    llrs: npt.NDArray[np.floating[Any]],
    targets: BitArray,
    max_iter: int = 100,
) -> tuple[BitArray, npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Belief-propagation syndrome decoding of many frames of one code, 32 at a time.

    The algorithm of :func:`decode_syndrome` (layered sum-product, the same iterations and
    decisions up to single-precision rounding: ``e^{-x}`` and ``ln`` are evaluated by
    polynomials, relative error < 2e-6), laid out so that the frames fill the SIMD lanes; ~3.5x
    the frames per second of :func:`decode_syndrome` on one core (BENCHMARKS.md). Fewer than 8
    frames are decoded one at a time by :func:`decode_syndrome`.

    Parameters
    ----------
    code : LDPCCode
    llrs : ndarray of float, shape (frames, code.n)
        Channel log-likelihood ratios of every frame.
    targets : ndarray of uint8, shape (frames, code.m)
        Alice's syndromes.
    max_iter : int
        Iteration limit per frame.

    Returns
    -------
    bits, iterations, converged
        Decisions ``(frames, code.n)``, iterations used and whether each frame reached its
        syndrome.
    """
    llrs = np.ascontiguousarray(np.atleast_2d(llrs), dtype=np.float32)
    targets = np.ascontiguousarray(np.atleast_2d(targets), dtype=np.uint8)
    if llrs.shape[1] != code.n or targets.shape != (llrs.shape[0], code.m):
        raise ParameterError(
            f"Arguments 'llrs' and 'targets' must have shapes (F, {code.n}) and (F, {code.m}), "
            f"not {llrs.shape} and {targets.shape}."
        )
    n_frames = llrs.shape[0]
    if n_frames < _FEW_FRAMES:
        # Mostly idle lanes cost more than one frame at a time.
        bits = np.zeros((n_frames, code.n), dtype=np.uint8)
        iterations = np.zeros(n_frames, dtype=np.int64)
        converged = np.zeros(n_frames, dtype=np.bool_)
        for f in range(n_frames):
            bits[f], converged[f], iterations[f] = decode_syndrome(
                code, llrs[f], targets[f], max_iter
            )
        return bits, iterations, converged
    # Always _LANES lanes (idle ones frozen): the kernel's loops vectorise only at full width.
    lanes = _LANES
    post = np.zeros((code.n, lanes), dtype=np.float32)
    c2v = np.zeros((code.check_var.shape[0], lanes), dtype=np.float32)
    sign = np.ones((code.m, lanes), dtype=np.float32)
    active = np.zeros(lanes, dtype=np.float32)
    used = np.zeros(lanes, dtype=np.int64)
    frame_of = np.full(lanes, -1, dtype=np.int64)
    bits = np.zeros((n_frames, code.n), dtype=np.uint8)
    iterations = np.zeros(n_frames, dtype=np.int64)
    converged = np.zeros(n_frames, dtype=np.bool_)
    following = 0
    while True:
        for b in range(lanes):  # idle lanes take the next frames
            if frame_of[b] < 0 and following < n_frames:
                frame_of[b], following = following, following + 1
                post[:, b] = llrs[frame_of[b]]
                c2v[:, b] = 0.0
                sign[:, b] = 1.0 - 2.0 * targets[frame_of[b]]
                active[b], used[b] = 1.0, 0
        if not np.any(frame_of >= 0):
            return bits, iterations, converged
        # _ROUNDS iterations per call, so that lanes freed early are soon given new frames.
        _iterate_lanes(
            code.check_var, code.check_ptr, post, c2v, sign, active, used, max_iter, _ROUNDS
        )
        for b in np.flatnonzero((active == 0.0) & (frame_of >= 0)).tolist():
            f = int(frame_of[b])
            bits[f] = post[:, b] < 0.0
            iterations[f] = used[b]
            h = bits[f]
            converged[f] = not np.any(
                _syndrome(code.edge_check, code.edge_var, code.m, h) ^ targets[f]
            )
            frame_of[b] = -1


def decode_syndrome(
    code: LDPCCode, llr: npt.NDArray[np.floating[Any]], target: BitArray, max_iter: int = 100
) -> tuple[BitArray, bool, int]:
    """Belief-propagation syndrome decoding of one frame.

    Sum-product with a layered (serial, check-by-check) schedule: each check reads the current
    posteriors, so messages computed earlier in an iteration are used at once, which needs about
    half the iterations of the flooding schedule (E. Sharon, S. Litsyn, J. Goldberger, "Efficient
    serial message-passing schedules for LDPC decoding", IEEE Trans. Inf. Theory 53, 4076
    (2007)). Check rule ``tanh(m_cv / 2) = (-1)^{s_c} prod_{v' != v} tanh(m_v'c / 2)`` with the
    syndrome sign of Liveris et al. (2002).

    Parameters
    ----------
    code : LDPCCode
    llr : ndarray of float, shape (code.n,)
        Channel log-likelihood ratios ``ln P(x=0|y) / P(x=1|y)`` (decoded in single precision).
    target : ndarray of uint8, shape (code.m,)
        Alice's syndrome.
    max_iter : int
        Iteration limit.

    Returns
    -------
    bits, converged, iterations
        The decision, whether it has syndrome ``target``, and the iterations used.
    """
    return _decode(
        code.check_var,
        code.check_ptr,
        np.ascontiguousarray(llr, dtype=np.float32),
        np.ascontiguousarray(target, dtype=np.uint8),
        max_iter,
    )


# --------------------------------------------------------------------------------------------
# Frame plan (public, shared by both halves)
# --------------------------------------------------------------------------------------------


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
    (``N = 2^18``) first: the fit with the fewest shortened positions is taken if at most a fifth of
    the frame is shortened, else the next shorter codes, and failing that the least shortened fit
    of any length. ``lengths``: the code lengths allowed (default: all). With no fit at all, the 65536-bit codes are used with puncturing
    capped (and by the room ``N - p``), leaking more than ``f* h(Q)``:
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


def _checks(rate: float, length: int) -> int:
    """Rows of the mother code of ``rate`` and ``length`` (quasi-cyclic: base rows times Z)."""
    if length == _N:
        return round(_N * (1.0 - rate))
    return round(_N_BASE * (1.0 - rate)) * (length // _N_BASE)


# --------------------------------------------------------------------------------------------
# The two halves
# --------------------------------------------------------------------------------------------


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


register_method(
    Method(
        "ldpc",
        _make_bob,
        _make_alice,
        "LDPC syndrome decoding, rate-adapted by puncturing and shortening mother codes of rates "
        "0.50-0.90 (PEG, 65536 bits; quasi-cyclic, 2^18 bits) (Elkouss et al. 2009-2010).",
    )
)


# --------------------------------------------------------------------------------------------
# Blind reconciliation (puncturing, then revealing punctured bits on failure)
# --------------------------------------------------------------------------------------------


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


register_method(
    Method(
        "ldpc-blind",
        _make_blind_bob,
        _make_blind_alice,
        "Blind LDPC reconciliation: punctured frames, punctured bits revealed on failure "
        "(Martinez-Mateo, Elkouss, Martin 2012).",
    )
)
