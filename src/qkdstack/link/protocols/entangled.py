"""Entanglement-based protocols: BBM92 and E91 event tables for an SPDC pair source.

A spontaneous parametric down-conversion source emits ``n`` pairs per pulse (time slot) with thermal
or Poisson statistics of mean ``mu_pair`` (``pair_statistics``), each pair in
:math:`|\\Phi^+\\rangle` with visibility ``visibility``; multi-pair emission therefore appears as
uncorrelated coincidences. The source sits in the middle of the link or at Alice
(``source_position``). Each party measures linear polarisation at angle :math:`\\theta` with two
threshold detectors; one fully detected pair gives outcomes that agree with probability
:math:`(1 + E)/2`, :math:`E(\\theta_a, \\theta_b) = V (1 - 2 e_{mis}) \\cos 2(\\theta_a - \\theta_b)`.

Both parties are measuring parties. The simulator reports *coincidences*: time slots in which both
Alice and Bob register a click (finding coincidences from time tags is a public step). Each party's
``basis`` holds its measurement-setting code and ``bit`` its outcome (double clicks squashed to a
random outcome).

Setting codes:

- ``bbm92``: both parties Z (0°, code 0) or X (45°, code 1), Z with probability ``basis_prob_z``
  (Bennett, Brassard, Mermin 1992). Key from equal codes.
- ``e91``: a setting code ``c`` means the polarisation angle ``c * 22.5°`` (the spin-1/2 angles of
  Ekert 1991 halved). Alice chooses ``a`` in {0, 1, 2} (0°, 22.5°, 45°), Bob ``b`` in {1, 2, 3}
  (22.5°, 45°, 67.5°), each uniformly. Key pairs: ``a == b`` (codes 1 and 2, probability 2/9).
  CHSH pairs: ``a`` in {0, 2} and ``b`` in {1, 3}, with
  :math:`S = E(0,1) - E(0,3) + E(2,1) + E(2,3) = 2\\sqrt{2}\\,V(1-2e_{mis})` for a pure source.
  The other pairs, (0, 2), (1, 2) and (1, 3), are discarded.

References
----------
A. K. Ekert, PRL 67, 661 (1991) (E91). C. H. Bennett, G. Brassard, N. D. Mermin, PRL 68, 557 (1992)
(BBM92). J. F. Clauser, M. A. Horne, A. Shimony, R. A. Holt, PRL 23, 880 (1969) (CHSH). X. Ma,
C.-H. F. Fung, H.-K. Lo, PRA 76, 012307 (2007), Eqs. (1)-(2), (8) (SPDC statistics and gain).
"""

from __future__ import annotations

import math

import numpy as np

from qkdstack.link.channels import arm_transmittances
from qkdstack.link.detectors import pair_click_probabilities
from qkdstack.link.events import EventTable
from qkdstack.link.sources import no_photon_probability
from qkdstack.params import LinkParams

__all__ = [
    "E91_ALICE_SETTINGS",
    "E91_BOB_SETTINGS",
    "E91_CHSH_TERMS",
    "SETTING_ANGLE_DEG",
    "bbm92_table",
    "e91_table",
    "entangled_table",
]

SETTING_ANGLE_DEG: float = 22.5
"""E91 setting code ``c`` measures polarisation at ``c * 22.5`` degrees."""

E91_ALICE_SETTINGS: tuple[int, ...] = (0, 1, 2)
E91_BOB_SETTINGS: tuple[int, ...] = (1, 2, 3)
E91_CHSH_TERMS: tuple[tuple[int, int, int], ...] = ((0, 1, 1), (0, 3, -1), (2, 1, 1), (2, 3, 1))
"""(Alice code, Bob code, sign) of the four correlators of S."""


def entangled_table(
    params: LinkParams,
    alice_angles_deg: dict[int, float],
    alice_probs: dict[int, float],
    bob_angles_deg: dict[int, float],
    bob_probs: dict[int, float],
) -> EventTable:
    """Coincidence event table for settings given as ``code -> angle`` and ``code -> probability``.

    References
    ----------
    Ma, Fung, Lo, PRA 76, 012307 (2007), Sec. III; Clauser et al., PRL 23, 880 (1969).
    """
    t_a, t_b = arm_transmittances(params)
    eta_a = t_a * params.detector_efficiency
    eta_b = t_b * params.detector_efficiency
    stats = params.pair_statistics
    mean = params.mu_pair

    def q_of(x: np.ndarray) -> np.ndarray:
        return no_photon_probability(stats, mean, x)

    contrast = params.visibility * (1 - 2 * params.misalignment_error)
    n_alice = max(alice_angles_deg) + 1
    no_det = np.zeros((1, n_alice))
    rows: list[tuple[float, int, int, int, int]] = []
    for a, theta_a in alice_angles_deg.items():
        for b, theta_b in bob_angles_deg.items():
            corr = contrast * math.cos(2 * math.radians(theta_a - theta_b))
            table = pair_click_probabilities(q_of, eta_a, eta_b, corr, params.dark_count_prob)
            weight = alice_probs[a] * bob_probs[b]
            coincidence = 0.0
            for pa in range(3):
                for pb in range(3):
                    p = weight * float(table[pa, pb])
                    coincidence += p
                    # Pattern codes 0, 1 are outcomes; 2 (double click) is RANDOM.
                    rows.append((p, a, b, pa, pb))
            no_det[0, a] += weight - coincidence
    arr = np.array(rows, dtype=np.float64)
    u8 = np.uint8
    return EventTable(
        prob=arr[:, 0].copy(),
        intensity=np.zeros(len(rows), dtype=u8),
        alice_basis=arr[:, 1].astype(u8),
        bob_basis=arr[:, 2].astype(u8),
        alice_bit=arr[:, 3].astype(u8),
        bob_bit=arr[:, 4].astype(u8),
        no_detection=np.maximum(no_det, 0.0),
    )


def bbm92_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """BBM92: both parties measure Z (0°) or X (45°), Z with probability ``basis_prob_z``."""
    pz = params.basis_prob_z
    angles = {0: 0.0, 1: 45.0}
    probs = {0: pz, 1: 1 - pz}
    return entangled_table(params, angles, probs, angles, probs), (params.mu_pair,)


def e91_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """E91 with Alice's codes {0, 1, 2} and Bob's {1, 2, 3} (angle = code * 22.5°), uniform."""
    alice = {c: c * SETTING_ANGLE_DEG for c in E91_ALICE_SETTINGS}
    bob = {c: c * SETTING_ANGLE_DEG for c in E91_BOB_SETTINGS}
    pa = {c: 1 / 3 for c in E91_ALICE_SETTINGS}
    pb = {c: 1 / 3 for c in E91_BOB_SETTINGS}
    return entangled_table(params, alice, pa, bob, pb), (params.mu_pair,)
