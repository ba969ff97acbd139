"""Warm the compiled kernels: load (or, the first time, build) their numba caches before real work.

Every numba kernel of qkdstack is compiled with ``cache=True``, so its machine code is kept on disk
(``__pycache__`` beside the source, or ``NUMBA_CACHE_DIR`` when that is set). Even with the caches
built, a fresh process pays a one-time start-up before its first kernel runs: numba initialises its
code generator (about 0.4 s on the 2-core machine kind, measured in BENCHMARKS.md) and loads each
kernel's object code. This module runs each stage's kernels once on small, seeded, non-secret inputs:

- :func:`warm_up` synchronously, for ``qkd warmup`` (which ``make install`` runs, so the caches exist
  before the first real run instead of being compiled during it);
- :func:`warm_up_in_background` in a daemon thread, so that a command (``qkd reconcile``) or a node
  pays the start-up while it reads and checks its inputs or waits for its peer, not inside the
  first block it processes.

The inputs are drawn from ``numpy.random.default_rng(0)``: benchmark data, never key material.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np

from qkdstack.errors import ParameterError

__all__ = ["STAGES", "warm_up", "warm_up_in_background"]

_WARM_BITS: Final = 4096


def _key_pair(errors: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    alice = rng.integers(0, 2, _WARM_BITS, dtype=np.uint8)
    bob = alice.copy()
    bob[rng.choice(_WARM_BITS, errors, replace=False)] ^= 1
    return alice, bob


def _cascade() -> None:
    from qkdstack.processing.reconciliation import reconcile

    alice, bob = _key_pair(80)
    reconcile(alice, bob, 0.02, method="cascade", seed=0)


def _ldpc() -> None:
    from qkdstack.processing.reconciliation import reconcile
    from qkdstack.processing.reconciliation.ldpc import decode_syndromes, load_code

    alice, bob = _key_pair(80)
    reconcile(alice, bob, 0.02, method="ldpc", seed=0)  # one frame: the one-frame decoder
    # Keys of 8 frames and more take the lane decoder: 8 all-zero frames, decoded in 1 iteration.
    code = load_code(0.9)
    llrs = np.full((8, code.n), 10.0, dtype=np.float32)
    decode_syndromes(code, llrs, np.zeros((8, code.m), dtype=np.uint8), max_iter=1)


def _amplification() -> None:
    from qkdstack.processing import amplification

    rng = np.random.default_rng(0)
    key = rng.integers(0, 2, 256, dtype=np.uint8)
    seed = rng.integers(0, 2, 383, dtype=np.uint8)
    amplification.toeplitz_hash(key, seed, 128)
    # The float64 fallback has its own compiled signatures.
    amplification._blocked_hash(key, seed, 128, 64, np.float64, 1)


def _link() -> None:
    from qkdstack.link import simulate
    from qkdstack.params import LinkParams

    simulate("decoy-bb84", LinkParams(), 10**5, seed=0)
    # The index kernels run on records of at least 2**14 detections.
    from qkdstack.link import index_kernels

    index = np.arange(0, 1 << 16, 2, dtype=np.int64)
    index_kernels.locate_sorted(index, index[::2])
    index_kernels.is_strictly_increasing(index)
    index_kernels.gate_time_tags_ps(index, 1000.0)


_WARMERS: Final[dict[str, Callable[[], None]]] = {
    "cascade": _cascade,
    "ldpc": _ldpc,
    "amplification": _amplification,
    "link": _link,
}
STAGES: Final[tuple[str, ...]] = tuple(_WARMERS)


def _check_stages(stages: Sequence[str]) -> None:
    unknown = [s for s in stages if s not in _WARMERS]
    if unknown:
        raise ParameterError(
            f"Argument 'stages' must name stages among {', '.join(STAGES)}, not {unknown[0]!r}."
        )


def warm_up(stages: Sequence[str] = STAGES) -> dict[str, float]:
    """Run the kernels of each stage in ``stages`` once; returns the seconds each stage took.

    Raises
    ------
    ParameterError
        If a stage is not one of :data:`STAGES`.
    """
    _check_stages(stages)
    seconds = {}
    for stage in stages:
        t0 = time.perf_counter()
        _WARMERS[stage]()
        seconds[stage] = time.perf_counter() - t0
    return seconds


def _warm_quietly(stages: tuple[str, ...]) -> None:
    try:
        warm_up(stages)
    except Exception:  # the real call that follows meets the same failure and reports it
        pass


def warm_up_in_background(stages: Sequence[str]) -> threading.Thread:
    """Start :func:`warm_up` of ``stages`` in a daemon thread and return it (join before timing).

    A failure in the thread is dropped: the real call that follows meets it and reports it.
    """
    _check_stages(stages)
    thread = threading.Thread(
        target=_warm_quietly, args=(tuple(stages),), name="qkdstack-warmup", daemon=True
    )
    thread.start()
    return thread
