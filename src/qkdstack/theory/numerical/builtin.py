"""Built-in protocol descriptions (BB84, six-state, B92, BB84 with efficiency mismatch), the
depolarising-lossy qubit channel, and the asymptotic key rate of a described protocol.

Bob's input space is a qubit plus one vacuum level (index 2): loss is the no-click outcome
``|vac><vac|``. The channel is depolarising, ``rho -> (1 - p) rho + p 1/2`` (so BB84's QBER is
``p/2``), followed by transmittance ``eta`` (``rho -> eta rho + (1 - eta) |vac><vac|``).

References
----------
C. H. Bennett, G. Brassard, "Quantum cryptography: public key distribution and coin tossing",
Proc. IEEE ICCSSP, 175 (1984).
D. Bruß, "Optimal eavesdropping in quantum cryptography with six states", Phys. Rev. Lett. 81,
3018 (1998).
C. H. Bennett, "Quantum cryptography using any two nonorthogonal states", Phys. Rev. Lett. 68,
3121 (1992) (B92).
C.-H. F. Fung, K. Tamaki, B. Qi, H.-K. Lo, X. Ma, "Security proof of quantum key distribution
with detection efficiency mismatch", Quantum Inf. Comput. 9, 131 (2009).
P. J. Coles, E. M. Metodiev, N. Lütkenhaus, Nat. Commun. 7, 11712 (2016) (the key-rate optimisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.theory.numerical.protocol import KeyRateProblem, ProtocolDescription, leak_ec_bits
from qkdstack.theory.numerical.solver import solve_relative_entropy

__all__ = [
    "NUMERICAL_PROTOCOLS",
    "NumericalRate",
    "b92",
    "bb84",
    "bb84_efficiency_mismatch",
    "builtin_protocol",
    "depolarizing_statistics",
    "numerical_key_rate",
    "six_state",
]

NumericalProtocolName = Literal["bb84", "six-state", "b92"]
NUMERICAL_PROTOCOLS: tuple[str, ...] = ("bb84", "six-state", "b92")

_S = 1.0 / math.sqrt(2.0)
_KET = {
    "0": np.array([1.0, 0.0, 0.0], dtype=np.complex128),
    "1": np.array([0.0, 1.0, 0.0], dtype=np.complex128),
    "+": np.array([_S, _S, 0.0], dtype=np.complex128),
    "-": np.array([_S, -_S, 0.0], dtype=np.complex128),
    "+i": np.array([_S, 1j * _S, 0.0], dtype=np.complex128),
    "-i": np.array([_S, -1j * _S, 0.0], dtype=np.complex128),
}
_VAC = np.diag([0.0, 0.0, 1.0]).astype(np.complex128)


def _proj(ket: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    return np.outer(ket, ket.conj())


def _bases_protocol(
    name: str,
    bases: list[tuple[str, str]],
    probs: list[float],
    efficiencies: tuple[float, float] = (1.0, 1.0),
) -> ProtocolDescription:
    """Alice and Bob choose basis ``k`` with probability ``probs[k]``; matching bases are kept.

    Detector 0 clicks for the first state of each basis, detector 1 for the second, with
    efficiencies ``efficiencies`` (Fung et al. 2009 single-mode mismatch model).
    """
    states, sprobs, povm = [], [], []
    for (s0, s1), p in zip(bases, probs, strict=True):
        states += [_KET[s0], _KET[s1]]
        sprobs += [p / 2, p / 2]
        povm += [p * efficiencies[0] * _proj(_KET[s0]), p * efficiencies[1] * _proj(_KET[s1])]
    no_click = np.eye(3) - sum(povm, start=np.zeros((3, 3), dtype=np.complex128))
    povm.append(no_click)
    k = len(bases)
    alpha = np.repeat(np.arange(k), 2)
    beta = np.concatenate([np.repeat(np.arange(k), 2), [k]])
    kept = np.zeros((k, k + 1), dtype=bool)
    kept[np.arange(k), np.arange(k)] = True
    alice_key = np.tile((np.arange(2 * k) % 2)[:, None], (1, k + 1))
    alice_key[:, k] = -1
    bob_key = np.tile((np.arange(2 * k + 1) % 2)[:, None], (1, k))
    bob_key[2 * k, :] = -1
    return ProtocolDescription(
        name=name,
        states=np.array(states),
        state_probs=np.array(sprobs),
        povm=np.array(povm),
        alice_announcement=alpha,
        bob_announcement=beta,
        kept=kept,
        alice_key=alice_key,
        bob_key=bob_key,
    )


def bb84(z_basis_prob: float = 0.5) -> ProtocolDescription:
    """BB84: Alice and Bob each choose Z with probability ``z_basis_prob``, else X."""
    if not 0.0 < z_basis_prob < 1.0:
        raise ParameterError(f"Argument 'z_basis_prob' must be in (0, 1), not {z_basis_prob!r}.")
    return _bases_protocol("bb84", [("0", "1"), ("+", "-")], [z_basis_prob, 1 - z_basis_prob])


def six_state() -> ProtocolDescription:
    """Six-state protocol (Bruß 1998): bases Z, X, Y with probability 1/3 each."""
    return _bases_protocol("six-state", [("0", "1"), ("+", "-"), ("+i", "-i")], [1 / 3] * 3)


def bb84_efficiency_mismatch(
    efficiency_0: float, efficiency_1: float, z_basis_prob: float = 0.5
) -> ProtocolDescription:
    """BB84 with detector efficiencies ``efficiency_0 != efficiency_1`` (Fung et al. 2009).

    Single-mode model: detector ``k`` registers its basis state with efficiency ``eta_k``; the
    undetected part joins the no-click outcome.
    """
    for name, v in (("efficiency_0", efficiency_0), ("efficiency_1", efficiency_1)):
        if not 0.0 < v <= 1.0:
            raise ParameterError(f"Argument '{name}' must be in (0, 1], not {v!r}.")
    return _bases_protocol(
        "bb84-mismatch",
        [("0", "1"), ("+", "-")],
        [z_basis_prob, 1 - z_basis_prob],
        efficiencies=(efficiency_0, efficiency_1),
    )


def b92() -> ProtocolDescription:
    """B92 (Bennett 1992): Alice sends ``|0>`` (bit 0) or ``|+>`` (bit 1) with probability 1/2.

    Bob measures Z or X with probability 1/2. A conclusive result is the outcome orthogonal to
    one of the states: ``|1>`` (so Alice sent ``|+>``, bit 1) or ``|->`` (so she sent ``|0>``,
    bit 0). Bob announces only conclusive/inconclusive; the key is Alice's bit.
    """
    states = np.array([_KET["0"], _KET["+"]])
    povm = [0.5 * _proj(_KET[s]) for s in ("0", "1", "+", "-")] + [_VAC]
    beta = np.array([0, 1, 0, 1, 0])  # 1 = conclusive (outcomes |1>, |->)
    kept = np.array([[False, True]])
    alice_key = np.array([[-1, 0], [-1, 1]])
    bob_key = np.array([[-1], [1], [-1], [0], [-1]])
    return ProtocolDescription(
        name="b92",
        states=states,
        state_probs=np.array([0.5, 0.5]),
        povm=np.array(povm),
        alice_announcement=np.zeros(2, dtype=np.int64),
        bob_announcement=beta,
        kept=kept,
        alice_key=alice_key,
        bob_key=bob_key,
    )


def builtin_protocol(name: str) -> ProtocolDescription:
    """The built-in description by name: one of :data:`NUMERICAL_PROTOCOLS`."""
    factories = {"bb84": bb84, "six-state": six_state, "b92": b92}
    if name not in factories:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(NUMERICAL_PROTOCOLS)}, not {name!r}."
        )
    return factories[name]()


def depolarizing_statistics(
    protocol: ProtocolDescription, noise: float, transmittance: float = 1.0
) -> npt.NDArray[np.float64]:
    """Joint table ``P(a, b)`` after the depolarising channel and transmittance ``eta``.

    ``rho -> eta [(1 - p) rho + p Tr(rho) 1_qubit / 2] + (1 - eta) Tr(rho) |vac><vac|`` on the
    qubit-plus-vacuum space of the built-in descriptions.
    """
    if not 0.0 <= noise <= 1.0 or math.isnan(noise):
        raise ParameterError(f"Argument 'noise' must be in [0, 1], not {noise!r}.")
    if not 0.0 < transmittance <= 1.0:
        raise ParameterError(f"Argument 'transmittance' must be in (0, 1], not {transmittance!r}.")
    if protocol.dim_b != 3:
        raise ParameterError(
            f"Argument 'protocol' must act on a qubit plus vacuum (d = 3), not d = {protocol.dim_b}."
        )
    qubit = np.diag([1.0, 1.0, 0.0])
    outs = []
    for ket in protocol.states:
        rho = _proj(ket)
        outs.append(
            transmittance * ((1 - noise) * rho + noise * qubit / 2) + (1 - transmittance) * _VAC
        )
    return protocol.statistics(np.array(outs))


@dataclass(frozen=True)
class NumericalRate:
    """Asymptotic key rate of a described protocol, bits per signal sent.

    Attributes
    ----------
    rate_bits_per_signal : float
        Certified lower bound ``max(0, f_lower - f_EC leak)``.
    rate_upper : float
        ``max(0, f_upper - f_EC leak)`` at the step-1 state.
    gap : float
        ``f_upper - f_lower`` of the relative-entropy minimum (the certificate's tightness).
    privacy_bits_lower, privacy_bits_upper : float
        The bounds on ``min D(G(rho) || Z(G(rho)))``.
    leak_ec_bits : float
        ``f * sum P(ab) H(K_A | K_B, ab)``.
    sifting_probability : float
        Probability per signal of a kept, keyed round.
    """

    rate_bits_per_signal: float
    rate_upper: float
    gap: float
    privacy_bits_lower: float
    privacy_bits_upper: float
    leak_ec_bits: float
    sifting_probability: float


def numerical_key_rate(
    protocol: ProtocolDescription,
    table: npt.ArrayLike,
    *,
    ec_efficiency: float = 1.0,
) -> NumericalRate:
    """``R = min_{rho in S} D(G(rho) || Z(G(rho))) - f leak_EC`` (Coles et al. 2016).

    Parameters
    ----------
    protocol : ProtocolDescription
    table : array_like, shape (n_a, n_b)
        Joint probabilities ``P(a, b)`` per signal sent.
    ec_efficiency : float
        ``f >= 1``; the leak is ``f`` times the Shannon limit.
    """
    if not ec_efficiency >= 1.0 or not math.isfinite(ec_efficiency):
        raise ParameterError(f"Argument 'ec_efficiency' must be >= 1, not {ec_efficiency!r}.")
    tab = np.asarray(table, dtype=np.float64)
    problem = KeyRateProblem.build(protocol, tab)
    bound = solve_relative_entropy(problem)
    leak = ec_efficiency * leak_ec_bits(protocol, tab)
    return NumericalRate(
        rate_bits_per_signal=max(0.0, bound.lower_bits - leak),
        rate_upper=max(0.0, bound.upper_bits - leak),
        gap=bound.gap_bits,
        privacy_bits_lower=bound.lower_bits,
        privacy_bits_upper=bound.upper_bits,
        leak_ec_bits=leak,
        sifting_probability=protocol.sifting_probability(tab),
    )
