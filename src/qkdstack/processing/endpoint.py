"""The two ends of a classical channel that crosses a process (or machine) boundary.

:class:`~qkdstack.processing.channel.ClassicalChannel` carries both parties' messages in one
process and holds both authenticators. When Alice and Bob run apart, each end holds only its own
authentication state: :class:`BobEndpoint` (the asking side, a drop-in for the channel that
:class:`~qkdstack.processing.pipeline.BobNode` drives) keeps Bob's authenticator, his transcript
hash and his key pool; :class:`AliceEndpoint` keeps Alice's and answers frames of bytes. Only
bytes pass between them, through a ``transport`` (a pipe, a socket) that Bob's side is given.

Frames (Bob to Alice, answered by one frame from Alice)::

    b"M" | payload [| tag]                          one message (tag: 16 bytes, "message" scope)
      -> payload [| tag]                            Alice's reply, or b"\\x00" when she rejects it
    b"S" | notify u8 | stage_len u8 | stage [| tag] a stage ends (tag: Bob's transcript tag,
                                                    "stage" scope, when the stage had messages)
      -> b"\\x01" [| tag]                            Alice's check passed (her transcript tag)
      -> b"\\x00"                                    her check failed: she outputs nothing

A stage-end frame with ``notify = 1`` (the stage ended without error) is what tells Alice's node
that the stage's check passed on her side (``stage_confirmed``); she outputs no key before it.
The tags are the same Wegman-Carter tags, over the same framed transcripts, as in
:class:`~qkdstack.processing.channel.ClassicalChannel` (Kiktenko et al. 2020 for stage scope).

References
----------
E. O. Kiktenko et al., "Lightweight authentication for quantum key distribution", IEEE Trans.
Inf. Theory 66, 6354 (2020).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from qkdstack.errors import AuthenticationError, ParameterError, ProtocolAbort
from qkdstack.processing.authentication import (
    TAG_BYTES,
    TranscriptHash,
    WegmanCarterAuthenticator,
    forgery_probability,
)
from qkdstack.processing.channel import (
    AUTH_SCOPES,
    ChannelStats,
    ClassicalChannel,
    Message,
    Responder,
    decode_message,
    encode_message,
)

__all__ = ["AliceEndpoint", "BobEndpoint", "Transport"]

Transport = Callable[[bytes], bytes]
"""Bob's side of the wire: send one frame to Alice, return her answer."""

_MESSAGE = b"M"
_STAGE_END = b"S"
_OK = b"\x01"
_REJECTED = b"\x00"
_BOB_CODE, _ALICE_CODE = 0, 1  # sender codes in the transcripts


def _check_scope(authenticator: WegmanCarterAuthenticator | None, auth_scope: str) -> bool:
    if auth_scope not in AUTH_SCOPES:
        raise ParameterError(
            f"Argument 'auth_scope' must be one of {', '.join(AUTH_SCOPES)}, not {auth_scope!r}."
        )
    return authenticator is not None and auth_scope == "stage"


class AliceEndpoint:
    """Alice's end: answers Bob's frames with her node's replies, under her own authenticator.

    Parameters
    ----------
    responder : callable
        Alice's node's ``handle`` (``Message -> Message``).
    stage_confirmed : callable
        ``stage -> None``: called once a stage ended without error and its check passed here.
    authenticator : WegmanCarterAuthenticator or None
        Alice's own copy of the pre-shared key and its pad pool (None: unauthenticated).
    auth_scope : {"stage", "message"}
    """

    def __init__(
        self,
        responder: Responder,
        stage_confirmed: Callable[[str], None],
        authenticator: WegmanCarterAuthenticator | None,
        auth_scope: str = "stage",
    ) -> None:
        self._by_stage = _check_scope(authenticator, auth_scope)
        self._responder = responder
        self._stage_confirmed = stage_confirmed
        self._auth = authenticator
        self._transcript: TranscriptHash | None = None
        self.closed = False

    def serve(self, frame: bytes) -> bytes:
        """Answer one frame from Bob (see the module docstring); never raises on bad input."""
        if self.closed or not frame:
            return _REJECTED
        kind, body = frame[:1], bytes(frame[1:])
        try:
            if kind == _MESSAGE:
                return self._message(body)
            if kind == _STAGE_END:
                return self._stage_end(body)
        except AuthenticationError:
            self.closed = True
        return _REJECTED

    def _message(self, body: bytes) -> bytes:
        auth = self._auth
        if auth is not None and not self._by_stage:
            payload, tag = body[:-TAG_BYTES], body[-TAG_BYTES:]
            auth.verify(payload, tag)  # raises AuthenticationError
        else:
            payload = body
        if self._by_stage:
            self._view().add(_BOB_CODE, payload)
        reply = encode_message(self._responder(decode_message(payload)))
        if self._by_stage:
            self._view().add(_ALICE_CODE, reply)
            return reply
        return reply if auth is None else reply + auth.tag(reply)

    def _view(self) -> TranscriptHash:
        if self._transcript is None:
            assert self._auth is not None
            self._transcript = self._auth.start_transcript()
        return self._transcript

    def _stage_end(self, body: bytes) -> bytes:
        if len(body) < 2 or len(body) < 2 + body[1]:
            raise AuthenticationError("malformed stage-end frame", stage="authentication")
        notify, stage = body[0] == 1, body[2 : 2 + body[1]].decode("utf-8", "replace")
        tag = body[2 + body[1] :]
        answer = _OK
        if self._by_stage:
            view, self._transcript = self._transcript, None
            if (view is None) != (len(tag) == 0) or (view is not None and len(tag) != TAG_BYTES):
                raise AuthenticationError("stage tag missing or unexpected", stage=stage)
            if view is not None:
                assert self._auth is not None
                expected = self._auth.transcript_tag(view)
                if not hmac.compare_digest(expected, tag):
                    raise AuthenticationError(
                        f"the classical transcript of stage {stage!r} failed authentication",
                        stage=stage,
                    )
                answer += self._auth.transcript_tag(view)
        elif tag:
            raise AuthenticationError("unexpected stage tag", stage=stage)
        if notify:
            self._stage_confirmed(stage)
        return answer


class BobEndpoint(ClassicalChannel):
    """Bob's end: the channel :class:`~qkdstack.processing.pipeline.BobNode` drives, holding only
    Bob's authentication state; Alice is reached through ``transport``.

    Parameters
    ----------
    transport : callable
        Sends one frame to Alice's :meth:`AliceEndpoint.serve` and returns its answer.
    authenticator : WegmanCarterAuthenticator or None
        Bob's own copy of the pre-shared key and its pad pool (None: unauthenticated).
    auth_scope : {"stage", "message"}

    Notes
    -----
    The counts (``stats``, ``epsilon_auth``) are as in the in-process channel, from Bob's view.
    """

    def __init__(
        self,
        transport: Transport,
        authenticator: WegmanCarterAuthenticator | None,
        auth_scope: str = "stage",
    ) -> None:
        # Not ClassicalChannel.__init__: this end holds no responder and no second authenticator.
        self._by_stage = _check_scope(authenticator, auth_scope)
        self._transport = transport
        self._bob_auth = authenticator
        self._transcript: TranscriptHash | None = None
        self._on_alice_confirmed = None
        self._observer = None
        self.stats = ChannelStats()
        self.epsilon_auth = 0.0
        self._stage = "setup"
        self._closed = False

    @property
    def authenticated(self) -> bool:
        """Whether messages carry Wegman-Carter tags."""
        return self._bob_auth is not None

    def auth_key_bits_used(self) -> int:
        """Secret key bits Bob's authenticator has consumed."""
        return 0 if self._bob_auth is None else self._bob_auth.key_bits_used

    def _fail(self, what: str) -> AuthenticationError:
        self._closed = True
        return AuthenticationError(what, stage=self._stage)

    def ask(self, request: Message) -> Message:
        """Send ``request`` to Alice and return her reply (one round trip)."""
        if self._closed:
            raise ProtocolAbort("classical channel is closed after a failure", stage=self._stage)
        auth = self._bob_auth
        tally = self.stats._tally(self._stage)
        payload = encode_message(request)
        frame = _MESSAGE + payload
        if auth is not None and not self._by_stage:
            frame += auth.tag(payload)
        answer = self._transport(frame)
        self.stats.messages += 2
        tally[0] += 8 * (len(frame) - 1 + len(answer))
        if answer == _REJECTED:
            raise self._fail("Alice rejected a classical message: authentication failed")
        if auth is not None and not self._by_stage:
            reply = answer[:-TAG_BYTES]
            self.epsilon_auth += forgery_probability(len(reply))
            try:
                auth.verify(reply, answer[-TAG_BYTES:])
            except AuthenticationError as exc:
                raise self._fail(str(exc)) from exc
        else:
            reply = answer
        if self._by_stage:
            if self._transcript is None:
                assert auth is not None
                self._transcript = auth.start_transcript()
            self._transcript.add(_BOB_CODE, payload)
            self._transcript.add(_ALICE_CODE, reply)
        received = decode_message(reply)
        tally[2] += request.disclosed_bits()
        tally[1] += received.disclosed_bits()
        self.stats.round_trips += 1
        tally[3] += 1
        return received

    def confirm(self, *, notify: bool = True) -> None:
        """End the stage on both sides: Alice is told (and, in stage scope, the transcript tags
        are exchanged and checked, Bob's first). Raises on a failed check."""
        if self._closed:
            return
        stage = self._stage.encode()
        frame = _STAGE_END + bytes((1 if notify else 0, len(stage))) + stage
        view, self._transcript = self._transcript, None
        if view is not None:
            assert self._bob_auth is not None
            frame += self._bob_auth.transcript_tag(view)
            # Alice checks Bob's tag: one forgery attempt on the framed transcript.
            self.epsilon_auth += forgery_probability(view.framed_bytes)
        answer = self._transport(frame)
        tally = self.stats._tally(self._stage)
        tally[0] += 8 * (len(frame) - 1 + len(answer))
        if answer[:1] != _OK:
            raise self._fail(f"the classical transcript of stage {self._stage!r} was rejected")
        if view is not None:
            assert self._bob_auth is not None
            expected = self._bob_auth.transcript_tag(view)
            self.epsilon_auth += forgery_probability(view.framed_bytes)
            if not hmac.compare_digest(expected, answer[1:]):
                raise self._fail(
                    f"the classical transcript of stage {self._stage!r} failed authentication"
                )
        self.stats.round_trips += 1
        tally[3] += 1

    def _checks_failed_stages(self) -> bool:
        # Alice learns of every stage end only through the wire: a failed stage is sent too,
        # with notify = 0, so she outputs nothing for it.
        return True
