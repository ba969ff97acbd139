"""The one exception tree of qkdstack.

Every error the library raises on purpose derives from :class:`QKDError`::

    QKDError
    ├── ParameterError (also ValueError)      an argument is outside its domain
    ├── RecordError (also ValueError)         a detection-record file is malformed or mismatched
    ├── ProtocolAbort                         the protocol cannot produce a secure key; no key is output
    │   ├── QBERTooHigh                       the estimated error rate exceeds what any key tolerates
    │   ├── InsufficientKey                   the secure key length is not positive
    │   ├── ReconciliationFailed              error correction did not converge
    │   ├── VerificationFailed                the keys' hashes differ after error correction
    │   ├── BellViolationTooSmall             the CHSH value does not exceed 2 by the required margin
    │   ├── ImplausibleStatistics             the statistics are impossible for the declared link
    │   ├── AuthenticationError               a classical message failed its authentication tag
    │   └── FrameRefused                      a node refused a frame (version, size, kind, order)
    ├── NodeError                             a node cannot go on (peer gone, pool dry, bad state)
    └── KeyStoreError                         the key store cannot serve a request

Messages name the argument, the constraint and the value, for example
``Argument 'distance_km' must be >= 0, not -5.``
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BellViolationTooSmall",
    "FrameRefused",
    "ImplausibleStatistics",
    "InsufficientKey",
    "KeyStoreError",
    "NodeError",
    "ParameterError",
    "ProtocolAbort",
    "QBERTooHigh",
    "QKDError",
    "ReconciliationFailed",
    "RecordError",
    "VerificationFailed",
]


class QKDError(Exception):
    """Base class of every error raised on purpose by qkdstack."""


class ParameterError(QKDError, ValueError):
    """An argument is outside its domain. The message names argument, constraint and value."""


class RecordError(QKDError, ValueError):
    """A detection-record file (or array set) is malformed, or Alice's and Bob's do not match."""


class ProtocolAbort(QKDError):
    """The protocol cannot produce a secure key and stops without output.

    Attributes
    ----------
    stage : str
        The post-processing stage that decided to abort (``"estimation"``, ``"verification"``...).
    """

    def __init__(self, message: str, *, stage: str = "") -> None:
        super().__init__(message)
        self.stage = stage


class QBERTooHigh(ProtocolAbort):
    """The estimated quantum bit error rate leaves no secure key."""


class InsufficientKey(ProtocolAbort):
    """The secure key length given by the security bound is not positive."""


class ReconciliationFailed(ProtocolAbort):
    """Error correction did not converge (for example an LDPC decoder failure)."""


class VerificationFailed(ProtocolAbort):
    """The verification hashes of Alice's and Bob's corrected keys differ."""


class BellViolationTooSmall(ProtocolAbort):
    """The measured CHSH value does not exceed the classical bound 2 by the statistical margin."""


class ImplausibleStatistics(ProtocolAbort):
    """The run's statistics cannot come from the declared link (a key rate above the PLOB bound,
    more detections than the source and detectors allow, a NaN): the check fails closed."""


class AuthenticationError(ProtocolAbort):
    """A classical message failed authentication, or the authentication key is exhausted."""


class FrameRefused(ProtocolAbort):
    """A node refused a frame of the classical channel: another version, a malformed or oversized
    frame, an unknown kind, or a replayed or out-of-order sequence number. The round is dropped."""


class NodeError(QKDError):
    """A node cannot go on: its peer vanished past the retries, its authentication pool ran
    dry, or its durable state disagrees with its peer's."""


class KeyStoreError(QKDError):
    """The key store cannot serve the request (unknown key, exhausted store, bad file)."""
