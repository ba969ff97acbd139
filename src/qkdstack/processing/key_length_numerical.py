"""B92 key length from the run's own test rounds: the numerical finite-size proof.

The B92 post-processing (Bennett 1992, states ``|0>`` for bit 0 and ``|+>`` for bit 1):

1. sifting: Bob announces which detections were conclusive (his outcome 1);
2. testing: every pulse is a test round with probability ``p_test`` (the pipeline's
   ``sample_fraction``), drawn by Alice after the quantum transmission. On the detected test
   rounds Alice discloses her bit and Bob his basis and outcome; the undetected test rounds are
   counted as no-clicks. This gives the counts of the nine observations ``(a, Z0)``, ``(a, Z1)``,
   ``(a, X+)``, ``(a, X-)`` for ``a`` in {0, 1}, and "no click" (whatever Alice sent);
3. the test rounds leave the key; error correction and verification run on the rest;
4. the key length is the finite-size numerical bound of George, Lin & Lütkenhaus (2021) applied
   to those counts (:func:`qkdstack.theory.numerical.finite_key_length`), against collective
   attacks, with the leak counted on the channel.

Bob's measurement is modelled as a qubit-plus-vacuum POVM (single photons, no double clicks: dark
counts and multi-photon pulses are outside the model, as in the theory's B92 description).

References
----------
C. H. Bennett, "Quantum cryptography using any two nonorthogonal states", Phys. Rev. Lett. 68,
3121 (1992).
I. George, J. Lin, N. Lütkenhaus, Phys. Rev. Research 3, 013274 (2021).
A. Winick, N. Lütkenhaus, P. J. Coles, Quantum 2, 77 (2018) (certified lower bound).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.theory.numerical import b92, finite_key_length
from qkdstack.theory.numerical.finite import ATTACK_DESCRIPTIONS, ATTACK_MODELS

__all__ = [
    "ATTACK_MODELS",
    "B92_TEST_GROUPS",
    "REPORT_FLOAT_FIELDS",
    "NumericalKeyLength",
    "b92_key_length",
    "b92_outcome_codes",
    "b92_test_counts",
    "b92_test_errors",
    "draw_b92_test",
]

B92_TEST_GROUPS: npt.NDArray[np.int64] = np.array([[0, 1, 2, 3, 8], [4, 5, 6, 7, 8]])
"""Observation index of (Alice's bit, Bob's outcome Z0, Z1, X+, X-, no click)."""

_NO_CLICK = 8

REPORT_FLOAT_FIELDS: tuple[str, ...] = (
    "certified_gap_bits",
    "privacy_bits_per_round_lower",
    "confidence_radius",
)
"""Fields of :class:`NumericalKeyLength` that the run report shows (with ``attack_model``)."""


@dataclass(frozen=True)
class NumericalKeyLength:
    """A B92 length decision, with the public details the run report shows.

    Attributes
    ----------
    length_bits : int
    formula : str
        The proof (George et al. 2021 with Winick et al. 2018).
    attack_model : str
    certified_gap_bits : float
        Upper value minus certified lower bound of the privacy term, bits per key round.
    privacy_bits_per_round_lower : float
    confidence_radius : float
        ``mu`` of the 1-norm ball.
    test_rounds : int
    phase_error_upper : None
        No phase error is estimated by this proof.
    single_photon_fraction, margin_bits : float
        As for the other rules.
    """

    length_bits: int
    formula: str
    attack_model: str
    certified_gap_bits: float
    privacy_bits_per_round_lower: float
    confidence_radius: float
    test_rounds: int
    phase_error_upper: float | None = None
    single_photon_fraction: float = 1.0
    margin_bits: float = 0.0


def b92_outcome_codes(
    basis: npt.NDArray[np.uint8], bit: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """Bob's outcome codes ``2 basis + bit``: 0 = Z0, 1 = Z1, 2 = X+, 3 = X-."""
    return (2 * basis.astype(np.uint8) + bit.astype(np.uint8)).astype(np.uint8)


def draw_b92_test(
    n_detected: int,
    n_undetected: int,
    test_prob: float,
    rng: np.random.Generator | None = None,
) -> tuple[npt.NDArray[np.int64], int]:
    """Bernoulli(``test_prob``) test rounds: positions among the detections, and how many of
    the undetected pulses are test rounds.

    With ``rng=None`` the choice comes from a generator seeded from :mod:`secrets` (drawn after
    the quantum transmission, so Eve could not know it when she attacked).
    """
    if not 0.0 < test_prob < 1.0:
        raise ParameterError(f"Argument 'test_prob' must be in (0, 1), not {test_prob!r}.")
    gen = rng if rng is not None else np.random.default_rng(secrets.randbits(128))
    mask = gen.random(n_detected) < test_prob
    undetected = int(gen.binomial(max(n_undetected, 0), test_prob))
    return np.flatnonzero(mask).astype(np.int64), undetected


def b92_test_counts(
    alice_bits: npt.NDArray[np.uint8], bob_codes: npt.NDArray[np.uint8], undetected: int
) -> npt.NDArray[np.int64]:
    """Counts of the nine observations (:data:`B92_TEST_GROUPS`) on the test rounds."""
    a = np.asarray(alice_bits, dtype=np.int64)
    b = np.asarray(bob_codes, dtype=np.int64)
    if a.shape != b.shape or (a.size and (a.max() > 1 or b.max() > 3)):
        raise ParameterError("Arguments 'alice_bits' and 'bob_codes' must match and be in range.")
    counts = np.bincount(B92_TEST_GROUPS[a, b], minlength=9).astype(np.int64)
    counts[_NO_CLICK] += int(undetected)
    return counts


def b92_test_errors(
    alice_bits: npt.NDArray[np.uint8], bob_codes: npt.NDArray[np.uint8]
) -> tuple[int, int]:
    """Conclusive test rounds and their errors (Bob's key bit ``1 - basis`` != Alice's bit)."""
    codes = np.asarray(bob_codes)
    conclusive = (codes % 2) == 1
    bob_bit = 1 - codes[conclusive] // 2
    errors = int(np.count_nonzero(bob_bit != np.asarray(alice_bits)[conclusive]))
    return int(np.count_nonzero(conclusive)), errors


def b92_key_length(
    test_counts: npt.ArrayLike,
    *,
    n_key_rounds: int,
    n_sifted: int,
    leak_bits: float,
    epsilon_sec: float,
    epsilon_cor: float,
    attack: str = "collective",
) -> NumericalKeyLength:
    """The B92 key length from the test counts (George et al. 2021 via the numerical engine).

    Statistics that no quantum state produces within the confidence ball give no key.
    ``attack`` is ``"collective"`` or ``"coherent"`` (postselection technique; see
    :func:`qkdstack.theory.numerical.finite_key_length`).
    """
    if attack not in ATTACK_MODELS:
        raise ParameterError(
            f"Argument 'attack' must be one of {', '.join(ATTACK_MODELS)}, not {attack!r}."
        )
    described = ATTACK_DESCRIPTIONS[attack]
    counts = np.asarray(test_counts, dtype=np.int64)
    m = int(counts.sum())
    if m < 1 or n_key_rounds < 1 or n_sifted < 1:
        return NumericalKeyLength(0, _FORMULA, described, 0.0, 0.0, 1.0, m)
    try:
        res = finite_key_length(
            b92(),
            counts,
            n_key_rounds=n_key_rounds,
            n_sifted=n_sifted,
            leak_bits=leak_bits,
            epsilon_sec=epsilon_sec,
            epsilon_cor=epsilon_cor,
            obs_groups=B92_TEST_GROUPS,
            attack="coherent" if attack == "coherent" else "collective",
        )
    except ParameterError:
        return NumericalKeyLength(0, _FORMULA, described, 0.0, 0.0, 1.0, m)
    return NumericalKeyLength(
        length_bits=res.length_bits,
        formula=res.formula,
        attack_model=res.attack_model,
        certified_gap_bits=res.gap,
        privacy_bits_per_round_lower=res.privacy_bits_per_round_lower,
        confidence_radius=res.mu,
        test_rounds=m,
        margin_bits=res.margin_bits,
    )


_FORMULA = "numerical finite-size key length, George, Lin & Lutkenhaus (2021): no valid statistics"
