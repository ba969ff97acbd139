"""Photon-number splitting (PNS): Eve keeps one photon of every multi-photon pulse.

Eve measures the photon number of each pulse at Alice's output without disturbing the polarisation
(a quantum non-demolition measurement). She blocks single-photon pulses, keeps one photon of each
multi-photon pulse in a quantum memory and forwards the other ``n - 1`` photons to Bob over a
lossless line. To stay hidden she tunes the share of pulses she forwards so that Bob's signal-click
probability equals the honest channel's, ``1 - exp(-eta mu)`` for the signal intensity ``mu`` (Ma et
al. 2005, Eq. 4 with ``Y0`` set apart): she forwards a share ``r`` of the multi-photon pulses, and
only when even ``r = 1`` is not enough, also a share ``s`` of the single photons (untouched). Bob's
gain and QBER at the signal intensity are then those of the honest link, so plain BB84 cannot see
her, while she learns every bit of a forwarded multi-photon pulse after the basis announcement
(Brassard, Lütkenhaus, Mor, Sanders 2000). Eve cannot tell decoy pulses from signal pulses, so with
decoy states the gains of the weaker intensities drop below the honest ones and the decoy estimate of
the single-photon yield collapses (Hwang 2003; Lo, Ma, Chen 2005).

References
----------
G. Brassard, N. Lütkenhaus, T. Mor, B. C. Sanders, "Limitations on practical quantum cryptography",
Phys. Rev. Lett. 85, 1330 (2000).
W.-Y. Hwang, "Quantum key distribution with high loss: toward global secure communication",
Phys. Rev. Lett. 91, 057901 (2003).
H.-K. Lo, X. Ma, K. Chen, "Decoy state quantum key distribution", Phys. Rev. Lett. 94, 230504 (2005).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.link.records import LinkOutput
from qkdstack.params import LinkParams
from qkdstack.typing import FloatArray

from .sampler import (
    Cases,
    bob_channel_transmittance,
    kept_photon_view,
    link_classes,
    run_attacked_link,
)

__all__ = ["PNS_BLOCK", "PNS_FORWARD", "PNS_SPLIT", "PhotonNumberSplitting", "pns_forward_shares"]

PNS_BLOCK = 0  #: Eve blocks the pulse (and keeps its photons)
PNS_SPLIT = 1  #: Eve keeps one photon and forwards the rest losslessly
PNS_FORWARD = 2  #: Eve forwards a single photon untouched, losslessly


def pns_forward_shares(
    pmf: FloatArray, channel_transmittance: float, detector_efficiency: float
) -> tuple[float, float]:
    """Shares ``(r, s)`` of multi- and single-photon pulses Eve forwards to match the honest gain.

    Honest signal clicks: ``sum_n P(n) [1 - (1 - t eta_d)^n]``. Under PNS: ``r sum_{n>=2} P(n)
    [1 - (1 - eta_d)^(n-1)] + s P(1) eta_d``. Eve takes ``r`` as small as possible, then ``s``.

    Raises
    ------
    ParameterError
        When even forwarding everything cannot reach the honest gain (a short, low-loss link).
    """
    eta_d = detector_efficiency
    eta = channel_transmittance * eta_d
    n = np.arange(pmf.shape[0])
    honest = float(np.dot(pmf, 1.0 - (1.0 - eta) ** n))
    multi = float(np.dot(pmf[2:], 1.0 - (1.0 - eta_d) ** (n[2:] - 1))) if pmf.shape[0] > 2 else 0.0
    single = float(pmf[1] * eta_d) if pmf.shape[0] > 1 else 0.0
    if honest <= multi:
        return (honest / multi if multi > 0 else 0.0), 0.0
    if honest <= multi + single + 1e-15:
        return 1.0, min(1.0, (honest - multi) / single)
    raise ParameterError(
        "Attack 'pns' cannot reproduce the honest gain on this link: the fibre's transmittance "
        f"must be lower, not {channel_transmittance:.4g} (increase 'distance_km')."
    )


@dataclass
class PhotonNumberSplitting:
    """Photon-number-splitting attack tuned to the honest signal gain."""

    name: str = field(default="pns", init=False)

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters (none), JSON-ready."""
        return {}

    def cases(self, pmf: FloatArray, r: float, s: float, eta_d: float) -> Cases:
        """Cases ``(n, action)`` with action block / split / forward."""
        w, c, ph, ev, act = [], [], [], [], []
        for n, p in enumerate(pmf):
            if n == 0:
                w.append(p)
                c.append(0.0)
                ph.append(0)
                ev.append(0)
                act.append(PNS_BLOCK)
                continue
            forward = s if n == 1 else r
            w += [p * (1.0 - forward), p * forward]
            c += [0.0, eta_d if n == 1 else 1.0 - (1.0 - eta_d) ** (n - 1)]
            ph += [n, n]
            ev += [n, 0 if n == 1 else 1]
            act += [PNS_BLOCK, PNS_FORWARD if n == 1 else PNS_SPLIT]
        icpt = [
            not (a == PNS_FORWARD or (a == PNS_BLOCK and nn == 0))
            for a, nn in zip(act, ph, strict=True)
        ]
        return Cases.build(w, c, ph, ev, act, icpt)

    def simulate(
        self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
    ) -> LinkOutput:
        """Run the quantum phase of ``protocol`` under this attack (tuned on intensity class 0)."""
        classes = link_classes(protocol, params)
        r, s = pns_forward_shares(
            classes.pmf(0), bob_channel_transmittance(params), params.detector_efficiency
        )
        cases = [
            self.cases(classes.pmf(k), r, s, params.detector_efficiency)
            for k in range(len(classes.means))
        ]
        out = run_attacked_link(
            name=self.name,
            parameters=self.parameters(),
            protocol=protocol,
            params=params,
            pulses=pulses,
            rng=rng,
            cases=cases,
            resolve=kept_photon_view,
        )
        out.eve.notes.update({"multi_photon_forward_share": r, "single_photon_forward_share": s})
        return out
