"""Numerical security proofs: key rates of any discrete-variable protocol described by data.

The key rate against collective attacks is a convex minimisation of a quantum relative entropy
over every state consistent with the observed statistics (Coles, Metodiev & Lütkenhaus 2016);
it is computed with an upper value and a certified lower bound (Winick, Lütkenhaus &
Coles 2018, step 2), and in the finite-size regime with the confidence ball of George, Lin &
Lütkenhaus 2021.

Each formula is written out in the docstring that uses it. The papers' equation numbers are not
quoted: they could not be checked against the published texts while this was written, and a wrong
number is worse than none.

* :mod:`~qkdstack.theory.numerical.protocol` -- a protocol as data and its convex problem.
* :mod:`~qkdstack.theory.numerical.solver` -- the two-step solver (QICS).
* :mod:`~qkdstack.theory.numerical.builtin` -- BB84, six-state, B92, BB84 with efficiency
  mismatch; the depolarising-lossy qubit channel; the asymptotic key rate.
* :mod:`~qkdstack.theory.numerical.finite` -- the finite-size key length (George et al. 2021).
"""

from __future__ import annotations

from qkdstack.theory.numerical.builtin import (
    NUMERICAL_PROTOCOLS,
    NumericalRate,
    b92,
    bb84,
    bb84_efficiency_mismatch,
    builtin_protocol,
    depolarizing_statistics,
    numerical_key_rate,
    six_state,
)
from qkdstack.theory.numerical.finite import (
    ATTACK_MODELS,
    FINITE_PROOF,
    FiniteNumericalKeyLength,
    aep_correction,
    confidence_radius,
    finite_key_length,
    postselection_log2_factor,
)
from qkdstack.theory.numerical.protocol import KeyRateProblem, ProtocolDescription, leak_ec_bits
from qkdstack.theory.numerical.solver import RelativeEntropyBound, solve_relative_entropy

__all__ = [
    "ATTACK_MODELS",
    "FINITE_PROOF",
    "NUMERICAL_PROTOCOLS",
    "FiniteNumericalKeyLength",
    "KeyRateProblem",
    "NumericalRate",
    "ProtocolDescription",
    "RelativeEntropyBound",
    "aep_correction",
    "b92",
    "bb84",
    "bb84_efficiency_mismatch",
    "builtin_protocol",
    "confidence_radius",
    "depolarizing_statistics",
    "finite_key_length",
    "leak_ec_bits",
    "numerical_key_rate",
    "postselection_log2_factor",
    "six_state",
    "solve_relative_entropy",
]
