"""Parameter estimation: the error rate of the sifted key from a disclosed random sample.

A random sample of ``k`` sifted positions is disclosed by both parties and then discarded. The
observed error fraction ``e_obs`` estimates the error rate of the remaining ``n`` key bits; because the
sample is drawn uniformly without replacement, the error rate of the key bits exceeds
``e_obs + mu`` with probability at most ``epsilon``, with (Serfling's inequality, as used by
Tomamichel et al. 2012, Eq. (2))::

    mu = sqrt( (n + k) / (n k) * (k + 1) / k * ln(1 / epsilon) )

References
----------
R. J. Serfling, "Probability inequalities for the sum in sampling without replacement", Ann. Stat.
2, 39 (1974).
M. Tomamichel, C. C. W. Lim, N. Gisin, R. Renner, "Tight finite-key analysis for quantum
cryptography", Nat. Commun. 3, 634 (2012), Eq. (2).
"""

from __future__ import annotations

import math
import secrets

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray, IndexArray

__all__ = ["choose_sample", "error_fraction", "sampling_deviation", "secret_sample"]


def choose_sample(n_sifted: int, sample_bits: int, rng: np.random.Generator) -> IndexArray:
    """Sorted positions of a uniform random sample of ``sample_bits`` out of ``n_sifted``."""
    if not 0 <= sample_bits <= n_sifted:
        raise ParameterError(
            f"Argument 'sample_bits' must be in [0, {n_sifted}] (the sifted length), not {sample_bits}."
        )
    return np.sort(rng.choice(n_sifted, size=sample_bits, replace=False)).astype(np.int64)


def secret_sample(n_sifted: int, sample_bits: int) -> IndexArray:
    """Sorted positions of a uniform random sample drawn from :mod:`secrets` (real records).

    Every position gets an independent 64-bit key from the operating system's CSPRNG and the
    ``sample_bits`` smallest keys are taken: with distinct keys (redrawn in the ~n^2/2^65 event
    of a tie) every subset of that size is equally likely, and nobody who knows a seed can
    predict it. This is the sample the sampling argument of the proofs needs (Tomamichel et al.
    2012, Eq. (2): the sample must be uniform and independent of Eve).
    """
    if not 0 <= sample_bits <= n_sifted:
        raise ParameterError(
            f"Argument 'sample_bits' must be in [0, {n_sifted}] (the sifted length), not {sample_bits}."
        )
    while True:
        keys = np.frombuffer(secrets.token_bytes(8 * n_sifted), dtype=np.uint64)
        if np.unique(keys).size == n_sifted:
            break
    if sample_bits == n_sifted:
        return np.arange(n_sifted, dtype=np.int64)
    chosen = np.argpartition(keys, sample_bits)[:sample_bits] if sample_bits else keys[:0]
    return np.sort(chosen).astype(np.int64)


def error_fraction(bits_a: BitArray, bits_b: BitArray) -> tuple[int, float]:
    """Number and fraction of positions where the two bit arrays differ."""
    if bits_a.shape != bits_b.shape:
        raise ParameterError(
            f"Arguments 'bits_a' and 'bits_b' must have equal shapes, not {bits_a.shape} and {bits_b.shape}."
        )
    errors = int(np.count_nonzero(bits_a != bits_b))
    return errors, (errors / bits_a.shape[0] if bits_a.shape[0] else 0.0)


def sampling_deviation(n_key: int, k_sample: int, epsilon: float) -> float:
    """Serfling deviation ``mu`` above the sampled error fraction (Tomamichel et al. 2012, Eq. 2)."""
    if n_key <= 0 or k_sample <= 0:
        return math.inf
    if not 0.0 < epsilon < 1.0:
        raise ParameterError(f"Argument 'epsilon' must be in (0, 1), not {epsilon!r}.")
    return math.sqrt(
        (n_key + k_sample) / (n_key * k_sample) * (k_sample + 1) / k_sample * math.log(1 / epsilon)
    )
