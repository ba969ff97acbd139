"""Beam splitting: Eve replaces the lossy fibre by a lossless one and keeps what the fibre would lose.

At Alice's output Eve sends each photon to Bob with the fibre's transmittance ``t`` (over her
lossless line) and keeps it otherwise, so Bob sees exactly the honest link and the QBER does not
change. She stores her photons and measures them in Alice's basis once it is announced, so she knows
every bit of a pulse from which she kept at least one photon. For a Poissonian pulse of mean ``mu``
the photon numbers reaching Bob and Eve are independent Poisson variables of means ``t mu`` and
``(1 - t) mu`` (splitting a Poisson stream), so on Bob's detected pulses Eve holds the bit with
probability ``1 - exp(-(1 - t) mu)``, whatever Bob saw (Dusek, Jahma, Lütkenhaus 2000; Gisin et al.
2002, Sec. VI.H).

References
----------
M. Dušek, M. Jahma, N. Lütkenhaus, "Unambiguous state discrimination in quantum cryptography with
weak coherent states", Phys. Rev. A 62, 022306 (2000), Sec. II.
N. Gisin, G. Ribordy, W. Tittel, H. Zbinden, Rev. Mod. Phys. 74, 145 (2002), Sec. VI.H.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from qkdstack.params import LinkParams
from qkdstack.typing import FloatArray

from .sampler import (
    CaseAttack,
    Cases,
    bob_channel_transmittance,
    kept_photon_view,
)

__all__ = ["BeamSplitting"]


@dataclass
class BeamSplitting(CaseAttack):
    """Beam-splitting attack: Eve keeps the share of photons the fibre would have lost."""

    name: str = field(default="beam-splitting", init=False)

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters (none), JSON-ready."""
        return {}

    def cases(self, pmf: FloatArray, params: LinkParams) -> Cases:
        """Cases ``(n, m)``: ``m`` of the ``n`` photons reach Bob losslessly, ``n - m`` go to Eve."""
        t = bob_channel_transmittance(params)
        eta_d = params.detector_efficiency
        w, c, ph, ev = [], [], [], []
        for n, p in enumerate(pmf):
            for m in range(n + 1):
                w.append(p * math.comb(n, m) * t**m * (1.0 - t) ** (n - m))
                c.append(1.0 - (1.0 - eta_d) ** m)
                ph.append(n)
                ev.append(n - m)
        return Cases.build(w, c, ph, ev, [0] * len(w), [e > 0 for e in ev])

    resolve = staticmethod(kept_photon_view)
