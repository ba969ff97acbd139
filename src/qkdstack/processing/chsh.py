"""The CHSH value S of a Bell test and its standard error, from settings and outcomes.

For setting pair (a, b) with :math:`N_{ab}` events, of which :math:`N^{=}_{ab}` have equal outcomes,
the correlator is estimated as

.. math:: \\hat E(a, b) = \\frac{N^{=}_{ab} - N^{\\neq}_{ab}}{N_{ab}},

the mean of :math:`N_{ab}` independent :math:`\\pm 1` variables, so its variance is
:math:`\\mathrm{Var}\\,\\hat E = (1 - E^2)/N_{ab}` (binomial). The CHSH combination

.. math:: S = E(a_0, b_0) \\pm E(a_0, b_1) \\pm E(a_1, b_0) \\pm E(a_1, b_1)

(Clauser, Horne, Shimony, Holt 1969, Eq. (1a); signs per setting convention) obeys
:math:`|S| \\le 2` for local hidden variables and reaches :math:`2\\sqrt{2}` for a maximally entangled
state (Tsirelson 1980). The four correlators are estimated from disjoint events, so
:math:`\\mathrm{Var}\\,\\hat S = \\sum_{ab} (1 - \\hat E_{ab}^2)/N_{ab}`.

The default terms are those of :mod:`qkdstack.link.protocols.entangled` for E91 (setting code ``c``
measures at ``c * 22.5°``): :math:`S = E(0,1) - E(0,3) + E(2,1) + E(2,3)`.

References
----------
J. F. Clauser, M. A. Horne, A. Shimony, R. A. Holt, "Proposed experiment to test local
hidden-variable theories", PRL 23, 880 (1969), Eq. (1a). B. S. Tsirelson, Lett. Math. Phys. 4, 93
(1980). G. Weihs et al., PRL 81, 5039 (1998) (S with its standard error from counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError

__all__ = ["E91_CHSH_TERMS", "chsh_value", "correlator", "hoeffding_chsh_lower"]

E91_CHSH_TERMS: tuple[tuple[int, int, int], ...] = ((0, 1, 1), (0, 3, -1), (2, 1, 1), (2, 3, 1))
"""(Alice setting, Bob setting, sign) of the four correlators of the E91 CHSH value."""


def correlator(
    alice_outcome: npt.NDArray[np.uint8], bob_outcome: npt.NDArray[np.uint8]
) -> tuple[float, float]:
    """Estimated correlator :math:`E = (N_= - N_{\\neq}) / N` and its variance :math:`(1 - E^2)/N`.

    References
    ----------
    Clauser et al., PRL 23, 880 (1969), Eq. (1a) (definition of the correlation function).
    """
    n = int(alice_outcome.shape[0])
    if n == 0:
        raise ParameterError("Argument 'alice_outcome' must hold at least 1 event, not 0.")
    diff = int(np.count_nonzero(alice_outcome != bob_outcome))
    e = (n - 2 * diff) / n
    return e, (1.0 - e * e) / n


def chsh_value(
    alice_setting: npt.NDArray[np.uint8],
    bob_setting: npt.NDArray[np.uint8],
    alice_outcome: npt.NDArray[np.uint8],
    bob_outcome: npt.NDArray[np.uint8],
    terms: Sequence[tuple[int, int, int]] = E91_CHSH_TERMS,
) -> tuple[float, float]:
    """CHSH value S and its standard error from the events of a Bell test.

    Parameters
    ----------
    alice_setting, bob_setting : ndarray of uint8, shape (n,)
        Setting codes of each event (events of other setting pairs are ignored).
    alice_outcome, bob_outcome : ndarray of uint8, shape (n,)
        Outcomes 0 or 1.
    terms : sequence of (a, b, sign)
        The correlators of S and their signs (default :data:`E91_CHSH_TERMS`).

    Returns
    -------
    s, s_std : float
        :math:`S = \\sum \\mathrm{sign}\\, \\hat E(a, b)` and :math:`\\sqrt{\\sum (1 - \\hat E^2)/N_{ab}}`.

    Raises
    ------
    ParameterError
        When the arrays differ in shape, or a setting pair of ``terms`` has no event.

    References
    ----------
    Clauser, Horne, Shimony, Holt, PRL 23, 880 (1969), Eq. (1a); the variance is that of a mean of
    independent :math:`\\pm 1` outcomes (binomial), as in Weihs et al., PRL 81, 5039 (1998).
    """
    arrays = {
        "alice_setting": alice_setting,
        "bob_setting": bob_setting,
        "alice_outcome": alice_outcome,
        "bob_outcome": bob_outcome,
    }
    shape = alice_setting.shape
    for name, arr in arrays.items():
        if arr.shape != shape or arr.ndim != 1:
            raise ParameterError(
                f"Argument '{name}' must be 1-D with the shape {shape} of 'alice_setting', "
                f"not {arr.shape}."
            )
    s = 0.0
    var = 0.0
    for a, b, sign in terms:
        mask = (alice_setting == a) & (bob_setting == b)
        if not mask.any():
            raise ParameterError(
                f"Argument 'alice_setting'/'bob_setting' must hold events of the CHSH pair "
                f"({a}, {b}), not none."
            )
        e, v = correlator(alice_outcome[mask], bob_outcome[mask])
        s += sign * e
        var += v
    return s, math.sqrt(var)


def hoeffding_chsh_lower(
    alice_setting: np.ndarray,
    bob_setting: np.ndarray,
    alice_outcome: np.ndarray,
    bob_outcome: np.ndarray,
    epsilon: float,
) -> float:
    """Lower confidence bound on the CHSH value S, failing with probability at most ``epsilon``.

    Each correlator estimate is a mean of ``N_ab`` outcomes in [-1, 1]; by Hoeffding's inequality it
    exceeds its expectation by ``t_ab = sqrt(2 ln(4/epsilon) / N_ab)`` with probability at most
    ``epsilon/4``, so ``S - sum_ab t_ab`` bounds S from below (union bound over the four terms).

    References
    ----------
    W. Hoeffding, "Probability inequalities for sums of bounded random variables", J. Am. Stat.
    Assoc. 58, 13 (1963), Theorem 2.
    """
    s, _ = chsh_value(alice_setting, bob_setting, alice_outcome, bob_outcome)
    slack = 0.0
    for a, b, _sign in E91_CHSH_TERMS:
        n_ab = int(np.count_nonzero((alice_setting == a) & (bob_setting == b)))
        slack += math.sqrt(2.0 * math.log(4.0 / epsilon) / n_ab)
    return s - slack
