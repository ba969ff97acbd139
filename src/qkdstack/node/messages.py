"""Payloads of the node protocol's control frames, and the authentication cost of a round.

Control payloads (hello, round start, prepare, commit...) are UTF-8 JSON objects. Those that
decide what is stored (reconcile, prepare, prepared, commit, committed) carry a Wegman-Carter tag
(16 bytes) after the JSON, made with the next pad of the round's reservation.

The cost of a round is fixed: :data:`AUTH_PADS_PER_ROUND` pads are reserved from the pool when
the round starts, whatever happens next (pads a round does not use are skipped, never reused):
two tags per post-processing stage (Bob's and Alice's transcript tags, Kiktenko et al. 2020) for
the five stages, and four for the commit exchange.
"""

from __future__ import annotations

import json
from typing import Any, Final

from qkdstack.errors import AuthenticationError, FrameRefused
from qkdstack.processing.authentication import TAG_BYTES, WegmanCarterAuthenticator

__all__ = [
    "AUTH_BITS_PER_ROUND",
    "AUTH_PADS_PER_ROUND",
    "KEY_SIZE_BITS",
    "RECONCILE_PADS",
    "STAGES",
    "pack",
    "pack_tagged",
    "unpack",
    "unpack_tagged",
]

STAGES: Final = ("sifting", "estimation", "reconciliation", "verification", "amplification")
COMMIT_TAGS: Final = 4  # prepare, prepared, commit, committed
AUTH_PADS_PER_ROUND: Final = 2 * len(STAGES) + COMMIT_TAGS
AUTH_BITS_PER_ROUND: Final = 8 * TAG_BYTES * AUTH_PADS_PER_ROUND
"""Authentication key one round consumes: 14 pads of 128 bits = 1,792 bits."""
RECONCILE_PADS: Final = 2
"""Pads the reconciliation after each (re)connection consumes (Bob's and Alice's tags)."""
KEY_SIZE_BITS: Final = 256
"""Size of each stored key; a round's key is cut into keys of this size after the refill."""


def pack(obj: dict[str, Any]) -> bytes:
    """A control payload."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def unpack(data: bytes, what: str) -> dict[str, Any]:
    """Decode a control payload; raise :class:`FrameRefused` when it is not a JSON object."""
    try:
        obj = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError):
        raise FrameRefused(f"malformed {what} frame: not a JSON object") from None
    if not isinstance(obj, dict):
        raise FrameRefused(f"malformed {what} frame: not a JSON object")
    return obj


def pack_tagged(obj: dict[str, Any], auth: WegmanCarterAuthenticator) -> bytes:
    """A control payload with its tag (consumes one pad of ``auth``)."""
    body = pack(obj)
    return body + auth.tag(body)


def unpack_tagged(data: bytes, auth: WegmanCarterAuthenticator, what: str) -> dict[str, Any]:
    """Check the tag (constant time, one pad) and decode; raise on a bad tag."""
    if len(data) < TAG_BYTES:
        raise AuthenticationError(f"{what} frame too short to carry a tag", stage="commit")
    body, tag = data[:-TAG_BYTES], data[-TAG_BYTES:]
    try:
        auth.verify(body, tag)
    except AuthenticationError:
        raise AuthenticationError(f"{what} frame failed authentication", stage="commit") from None
    return unpack(body, what)
