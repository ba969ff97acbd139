"""Fundamental limits of repeaterless key distribution over a lossy channel.

A point-to-point link of transmittance ``eta`` (a pure-loss bosonic channel) cannot give more
secret key per channel use than

* the PLOB bound ``-log2(1 - eta)`` (Pirandola, Laurenza, Ottaviani, Banchi 2017: the two-way
  assisted secret-key capacity of the pure-loss channel),
* the earlier TGW bound ``log2((1 + eta) / (1 - eta))`` (Takeoka, Guha, Wilde 2014: the
  squashed-entanglement bound of the pure-loss channel),

both in bits per channel use (per pulse). PLOB is the tighter of the two for every ``eta``.

References
----------
S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, "Fundamental limits of repeaterless quantum
communications", Nat. Commun. 8, 15043 (2017) (capacity of the pure-loss channel,
``K = -log2(1 - eta)``).
M. Takeoka, S. Guha, M. M. Wilde, "Fundamental rate-loss tradeoff for optical quantum key
distribution", Nat. Commun. 5, 5235 (2014) (TGW bound ``log2((1 + eta)/(1 - eta))``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError

__all__ = ["plob_bound", "tgw_bound"]


def _transmittance(eta: float | npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(eta, dtype=np.float64)
    ok = (arr >= 0.0) & (arr <= 1.0)
    if not np.all(ok):
        bad = arr[~ok].ravel()[0]
        raise ParameterError(f"Argument 'eta' must be in [0, 1], not {float(bad)!r}.")
    return arr


def _out(arr: npt.NDArray[np.float64]) -> float | npt.NDArray[np.float64]:
    return float(arr) if arr.ndim == 0 else arr


def plob_bound(eta: float | npt.ArrayLike) -> float | npt.NDArray[np.float64]:
    """PLOB secret-key capacity of the pure-loss channel, ``-log2(1 - eta)`` bits per use.

    Parameters
    ----------
    eta : float or array_like
        Channel transmittance in [0, 1] (linear, not dB).

    Returns
    -------
    float or ndarray of float64
        The bound in bits per channel use (per pulse), ``inf`` at ``eta = 1``; a float for
        scalar input.

    References
    ----------
    Pirandola, Laurenza, Ottaviani, Banchi, Nat. Commun. 8, 15043 (2017): ``-log2(1 - eta)``.
    """
    arr = _transmittance(eta)
    with np.errstate(divide="ignore"):
        return _out(-np.log1p(-arr) / np.log(2.0))


def tgw_bound(eta: float | npt.ArrayLike) -> float | npt.NDArray[np.float64]:
    """TGW (squashed-entanglement) bound, ``log2((1 + eta) / (1 - eta))`` bits per use.

    Parameters
    ----------
    eta : float or array_like
        Channel transmittance in [0, 1].

    Returns
    -------
    float or ndarray of float64
        The bound in bits per channel use, ``inf`` at ``eta = 1``; a float for scalar input.

    References
    ----------
    Takeoka, Guha, Wilde, Nat. Commun. 5, 5235 (2014): ``log2((1 + eta) / (1 - eta))``.
    """
    arr = _transmittance(eta)
    with np.errstate(divide="ignore"):
        return _out((np.log1p(arr) - np.log1p(-arr)) / np.log(2.0))
