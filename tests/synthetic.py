"""Synthetic detection records with a known error pattern, for post-processing tests."""

from __future__ import annotations

import numpy as np

from qkdstack.link.records import RecordMeta, Records
from qkdstack.typing import Role


def make_bb84_records(
    n_detections: int,
    qber: float,
    seed: int,
    pulses: int | None = None,
    source: str = "single-photon",
    mu: float = 0.5,
) -> tuple[Records, Records]:
    """Alice's and Bob's BB84 records for ``n_detections`` detected pulses, with Bob's bits flipped
    with probability ``qber`` where the bases match (an idealised channel for pipeline tests)."""
    rng = np.random.default_rng(seed)
    pulses = pulses or 10 * n_detections
    index = np.sort(rng.choice(pulses, size=n_detections, replace=False)).astype(np.int64)
    basis_a = rng.integers(0, 2, n_detections, dtype=np.uint8)
    basis_b = rng.integers(0, 2, n_detections, dtype=np.uint8)
    bit_a = rng.integers(0, 2, n_detections, dtype=np.uint8)
    random_bits = rng.integers(0, 2, n_detections, dtype=np.uint8)
    flips = (rng.random(n_detections) < qber).astype(np.uint8)
    bit_b = np.where(basis_a == basis_b, bit_a ^ flips, random_bits).astype(np.uint8)
    params = {"source": source, "mu": mu}
    meta = RecordMeta(protocol="bb84", pulses=pulses, params=params, seed=seed)
    alice = Records(Role.ALICE, index, basis_a, bit_a, meta)
    bob = Records(Role.BOB, index.copy(), basis_b, bit_b, meta)
    return alice, bob
