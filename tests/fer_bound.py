"""How many frame failures a frame error rate bound allows, given the number of frames."""

from __future__ import annotations

from scipy import stats


def allowed_failures(frames: int, fer_bound: float, alpha: float = 1e-6) -> int:
    """Most frame failures consistent with ``FER <= fer_bound``: the largest ``k`` with
    ``P(X >= k) >= alpha`` for ``X ~ Binomial(frames, fer_bound)`` (a one-sided test at about
    five standard deviations; the bound tightens as the frame count grows)."""
    k = 0
    while k < frames and stats.binom.sf(k, frames, fer_bound) >= alpha:  # sf(k) = P(X > k)
        k += 1
    return k
