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

The messages and their encoding live in :mod:`qkdstack.processing.wire` (``docs/protocol.md``
documents the format); this module re-exports :class:`Message`, :func:`encode_message`,
:func:`decode_message` and :data:`WIRE_VERSION` from there.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Literal

from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import (
    TAG_BYTES,
    TranscriptHash,
    WegmanCarterAuthenticator,
    forgery_probability,
)
from qkdstack.processing.wire import (
    WIRE_VERSION,
    Message,
    decode_counted,
    decode_message,
    encode_message,
)
from qkdstack.typing import Role

__all__ = [
    "AUTH_SCOPES",
    "WIRE_VERSION",
    "AuthScope",
    "ChannelStats",
    "ClassicalChannel",
    "Message",
    "Observer",
    "Responder",
    "Tamper",
    "decode_message",
    "encode_message",
]

Responder = Callable[[Message], Message]
"""Alice's side: takes Bob's request, returns her reply."""

AuthScope = Literal["message", "stage"]
AUTH_SCOPES: tuple[str, ...] = ("message", "stage")
"""What one Wegman-Carter tag covers (:class:`ClassicalChannel`'s ``auth_scope``)."""

Tamper = Callable[[Role, bytes], bytes]
"""A man in the middle: given the sender and the wire bytes (payload + tag), returns what arrives."""

Observer = Callable[[Role, str, Message], None]
"""A passive wiretap: ``(sender, stage, message as delivered)`` for every message carried."""

# Per-stage tallies: [wire bits, bits Alice disclosed, bits Bob disclosed, round trips].
_WIRE, _BY_ALICE, _BY_BOB, _TRIPS = 0, 1, 2, 3
_ALICE: Final = Role.ALICE  # module globals: quicker to reach than the enum's attributes
_BOB: Final = Role.BOB


class ChannelStats:
    """What crossed the channel, counted per stage.

    Attributes
    ----------
    round_trips : int
        Completed ``ask`` exchanges, and with ``auth_scope="stage"`` the transcript-tag
        exchanges that end each stage (:meth:`ClassicalChannel.confirm`).
    messages : int
        Messages carried (both directions, counted when sent).
    wire_bits : dict
        ``stage -> bits`` on the wire (payload plus tag), both directions.
    disclosed_bits : dict
        ``stage -> {Role.ALICE: bits, Role.BOB: bits}``: key-dependent bits each party sent.
    round_trips_by_stage : dict
        ``stage -> completed exchanges``.

    Notes
    -----
    The channel adds to one small list per stage per message; the three dictionaries are built
    from it when read (they are snapshots, ``defaultdict`` so a stage without traffic reads 0).
    """

    __slots__ = ("_by_stage", "messages", "round_trips")

    def __init__(self) -> None:
        self.round_trips = 0
        self.messages = 0
        self._by_stage: dict[str, list[int]] = {}

    def _tally(self, stage: str) -> list[int]:
        tally = self._by_stage.get(stage)
        if tally is None:
            tally = self._by_stage[stage] = [0, 0, 0, 0]
        return tally

    @property
    def wire_bits(self) -> defaultdict[str, int]:
        """Bits on the wire per stage (payload plus tag, both directions)."""
        return defaultdict(int, {stage: t[_WIRE] for stage, t in self._by_stage.items()})

    @property
    def disclosed_bits(self) -> defaultdict[str, dict[Role, int]]:
        """Disclosed (key-dependent) bits per stage and sender."""
        return defaultdict(
            lambda: {Role.ALICE: 0, Role.BOB: 0},
            {
                stage: {Role.ALICE: t[_BY_ALICE], Role.BOB: t[_BY_BOB]}
                for stage, t in self._by_stage.items()
            },
        )

    @property
    def round_trips_by_stage(self) -> defaultdict[str, int]:
        """Completed round trips per stage."""
        return defaultdict(int, {stage: t[_TRIPS] for stage, t in self._by_stage.items()})

    def leaked_bits(self, stage: str | None = None) -> int:
        """Disclosed bits in ``stage`` (both directions), or in all stages when ``stage`` is None."""
        if stage is None:
            return sum(t[_BY_ALICE] + t[_BY_BOB] for t in self._by_stage.values())
        tally = self._by_stage.get(stage)
        return 0 if tally is None else tally[_BY_ALICE] + tally[_BY_BOB]

    def __repr__(self) -> str:
        return (
            f"ChannelStats(round_trips={self.round_trips}, messages={self.messages}, "
            f"wire_bits={dict(self.wire_bits)}, leaked_bits={self.leaked_bits()})"
        )


class ClassicalChannel:
    """An in-process classical channel between Bob (who asks) and Alice (who answers).

    Parameters
    ----------
    responder : callable
        Alice's handler: ``Message -> Message``.
    authentication : (alice's, bob's) authenticators, optional
        When given, the traffic is Wegman-Carter authenticated; a failed tag raises
        :class:`~qkdstack.errors.AuthenticationError` and ends the exchange.
    tamper : callable, optional
        A man in the middle rewriting wire bytes (see :data:`Tamper`).
    auth_scope : {"message", "stage"}
        ``"message"``: every message is tagged by its sender and verified by its receiver before
        it is read (128 bits of pre-shared key per message). ``"stage"``: messages travel untagged
        and each party hashes what it sent and received (:class:`TranscriptHash`); when a
        :meth:`in_stage` block ends (or :meth:`confirm` is called), Bob sends his tag of his view
        and Alice checks it against hers, then she sends hers and he checks it (Kiktenko et al.
        2020): 256 bits of key per stage, however many messages. The parties act on messages
        before they are authenticated, so nothing may be output before the stage's check; if a
        stage ends in an exception, the check still runs and a failure replaces the exception
        (tampering is the cause worth reporting).
    on_alice_confirmed : callable, optional
        ``stage -> None``: told when a stage has ended without error and its check has passed on
        Alice's side (her comparison of Bob's stage tag; with ``"message"`` scope, or no
        authentication, when the stage ends, each message having been checked before it was
        read). Alice's node outputs nothing before it is told.
    observer : callable, optional
        A passive wiretap (:data:`Observer`): what Eve reads on the public channel.

    Attributes
    ----------
    epsilon_auth : float
        Union bound on a forgery among the tags verified so far: each check of a tag on ``L``
        bytes adds ``8 ceil(L/16) / 2^106`` (:func:`forgery_probability`).
    """

    def __init__(
        self,
        responder: Responder,
        *,
        authentication: tuple[WegmanCarterAuthenticator, WegmanCarterAuthenticator] | None = None,
        tamper: Tamper | None = None,
        auth_scope: AuthScope = "message",
        on_alice_confirmed: Callable[[str], None] | None = None,
        observer: Observer | None = None,
    ) -> None:
        if auth_scope not in AUTH_SCOPES:
            raise ParameterError(
                f"Argument 'auth_scope' must be one of {', '.join(AUTH_SCOPES)}, not {auth_scope!r}."
            )
        self._responder = responder
        self._auth = authentication  # (Alice's, Bob's)
        self._tamper = tamper
        self._by_stage = authentication is not None and auth_scope == "stage"
        self._transcripts: tuple[TranscriptHash, TranscriptHash] | None = None  # Alice's, Bob's
        self.stats = ChannelStats()
        self._stage = "setup"
        self._closed = False
        self._on_alice_confirmed = on_alice_confirmed
        self._observer = observer
        self.epsilon_auth = 0.0
        self._plain = authentication is None and tamper is None  # the fast path in _carry

    @property
    def authenticated(self) -> bool:
        """Whether messages carry Wegman-Carter tags."""
        return self._auth is not None

    def auth_key_bits_used(self) -> int:
        """Secret key bits Bob's authenticator has consumed (Alice's consumes the same)."""
        return 0 if self._auth is None else self._auth[1].key_bits_used

    @property
    def stage(self) -> str:
        """The post-processing stage that traffic is being counted against."""
        return self._stage

    @property
    def auth_scope(self) -> str:
        """``"stage"`` when whole-stage transcripts are tagged, else ``"message"``."""
        return "stage" if self._by_stage else "message"

    @contextmanager
    def in_stage(self, stage: str) -> Iterator[None]:
        """Count the traffic inside the ``with`` block against ``stage``.

        With ``auth_scope="stage"`` the block's transcript is authenticated (:meth:`confirm`)
        when it ends, also when it ends in an exception.
        """
        previous, self._stage = self._stage, stage
        try:
            yield
        except Exception as exc:
            if (
                self._checks_failed_stages()
                and not self._closed
                and not isinstance(exc, AuthenticationError)
            ):
                try:
                    self.confirm(notify=False)
                except AuthenticationError as failed:
                    raise failed from exc
            raise
        else:
            self.confirm()
            if not self._by_stage and self._on_alice_confirmed is not None:
                self._on_alice_confirmed(stage)
        finally:
            self._stage = previous

    def _checks_failed_stages(self) -> bool:
        """Whether a stage that ended in an exception is still confirmed (without notice)."""
        return self._by_stage

    def confirm(self, *, notify: bool = True) -> None:
        """Authenticate the transcript since the last check (``auth_scope="stage"``; else no-op).

        Bob's tag of his view goes to Alice, who compares it with her own tag of hers in constant
        time; then her tag goes to Bob, who does the same. Each tag is 16 bytes on the wire and one
        128-bit pad. Raises :class:`~qkdstack.errors.AuthenticationError` and closes the channel
        on a mismatch. With ``notify``, ``on_alice_confirmed`` hears of Alice's passed check.
        """
        if not self._by_stage:
            return
        if self._transcripts is None:  # nothing was said in this stage: nothing to check
            if notify and self._on_alice_confirmed is not None:
                self._on_alice_confirmed(self._stage)
            return
        assert self._auth is not None
        (alice_view, bob_view), self._transcripts = self._transcripts, None
        alice_auth, bob_auth = self._auth
        tally = self.stats._tally(self._stage)
        for sender, sender_auth, sender_view, receiver_auth, receiver_view in (
            (_BOB, bob_auth, bob_view, alice_auth, alice_view),
            (_ALICE, alice_auth, alice_view, bob_auth, bob_view),
        ):
            wire = sender_auth.transcript_tag(sender_view)
            if self._tamper is not None:
                wire = self._tamper(sender, wire)
            self.stats.messages += 1
            tally[_WIRE] += 8 * len(wire)
            expected = receiver_auth.transcript_tag(receiver_view)
            self.epsilon_auth += forgery_probability(receiver_view.framed_bytes)
            if not hmac.compare_digest(expected, bytes(wire)):
                self._closed = True
                raise AuthenticationError(
                    f"the classical transcript of stage {self._stage!r} failed authentication "
                    f"({receiver_view.messages} messages)",
                    stage=self._stage,
                )
            if sender is _BOB and notify and self._on_alice_confirmed is not None:
                self._on_alice_confirmed(self._stage)
        self.stats.round_trips += 1
        tally[_TRIPS] += 1

    def _carry(self, sender: Role, message: Message) -> Message:
        """Encode, (tag,) (tamper,) count, (verify,) decode: one message from ``sender``."""
        payload = encode_message(message)
        stats = self.stats
        tally = stats._by_stage.get(self._stage)
        if tally is None:
            tally = stats._tally(self._stage)
        stats.messages += 1
        if self._plain:
            tally[_WIRE] += 8 * len(payload)
        else:
            payload = self._guard(sender, payload, tally)
        received, disclosed_bits = decode_counted(payload)
        tally[_BY_BOB if sender is _BOB else _BY_ALICE] += disclosed_bits
        if self._observer is not None:
            self._observer(sender, self._stage, received)
        return received

    def _guard(self, sender: Role, payload: bytes, tally: list[int]) -> bytes:
        """Tag, tamper with, count and verify one payload; return the payload that arrived."""
        auth = self._auth
        by_bob = sender is _BOB
        if self._by_stage:
            return self._record(by_bob, payload, tally)
        if self._tamper is None and auth is not None:
            # Nobody in the middle: the receiver gets exactly payload + tag, so it verifies the tag
            # on `payload` itself instead of joining and re-splitting the same bytes.
            tag = (auth[1] if by_bob else auth[0]).tag(payload)
            tally[_WIRE] += 8 * (len(payload) + len(tag))
            self._verify(auth[0] if by_bob else auth[1], payload, tag)
            return payload
        wire = payload if auth is None else payload + (auth[1] if by_bob else auth[0]).tag(payload)
        if self._tamper is not None:
            wire = self._tamper(sender, wire)
        tally[_WIRE] += 8 * len(wire)
        if auth is None:
            return bytes(wire)
        if len(wire) < TAG_BYTES:
            raise AuthenticationError(
                "classical message too short to carry a tag", stage=self._stage
            )
        self._verify(auth[0] if by_bob else auth[1], wire[:-TAG_BYTES], wire[-TAG_BYTES:])
        return bytes(wire[:-TAG_BYTES])

    def _record(self, by_bob: bool, payload: bytes, tally: list[int]) -> bytes:
        """Stage scope: tamper with and count one payload; each party hashes its own view."""
        wire = (
            payload
            if self._tamper is None
            else bytes(self._tamper(_BOB if by_bob else _ALICE, payload))
        )
        tally[_WIRE] += 8 * len(wire)
        if self._transcripts is None:
            assert self._auth is not None
            self._transcripts = (self._auth[0].start_transcript(), self._auth[1].start_transcript())
        alice_view, bob_view = self._transcripts
        code = 0 if by_bob else 1
        (bob_view if by_bob else alice_view).add(code, payload)  # what the sender sent
        (alice_view if by_bob else bob_view).add(code, wire)  # what the receiver got
        return wire

    def _verify(self, receiver: WegmanCarterAuthenticator, payload: bytes, tag: bytes) -> None:
        self.epsilon_auth += forgery_probability(len(payload))
        try:
            receiver.verify(payload, tag)
        except AuthenticationError as exc:
            self._closed = True
            raise AuthenticationError(str(exc), stage=self._stage) from exc

    def ask(self, request: Message) -> Message:
        """Send Bob's ``request`` to Alice and return her reply (one round trip)."""
        if self._closed:
            raise ProtocolAbort("classical channel is closed after a failure", stage=self._stage)
        delivered = self._carry(_BOB, request)
        answer = self._carry(_ALICE, self._responder(delivered))
        stats = self.stats
        stats.round_trips += 1
        stats._tally(self._stage)[_TRIPS] += 1
        return answer
