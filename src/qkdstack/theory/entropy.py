"""Entropy functions used by every key-rate formula.

References
----------
C. E. Shannon, "A mathematical theory of communication", Bell Syst. Tech. J. 27, 379 (1948).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["binary_entropy"]


def binary_entropy(p: float | npt.ArrayLike) -> float | npt.NDArray[np.float64]:
    """Binary Shannon entropy ``h(p) = -p log2 p - (1-p) log2 (1-p)``, with ``h(0) = h(1) = 0``.

    Values outside [0, 1] are clipped to the boundary. Returns a float for scalar input.
    """
    arr = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -arr * np.log2(arr) - (1.0 - arr) * np.log2(1.0 - arr)
    h = np.where((arr == 0.0) | (arr == 1.0), 0.0, h)
    if h.ndim == 0:
        return float(h)
    return h
