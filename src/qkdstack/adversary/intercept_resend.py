"""Intercept-resend: Eve measures a share of the pulses and resends what she found.

Eve sits at Alice's output. On each non-empty pulse she attacks (with probability ``fraction``) she
measures in her basis (``z``, ``x``, a uniformly ``random`` one of the two, or the ``breidbart``
basis halfway between them) with an ideal detector, and resends a pulse of the same photon number
prepared in the state she found into the original fibre, so Bob's detection statistics do not
change. In the key basis, a random-basis attack on every pulse gives Bob an error with probability
1/4 (Eve picks the wrong basis half the time, and then Bob's outcome is random), so a share ``f`` of
attacked pulses gives a QBER of ``f/4`` on an error-free link (Bennett, Brassard 1984; Gisin et al.
2002, Sec. VI.A). In the Breidbart basis Eve's guess of each bit is right with probability
``cos^2(pi/8) ~ 0.854``, giving her ``1 - h(cos^2(pi/8)) ~ 0.399`` bit of Shannon information per
sifted bit for the same QBER of 1/4 (Bennett, Bessette, Brassard, Salvail, Smolin 1992, Sec. 4;
Huttner, Ekert 1994).

References
----------
N. Gisin, G. Ribordy, W. Tittel, H. Zbinden, Rev. Mod. Phys. 74, 145 (2002), Sec. VI.A.
C. H. Bennett, F. Bessette, G. Brassard, L. Salvail, J. Smolin, "Experimental quantum
cryptography", J. Cryptology 5, 3 (1992).
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

from .choices import BASIS_CHOICES, EveBasisChoice
from .eve_records import EveBasis
from .sampler import (
    CaseAttack,
    Cases,
    Detections,
    EveView,
    basis_axis,
    bob_channel_transmittance,
    case_attr,
    ignorant_view,
    measure,
)

__all__ = ["BASIS_CHOICES", "BREIDBART_ERROR_PROB", "InterceptResend"]


BREIDBART_ERROR_PROB: float = math.sin(math.pi / 8) ** 2
"""Eve's error probability on each bit measured in the Breidbart basis, ``sin^2(pi/8)``."""


@dataclass
class InterceptResend(CaseAttack):
    """Intercept-resend attack on a share ``fraction`` of the pulses, measuring in ``basis``.

    Parameters
    ----------
    fraction : float
        Share of the pulses Eve attacks, in [0, 1].
    basis : {"random", "z", "x", "breidbart"}
        Eve's measurement basis.
    """

    fraction: float = 1.0
    basis: EveBasisChoice = "random"
    name: str = field(default="intercept-resend", init=False)

    def __post_init__(self) -> None:
        if not (0.0 <= self.fraction <= 1.0):
            raise ParameterError(f"Argument 'fraction' must be in [0, 1], not {self.fraction!r}.")
        if self.basis not in BASIS_CHOICES:
            raise ParameterError(
                f"Argument 'basis' must be one of {', '.join(BASIS_CHOICES)}, not {self.basis!r}."
            )

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters, JSON-ready."""
        return {"fraction": self.fraction, "basis": self.basis}

    def cases(self, pmf: FloatArray, params: LinkParams) -> Cases:
        """Cases ``(n, attacked)``; Eve resends ``n`` photons into the fibre."""
        eta = bob_channel_transmittance(params) * params.detector_efficiency
        w, c, ph, act = [], [], [], []
        for n, p in enumerate(pmf):
            click = 1.0 - (1.0 - eta) ** n
            attacked_share = self.fraction if n >= 1 else 0.0
            for a, share in ((0, 1.0 - attacked_share), (1, attacked_share)):
                w.append(p * share)
                c.append(click)
                ph.append(n)
                act.append(a)
        return Cases.build(w, c, ph, [0] * len(w), act, [bool(a) for a in act])

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
        n_att = int(attacked.sum())
        if self.basis == "random":
            eve_basis = rng.integers(0, 2, size=n_att, dtype=np.uint8)
        else:
            code = {"z": EveBasis.Z, "x": EveBasis.X, "breidbart": EveBasis.BREIDBART}[self.basis]
            eve_basis = np.full(n_att, code, dtype=np.uint8)
        axis = basis_axis(eve_basis)
        outcome = measure(alice_theta[attacked], axis, rng)
        theta = view.bob_theta.copy()
        theta[attacked] = axis + np.pi * outcome
        if self.basis == "breidbart":
            err = np.full(n_att, BREIDBART_ERROR_PROB)
        else:
            err = np.where(eve_basis == det.alice_basis[attacked], 0.0, 0.5)
        view.attacked[attacked] = True
        view.basis[attacked] = eve_basis
        view.guess[attacked] = outcome
        view.error_prob[attacked] = err
        view.certain[attacked] = err == 0.0
        return EveView(
            theta,
            view.bob_extra_flip_prob,
            view.attacked,
            view.basis,
            view.guess,
            view.certain,
            view.error_prob,
        )
