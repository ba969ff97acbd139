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

import numba
import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray, IndexArray

__all__ = [
    "choose_sample",
    "class_counts",
    "error_fraction",
    "sampling_deviation",
    "secret_sample",
]


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


@numba.njit(cache=True, nogil=True)
def _class_counts(
    basis: BitArray, intensity: BitArray, error: npt.NDArray[np.int8], n_int: int, n_codes: int
) -> npt.NDArray[np.int64]:  # pragma: no cover
    out = np.zeros((3, n_codes), dtype=np.int64)
    for i in range(basis.shape[0]):
        c = np.int64(basis[i]) * n_int + np.int64(intensity[i])
        e = error[i]
        out[0, c] += 1
        if e < 0:
            out[1, c] += 1
        else:
            out[2, c] += e
    return out


def class_counts(
    basis: BitArray, intensity: BitArray, error: npt.NDArray[np.int8], n_intensities: int
) -> npt.NDArray[np.int64]:
    """Per class ``basis * n_intensities + intensity``: detections, unknown and known errors.

    ``error`` holds 0 or 1 per event, or a negative value where the event's error is unknown
    (not disclosed). Returns an array of shape ``(3, n_classes)`` with ``n_classes =
    (max basis + 1) * n_intensities``: the rows are the events, the events whose error is
    unknown, and the errors among the others (one pass: the same integers as a mask per class).
    """
    basis = np.ascontiguousarray(basis, dtype=np.uint8)
    intensity = np.ascontiguousarray(intensity, dtype=np.uint8)
    error = np.ascontiguousarray(error, dtype=np.int8)
    if not basis.shape == intensity.shape == error.shape or basis.ndim != 1:
        raise ParameterError(
            "Arguments 'basis', 'intensity' and 'error' must be 1-D of one length, not "
            f"{basis.shape}, {intensity.shape} and {error.shape}."
        )
    if basis.shape[0] and int(intensity.max()) >= n_intensities:
        raise ParameterError(
            f"Argument 'n_intensities' must exceed every intensity class, not {n_intensities} "
            f"(class {int(intensity.max())} seen)."
        )
    n_codes = (int(basis.max(initial=0)) + 1) * n_intensities
    return _class_counts(basis, intensity, error, n_intensities, n_codes)


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
