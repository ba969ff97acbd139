"""Toeplitz hashing on a CUDA GPU with CuPy (optional: ``pip install 'qkdstack[gpu]'``).

The same product as :func:`qkdstack.processing.amplification.toeplitz_hash`, ``T x mod 2`` with
``T[i, j] = s[i - j + n - 1]``, computed as entries ``n - 1 .. n + m - 2`` of one circular float64
convolution of the seed's length ``L >= n + m - 1`` (cuFFT): on a GPU the whole-length transform is
fast, and in float64 its worst-case rounding error (Higham 2002, Thm 24.2) stays far below 1/2
(about ``12 sqrt(L n) log2(L) 2^-53 < 1e-4`` up to n = 10^9). The rounding distance is still checked
(``ArithmeticError`` above 1/4). CuPy is imported only when this module's functions are called; it
is never required by the rest of qkdstack.

References
----------
C.-H. F. Fung, X. Ma, H. F. Chau, Phys. Rev. A 81, 012318 (2010), Sec. V (Toeplitz hashing by FFT).
N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM (2002), Sec. 24.1.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import scipy.fft

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray

__all__ = ["cuda_available", "toeplitz_hash_cuda"]

_ROUNDOFF_LIMIT = 0.25


def _cupy() -> ModuleType | None:
    try:
        cupy = importlib.import_module("cupy")
        if int(cupy.cuda.runtime.getDeviceCount()) < 1:
            return None
    except Exception:  # no CuPy, no driver or no device: the CPU path is the answer
        return None
    return cupy


def cuda_available() -> bool:
    """Whether CuPy imports and sees at least one CUDA device."""
    return _cupy() is not None


def toeplitz_hash_cuda(key: BitArray, seed_bits: BitArray, m: int) -> BitArray:
    """``T key mod 2`` on the GPU; same arguments and result as ``toeplitz_hash``.

    Raises
    ------
    ParameterError
        If CuPy or a CUDA device is not available.
    """
    cupy = _cupy()
    if cupy is None:
        raise ParameterError(
            "Argument 'backend' is 'cuda', but CuPy with a CUDA device is not available "
            "(pip install 'qkdstack[gpu]' on a machine with an NVIDIA GPU)."
        )
    n = int(key.shape[0])
    if m == 0:
        return np.zeros(0, dtype=np.uint8)
    size = scipy.fft.next_fast_len(n + m - 1, real=True)
    seed_gpu = cupy.asarray(seed_bits, dtype=cupy.float64)
    key_gpu = cupy.asarray(key, dtype=cupy.float64)
    spectrum = cupy.fft.rfft(seed_gpu, size) * cupy.fft.rfft(key_gpu, size)
    conv = cupy.fft.irfft(spectrum, size)[n - 1 : n - 1 + m]
    rounded = cupy.rint(conv)
    worst = float(cupy.max(cupy.abs(conv - rounded)))
    if worst > _ROUNDOFF_LIMIT:  # pragma: no cover - ruled out by the float64 bound
        raise ArithmeticError(f"FFT convolution lost integer precision (distance {worst:.3f})")
    out = (rounded.astype(cupy.int64) & 1).astype(cupy.uint8)
    return np.asarray(cupy.asnumpy(out), dtype=np.uint8)
