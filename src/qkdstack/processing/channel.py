"""The classical channel: the one seam through which Alice and Bob exchange public messages.

Alice and Bob share nothing but :class:`Message` objects. Every message is encoded to bytes, carried
(optionally authenticated, optionally tampered with by a man in the middle), and decoded on the far
side, so no array is ever shared in memory. The channel counts, per post-processing stage and per
direction, the bits on the wire and the *disclosed* bits: the values in a message's ``disclosed`` part
depend on the key (parities, syndromes, sample bits, verification tags) and are the information
leakage that privacy amplification must remove. Leakage is thus measured where it happens, not
estimated (as in cascade-python's channel).

The exchange is request/reply: Bob drives the post-processing and asks, Alice answers through her
responder. Over TCP the same messages and the same encoding apply (Bob the client, Alice the server).
"""

from __future__ import annotations

import json
import struct
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import TAG_BYTES, WegmanCarterAuthenticator
from qkdstack.typing import Role

__all__ = [
    "ChannelStats",
    "ClassicalChannel",
    "Message",
    "Responder",
    "Tamper",
    "decode_message",
    "encode_message",
]

_HEADER = struct.Struct("<I")


@dataclass(frozen=True)
class Message:
    """One public message.

    Parameters
    ----------
    kind : str
        What the message is (``"sift"``, ``"ec.parities"``...); the receiver dispatches on it.
    public : mapping
        Values that carry no information about the key: JSON scalars or numpy arrays (pulse indices,
        bases, block boundaries, seeds).
    disclosed : mapping
        Values that depend on the key: ``uint8`` 0/1 bit arrays (1 bit each) or ``bytes`` (8 bits
        each). Their size is the leakage the channel counts.
    """

    kind: str
    public: Mapping[str, Any] = field(default_factory=dict)
    disclosed: Mapping[str, Any] = field(default_factory=dict)

    def disclosed_bits(self) -> int:
        """Number of key-dependent bits this message reveals."""
        total = 0
        for value in self.disclosed.values():
            if isinstance(value, bytes | bytearray):
                total += 8 * len(value)
            else:
                total += int(np.asarray(value).size)
        return total


def encode_message(message: Message) -> bytes:
    """Encode a message to bytes: a length-prefixed JSON header, then the raw array buffers."""
    buffers: list[bytes] = []
    specs: list[list[Any]] = []
    scalars: dict[str, dict[str, Any]] = {"public": {}, "disclosed": {}}
    for section, mapping in (("public", message.public), ("disclosed", message.disclosed)):
        for name, value in mapping.items():
            if isinstance(value, np.ndarray):
                arr = np.ascontiguousarray(value)
                specs.append([section, name, arr.dtype.str, list(arr.shape)])
                buffers.append(arr.tobytes())
            elif isinstance(value, bytes | bytearray):
                specs.append([section, name, "bytes", [len(value)]])
                buffers.append(bytes(value))
            elif section == "disclosed":
                raise ParameterError(
                    f"Disclosed field {name!r} must be a bit array or bytes, not {type(value).__name__}."
                )
            else:
                scalars[section][name] = value.item() if isinstance(value, np.generic) else value
    header = json.dumps({"kind": message.kind, "scalars": scalars, "arrays": specs}).encode()
    return _HEADER.pack(len(header)) + header + b"".join(buffers)


def decode_message(data: bytes) -> Message:
    """Decode bytes made by :func:`encode_message`; raise :class:`ProtocolAbort` on garbage."""
    try:
        (header_len,) = _HEADER.unpack_from(data, 0)
        header = json.loads(data[_HEADER.size : _HEADER.size + header_len])
        offset = _HEADER.size + header_len
        sections: dict[str, dict[str, Any]] = {
            "public": dict(header["scalars"]["public"]),
            "disclosed": dict(header["scalars"]["disclosed"]),
        }
        for section, name, dtype, shape in header["arrays"]:
            if dtype == "bytes":
                n = int(shape[0])
                sections[section][name] = bytes(data[offset : offset + n])
                offset += n
                continue
            dt = np.dtype(dtype)
            count = int(np.prod(shape)) if shape else 1
            nbytes = count * dt.itemsize
            if offset + nbytes > len(data):
                raise ValueError("truncated array")
            sections[section][name] = (
                np.frombuffer(data, dtype=dt, count=count, offset=offset).reshape(shape).copy()
            )
            offset += nbytes
        if offset != len(data):
            raise ValueError("trailing bytes")
        return Message(str(header["kind"]), sections["public"], sections["disclosed"])
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise ProtocolAbort(f"malformed classical message: {exc}", stage="channel") from exc


Responder = Callable[[Message], Message]
"""Alice's side: takes Bob's request, returns her reply."""

Tamper = Callable[[Role, bytes], bytes]
"""A man in the middle: given the sender and the wire bytes (payload + tag), returns what arrives."""


@dataclass
class ChannelStats:
    """What crossed the channel, counted per stage."""

    round_trips: int = 0
    messages: int = 0
    wire_bits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    disclosed_bits: dict[str, dict[Role, int]] = field(
        default_factory=lambda: defaultdict(lambda: {Role.ALICE: 0, Role.BOB: 0})
    )
    round_trips_by_stage: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def leaked_bits(self, stage: str | None = None) -> int:
        """Disclosed bits in ``stage`` (both directions), or in all stages when ``stage`` is None."""
        if stage is None:
            return sum(sum(d.values()) for d in self.disclosed_bits.values())
        if stage not in self.disclosed_bits:
            return 0
        return sum(self.disclosed_bits[stage].values())


class ClassicalChannel:
    """An in-process classical channel between Bob (who asks) and Alice (who answers).

    Parameters
    ----------
    responder : callable
        Alice's handler: ``Message -> Message``.
    authentication : (alice's, bob's) authenticators, optional
        When given, every message is Wegman-Carter tagged by its sender and verified by its receiver;
        a failed tag raises :class:`~qkdstack.errors.AuthenticationError` and ends the exchange.
    tamper : callable, optional
        A man in the middle rewriting wire bytes (see :data:`Tamper`).
    """

    def __init__(
        self,
        responder: Responder,
        *,
        authentication: tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator] | None = None,
        tamper: Tamper | None = None,
    ) -> None:
        self._responder = responder
        self._auth = (
            {Role.ALICE: authentication[0], Role.BOB: authentication[1]} if authentication else None
        )
        self._tamper = tamper
        self.stats = ChannelStats()
        self._stage = "setup"
        self._closed = False

    @property
    def authenticated(self) -> bool:
        """Whether messages carry Wegman-Carter tags."""
        return self._auth is not None

    def auth_key_bits_used(self) -> int:
        """Secret key bits Bob's authenticator has consumed (Alice's consumes the same)."""
        return 0 if self._auth is None else self._auth[Role.BOB].key_bits_used

    @property
    def stage(self) -> str:
        """The post-processing stage that traffic is being counted against."""
        return self._stage

    @contextmanager
    def in_stage(self, stage: str) -> Iterator[None]:
        """Count the traffic inside the ``with`` block against ``stage``."""
        previous, self._stage = self._stage, stage
        try:
            yield
        finally:
            self._stage = previous

    def _carry(self, sender: Role, message: Message) -> Message:
        payload = encode_message(message)
        wire = payload
        if self._auth is not None:
            wire = payload + self._auth[sender].tag(payload)
        if self._tamper is not None:
            wire = self._tamper(sender, wire)
        self.stats.messages += 1
        self.stats.wire_bits[self._stage] += 8 * len(wire)
        if self._auth is not None:
            if len(wire) < TAG_BYTES:
                raise AuthenticationError(
                    "classical message too short to carry a tag", stage=self._stage
                )
            payload, tag = wire[:-TAG_BYTES], wire[-TAG_BYTES:]
            try:
                self._auth[sender.peer].verify(payload, tag)
            except AuthenticationError as exc:
                self._closed = True
                raise AuthenticationError(str(exc), stage=self._stage) from exc
        else:
            payload = wire
        received = decode_message(payload)
        self.stats.disclosed_bits[self._stage][sender] += received.disclosed_bits()
        return received

    def ask(self, request: Message) -> Message:
        """Send Bob's ``request`` to Alice and return her reply (one round trip)."""
        if self._closed:
            raise ProtocolAbort("classical channel is closed after a failure", stage=self._stage)
        delivered = self._carry(Role.BOB, request)
        reply = self._responder(delivered)
        answer = self._carry(Role.ALICE, reply)
        self.stats.round_trips += 1
        self.stats.round_trips_by_stage[self._stage] += 1
        return answer
