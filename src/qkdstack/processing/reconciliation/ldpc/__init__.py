"""LDPC syndrome reconciliation: one-way error correction with belief-propagation decoding.

Alice and Bob cut their keys into frames. For each frame Alice sends the syndrome ``s = H x`` of
her bits under a low-density parity-check matrix ``H`` (``M x N``); Bob decodes his noisy copy
``y`` to the word closest to ``y`` with that syndrome, by sum-product belief propagation on the
Tanner graph of ``H`` with channel log-likelihood ratios ``L = (1 - 2 y) ln((1 - Q) / Q)`` (Gallager
1962; MacKay 1999; syndrome decoding as in Liveris, Xiong, Georghiades 2002). The syndrome bits
not masked by punctured positions are the leakage of the frame; the efficiency is
``f = leaked / (n h(Q))`` (Elkouss et al. 2009).

The package, one concept per module:

- :mod:`~qkdstack.processing.reconciliation.ldpc.codes`: the shipped mother codes (rates
  0.50-0.90 in steps of 0.05, at 65536 bits by progressive edge growth and at 2^18 and 2^20 bits
  quasi-cyclic), :func:`load_code` and the syndrome :func:`syndrome`;
- :mod:`~qkdstack.processing.reconciliation.ldpc.decoder`: layered sum-product decoding,
  :func:`decode_syndrome` (one frame) and :func:`decode_syndromes` (32 frames in SIMD lanes);
- :mod:`~qkdstack.processing.reconciliation.ldpc.frames`: the public frame plan (rate
  adaptation by puncturing and shortening, Elkouss et al. 2010): :func:`plan_frames`,
  :func:`default_plan` and its measured efficiencies, :func:`plan_blind`, :func:`masked_rows`;
- :mod:`~qkdstack.processing.reconciliation.ldpc.exchange`: the syndrome messages both methods
  share;
- :mod:`~qkdstack.processing.reconciliation.ldpc.rate_adaptive`: the ``ldpc`` method
  (:class:`AliceLDPC`, :class:`BobLDPC`): long keys take the 2^20- or 2^18-bit codes, short ones
  the 65536-bit codes (:func:`default_plan`);
- :mod:`~qkdstack.processing.reconciliation.ldpc.blind`: the ``ldpc-blind`` method
  (:class:`AliceBlind`, :class:`BobBlind`) on the 65536-bit codes, revealing punctured bits of
  the frames that fail (Martinez-Mateo, Elkouss, Martin 2012).

Importing this package registers both methods (``ldpc``, then ``ldpc-blind``) with
:func:`~qkdstack.processing.reconciliation.base.register_method`.

References
----------
R. G. Gallager, "Low-density parity-check codes", IRE Trans. Inf. Theory 8, 21 (1962).
A. D. Liveris, Z. Xiong, C. N. Georghiades, "Compression of binary sources with side information
at the decoder using LDPC codes", IEEE Commun. Lett. 6, 440 (2002).
D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, "Efficient reconciliation protocol for
discrete-variable quantum key distribution", ISIT 2009 (efficiency f = M / (n h(Q))).
D. Elkouss, J. Martinez-Mateo, D. Lancho, V. Martin, ITW 2010, arXiv:1006.2660 (puncturing and
shortening). J. Martinez-Mateo, D. Elkouss, V. Martin, "Blind reconciliation", Quantum Inf. Comput.
12, 791 (2012). (Section and equation numbers were not checked against the papers.)
M. P. C. Fossorier, "Quasi-cyclic low-density parity-check codes from circulant permutation
matrices", IEEE Trans. Inf. Theory 50, 1788 (2004).
X.-Y. Hu, E. Eleftheriou, D.-M. Arnold, "Regular and irregular progressive edge-growth Tanner
graphs", IEEE Trans. Inf. Theory 51, 386 (2005).
E. Sharon, S. Litsyn, J. Goldberger, "Efficient serial message-passing schedules for LDPC
decoding", IEEE Trans. Inf. Theory 53, 4076 (2007).
"""

from __future__ import annotations

from qkdstack.processing.reconciliation.base import register_method
from qkdstack.processing.reconciliation.ldpc import blind as _blind
from qkdstack.processing.reconciliation.ldpc import rate_adaptive as _rate_adaptive
from qkdstack.processing.reconciliation.ldpc.blind import AliceBlind, BobBlind
from qkdstack.processing.reconciliation.ldpc.codes import _N as _N
from qkdstack.processing.reconciliation.ldpc.codes import (
    CODE_LENGTHS,
    CODE_RATES,
    LDPCCode,
    load_code,
    syndrome,
)
from qkdstack.processing.reconciliation.ldpc.decoder import (
    _exp_neg as _exp_neg,
)
from qkdstack.processing.reconciliation.ldpc.decoder import (
    _neg_log as _neg_log,
)
from qkdstack.processing.reconciliation.ldpc.decoder import (
    decode_syndrome,
    decode_syndromes,
)
from qkdstack.processing.reconciliation.ldpc.frames import (
    DEFAULT_EFFICIENCY,
    LONG_FRAME_LIMITS,
    TOP_RATE_EFFICIENCY,
    FramePlan,
    LongFrameLimits,
    default_plan,
    masked_rows,
    plan_blind,
    plan_frames,
)
from qkdstack.processing.reconciliation.ldpc.frames import _frame_plan as _frame_plan
from qkdstack.processing.reconciliation.ldpc.rate_adaptive import AliceLDPC, BobLDPC

__all__ = [
    "CODE_LENGTHS",
    "CODE_RATES",
    "DEFAULT_EFFICIENCY",
    "LONG_FRAME_LIMITS",
    "TOP_RATE_EFFICIENCY",
    "AliceBlind",
    "AliceLDPC",
    "BobBlind",
    "BobLDPC",
    "FramePlan",
    "LDPCCode",
    "LongFrameLimits",
    "decode_syndrome",
    "decode_syndromes",
    "default_plan",
    "load_code",
    "masked_rows",
    "plan_blind",
    "plan_frames",
    "syndrome",
]

register_method(_rate_adaptive.METHOD)
register_method(_blind.METHOD)
