"""Physical constants, default values and unit conversions.

Every quantity carries its unit in its name: ``distance_km``, ``attenuation_db_per_km``,
``dead_time_ns``. Conversions between decibels and linear transmittance live here, once.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FIBRE_ATTENUATION_DB_PER_KM",
    "NS_PER_S",
    "PS_PER_NS",
    "db_to_transmittance",
    "fibre_transmittance",
    "transmittance_to_db",
]

FIBRE_ATTENUATION_DB_PER_KM: Final[float] = 0.2
"""Loss of standard single-mode telecom fibre (ITU-T G.652) at 1550 nm."""

NS_PER_S: Final[float] = 1e9
PS_PER_NS: Final[float] = 1e3


def db_to_transmittance(
    loss_db: float | npt.NDArray[np.float64],
) -> float | npt.NDArray[np.float64]:
    """Convert a loss in dB into a linear transmittance ``10**(-loss_db/10)``."""
    return np.power(10.0, -np.asarray(loss_db, dtype=np.float64) / 10.0)


def transmittance_to_db(transmittance: float) -> float:
    """Convert a linear transmittance in (0, 1] into a loss in dB."""
    if not 0.0 < transmittance <= 1.0:
        from qkdstack.errors import ParameterError

        raise ParameterError(f"Argument 'transmittance' must be in (0, 1], not {transmittance!r}.")
    return -10.0 * math.log10(transmittance)


def fibre_transmittance(
    distance_km: float,
    attenuation_db_per_km: float = FIBRE_ATTENUATION_DB_PER_KM,
    insertion_loss_db: float = 0.0,
) -> float:
    """Transmittance of a fibre span: ``10**(-(alpha*L + insertion_loss)/10)``.

    References
    ----------
    Gisin, Ribordy, Tittel, Zbinden, "Quantum cryptography", Rev. Mod. Phys. 74, 145 (2002), Sec. III.B.
    """
    return float(10.0 ** (-(attenuation_db_per_km * distance_km + insertion_loss_db) / 10.0))
