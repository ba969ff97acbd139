"""Prepare-and-measure protocols: BB84, decoy-state BB84, six-state and B92 event tables.

Alice chooses an intensity class ``i`` (probability ``p_i``) and a basis ``a``, and prepares a state
of a random value ``v`` in that basis; Bob measures in basis ``b`` with two threshold detectors. A
photon reaches the detector of Alice's value with probability ``1 - e_mis`` when the bases match and
1/2 otherwise (mutually unbiased bases). Click patterns come from
:func:`qkdstack.link.detectors.bob_click_probabilities`.

Record conventions (``basis`` codes are :class:`~qkdstack.typing.Basis`):

- ``bb84``, ``decoy-bb84``: Alice's ``basis`` in {Z, X}, ``bit`` her value; Bob's ``basis`` in
  {Z, X}, ``bit`` his outcome. Z is chosen with probability ``basis_prob_z`` by both.
  ``intensity`` indexes ``meta.intensities``; for ``bb84`` there is one class (``mu`` for a laser,
  1.0 standing for "one photon" for a single-photon source). ``decoy-bb84`` always uses an
  attenuated laser with ``intensities`` and ``intensity_probs`` (Lim et al. 2014).
- ``six-state``: bases Z, X, Y, each chosen with probability 1/3 by both (Bruß 1998).
- ``b92``: Alice's ``bit`` x is her key bit and she sends the state \\|0> (Z basis) for x = 0 and
  \\|+> (X basis) for x = 1, so her ``basis`` equals x. Bob measures Z or X (probability 1/2 each);
  his ``bit`` is the raw outcome (0 for \\|0> or \\|+>, 1 for \\|1> or \\|->). An outcome 1 is
  *conclusive*: outcome \\|1> excludes \\|0> (key bit 1), outcome \\|-> excludes \\|+> (key bit
  0), so Bob's key bit at a conclusive event is ``1 - basis`` (Bennett 1992).

References
----------
C. H. Bennett, G. Brassard, Proc. IEEE ICCSSP (1984) (BB84). H.-K. Lo, H. F. Chau, M. Ardehali,
J. Cryptology 18, 133 (2005) (biased basis choice). C. C. W. Lim et al., PRA 89, 022307 (2014),
Sec. II (decoy-state BB84 with three intensities). D. Bruß, PRL 81, 3018 (1998) (six-state).
C. H. Bennett, PRL 68, 3121 (1992) (B92). X. Ma, B. Qi, Y. Zhao, H.-K. Lo, PRA 72, 012326 (2005),
Eqs. (1)-(4) (detection model).
"""

from __future__ import annotations

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.link.channels import link_transmittance
from qkdstack.link.detectors import BOTH, CORRECT_ONLY, WRONG_ONLY, bob_click_probabilities
from qkdstack.link.events import RANDOM, USE_FLIPPED, USE_VALUE, EventTable
from qkdstack.link.sources import NumberStatistics, no_photon_probability
from qkdstack.params import LinkParams

__all__ = ["b92_table", "bb84_table", "decoy_bb84_table", "six_state_table"]


def _source_classes(
    params: LinkParams, protocol: str
) -> tuple[NumberStatistics, tuple[float, ...], tuple[float, ...]]:
    if params.source == "spdc":
        raise ParameterError(
            f"Argument 'source' must be 'single-photon' or 'laser' for protocol {protocol!r}, "
            "not 'spdc' (an SPDC source serves the entanglement-based protocols bbm92 and e91)."
        )
    if params.source == "laser":
        return "poisson", (params.mu,), (1.0,)
    return "single-photon", (1.0,), (1.0,)


def _table(
    statistics: NumberStatistics,
    intensities: tuple[float, ...],
    intensity_probs: tuple[float, ...],
    alice_basis_probs: tuple[float, ...],
    bob_basis_probs: tuple[float, ...],
    params: LinkParams,
    *,
    b92: bool = False,
) -> EventTable:
    """Event table of a prepare-and-measure link (see the module docstring)."""
    eta = link_transmittance(params) * params.detector_efficiency
    e_mis = params.misalignment_error
    rows: list[tuple[float, int, int, int, int, int]] = []
    n_a = len(alice_basis_probs)
    no_det = np.zeros((len(intensities), n_a))
    for i, (mean, p_i) in enumerate(zip(intensities, intensity_probs, strict=True)):

        def q_of(x: np.ndarray, mean: float = mean) -> np.ndarray:
            return no_photon_probability(statistics, mean, x)

        for a, p_a in enumerate(alice_basis_probs):
            for b, p_b in enumerate(bob_basis_probs):
                p_correct = 1.0 - e_mis if a == b else 0.5
                clicks = bob_click_probabilities(q_of, eta, p_correct, params.dark_count_prob)
                weight = p_i * p_a * p_b
                no_det[i, a] += weight * float(clicks[3])
                if b92:
                    # Alice's bit is her basis; her state is the value-0 state of that basis.
                    alice_rule = a
                    bob_rules = {CORRECT_ONLY: 0, WRONG_ONLY: 1, BOTH: RANDOM}
                else:
                    alice_rule = USE_VALUE
                    bob_rules = {CORRECT_ONLY: USE_VALUE, WRONG_ONLY: USE_FLIPPED, BOTH: RANDOM}
                for pattern, rule in bob_rules.items():
                    rows.append((weight * float(clicks[pattern]), i, a, b, alice_rule, rule))
    arr = np.array(rows, dtype=np.float64)
    u8 = np.uint8
    return EventTable(
        prob=arr[:, 0].copy(),
        intensity=arr[:, 1].astype(u8),
        alice_basis=arr[:, 2].astype(u8),
        bob_basis=arr[:, 3].astype(u8),
        alice_bit=arr[:, 4].astype(u8),
        bob_bit=arr[:, 5].astype(u8),
        no_detection=no_det,
        bob_basis_probs=tuple(bob_basis_probs),
        alice_bit_is_basis=b92,
    )


def bb84_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """BB84 with one intensity and basis choice ``basis_prob_z`` (Bennett-Brassard 1984)."""
    stats, means, probs = _source_classes(params, "bb84")
    pz = params.basis_prob_z
    return _table(stats, means, probs, (pz, 1 - pz), (pz, 1 - pz), params), means


def decoy_bb84_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """Decoy-state BB84: Poisson intensities ``intensities`` chosen with ``intensity_probs``.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), Sec. II.
    """
    pz = params.basis_prob_z
    table = _table(
        "poisson",
        params.intensities,
        params.intensity_probs,
        (pz, 1 - pz),
        (pz, 1 - pz),
        params,
    )
    return table, params.intensities


def six_state_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """Six-state protocol: bases Z, X, Y with probability 1/3 each (Bruß, PRL 81, 3018, 1998)."""
    stats, means, probs = _source_classes(params, "six-state")
    third = (1 / 3, 1 / 3, 1 / 3)
    return _table(stats, means, probs, third, third, params), means


def b92_table(params: LinkParams) -> tuple[EventTable, tuple[float, ...]]:
    """B92 with states \\|0> and \\|+> (Bennett, PRL 68, 3121, 1992); see the module docstring."""
    stats, means, probs = _source_classes(params, "b92")
    half = (0.5, 0.5)
    return _table(stats, means, probs, half, half, params, b92=True), means
