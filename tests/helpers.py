"""Shared test helpers, written independently of qkdstack (this module imports nothing from it).

- :func:`h2`: the binary entropy, the reference the tests hold the library's formulas to;
- :func:`binomial_sd`, :func:`within_binomial`, :func:`assert_binomial`: tolerances from theory,
  ``SIGMAS`` standard deviations of a binomial count;
- :func:`noisy_pair`, :func:`bsc_pair`: a uniform key and a noisy copy of it, from a seeded
  generator (the draws are in a fixed order, so a seed gives the same pair as it always did).

References
----------
C. E. Shannon, "A mathematical theory of communication", Bell Syst. Tech. J. 27, 379 (1948)
(the binary entropy ``h(p) = -p log2 p - (1 - p) log2 (1 - p)``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "SIGMAS",
    "assert_binomial",
    "binomial_sd",
    "bsc_pair",
    "h2",
    "noisy_pair",
    "within_binomial",
]

SIGMAS = 5.0
"""Standard deviations a statistical test allows (a false alarm about once in 1.7 million)."""


def h2(p: float) -> float:
    """Binary entropy ``-p log2 p - (1 - p) log2 (1 - p)`` in bits; 0 at and beyond 0 and 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def binomial_sd(n: int, p: float) -> float:
    """Standard deviation ``sqrt(n p (1 - p))`` of a Binomial(n, p) count."""
    return math.sqrt(n * p * (1 - p))


def within_binomial(count: float, total: int, p: float, sigmas: float = SIGMAS) -> bool:
    """Whether ``count`` is strictly within ``sigmas`` standard deviations of ``total p``."""
    return abs(count - total * p) < sigmas * binomial_sd(total, p)


def assert_binomial(observed: float, n: int, prob: float, sigmas: float = SIGMAS) -> None:
    """Assert ``|observed - n prob| <= sigmas sqrt(n prob (1 - prob))`` (plus 1e-9 for rounding)."""
    sd = binomial_sd(n, prob)
    assert abs(observed - n * prob) <= sigmas * sd + 1e-9, (observed, n * prob, sd)


def noisy_pair(rng: np.random.Generator, n: int, errors: int) -> tuple[np.ndarray, np.ndarray]:
    """Alice's uniform ``uint8`` key of ``n`` bits and Bob's copy with exactly ``errors`` flips."""
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.choice(n, errors, replace=False)] ^= 1
    return alice, bob


def bsc_pair(rng: np.random.Generator, n: int, qber: float) -> tuple[np.ndarray, np.ndarray]:
    """Alice's uniform key and Bob's copy through a binary symmetric channel: each bit flipped
    independently with probability ``qber``."""
    alice = rng.integers(0, 2, n, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.random(n) < qber] ^= 1
    return alice, bob
