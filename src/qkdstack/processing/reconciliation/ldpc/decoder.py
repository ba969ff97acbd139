"""Belief-propagation syndrome decoding of LDPC frames: the one-frame and the lane kernels.

Bob decodes his noisy copy ``y`` of a frame to the word closest to ``y`` with Alice's syndrome, by
sum-product belief propagation on the Tanner graph of ``H`` (Gallager 1962; MacKay 1999) with the
syndrome sign of Liveris, Xiong, Georghiades (2002) and a layered (check-by-check) schedule
(Sharon, Litsyn, Goldberger 2007): :func:`decode_syndrome` one frame at a time,
:func:`decode_syndromes` 32 frames side by side in the SIMD lanes. The kernels are compiled by
numba with ``cache=True`` (``qkd warmup`` builds their caches).

References
----------
R. G. Gallager, "Low-density parity-check codes", IRE Trans. Inf. Theory 8, 21 (1962).
D. J. C. MacKay, "Good error-correcting codes based on very sparse matrices", IEEE Trans. Inf.
Theory 45, 399 (1999).
A. D. Liveris, Z. Xiong, C. N. Georghiades, "Compression of binary sources with side information
at the decoder using LDPC codes", IEEE Commun. Lett. 6, 440 (2002).
E. Sharon, S. Litsyn, J. Goldberger, "Efficient serial message-passing schedules for LDPC
decoding", IEEE Trans. Inf. Theory 53, 4076 (2007).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError
from qkdstack.processing.reconciliation.ldpc.codes import LDPCCode, _syndrome
from qkdstack.typing import BitArray

__all__ = ["decode_syndrome", "decode_syndromes"]

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
