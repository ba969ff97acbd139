"""The values the attacks' string parameters take, importable without the attacks themselves.

The attack registry (:mod:`.registry`) lists them in the ``--attack`` help, which ``qkd --help``
builds; the attack modules check their parameters against them. Keeping them here lets the help
be written without loading the link simulator (numba) that the attacks need.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BASIS_CHOICES", "MITM_MODES", "EveBasisChoice", "MitmMode"]

EveBasisChoice = Literal["random", "z", "x", "breidbart"]
BASIS_CHOICES: tuple[str, ...] = ("random", "z", "x", "breidbart")
"""Eve's measurement basis in intercept-resend (:class:`~.intercept_resend.InterceptResend`)."""

MitmMode = Literal["flip", "basis", "replace", "bytes"]
MITM_MODES: tuple[str, ...] = ("flip", "basis", "replace", "bytes")
"""What the man in the middle does to a message (:class:`~.tamper.MitmTamper`)."""
