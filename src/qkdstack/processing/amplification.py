"""Privacy amplification by Toeplitz hashing, computed with the FFT.

The ``m x n`` Toeplitz matrix ``T`` over GF(2) defined by ``n + m - 1`` seed bits ``s`` has entries
``T[i, j] = s[i - j + n - 1]``; the family ``{x -> T x}`` is 2-universal, so by the leftover hash
lemma ``T x`` is ``epsilon``-close to uniform for Eve when ``m`` is below Eve's smooth min-entropy by
``2 log2(1/epsilon)``. Over the integers ``(T x)_i = sum_j s[i - j + n - 1] x_j`` is entry ``i + n - 1``
of the convolution ``s * x``, computed exactly by a floating-point FFT (the sums are integers below
``n``) and reduced modulo 2. Cost: O((n + m) log(n + m)) instead of O(n m).

References
----------
H. Krawczyk, "LFSR-based hashing and authentication", CRYPTO '94 (Toeplitz 2-universality).
R. Impagliazzo, L. A. Levin, M. Luby, STOC 1989 (leftover hash lemma).
C.-H. F. Fung, X. Ma, H. F. Chau, "Practical issues in quantum-key-distribution postprocessing",
Phys. Rev. A 81, 012318 (2010), Sec. V (Toeplitz hashing by FFT).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray

__all__ = ["toeplitz_hash", "toeplitz_matrix"]

_MAX_FFT_BITS = 1 << 24  # beyond this, split the input into blocks to keep float error tiny


def toeplitz_matrix(seed_bits: BitArray, n: int, m: int) -> BitArray:
    """The explicit ``m x n`` Toeplitz matrix ``T[i, j] = seed[i - j + n - 1]`` (for tests, small n)."""
    _check(seed_bits, n, m)
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    return seed_bits[i - j + n - 1].astype(np.uint8)


def _check(seed_bits: BitArray, n: int, m: int) -> None:
    if n < 0 or m < 0:
        raise ParameterError(f"Arguments 'n' and 'm' must be >= 0, not {n} and {m}.")
    if m > 0 and seed_bits.shape != (n + m - 1,):
        raise ParameterError(
            f"Argument 'seed_bits' must hold n + m - 1 = {n + m - 1} bits, not shape {seed_bits.shape}."
        )


def _conv_segment(seed: np.ndarray, x: np.ndarray, start: int, count: int) -> np.ndarray:
    """Entries ``start .. start+count-1`` of the integer convolution ``seed * x`` (exact).

    Only the entries from ``len(x) - 1`` on are asked for, and a circular convolution of length
    ``L >= len(seed)`` wraps around only onto the entries before that, so ``L`` need not cover the
    full linear convolution: the FFTs are about 40% shorter.
    """
    if start < x.shape[0] - 1 or start + count > seed.shape[0]:  # pragma: no cover - internal use
        raise ValueError("segment outside the wrap-free range")
    size = scipy.fft.next_fast_len(seed.shape[0], real=True)
    fs = scipy.fft.rfft(seed.astype(np.float64), size)
    fx = scipy.fft.rfft(x.astype(np.float64), size)
    conv = scipy.fft.irfft(fs * fx, size)[start : start + count]
    rounded = np.rint(conv)
    if (
        conv.size and float(np.max(np.abs(conv - rounded))) > 0.25
    ):  # pragma: no cover - numeric guard
        raise ArithmeticError("FFT convolution lost integer precision")
    return rounded.astype(np.int64)


def toeplitz_hash(key: BitArray, seed_bits: BitArray, m: int) -> BitArray:
    """Compress ``key`` (n bits) to ``m`` bits: ``T key mod 2`` with ``T`` built from ``seed_bits``.

    Parameters
    ----------
    key : ndarray of uint8, shape (n,)
    seed_bits : ndarray of uint8, shape (n + m - 1,)
    m : int
        Output length, ``0 <= m <= n``.

    Returns
    -------
    ndarray of uint8, shape (m,)
    """
    n = int(key.shape[0])
    if not 0 <= m <= n:
        raise ParameterError(f"Argument 'm' must be in [0, {n}] (the input length), not {m}.")
    _check(seed_bits, n, m)
    if m == 0:
        return np.zeros(0, dtype=np.uint8)
    out = np.zeros(m, dtype=np.int64)
    # Split the input into column blocks so each FFT stays small enough to be exact.
    block = max(1, _MAX_FFT_BITS - m) if n + m > _MAX_FFT_BITS else n
    for j0 in range(0, n, block):
        j1 = min(n, j0 + block)
        # Columns j0..j1-1 use seed entries (i - j + n - 1) for i in [0, m): indices from
        # n - j1 to n + m - 2 - j0.
        lo = n - j1
        hi = n + m - 1 - j0
        seg = seed_bits[lo:hi]
        # (T x)_i restricted to the block = conv(seg, x[j0:j1])[i + (j1 - j0) - 1]
        out += _conv_segment(seg, key[j0:j1], (j1 - j0) - 1, m)
    return (out & 1).astype(np.uint8)
