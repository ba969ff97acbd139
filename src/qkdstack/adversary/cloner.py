"""The optimal individual attack on BB84: Fuchs et al.'s phase-covariant cloner.

Eve entangles a probe with each qubit at Alice's output so that Bob, in his own basis, sees an error
with probability ``D`` (the disturbance), keeps the probe, and measures it optimally once the basis
is announced. For the optimal individual attack on BB84 (Fuchs, Gisin, Griffiths, Niu, Peres 1997, the
information bound of their Sec. VI for equal disturbance in both bases; restated by Gisin et al.
2002, Sec. VI.A; the same trade-off is reached by the phase-covariant cloner of Cirac and Gisin
1997),
Eve's guess of each sifted bit is wrong with probability

    P_E(D) = 1/2 - sqrt(D (1 - D)),

and her Shannon information on it is

    I_AE(D) = phi(2 sqrt(D (1 - D))) / 2,    phi(x) = (1+x) log2(1+x) + (1-x) log2(1-x),

which equals ``1 - h(P_E)``. At ``D = 1/2 (1 - 1/sqrt 2) ~ 0.146`` Eve's information equals Bob's,
``I_AE = I_AB = 1 - h(D)``, the QBER above which one-way post-processing yields no key against
individual attacks.

The simulation draws Bob's extra error and Eve's error independently with these marginals: the
paper's trade-off concerns the marginals (Bob's error rate and Eve's information), which is what this
sampler reproduces. The attack acts on every non-empty pulse as on a qubit (it is meant for a
single-photon source).

References
----------
C. A. Fuchs, N. Gisin, R. B. Griffiths, C.-S. Niu, A. Peres, "Optimal eavesdropping in quantum
cryptography. I. Information bound and optimal strategy", Phys. Rev. A 56, 1163 (1997), Sec. VI
(the optimal information for a given disturbance).
N. Gisin, G. Ribordy, W. Tittel, H. Zbinden, Rev. Mod. Phys. 74, 145 (2002), Sec. VI.A.
J. I. Cirac, N. Gisin, "Coherent eavesdropping strategies for the 4 state quantum cryptography
protocol", Phys. Lett. A 229, 1 (1997).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.typing import BitArray, FloatArray

from .sampler import (
    CaseAttack,
    Cases,
    Detections,
    EveView,
    bob_channel_transmittance,
    case_attr,
    ignorant_view,
)

__all__ = ["Cloner", "fuchs_eve_error_prob", "fuchs_information"]


def _check_disturbance(disturbance: float) -> None:
    if not (0.0 <= disturbance <= 0.5):
        raise ParameterError(f"Argument 'disturbance' must be in [0, 0.5], not {disturbance!r}.")


def fuchs_eve_error_prob(disturbance: float) -> float:
    """Eve's error probability on a sifted bit, ``1/2 - sqrt(D (1 - D))`` (Fuchs et al. 1997, Sec. VI)."""
    _check_disturbance(disturbance)
    return 0.5 - math.sqrt(disturbance * (1.0 - disturbance))


def fuchs_information(disturbance: float) -> float:
    """Eve's maximal Shannon information per sifted bit at Bob's error rate ``D``.

    ``I_AE = phi(2 sqrt(D (1 - D))) / 2`` with ``phi(x) = (1+x) log2(1+x) + (1-x) log2(1-x)``
    (Fuchs, Gisin, Griffiths, Niu, Peres, Phys. Rev. A 56, 1163 (1997), Sec. VI; Gisin et al.,
    Rev. Mod. Phys. 74, 145 (2002), Sec. VI.A).
    """
    _check_disturbance(disturbance)
    x = 2.0 * math.sqrt(disturbance * (1.0 - disturbance))

    def xlog(v: float) -> float:
        return v * math.log2(v) if v > 0 else 0.0

    return 0.5 * (xlog(1.0 + x) + xlog(1.0 - x))


@dataclass
class Cloner(CaseAttack):
    """Fuchs et al.'s optimal individual attack at Bob's error rate ``disturbance``.

    Parameters
    ----------
    disturbance : float
        The error probability ``D`` the attack adds in Bob's key, in [0, 0.5].
    """

    disturbance: float = 0.146
    name: str = field(default="cloner", init=False)

    def __post_init__(self) -> None:
        _check_disturbance(self.disturbance)

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters, JSON-ready."""
        return {"disturbance": self.disturbance}

    def cases(self, pmf: FloatArray, params: LinkParams) -> Cases:
        """Cases ``n``; Eve's probe acts on every non-empty pulse, which then enters the fibre."""
        eta = bob_channel_transmittance(params) * params.detector_efficiency
        n = list(range(pmf.shape[0]))
        return Cases.build(
            list(pmf),
            [1.0 - (1.0 - eta) ** k for k in n],
            n,
            [0] * len(n),
            [int(k >= 1) for k in n],
            [k >= 1 for k in n],
        )

    def resolve(
        self,
        det: Detections,
        cases: Sequence[Cases],
        alice_bit: BitArray,
        alice_theta: FloatArray,
        rng: np.random.Generator,
    ) -> EveView:
        view = ignorant_view(det, alice_theta, rng)
        attacked = case_attr(det, cases, "action").astype(bool)
        k = int(attacked.sum())
        p_e = fuchs_eve_error_prob(self.disturbance)
        wrong = (rng.random(k) < p_e).astype(np.uint8)
        view.guess[attacked] = alice_bit[attacked] ^ wrong
        view.attacked[attacked] = True
        view.basis[attacked] = det.alice_basis[attacked]
        view.error_prob[attacked] = p_e
        view.certain[attacked] = p_e == 0.0
        flip = np.where(attacked, self.disturbance, 0.0)
        return EveView(
            view.bob_theta,
            flip,
            view.attacked,
            view.basis,
            view.guess,
            view.certain,
            view.error_prob,
        )
