"""Error correction (information reconciliation): make Bob's key equal to Alice's.

Every method is a registered pair of halves (see :mod:`.base`) that talk only through the
:class:`~qkdstack.processing.channel.ClassicalChannel`; the leaked bits are what that channel counts
as disclosed in the ``"reconciliation"`` stage.

:func:`reconcile` runs both halves in one process, for tools, tests and benchmarks. The pipeline
runs Bob's half itself::

    bob = get_method(name).make_bob(seed=seed)
    with channel.in_stage("reconciliation"):
        outcome = bob.reconcile(bob_key, qber_estimate, channel)

and Alice's node answers with :func:`alice_responder` (or builds her half from ``ec.start`` with
``get_method(public["method"]).make_alice(alice_key, public)`` and forwards every ``ec.*`` message,
``ec.start`` included, to its ``handle``).

The efficiency of a run is ``f = leaked / (n h(Q))`` with ``Q`` the true error fraction
(Martinez-Mateo et al., QIC 15, 453 (2015)).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.processing.channel import ClassicalChannel, Responder
from qkdstack.processing.reconciliation.base import (
    BUILT_IN_METHODS,
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
    alice_responder,
    get_method,
    load_built_in_methods,
    method_names,
    register_method,
)
from qkdstack.theory.entropy import binary_entropy

if TYPE_CHECKING:
    from qkdstack.processing.reconciliation.base import METHODS
from qkdstack.typing import BitArray, Seed

__all__ = [
    "BUILT_IN_METHODS",
    "METHODS",
    "AliceReconciler",
    "BobReconciler",
    "Method",
    "ReconcileResult",
    "ReconciliationOutcome",
    "alice_responder",
    "efficiency",
    "get_method",
    "load_built_in_methods",
    "method_names",
    "reconcile",
    "register_method",
]


STAGE = "reconciliation"


@dataclass(frozen=True)
class ReconcileResult:
    """Outcome of :func:`reconcile`.

    Attributes
    ----------
    key : ndarray of uint8
        Bob's corrected key.
    leaked_bits : int
        Disclosed bits counted by the channel in the ``"reconciliation"`` stage.
    round_trips : int
        Request/reply exchanges in that stage.
    frames, frames_failed : int
        Frames processed, and frames the method knows it failed.
    efficiency : float
        ``leaked_bits / (n h(Q))`` with ``Q`` the true error fraction; ``nan`` when ``Q = 0``.
    seconds : float
        Wall-clock time of the exchange (both halves, channel included).
    """

    key: BitArray
    leaked_bits: int
    round_trips: int
    frames: int
    frames_failed: int
    efficiency: float
    seconds: float


def efficiency(leaked_bits: int, n: int, error_fraction: float) -> float:
    """Reconciliation efficiency ``f = leaked / (n h(Q))`` (Martinez-Mateo et al. 2015).

    Returns ``nan`` when ``n h(Q) = 0`` (no errors: the ratio is undefined).
    """
    ideal = n * float(binary_entropy(error_fraction))
    return float(leaked_bits) / ideal if ideal > 0 else float("nan")


def _check_bits(name: str, value: object) -> BitArray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ParameterError(
            f"Argument {name!r} must be a non-empty 1-D array, not shape {arr.shape}."
        )
    if arr.dtype.kind not in "biu" or (arr.size and (arr.min() < 0 or arr.max() > 1)):
        raise ParameterError(f"Argument {name!r} must hold only 0/1 values.")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def reconcile(
    alice_key: BitArray,
    bob_key: BitArray,
    qber: float,
    method: str = "cascade",
    seed: Seed = None,
    channel_factory: Callable[[Responder], ClassicalChannel] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ReconcileResult:
    """Run error-correction method ``method`` between two keys in one process.

    Alice's half sits behind a :class:`ClassicalChannel` (built by ``channel_factory(responder)``,
    plain by default) and Bob's half reads only her replies.

    Parameters
    ----------
    alice_key, bob_key : ndarray of uint8, shape (n,)
        Equal-length 0/1 arrays.
    qber : float
        The error-rate estimate given to the method, in (0, 0.5).
    method : str
        Registry name (see :data:`METHODS`).
    seed : int, Generator or None
        Seeds Bob's public random choices (shuffles).
    channel_factory : callable, optional
        ``responder -> ClassicalChannel``, for authentication or tampering.
    options : mapping, optional
        Keyword options of the method's Bob half (e.g. ``{"target_efficiency": 1.1}`` for
        ``ldpc``); a method rejects options it does not take.
    """
    alice = _check_bits("alice_key", alice_key)
    bob = _check_bits("bob_key", bob_key)
    if alice.shape != bob.shape:
        raise ParameterError(
            f"Arguments 'alice_key' and 'bob_key' must have equal lengths, not {alice.shape[0]} "
            f"and {bob.shape[0]}."
        )
    if not isinstance(qber, float | int) or not 0.0 < float(qber) < 0.5:
        raise ParameterError(f"Argument 'qber' must be in (0, 0.5), not {qber}.")
    bob_half = get_method(method).make_bob(seed=seed, **dict(options or {}))
    responder = alice_responder(alice)
    channel = (channel_factory or ClassicalChannel)(responder)
    leaked_before = channel.stats.leaked_bits(STAGE)
    trips_before = channel.stats.round_trips_by_stage[STAGE]
    t0 = time.perf_counter()
    with channel.in_stage(STAGE):
        outcome = bob_half.reconcile(bob, float(qber), channel)
    seconds = time.perf_counter() - t0
    leaked = channel.stats.leaked_bits(STAGE) - leaked_before
    n = int(alice.shape[0])
    error_fraction = float(np.count_nonzero(alice != bob)) / n
    return ReconcileResult(
        key=outcome.key,
        leaked_bits=int(leaked),
        round_trips=int(channel.stats.round_trips_by_stage[STAGE] - trips_before),
        frames=outcome.frames,
        frames_failed=outcome.frames_failed,
        efficiency=efficiency(leaked, n, error_fraction),
        seconds=seconds,
    )


def __getattr__(name: str) -> Any:
    """``METHODS``: the registry with every built-in method loaded (PEP 562). The package itself
    does not import the methods (their numba kernels), so that importing it, or
    :mod:`.base` for the method names, stays cheap."""
    if name == "METHODS":
        return load_built_in_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
