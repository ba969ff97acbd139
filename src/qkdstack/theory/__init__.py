"""Security theory: how much key is secure, from numbers alone.

A leaf of the package: it imports nothing from ``link``, ``processing``, ``kms`` or ``cli``.

* :mod:`~qkdstack.theory.entropy` -- binary entropy.
* :mod:`~qkdstack.theory.bounds` -- PLOB and TGW repeaterless bounds.
* :mod:`~qkdstack.theory.rates` -- asymptotic key fractions (Shor-Preskill, six-state, GLLP,
  decoy state, BBM92, device-independent).
* :mod:`~qkdstack.theory.finite_key` -- finite-key decoy-state BB84 (Lim et al. 2014).
* :mod:`~qkdstack.theory.models` -- expected statistics of the papers' link models.
* :mod:`~qkdstack.theory.curves` -- key rate against distance, maximum distance.
* :mod:`~qkdstack.theory.numerical` -- numerical key rates of any discrete-variable protocol
  described by data, with a certified lower bound (imported on its own: it loads the QICS solver).
"""

from __future__ import annotations

from qkdstack.theory.bounds import plob_bound, tgw_bound
from qkdstack.theory.curves import (
    CurvePoint,
    SystemModel,
    key_rate,
    key_rate_curve,
    max_distance_km,
)
from qkdstack.theory.entropy import binary_entropy
from qkdstack.theory.finite_key import (
    LIM2014_FORMULA,
    FiniteKeyResult,
    Lim2014Settings,
    lim2014_expected_counts,
    lim2014_key_length,
    lim2014_rate,
    optimise_lim2014,
)
from qkdstack.theory.rates import (
    DecoyEstimate,
    bbm92_rate,
    decoy_rate,
    device_independent_rate,
    gllp_rate,
    shor_preskill_rate,
    six_state_rate,
    vacuum_weak_decoy,
)

__all__ = [
    "LIM2014_FORMULA",
    "CurvePoint",
    "DecoyEstimate",
    "FiniteKeyResult",
    "Lim2014Settings",
    "SystemModel",
    "bbm92_rate",
    "binary_entropy",
    "decoy_rate",
    "device_independent_rate",
    "gllp_rate",
    "key_rate",
    "key_rate_curve",
    "lim2014_expected_counts",
    "lim2014_key_length",
    "lim2014_rate",
    "max_distance_km",
    "optimise_lim2014",
    "plob_bound",
    "shor_preskill_rate",
    "six_state_rate",
    "tgw_bound",
    "vacuum_weak_decoy",
]
