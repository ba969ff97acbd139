"""Light sources: photon-number (or pair-number) statistics as probability generating functions.

Every detection probability of the link follows from one function of the source: its photon-number
probability generating function :math:`G(s) = \\sum_n P(n) s^n`. When each of the ``n`` photons (or
pairs) independently lands in a set of detectors with probability :math:`x`, the probability that no
photon lands there is :math:`G(1 - x)`. The kernels here return :math:`Q(x) = G(1 - x)` directly,
in forms that stay accurate for small ``x``.

- single photon: :math:`P(1) = 1`, :math:`Q(x) = 1 - x`;
- attenuated laser (Poisson, mean :math:`\\mu`): :math:`Q(x) = e^{-\\mu x}`;
- thermal (single-mode SPDC pair number, mean :math:`\\mu`):
  :math:`P(n) = \\mu^n / (1+\\mu)^{n+1}`, :math:`Q(x) = 1 / (1 + \\mu x)`.

References
----------
Lo, Ma, Chen, "Decoy state quantum key distribution", PRL 94, 230504 (2005), Eq. (1) (Poisson
photon number of an attenuated laser). X. Ma, C.-H. F. Fung, H.-K. Lo, "Quantum key distribution
with entangled photon sources", PRA 76, 012307 (2007), Eq. (1)-(2) (thermal and Poisson pair
statistics of SPDC sources).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError

__all__ = ["NumberStatistics", "no_photon_probability", "number_distribution"]

NumberStatistics = Literal["single-photon", "poisson", "thermal"]
"""Photon (or pair) number statistics a source may have."""

_STATISTICS: tuple[str, ...] = ("single-photon", "poisson", "thermal")


def no_photon_probability(
    statistics: NumberStatistics, mean: float, x: float | npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Probability that none of the emitted photons (pairs) lands in a set reached with probability ``x``.

    Parameters
    ----------
    statistics : {"single-photon", "poisson", "thermal"}
        Number statistics of the source (``mean`` is ignored for ``"single-photon"``).
    mean : float
        Mean photon (pair) number per pulse, >= 0.
    x : float or ndarray of float64
        Per-photon probability of landing in the set, in [0, 1].

    Returns
    -------
    ndarray of float64
        :math:`Q(x) = G(1 - x)`, same shape as ``x``.

    References
    ----------
    Ma, Fung, Lo, PRA 76, 012307 (2007), Eqs. (1)-(2); Lo, Ma, Chen, PRL 94, 230504 (2005), Eq. (1).
    """
    if statistics not in _STATISTICS:
        raise ParameterError(
            f"Argument 'statistics' must be one of {', '.join(_STATISTICS)}, not {statistics!r}."
        )
    if mean < 0:
        raise ParameterError(f"Argument 'mean' must be >= 0, not {mean!r}.")
    xa = np.asarray(x, dtype=np.float64)
    if statistics == "single-photon":
        return 1.0 - xa
    if statistics == "poisson":
        return np.exp(-mean * xa)
    return 1.0 / (1.0 + mean * xa)


def number_distribution(
    statistics: NumberStatistics, mean: float, n_max: int
) -> npt.NDArray[np.float64]:
    """Probabilities ``P(n)`` for ``n = 0 .. n_max`` (for tests and per-pulse reference simulations).

    References
    ----------
    Ma, Fung, Lo, PRA 76, 012307 (2007), Eqs. (1)-(2).
    """
    if n_max < 0:
        raise ParameterError(f"Argument 'n_max' must be >= 0, not {n_max}.")
    n = np.arange(n_max + 1, dtype=np.float64)
    if statistics == "single-photon":
        return (n == 1).astype(np.float64)
    if statistics == "poisson":
        from scipy.stats import poisson

        return np.asarray(poisson.pmf(n, mean), dtype=np.float64)
    if statistics == "thermal":
        return np.asarray(mean**n / (1.0 + mean) ** (n + 1), dtype=np.float64)
    raise ParameterError(
        f"Argument 'statistics' must be one of {', '.join(_STATISTICS)}, not {statistics!r}."
    )
