"""Composable accounting of a run: the failure probabilities that add up, and the net key.

A QKD run is ``epsilon_total``-secure in the composable sense when its parts are: the final key is
``epsilon_sec``-secret and ``epsilon_cor``-correct (Tomamichel et al. 2012, Sec. "Security
definition": the two add), and the classical channel is authentic except with the probability
that one of the Wegman-Carter tags spent in the run was forged. Each verified tag on ``L`` bytes is
forged with probability at most ``8 ceil(L/16) / 2^106`` (Poly1305, Bernstein 2005, Theorem 3.3;
:func:`~qkdstack.processing.authentication.forgery_probability`), and a union bound over every tag
checked gives ``epsilon_auth``; so ``epsilon_total = epsilon_sec + epsilon_cor + epsilon_auth``
(Portmann 2014, Sec. 4: authentication composes additively).

Authentication consumes pre-shared key (128 bits per tag). A deployment refills its pool from the
key the link produces, so what the run gains is ``net_secret_bits = secret_bits -
auth_key_bits_used``; a run whose net key is not positive consumed more key than it made.

References
----------
M. Tomamichel, C. C. W. Lim, N. Gisin, R. Renner, Nat. Commun. 3, 634 (2012).
D. J. Bernstein, "The Poly1305-AES message-authentication code", FSE 2005, Theorem 3.3.
C. Portmann, "Key recycling in authentication", IEEE Trans. Inf. Theory 60, 4383 (2014).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["composable_accounting"]


def composable_accounting(report: Mapping[str, Any], epsilon_auth: float) -> dict[str, Any]:
    """The report fields ``epsilon_auth``, ``epsilon_total``, ``net_secret_bits``,
    ``net_key_positive`` and ``net_key_note``.

    Parameters
    ----------
    report : mapping
        The pipeline's report so far: ``epsilon_sec``, ``epsilon_cor``, ``secret_bits`` and
        ``auth_key_bits_used`` are read.
    epsilon_auth : float
        Sum of the forgery bounds of every tag verified in the run. On an unauthenticated channel
        (``report["authenticated"]`` false) nothing bounds a man in the middle: ``epsilon_auth``
        is then 1, the trivial bound, and so is every guarantee that depends on it.
    """
    if not report.get("authenticated", True):
        epsilon_auth = 1.0
    secret = int(report["secret_bits"])
    used = int(report["auth_key_bits_used"])
    net = secret - used
    note = None
    if net <= 0:
        note = (
            f"net key not positive: the run used {used} bits of authentication key and "
            f"produced {secret} secret bits"
        )
    return {
        "epsilon_auth": float(epsilon_auth),
        "epsilon_total": float(report["epsilon_sec"]) + float(report["epsilon_cor"]) + epsilon_auth,
        "net_secret_bits": net,
        "net_key_positive": net > 0,
        "net_key_note": note,
    }
