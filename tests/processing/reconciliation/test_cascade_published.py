"""Cascade variants against the values published for them (issue 5: within 0.02 of Demystifying).

The reference is J. Martinez-Mateo, C. Pacher, M. Peev, A. Ciurana, V. Martin, "Demystifying the
information reconciliation protocol Cascade", QIC 15, 453 (2015), arXiv:1407.3257. Its efficiency
curves at n = 10^4 (Figs. 1, 8 and 11) are plots without printed values; the printed efficiencies
we could read are its Table 3, option (8) at n = 2^14. Where only a plot exists, the reference is
cascade-python's reproduction of that plot (mean of 100 runs per point). docs/cascade.md lists
every value, where it was read, and what is missing.

Every efficiency here is recomputed from the wire: the parity bits Alice sends (counted by a spy on
the channel) over ``n h(Q)`` with ``h`` written out below, not the library's ``efficiency``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

from qkdstack.processing.channel import ClassicalChannel, Responder, decode_message
from qkdstack.processing.reconciliation import reconcile
from qkdstack.processing.reconciliation.cascade import VARIANTS, block_sizes
from qkdstack.typing import Role

from helpers import h2, noisy_pair

# Martinez-Mateo et al. 2015, Table 3: option (8) ("near-optimal"), frame n = 2^14, 14 passes,
# sub-block reuse; per QBER the block sizes (k1, k2, k3) and f_EC (their Eq. (2)). Read from a
# transcription of the table (docs/cascade.md, "Sources"), whose own check reproduces the table's
# beta and eta_EC columns from f_EC and the frame error rate by the paper's Eqs. (4) and (6).
TABLE3_N = 2**14
TABLE3 = {
    0.005: ((256, 1024, 4096), 1.04989),
    0.010: ((128, 512, 4096), 1.04219),
    0.020: ((64, 512, 4096), 1.04006),
    0.030: ((32, 512, 4096), 1.03902),
    0.040: ((32, 256, 4096), 1.04313),
    0.050: ((16, 256, 4096), 1.04313),
    0.060: ((16, 256, 4096), 1.04580),
    0.070: ((16, 256, 4096), 1.05050),
    0.080: ((8, 256, 4096), 1.05465),
    0.090: ((8, 256, 4096), 1.05486),
    0.100: ((8, 256, 4096), 1.05736),
    0.110: ((8, 256, 4096), 1.06130),
}
# Rows whose printed (k1, k2) the paper's own closed rule for option (8) does not give (the table
# is the optimum found by search; the rule summarises it). Our rule is the paper's rule.
TABLE3_RULE_MISSES = {0.010, 0.040, 0.080}

# Cascade mod. (1) (Sugimoto-Yamazaki, BICONF) and opt. (2) (Yan et al.) at n = 10^4: the paper
# plots them (Fig. 8, with orig. and opt. (3)) without printing values. Reference: cascade-python
# (B. Rijsman), whose reproduction of Fig. 8 its author reports to "match very well": files
# study/data/papers/data__algorithm={biconf,yanetal};key_size=10000;error_rate=vary of
# github.com/brunorijsman/cascade-python (commit 2c56b8f), field unrealistic_efficiency (reply
# parity bits / (n h(Q))), mean of 100 runs; their standard errors are 0.002-0.004.
BICONF_N1E4 = {0.01: 1.0926, 0.02: 1.0817, 0.03: 1.0813, 0.05: 1.0896}
YAN_N1E4 = {0.01: 1.0940, 0.02: 1.0814, 0.03: 1.0741, 0.05: 1.0748}

# Issue 5's criterion.
TOLERANCE = 0.02


class _WireCount:
    """Counts, from the encoded messages, the parity bits Alice discloses, and the block parities
    she leaves out (one per full pass after the first: the last block's, which Bob infers from the
    key's parity, as the paper does; cascade-python, whose reproductions are references here,
    sends it)."""

    def __init__(self) -> None:
        self.disclosed = 0
        self.inferred = 0

    def __call__(self, sender: Role, wire: bytes) -> bytes:
        message = decode_message(wire)
        if sender is Role.ALICE:
            self.disclosed += sum(int(np.asarray(v).size) for v in message.disclosed.values())
        elif message.kind == "ec.blocks" and message.public["pass"] >= 1:
            self.inferred += int("count" not in message.public)
        return wire

    def factory(self) -> Callable[[Responder], ClassicalChannel]:
        def make(responder: Responder) -> ClassicalChannel:
            return ClassicalChannel(responder, tamper=self)

        return make


@cache
def _runs(method: str, n: int, q: float, runs: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``runs`` seeded pairs with exactly ``round(q n)`` errors: per run, the efficiency from the
    wire, the same with the inferred parities counted as sent (as cascade-python does), and the
    failures."""
    rng = np.random.default_rng(round(q * 1e5) + n)
    errors = round(q * n)
    f_wire, f_sent, failed = [], [], 0
    for seed in range(runs):
        alice, bob = noisy_pair(rng, n, errors)
        spy = _WireCount()
        result = reconcile(alice, bob, q, method=method, seed=seed, channel_factory=spy.factory())
        failed += int(not np.array_equal(result.key, alice))
        f_wire.append(spy.disclosed / (n * h2(errors / n)))
        f_sent.append((spy.disclosed + spy.inferred) / (n * h2(errors / n)))
    return np.array(f_wire), np.array(f_sent), failed


@pytest.mark.parametrize("q", sorted(TABLE3))
def test_opt8_rule_gives_the_block_sizes_of_table3(q: float) -> None:
    sizes = tuple(block_sizes(VARIANTS["cascade-opt8"], TABLE3_N, q)[:3])
    printed = TABLE3[q][0]
    if q in TABLE3_RULE_MISSES:
        assert sizes != printed
        assert sizes[0] in (printed[0], 2 * printed[0]) and sizes[1] in (printed[1], 2 * printed[1])
    else:
        assert sizes == printed


@pytest.mark.parametrize("q", [0.005, 0.02, 0.03, 0.05])
def test_opt8_efficiency_within_002_of_table3(q: float) -> None:
    f_wire, _, failed = _runs("cascade-opt8", TABLE3_N, q, 24)
    assert failed == 0
    assert abs(float(f_wire.mean()) - TABLE3[q][1]) <= TOLERANCE, f_wire.mean()


@pytest.mark.parametrize("q", [0.005, 0.02, 0.03, 0.05])
def test_opt8_matches_table3_within_five_standard_errors(q: float) -> None:
    # Where the paper's rule gives the table's block sizes our option (8) is the paper's protocol
    # (after pass 1 one block parity per pass is inferred from the frame parity, not sent), so the
    # two agree to within five standard errors of our mean (the table's own error is far smaller:
    # ~10^4 frames per row).
    f_wire, _, _ = _runs("cascade-opt8", TABLE3_N, q, 24)
    sigma = float(f_wire.std(ddof=1)) / math.sqrt(f_wire.size)
    assert abs(float(f_wire.mean()) - TABLE3[q][1]) <= 5 * sigma, (f_wire.mean(), sigma)


@pytest.mark.parametrize("q", [0.02, 0.03, 0.05])
def test_biconf_efficiency_within_002_of_published_reproduction(q: float) -> None:
    # Not at 1%: ours is 0.017 below the reference there (200 runs), whose own standard error is
    # 0.0044 (cascade-python's BICONF rounds vary 16 +- 10 and do not cascade their corrections),
    # too near the bound for a 30-run test to decide; docs/cascade.md has the value.
    # cascade-python sends the block parity per later pass that ours infers: compare like with
    # like by counting those as sent.
    _, f_sent, _ = _runs("cascade-biconf", 10_000, q, 30)
    assert abs(float(f_sent.mean()) - BICONF_N1E4[q]) <= TOLERANCE, f_sent.mean()


@pytest.mark.parametrize("q", sorted(YAN_N1E4))
def test_yan_efficiency_within_002_of_published_reproduction(q: float) -> None:
    # cascade-python sends the block parity per later pass that ours infers: compare like with
    # like by counting those as sent.
    _, f_sent, _ = _runs("cascade-yan", 10_000, q, 30)
    assert abs(float(f_sent.mean()) - YAN_N1E4[q]) <= TOLERANCE, f_sent.mean()


def test_biconf_blocks_follow_sugimoto_yamazaki() -> None:
    # Sugimoto and Yamazaki 2000 (Demystifying Table 1): k1 = floor(4 ln2/(3Q)), k2 = floor(4 ln2/Q).
    # 4 ln 2 = 2.7726: at Q = 3%, 92.42/3 = 30.81 and 92.42; at 5%, 18.48 and 55.45.
    assert block_sizes(VARIANTS["cascade-biconf"], 10_000, 0.03) == [30, 92]
    assert block_sizes(VARIANTS["cascade-biconf"], 10_000, 0.05) == [18, 55]
    assert block_sizes(VARIANTS["cascade-biconf"], 10_000, 0.01) == [92, 277]


def test_yan_blocks_follow_yan_et_al() -> None:
    # Yan et al. 2008 (Demystifying Table 1): 10 passes, k1 = ceil(0.8/Q), k2 = 5 k1, then n/2.
    assert block_sizes(VARIANTS["cascade-yan"], 10_000, 0.03) == [27, 135] + [5000] * 8
