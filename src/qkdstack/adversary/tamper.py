"""A man in the middle on the classical channel: tamper functions for ``ClassicalChannel(tamper=...)``.

Eve reads and rewrites the wire bytes of public messages. She can decode a message (the encoding is
public), change what it says and re-encode it, but she cannot make a valid Wegman-Carter tag for the
new content without the pre-shared key, so she forwards the old tag. With authentication on, the
receiver's verification therefore fails and the exchange aborts with
:class:`~qkdstack.errors.AuthenticationError`; a forgery succeeds with probability at most
``8 ceil(L/16) / 2^106`` per attempt (Bernstein 2005, Theorem 3.3). Without authentication the
rewritten message is accepted silently, which is why QKD needs an authenticated classical channel
(Bennett, Brassard 1984; Wegman, Carter 1981).

Modes
-----
``flip``
    flip one key-dependent bit (the first bit of the first disclosed field: a parity, a syndrome bit,
    a sample bit, a verification tag), or when nothing is disclosed the lowest bit of the first
    public integer (a block boundary, a basis code).
``basis``
    replace a basis announcement: every basis code in a public ``basis`` field is exchanged (Z <-> X).
``replace``
    replace every disclosed field by uniformly random bits of Eve's choice (or, when nothing is
    disclosed, every public ``uint8`` array such as a basis announcement).
``bytes``
    flip one raw bit in the middle of the wire bytes, without decoding.

References
----------
M. N. Wegman, J. L. Carter, J. Comput. Syst. Sci. 22, 265 (1981).
D. J. Bernstein, "The Poly1305-AES message-authentication code", FSE 2005, Theorem 3.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.authentication import TAG_BYTES
from qkdstack.processing.channel import Message, decode_message, encode_message
from qkdstack.randomness import as_generator
from qkdstack.typing import Role, Seed

from .choices import MITM_MODES, MitmMode

__all__ = ["MESSAGE_KINDS", "MITM_MODES", "MitmTamper", "mitm_tamper"]


MESSAGE_KINDS: tuple[str, ...] = (
    "sift", "sift.reply", "chsh", "chsh.reply", "test", "test.reply", "sample", "sample.reply",
    "estimate", "ack", "ec.start", "ec.ready", "ec.blocks", "ec.parity", "ec.parities",
    "ec.syndromes", "ec.reveal", "ec.revealed", "verify", "verify.reply", "amplify",
    "amplify.reply", "abort",
)  # fmt: skip
"""Every message kind the post-processing sends; a ``kind`` filter must match one of them."""


def _split_wire(wire: bytes) -> tuple[Message, bytes] | None:
    """Decode the wire as an untagged message, or as a message followed by a 16-byte tag."""
    for cut in (0, TAG_BYTES):
        payload = wire[: len(wire) - cut] if cut else wire
        try:
            return decode_message(payload), wire[len(wire) - cut :] if cut else b""
        except ProtocolAbort:
            continue
    return None


def _flip_first_bit(mapping: Mapping[str, Any]) -> dict[str, Any] | None:
    out = dict(mapping)
    for name, value in mapping.items():
        if isinstance(value, bytes | bytearray) and len(value):
            changed = bytearray(value)
            changed[0] ^= 1
            out[name] = bytes(changed)
            return out
        if isinstance(value, np.ndarray) and value.size and np.issubdtype(value.dtype, np.integer):
            changed_arr = value.copy()
            changed_arr.flat[0] ^= 1
            out[name] = changed_arr
            return out
    return None


@dataclass
class MitmTamper:
    """A :data:`~qkdstack.processing.channel.Tamper` that rewrites matching messages.

    Parameters
    ----------
    mode : {"flip", "basis", "replace", "bytes"}
        What Eve changes (see the module docstring).
    sender : Role or None
        Only messages from this party are tampered with (None: both directions).
    kind : str
        Only messages whose kind starts with this prefix (``""``: every kind; ignored by ``bytes``).
    max_tampers : int or None
        Stop after this many rewritten messages (None: no limit).
    seed : int, Generator or None
        Eve's randomness for ``replace``.

    Attributes
    ----------
    seen : int
        Messages that passed through.
    tampered : int
        Messages Eve actually changed.
    """

    mode: MitmMode = "flip"
    sender: Role | None = None
    kind: str = ""
    max_tampers: int | None = None
    seed: Seed = None
    seen: int = field(default=0, init=False)
    tampered: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.mode not in MITM_MODES:
            raise ParameterError(
                f"Argument 'mode' must be one of {', '.join(MITM_MODES)}, not {self.mode!r}."
            )
        if self.max_tampers is not None and self.max_tampers < 0:
            raise ParameterError(f"Argument 'max_tampers' must be >= 0, not {self.max_tampers}.")
        self._rng = as_generator(self.seed)

    def _rewrite(self, message: Message) -> Message | None:
        if self.mode == "flip":
            disclosed = _flip_first_bit(message.disclosed)
            if disclosed is not None:
                return Message(message.kind, message.public, disclosed)
            public = _flip_first_bit(message.public)
            if public is not None:
                return Message(message.kind, public, message.disclosed)
            return None
        if self.mode == "basis":
            basis = message.public.get("basis")
            if not isinstance(basis, np.ndarray) or basis.size == 0:
                return None
            public = dict(message.public)
            public["basis"] = (basis ^ 1).astype(basis.dtype)
            return Message(message.kind, public, message.disclosed)
        # replace: Eve's random bits for every disclosed field, or else for public bit/basis arrays
        disclosed = dict(message.disclosed)
        changed = False
        for name, value in message.disclosed.items():
            if isinstance(value, np.ndarray) and value.size:
                disclosed[name] = self._rng.integers(0, 2, size=value.shape, dtype=np.uint8)
                changed = True
            elif isinstance(value, bytes | bytearray) and len(value):
                disclosed[name] = self._rng.bytes(len(value))
                changed = True
        if changed:
            return Message(message.kind, message.public, disclosed)
        public = dict(message.public)
        for name, value in message.public.items():
            if isinstance(value, np.ndarray) and value.size and value.dtype == np.uint8:
                public[name] = self._rng.integers(0, 2, size=value.shape, dtype=np.uint8)
                changed = True
        return Message(message.kind, public, message.disclosed) if changed else None

    def __call__(self, sender: Role, wire: bytes) -> bytes:
        """Return what arrives instead of ``wire`` (the payload followed by its tag, if any)."""
        self.seen += 1
        if self.sender is not None and sender is not self.sender:
            return wire
        if self.max_tampers is not None and self.tampered >= self.max_tampers:
            return wire
        if self.mode == "bytes":
            if not wire:
                return wire
            changed = bytearray(wire)
            changed[len(changed) // 2] ^= 0x01
            self.tampered += 1
            return bytes(changed)
        split = _split_wire(wire)
        if split is None:
            return wire
        message, tag = split
        if not message.kind.startswith(self.kind):
            return wire
        rewritten = self._rewrite(message)
        if rewritten is None:
            return wire
        self.tampered += 1
        # Eve cannot tag the new payload: she forwards the original tag.
        return encode_message(rewritten) + tag


def mitm_tamper(
    mode: str = "flip",
    *,
    sender: Role | str | None = None,
    kind: str = "",
    max_tampers: int | None = None,
    seed: Seed = None,
) -> MitmTamper:
    """A man-in-the-middle tamper function for :class:`~qkdstack.processing.channel.ClassicalChannel`.

    Parameters
    ----------
    mode : {"flip", "basis", "replace", "bytes"}
        What Eve changes in each matching message.
    sender : "alice", "bob", Role or None
        Tamper only with this party's messages (None: both directions).
    kind : str
        Tamper only with messages whose kind starts with this prefix.
    max_tampers : int or None
        Stop after this many changed messages.
    seed : int, Generator or None
        Eve's randomness (``replace`` mode).

    Returns
    -------
    MitmTamper
        Callable ``(sender, wire) -> wire``; its ``tampered`` attribute counts changed messages.
    """
    role: Role | None
    if sender is None or isinstance(sender, Role):
        role = sender
    else:
        try:
            role = Role(sender)
        except ValueError:
            raise ParameterError(
                f"Argument 'sender' must be one of alice, bob or None, not {sender!r}."
            ) from None
    if mode not in MITM_MODES:
        raise ParameterError(
            f"Argument 'mode' must be one of {', '.join(MITM_MODES)}, not {mode!r}."
        )
    if mode == "bytes" and kind:
        raise ParameterError(
            f"Argument 'kind' cannot take effect with mode 'bytes' (raw bytes are not decoded), "
            f"not {kind!r}."
        )
    if not any(known.startswith(kind) for known in MESSAGE_KINDS):
        # A filter that matches nothing would make the attack a silent no-op.
        raise ParameterError(
            f"Argument 'kind' must be a prefix of a message kind ({', '.join(MESSAGE_KINDS)}), "
            f"not {kind!r}."
        )
    return MitmTamper(
        mode=cast(MitmMode, mode), sender=role, kind=kind, max_tampers=max_tampers, seed=seed
    )
