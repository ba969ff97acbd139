"""Quantum channels: fibre loss and the transmittance of each arm of a link.

A prepare-and-measure link has one arm, Alice to Bob. An entanglement-based link whose source sits in
the middle has two arms of half the distance each; with the source at Alice, Alice's arm has no fibre.
The insertion loss (connectors, Bob's optics) is counted once per link, split evenly over the arms of
a middle source.

References
----------
Gisin, Ribordy, Tittel, Zbinden, "Quantum cryptography", Rev. Mod. Phys. 74, 145 (2002), Sec. III.B
(:math:`t = 10^{-(\\alpha L + L_\\mathrm{ins})/10}`).
"""

from __future__ import annotations

from qkdstack.params import LinkParams
from qkdstack.units import fibre_transmittance

__all__ = ["arm_transmittances", "link_transmittance"]


def link_transmittance(params: LinkParams) -> float:
    """Transmittance of the whole fibre link Alice -> Bob (detector efficiency not included).

    References
    ----------
    Gisin et al., Rev. Mod. Phys. 74, 145 (2002), Sec. III.B.
    """
    return fibre_transmittance(
        params.distance_km, params.attenuation_db_per_km, params.insertion_loss_db
    )


def arm_transmittances(params: LinkParams) -> tuple[float, float]:
    """Channel transmittances ``(t_alice, t_bob)`` of the two arms of an entanglement-based link.

    With ``source_position == "middle"`` each arm is ``distance_km / 2`` long and carries half the
    insertion loss; with ``"alice"`` the source is at Alice (``t_alice = 1``) and Bob's arm is the
    whole link.
    """
    if params.source_position == "alice":
        return 1.0, link_transmittance(params)
    half = fibre_transmittance(
        params.distance_km / 2, params.attenuation_db_per_km, params.insertion_loss_db / 2
    )
    return half, half
