"""Privacy amplification by Toeplitz hashing, computed with blocked FFTs.

The ``m x n`` Toeplitz matrix ``T`` over GF(2) defined by ``n + m - 1`` seed bits ``s`` has entries
``T[i, j] = s[i - j + n - 1]``; the family ``{x -> T x}`` is 2-universal, so by the leftover hash
lemma ``T x`` is ``epsilon``-close to uniform for Eve when ``m`` is below Eve's smooth min-entropy by
``2 log2(1/epsilon)``. Over the integers ``(T x)_i = sum_j s[i - j + n - 1] x_j``, an integer below
``n``, so a floating-point FFT convolution rounded to the nearest integer and reduced modulo 2
gives ``T x`` exactly as long as the rounding error stays below 1/2.

How it is computed (uniformly partitioned overlap-save). Cut the input into ``n_b`` blocks and the
output into ``m_b`` blocks of ``B`` bits. Block ``(a, b)`` of ``T`` is itself Toeplitz and depends only
on ``d = a - b``: it is made of the ``2B - 1`` seed bits ``u_d = s[dB + n - B : dB + n + B - 1]``, and
``T_d x_b`` is entries ``B - 1 .. 2B - 2`` of the convolution ``u_d * x_b``, which a circular
convolution of length ``P = 2B`` gives without wrap-around. So with real FFTs of length ``P``,

    y_a = irfft( sum_b rfft(u_{a-b}) * rfft(x_b) )[B - 1 : 2B - 1],

which takes ``n_b + m_b - 1`` seed transforms, ``n_b`` input transforms, a multiply-accumulate of
``m_b n_b (B + 1)`` complex products and ``m_b`` inverse transforms: O((n + m) log B + n m / B) work
on cache-sized transforms, the forward ones batched in one call that scipy can spread over
``workers`` threads.

Exactness. The forward transforms run in float32 (about twice as fast as float64) and everything
after them (products, accumulation, inverse transform) in float64. A worst-case bound on the
rounding error: Higham 2002, Thm 24.2, a radix-2 FFT of length ``P = 2^k`` has relative 2-norm
error at most ``k eta / (1 - k eta)`` with ``eta = mu + gamma_4 (sqrt(2) + mu) ~ 6.7 u`` (``mu ~ u``
the twiddle error), taken here as the model of pocketfft's power-of-two transforms. An error
``dU`` in a seed spectrum reaches the output, by Parseval, as at most ``|dU|_2 |X|_inf / sqrt(P) <=
k eta |u_d|_2 |x_b|_1 <= k eta sqrt(2B) B``, the key-spectrum and inverse-transform errors likewise;
summed over the ``n_b`` input blocks,

    |error| <= c n sqrt(2B) k u,    c ~ 3 x 6.7 ~ 20,

which with float64 (``u = 2^-53``) is below 0.03 for ``n`` up to 10^9 at ``B = 2^17``, so the float64
path is exact under that model. With float32 (``u = 2^-24``) the worst-case bound is far above 1/2, while the
actual error, a sum of many independent roundings, is about 5e-4 at ``n = 10^6`` (measured, see
BENCHMARKS.md). As large-integer FFT multiplication does (the "round-off check" of GIMPS/Prime95),
every output's distance to the nearest integer is checked; if the largest exceeds
``_ROUNDOFF_LIMIT = 1/8`` the whole hash is recomputed with float64 transforms, and a float64 result
that still failed the check (which the bound rules out) raises ``ArithmeticError``.

References
----------
H. Krawczyk, "LFSR-based hashing and authentication", CRYPTO '94 (Toeplitz 2-universality).
R. Impagliazzo, L. A. Levin, M. Luby, STOC 1989 (leftover hash lemma).
C.-H. F. Fung, X. Ma, H. F. Chau, "Practical issues in quantum-key-distribution postprocessing",
Phys. Rev. A 81, 012318 (2010), Sec. V (Toeplitz hashing by FFT).
N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM (2002), Sec. 24.1
(error of the FFT).
C. Percival, "Rapid multiplication modulo the sum and difference of highly composite numbers",
Math. Comp. 72, 387 (2003) (rounding-error bound for FFT products).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import scipy.fft
from numba import njit

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray

__all__ = ["toeplitz_hash", "toeplitz_matrix"]

FFT_WORKERS: int | None = None
"""Threads for the batched FFTs when a call names none: None is up to 2 (see :func:`toeplitz_hash`);
the streamed pipeline's worker processes set 1 (each keeps its own core busy)."""

_BLOCK_BITS = 1 << 17  # largest B: transforms of at most 2^18 points (float32: 1 MiB)
_ROUNDOFF_LIMIT = 0.125  # largest accepted distance of a float result to the nearest integer


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


@njit(cache=True, nogil=True)
def _accumulate(
    seed_spectra: np.ndarray, key_spectra: np.ndarray, out_spectra: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out[a] += sum_b seed[a - b + n_b - 1] * key[b]`` bin by bin, in complex128."""
    m_b, bins = out_spectra.shape
    n_b = key_spectra.shape[0]
    for a in range(m_b):
        for b in range(n_b):
            e = a - b + n_b - 1
            for k in range(bins):
                u = seed_spectra[e, k]
                x = key_spectra[b, k]
                # Widen before multiplying: the product itself is formed in float64.
                ur = np.float64(u.real)
                ui = np.float64(u.imag)
                xr = np.float64(x.real)
                xi = np.float64(x.imag)
                out_spectra[a, k] += complex(ur * xr - ui * xi, ur * xi + ui * xr)


@njit(cache=True, nogil=True)
def _parity(conv: np.ndarray, block: int, m: int, out: np.ndarray) -> float:  # pragma: no cover
    """``out[a B + p] = round(conv[a, B - 1 + p]) mod 2``; returns the largest rounding distance."""
    worst = 0.0
    for a in range(conv.shape[0]):
        base = a * block
        for p in range(min(block, m - base)):
            v = conv[a, block - 1 + p]
            r = np.rint(v)
            d = abs(v - r)
            if d > worst:
                worst = d
            out[base + p] = np.uint8(np.int64(r) & 1)
    return worst


def _block_length(n: int) -> int:
    """B, a power of two (so P = 2B is a fast length), chosen by measurement (BENCHMARKS.md).

    Short inputs: at most n/2 (one block of B >= n would pad every transform to 2n..4n points) and
    at most 2^15. Long ones: about n/16, which balances the O(n m / B) multiply-accumulate against
    the transforms, whose length grows out of cache; capped by ``_BLOCK_BITS``.
    """
    if n // 16 < 1 << 15:
        return 1 << (max(1, min(n // 2, 1 << 15)).bit_length() - 1)
    return 1 << round(np.log2(n / 16))


def _blocked_hash(
    key: BitArray, seed_bits: BitArray, m: int, block: int, dtype: type[np.floating], workers: int
) -> tuple[BitArray, float]:
    """``T key mod 2`` by uniformly partitioned overlap-save (see the module docstring)."""
    n = int(key.shape[0])
    size = 2 * block
    n_b = -(-n // block)
    m_b = -(-m // block)
    d_count = n_b + m_b - 1
    # Rows 0 .. d_count - 1: the seed segments u_d (index e = d + n_b - 1), taken from the seed
    # padded with zeros to the indices n - n_b B .. m_b B + n - 2; rows d_count ..: the key blocks.
    # A padded seed bit only ever meets a padded (zero) key bit or a dropped output.
    rows = np.zeros((d_count + n_b, size), dtype=dtype)
    lo = n - n_b * block
    padded = np.zeros((d_count + 1) * block - 1, dtype=dtype)
    padded[-lo : -lo + seed_bits.shape[0]] = seed_bits
    segments = np.lib.stride_tricks.as_strided(
        padded,
        shape=(d_count, 2 * block - 1),
        strides=(padded.strides[0] * block, padded.strides[0]),
        writeable=False,
    )
    rows[:d_count, : 2 * block - 1] = segments
    full, rest = divmod(n, block)
    key_rows = rows[d_count:]
    key_rows[:full, :block] = key[: full * block].reshape(full, block)
    if rest:
        key_rows[full, :rest] = key[full * block :]
    spectra = scipy.fft.rfft(rows, axis=-1, workers=workers)
    out_spectra = np.zeros((m_b, block + 1), dtype=np.complex128)
    _accumulate(spectra[:d_count], spectra[d_count:], out_spectra)
    conv = scipy.fft.irfft(out_spectra, size, axis=-1, workers=workers)
    out = np.empty(m, dtype=np.uint8)
    worst = _parity(conv, block, m, out)
    return out, worst


def toeplitz_hash(
    key: BitArray,
    seed_bits: BitArray,
    m: int,
    *,
    workers: int | None = None,
    backend: Literal["cpu", "cuda"] = "cpu",
) -> BitArray:
    """Compress ``key`` (n bits) to ``m`` bits: ``T key mod 2`` with ``T`` built from ``seed_bits``.

    Parameters
    ----------
    key : ndarray of uint8, shape (n,)
    seed_bits : ndarray of uint8, shape (n + m - 1,)
    m : int
        Output length, ``0 <= m <= n``.
    workers : int, optional
        Threads for the batched FFTs (default: up to 2; on the 2-core machine kind a second worker
        gained 1.2x at n = 10^6 and 2x at 4 x 10^6 with a core free, nothing when both were busy,
        BENCHMARKS.md). A caller that keeps the other core busy itself should pass 1.
    backend : {"cpu", "cuda"}
        ``"cuda"``: compute on a CUDA GPU with CuPy (the optional ``gpu`` extra,
        :mod:`qkdstack.processing.amplification_gpu`); same result.

    Returns
    -------
    ndarray of uint8, shape (m,)
        Exactly the GF(2) product ``T key`` (float32 transforms, checked, float64 on a failed check).
    """
    n = int(key.shape[0])
    if not 0 <= m <= n:
        raise ParameterError(f"Argument 'm' must be in [0, {n}] (the input length), not {m}.")
    _check(seed_bits, n, m)
    if backend not in ("cpu", "cuda"):
        raise ParameterError(f"Argument 'backend' must be 'cpu' or 'cuda', not {backend!r}.")
    if m == 0:
        return np.zeros(0, dtype=np.uint8)
    if backend == "cuda":
        from qkdstack.processing.amplification_gpu import toeplitz_hash_cuda

        return toeplitz_hash_cuda(key, seed_bits, m)
    if workers is None:
        workers = FFT_WORKERS or min(2, os.cpu_count() or 1)
    block = min(_BLOCK_BITS, _block_length(n))
    for dtype in (np.float32, np.float64):
        out, worst = _blocked_hash(key, seed_bits, m, block, dtype, workers)
        if worst <= _ROUNDOFF_LIMIT:
            return out
    raise ArithmeticError(  # pragma: no cover - ruled out by the float64 error bound
        f"FFT convolution lost integer precision (largest rounding distance {worst:.3f})"
    )
