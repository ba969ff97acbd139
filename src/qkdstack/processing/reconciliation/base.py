"""The contract every error-correction method fulfils, and the registry that names them.

A method is two halves that talk only through the classical channel:

* Alice's half, :class:`AliceReconciler`, holds her key and answers requests (parities, syndromes).
* Bob's half, :class:`BobReconciler`, holds his key, asks, and corrects it.

Bob starts a method by sending ``Message("ec.start", public={"method": name, **params})``; Alice's
node builds her half from the registry with the same public parameters. Every later message's kind
starts with ``"ec."``. Leakage is whatever the channel counts as disclosed during the
``"reconciliation"`` stage, never an estimate.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message, Responder
from qkdstack.typing import BitArray

__all__ = [
    "BUILT_IN_METHODS",
    "METHODS",
    "AliceReconciler",
    "BobReconciler",
    "Method",
    "ReconciliationOutcome",
    "alice_responder",
    "get_method",
    "load_built_in_methods",
    "method_names",
    "register_method",
]


class AliceReconciler(ABC):
    """Alice's half: answers Bob's ``ec.*`` requests from her key."""

    @abstractmethod
    def handle(self, request: Message) -> Message:
        """Answer one request."""


@dataclass(frozen=True)
class ReconciliationOutcome:
    """What Bob's half returns.

    Attributes
    ----------
    key : ndarray of uint8
        Bob's corrected key (same length as his input, unless the method shortens it).
    frames : int
        Number of frames (blocks) processed.
    frames_failed : int
        Frames the method itself knows it failed to correct (such key must not be used).
    """

    key: BitArray
    frames: int = 1
    frames_failed: int = 0


class BobReconciler(ABC):
    """Bob's half: drives the exchange and corrects his key."""

    @abstractmethod
    def reconcile(
        self, key: BitArray, qber: float, channel: ClassicalChannel
    ) -> ReconciliationOutcome:
        """Correct ``key`` towards Alice's, asking over ``channel``. ``qber`` is the estimate."""

    def start_params(self) -> Mapping[str, Any]:
        """Public parameters sent in ``ec.start`` so Alice can build her half (JSON scalars)."""
        return {}


@dataclass(frozen=True)
class Method:
    """A registered error-correction method.

    Attributes
    ----------
    name : str
        The name the literature gives it (``"cascade-original"``).
    make_bob : callable
        ``(seed, **options) -> BobReconciler``; ``seed`` drives Bob's public random choices.
    make_alice : callable
        ``(key, params) -> AliceReconciler``; ``params`` are the public ``ec.start`` fields.
    description : str
        One line, with the reference.
    """

    name: str
    make_bob: Callable[..., BobReconciler]
    make_alice: Callable[[BitArray, Mapping[str, Any]], AliceReconciler]
    description: str


METHODS: dict[str, Method] = {}
"""The registered methods (a method's module registers it when imported; see
:func:`load_built_in_methods`)."""

_CASCADE = "qkdstack.processing.reconciliation.cascade"
_LDPC = "qkdstack.processing.reconciliation.ldpc"

BUILT_IN_METHODS: Mapping[str, str] = {
    "cascade": _CASCADE,
    "cascade-original": _CASCADE,
    "cascade-biconf": _CASCADE,
    "cascade-yan": _CASCADE,
    "cascade-opt7": _CASCADE,
    "cascade-opt8": _CASCADE,
    "ldpc": _LDPC,
    "ldpc-blind": _LDPC,
}
"""The methods that ship with qkdstack, each with the module that registers it: their names are
known without importing them (their kernels are compiled with numba), so that help texts and
argument checks cost nothing; :func:`get_method` imports the module on first use. A test checks
that these modules register exactly these names."""


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry under its name."""
    METHODS[method.name] = method
    return method


def method_names() -> list[str]:
    """Every method's name, sorted: the built-in ones and any registered since (no import)."""
    return sorted({*BUILT_IN_METHODS, *METHODS})


def load_built_in_methods() -> dict[str, Method]:
    """Import every built-in method's module (registering them all); returns :data:`METHODS`."""
    for module in dict.fromkeys(BUILT_IN_METHODS.values()):
        importlib.import_module(module)
    return METHODS


def get_method(name: str) -> Method:
    """Look up a method by name (importing a built-in one's module on first use); an unknown
    name raises an error listing the known ones."""
    if name not in METHODS and name in BUILT_IN_METHODS:
        importlib.import_module(BUILT_IN_METHODS[name])
    try:
        return METHODS[name]
    except KeyError:
        known = ", ".join(method_names())
        raise ParameterError(f"Argument 'method' must be one of {known}, not {name!r}.") from None


def alice_responder(key: BitArray, fallback: Responder | None = None) -> Responder:
    """Alice's side of error correction as a channel responder.

    On ``ec.start`` it builds her half from the registry with the message's public fields
    (``get_method(public["method"]).make_alice(key, public)``) and lets that half answer the start
    message too; every later ``ec.*`` message goes to the same half. Other kinds go to ``fallback``
    (an error when there is none).
    """
    state: dict[str, AliceReconciler] = {}

    def respond(message: Message) -> Message:
        if message.kind == "ec.start":
            method = message.public.get("method")
            if not isinstance(method, str):
                raise ProtocolAbort("'ec.start' lacks a method name.", stage="reconciliation")
            state["half"] = get_method(method).make_alice(key, message.public)
            return state["half"].handle(message)
        if message.kind.startswith("ec."):
            if "half" not in state:
                raise ProtocolAbort(
                    f"{message.kind!r} arrived before 'ec.start'.", stage="reconciliation"
                )
            return state["half"].handle(message)
        if fallback is None:
            raise ProtocolAbort(
                f"Unexpected message kind {message.kind!r} during error correction.",
                stage="reconciliation",
            )
        return fallback(message)

    return respond
