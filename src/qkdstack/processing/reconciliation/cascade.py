"""Cascade: interactive error correction by block parities and binary search.

Bob's key differs from Alice's in a fraction ``Q`` of positions. In pass ``i`` both cut their
(publicly shuffled) keys into blocks of ``k_i`` bits and compare block parities; every block whose
parities differ holds an odd number of errors, and a BINARY search (asking Alice the parity of one
half at a time, ``ceil(log2 k)`` questions) finds and flips one of them. Flipping a bit changes the
parity of the block that holds it in every other pass, so blocks of earlier passes that had matched
now differ and are searched again: this *cascade* effect is what lets a few passes remove all errors
(Brassard and Salvail 1993, the Cascade protocol). Every parity Alice reveals is one bit of leaked key; the
efficiency is ``f = leaked / (n h(Q))`` (the efficiency of Martinez-Mateo et al. 2015).

Variants (Martinez-Mateo et al. 2015, "Demystifying", Table 1, which collects the rules of the
earlier proposals beside its own; published values and their sources: ``docs/cascade.md``) differ
in the number of passes, the block sizes ``k_i``, and whether parities already known (of
sub-blocks asked before, or inferred as parent XOR sibling) are reused instead of asked again:

================ ====== ======================= ====================== ================== =====
name             passes k_1                     k_2                    k_i, i >= 3        reuse
================ ====== ======================= ====================== ================== =====
cascade-original 4      ``ceil(0.73/Q)``        ``2 k_1``              ``2 k_{i-1}``      no
cascade-biconf   2      ``floor(4 ln2/(3Q))``   ``floor(4 ln2/Q)``     BICONF x 10 clean  no
cascade-yan      10     ``ceil(0.80/Q)``        ``5 k_1``              ``n/2``            no
cascade-opt7     14     ``2^ceil(log2 1/Q)``    ``4 k_1``              ``n/2``            yes
cascade-opt8     14     ``2^ceil(a)``           ``2^ceil((a+12)/2)``   4096, then ``n/2`` yes
================ ====== ======================= ====================== ================== =====

with ``a = log2(1/Q) - 1/2``. ``cascade`` (the default) is ``cascade-opt8``.

Frames: the key may be cut into ``F`` frames of ``L`` bits (the last shorter; ``frame_bits`` of
:class:`BobCascade`, one frame by default), each an independent Cascade with block sizes computed
for ``L`` bits and its own public shuffle (:func:`.shuffle.framed_permutation`); the messages below
carry every frame at once. Shuffled position ``f L + j`` is position ``j`` of frame ``f``, and block
ids run frame by frame, ``ceil(L / k)`` per frame.

Protocol over the channel (all batched: one message per round, never one per bit):

* ``ec.start``   public ``method, n, shuffle_seed, frame_bits`` (``L``; absent means ``n``);
  Alice answers ``ec.ready``.
* ``ec.blocks``  public ``pass, block_size`` (and ``count`` for BICONF: only the first block of
  each frame); Alice answers the parities of every block of that pass, frame by frame (disclosed,
  one bit each). Passes whose blocks halve every frame draw only the block membership at first and
  the order inside the blocks when a search needs it (same uniform permutation; see
  :mod:`.shuffle`).
* ``ec.parity``  public ``pass, start, end`` (arrays of ranges of the shuffled key); Alice answers
  the parity of each range (disclosed, one bit each). One such message carries one level of every
  binary search in progress, in every frame.

Searches run in rounds, per frame: a round takes the frame's odd nodes of its lowest pass that has
any (Brassard and Salvail: smallest blocks first, and they cost the fewest questions); of nested
odd nodes only the innermost is searched, disjoint ones side by side (they hold distinct errors).
The searches run in lock step against the frame's bits as they stood at the start of the round;
when all have ended, the corrections are applied, every pass's known parities updated (the cascade
effect), and the frame's next round starts at once, while other frames may still be searching.

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994): Cascade, BINARY, BICONF, k_1 = 0.73/p.
T. Sugimoto and K. Yamazaki, "A study on secret key reconciliation protocol Cascade", IEICE
Trans. Fundamentals E83-A, 1987 (2000): two passes of ``floor(4 ln 2/(3p))`` and
``floor(4 ln 2/p)`` bits, then BICONF until ten clean rounds.
H. Yan et al., "Information reconciliation protocol in quantum key distribution system", Proc.
ICNC 2008 (IEEE): ten passes of ``0.8/p``, ``5 k_1``, then ``n/2`` bits.
J. Martinez-Mateo, C. Pacher, M. Peev, A. Ciurana, V. Martin, "Demystifying the information
reconciliation protocol Cascade", Quantum Inf. Comput. 15, 453 (2015), arXiv:1407.3257:
efficiency ``f = leak / (n h(Q))`` (Eq. (2)); Table 1 (the block-size rules of every variant);
Table 3 (option (8) at ``n = 2^14``: ``f`` 1.040 at 2%, 1.039 at 3%, 1.043 at 5%). The paper also
infers one block parity per pass from the frame parity (one bit per pass that this engine still
asks; see ``docs/cascade.md``). Table numbers were read from a transcription of the paper, not
from its text (see ``docs/cascade.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.base import (
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
    register_method,
)
from qkdstack.processing.reconciliation.shuffle import (
    framed_membership,
    framed_permutation,
    frames_halve,
    identity_permutation,
)
from qkdstack.randomness import as_generator
from qkdstack.typing import BitArray, Seed

__all__ = [
    "DEFAULT_FRAME_BITS",
    "VARIANTS",
    "AliceCascade",
    "BobCascade",
    "CascadeVariant",
    "block_sizes",
    "frame_count",
]

_MAX_PASSES = 64
_STAGE = "reconciliation"


# --------------------------------------------------------------------------------------------
# Kernels (pure array code; numba-compiled)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _prefix_xor(key: BitArray, position: npt.NDArray[np.int32]) -> BitArray:  # pragma: no cover
    """Prefix XOR of the shuffled key (length n + 1), bit ``i`` sitting at ``position[i]``."""
    n = position.shape[0]
    out = np.zeros(n + 1, dtype=np.uint8)
    for i in range(n):
        out[position[i] + 1] = key[i]
    acc = np.uint8(0)
    for j in range(1, n + 1):
        acc ^= out[j]
        out[j] = acc
    return out


@njit(cache=True, inline="always")
def _block_of(
    pos: int | np.int64, frame_bits: int, size: int, per_frame: int
) -> int | np.int64:  # pragma: no cover
    """Block index of shuffled position ``pos``: frame ``f`` holds blocks ``[f B, f B + B)``."""
    f = pos // frame_bits
    return f * per_frame + (pos - f * frame_bits) // size


@njit(cache=True, inline="always")
def _block_span(
    b: int | np.int64, frame_bits: int, size: int, per_frame: int, n: int
) -> tuple[int | np.int64, int | np.int64]:  # pragma: no cover
    """Shuffled range ``[start, end)`` of block ``b`` (the last block of a frame may be short)."""
    f = b // per_frame
    s = f * frame_bits + (b - f * per_frame) * size
    frame_end = min(f * frame_bits + frame_bits, n)
    return s, min(s + size, frame_end)


@njit(cache=True)
def _block_parities(
    key: BitArray,
    position: npt.NDArray[np.int32],
    frame_bits: int,
    size: int,
    per_frame: int,
    n_blocks: int,
) -> BitArray:  # pragma: no cover
    """Parity of each block (index space ``frames * per_frame``; absent blocks stay 0)."""
    out = np.zeros(n_blocks, dtype=np.uint8)
    for i in range(position.shape[0]):
        out[_block_of(np.int64(position[i]), frame_bits, size, per_frame)] ^= key[i]
    return out


@njit(cache=True)
def _member_parities(
    key: BitArray, member: npt.NDArray[np.uint8], frame_bits: int, frames: int
) -> BitArray:  # pragma: no cover
    """Parities of the two blocks of every frame of a halving pass, from each bit's block."""
    out = np.zeros(2 * frames, dtype=np.uint8)
    n = key.shape[0]
    for f in range(frames):
        acc0 = np.uint8(0)
        acc1 = np.uint8(0)
        for i in range(f * frame_bits, min(f * frame_bits + frame_bits, n)):
            # Branch-free: member[i] is a coin flip.
            bit = key[i]
            acc1 ^= bit & member[i]
            acc0 ^= bit
        out[2 * f] = acc0 ^ acc1
        out[2 * f + 1] = acc1
    return out


@njit(cache=True)
def _walk_roots(
    tree: npt.NDArray[np.int8],
    member: npt.NDArray[np.uint8],
    flips: npt.NDArray[np.int64],
    width: int,
    frame_bits: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """:func:`_walk_flips` for a halving pass with no search yet (only its roots are known)."""
    out_b = np.empty(flips.shape[0], dtype=np.int64)
    count = 0
    for i in range(flips.shape[0]):
        b = 2 * (flips[i] // frame_bits) + np.int64(member[flips[i]])
        code = tree[b * width + 1]
        if code >= 0:
            code ^= 2
            tree[b * width + 1] = code
            if code >= 2:
                out_b[count] = b
                count += 1
    return out_b[:count], np.ones(count, dtype=np.int64)


@njit(cache=True)
def _level_prepare(
    bits: BitArray,
    perm: npt.NDArray[np.int32],
    tree: npt.NDArray[np.int8],
    reuse: bool,
    base: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    node: npt.NDArray[np.int64],
    lo: int,
    hi: int,
    mid: npt.NDArray[np.int64],
    need: npt.NDArray[np.bool_],
    alice_left: BitArray,
    bob_left: BitArray,
) -> bool:  # pragma: no cover
    """One BINARY level, before asking: split each active range, look up known left parities,
    compute Bob's left parities. Returns whether any search in ``[lo, hi)`` is still active."""
    any_active = False
    for i in range(lo, hi):
        s = start[i]
        e = end[i]
        if e - s <= 1:
            need[i] = False
            mid[i] = -1
            continue
        any_active = True
        m = s + (e - s + 1) // 2
        mid[i] = m
        need[i] = True
        if reuse:
            code = tree[base[i] + 2 * node[i]]
            if code >= 0:
                need[i] = False
                alice_left[i] = code & 1
        acc = np.uint8(0)
        for j in range(s, m):
            acc ^= bits[perm[j]]
        bob_left[i] = acc
    return any_active


@njit(cache=True)
def _level_update(
    tree: npt.NDArray[np.int8],
    reuse: bool,
    base: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    end: npt.NDArray[np.int64],
    node: npt.NDArray[np.int64],
    alice_par: BitArray,
    lo: int,
    hi: int,
    mid: npt.NDArray[np.int64],
    alice_left: BitArray,
    bob_left: BitArray,
) -> None:  # pragma: no cover
    """One BINARY level, after Alice's answers: keep the half whose parities differ, and record
    both children's parities (left told, right inferred as parent XOR left) when reusing."""
    for i in range(lo, hi):
        if mid[i] < 0:
            continue
        left = 2 * node[i]
        al = alice_left[i]
        cur = alice_par[i]
        mis = bob_left[i] ^ al
        if reuse:
            tree[base[i] + left] = np.int8(al + 2 * mis)
            tree[base[i] + left + 1] = np.int8((cur ^ al) + 2 * (1 - mis))
        if mis:
            end[i] = mid[i]
            node[i] = left
            alice_par[i] = al
        else:
            start[i] = mid[i]
            node[i] = left + 1
            alice_par[i] = cur ^ al


@njit(cache=True)
def _check_ranges(
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    passes: npt.NDArray[np.int64],
    n: int,
) -> tuple[bool, int, int]:  # pragma: no cover
    """Whether every range ``[start, end)`` is non-empty inside ``[0, n)``; the least and
    greatest pass asked (one sweep instead of one numpy reduction per condition)."""
    first = passes[0]
    last = passes[0]
    for i in range(starts.shape[0]):
        if starts[i] < 0 or ends[i] > n or starts[i] >= ends[i]:
            return False, 0, 0
        first = min(first, passes[i])
        last = max(last, passes[i])
    return True, first, last


@njit(cache=True)
def _innermost(
    passes: npt.NDArray[np.int64], blocks: npt.NDArray[np.int64], nodes: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:  # pragma: no cover
    """Which heap nodes (sorted by pass, block, node) have no other listed node below them.

    Node ``a`` is an ancestor of node ``h`` when shifting ``h`` right by the depth difference
    gives ``a``; duplicates keep their first copy.
    """
    m = nodes.shape[0]
    keep = np.ones(m, dtype=np.bool_)
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and passes[hi] == passes[lo] and blocks[hi] == blocks[lo]:
            hi += 1
        for i in range(lo, hi):
            if i > lo and nodes[i] == nodes[i - 1]:
                keep[i] = False
                continue
            a = nodes[i]
            for j in range(i + 1, hi):
                h = nodes[j]
                while h > a:
                    h >>= 1
                if h == a and nodes[j] != a:
                    keep[i] = False
                    break
        lo = hi
    return keep


@njit(cache=True)
def _node_ranges(
    blocks: npt.NDArray[np.int64],
    nodes: npt.NDArray[np.int64],
    n: int,
    frame_bits: int,
    size: int,
    per_frame: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """Shuffled-key range ``[start, end)`` of heap node ``nodes[i]`` of block ``blocks[i]``.

    Node 1 is the block; node ``h`` over ``[s, e)`` has children ``2h`` over ``[s, m)`` and
    ``2h + 1`` over ``[m, e)`` with ``m = s + ceil((e - s) / 2)``.
    """
    starts = np.empty(blocks.shape[0], dtype=np.int64)
    ends = np.empty(blocks.shape[0], dtype=np.int64)
    for i in range(blocks.shape[0]):
        s, e = _block_span(blocks[i], frame_bits, size, per_frame, n)
        h = nodes[i]
        depth = 0
        while (h >> depth) > 1:
            depth += 1
        for d in range(depth - 1, -1, -1):
            m = s + (e - s + 1) // 2
            if (h >> d) & 1:
                s = m
            else:
                e = m
        starts[i] = s
        ends[i] = e
    return starts, ends


@njit(cache=True)
def _walk_flips(
    tree: npt.NDArray[np.int8],
    inverse: npt.NDArray[np.int32],
    flips: npt.NDArray[np.int64],
    n: int,
    frame_bits: int,
    block_size: int,
    per_frame: int,
    width: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """Toggle the mismatch of every known tree node that holds a flipped bit (one pass).

    Returns the (block, node) pairs toggled to *odd*: the blocks the cascade effect reopens.
    """
    out_b = np.empty(flips.shape[0] * 64, dtype=np.int64)
    out_h = np.empty(flips.shape[0] * 64, dtype=np.int64)
    count = 0
    for i in range(flips.shape[0]):
        pos = np.int64(inverse[flips[i]])
        b = _block_of(pos, frame_bits, block_size, per_frame)
        s, e = _block_span(b, frame_bits, block_size, per_frame, n)
        h = np.int64(1)
        base = b * width
        while h < width:
            code = tree[base + h]
            if code >= 0:
                code ^= 2
                tree[base + h] = code
                if code >= 2:
                    out_b[count] = b
                    out_h[count] = h
                    count += 1
            if e - s <= 1:
                break
            m = s + (e - s + 1) // 2
            if pos < m:
                e = m
                h = 2 * h
            else:
                s = m
                h = 2 * h + 1
    return out_b[:count], out_h[:count]


# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CascadeVariant:
    """Parameters that distinguish the Cascade variants of the literature.

    The variants and their names follow Martinez-Mateo et al. 2015 ("Demystifying"), Table 1;
    see ``docs/cascade.md`` for the published values each is checked against.

    Attributes
    ----------
    name : str
        Registry name (``"cascade-original"``).
    passes : int
        Number of Cascade passes (before any BICONF rounds).
    alpha : float
        First block size ``k_1 = ceil(alpha / Q)`` (``floor`` when ``round_down``; the next power
        of two of ``alpha / Q`` when ``power_of_two``).
    second_factor : int
        ``k_2 = second_factor * k_1`` (unless ``second_alpha`` is set).
    later : {"double", "half-key", "opt8"}
        ``k_i`` for ``i >= 3``: ``2 k_{i-1}``, ``ceil(n / 2)``, or the schedule of option (8).
    power_of_two : bool
        Round ``k_1`` up to a power of two.
    sub_block_reuse : bool
        Keep every parity disclosed or inferred (parent XOR sibling) during searches: later
        searches of the same block do not ask again, and any known sub-block that a correction
        makes odd is searched (the cascade effect at all block sizes).
    biconf_rounds : int
        After the passes, run BICONF rounds until this many in a row find no error (0: none).
    description : str
        One line with the reference.
    round_down : bool
        ``k_1 = floor(alpha / Q)`` and ``k_2 = floor(second_alpha / Q)`` (Sugimoto and Yamazaki
        2000, whose block lengths are the integer parts of their optima).
    second_alpha : float
        When positive, ``k_2`` is ``second_alpha / Q`` rounded like ``k_1`` instead of
        ``second_factor * k_1``.
    """

    name: str
    passes: int
    alpha: float
    second_factor: int = 2
    later: str = "double"
    power_of_two: bool = False
    sub_block_reuse: bool = False
    biconf_rounds: int = 0
    description: str = ""
    round_down: bool = False
    second_alpha: float = 0.0


def _rounded(value: float, down: bool) -> int:
    """``floor(value)`` or ``ceil(value)``, forgiving float noise of a few ulps (0.73/0.01)."""
    nearest = round(value)
    if abs(value - nearest) < 1e-9 * max(1.0, abs(value)):
        return int(nearest)
    return math.floor(value) if down else math.ceil(value)


def block_sizes(variant: CascadeVariant, n: int, qber: float) -> list[int]:
    """Block size of each pass of ``variant`` for an ``n``-bit key at error rate ``qber``.

    Martinez-Mateo et al. 2015 (Demystifying), Table 1, collects the rules:

    * original (Brassard and Salvail 1993): ``k_1 = ceil(0.73/Q)``, ``k_i = 2 k_{i-1}``;
    * mod. (1) (Sugimoto and Yamazaki 2000): ``k_1 = floor(4 ln 2 / (3Q))``,
      ``k_2 = floor(4 ln 2 / Q)``, then BICONF;
    * opt. (2) (Yan et al. 2008): ``k_1 = ceil(0.8/Q)``, ``k_2 = 5 k_1``, ``k_i = n/2``;
    * opt. (7): ``k_1 = 2^ceil(log2(1/Q))``, ``k_2 = 4 k_1``, ``k_i = n/2``;
    * opt. (8): ``k_1 = 2^ceil(a)``, ``k_2 = 2^ceil((a + 12)/2)``, ``k_3 = 4096``, ``k_i = n/2``
      with ``a = log2(1/Q) - 1/2``.

    Every size is clipped to ``[1, n]``; ``n/2`` is ``ceil(n/2)``.
    """
    if n < 1:
        raise ParameterError(f"Argument 'n' must be >= 1, not {n}.")
    if not 0.0 < qber < 0.5:
        raise ParameterError(f"Argument 'qber' must be in (0, 0.5), not {qber}.")
    if variant.later == "opt8":
        # Demystifying, option (8): a = log2(1/Q) - 1/2.
        a = math.log2(1.0 / qber) - 0.5
        sizes = [2 ** math.ceil(a), 2 ** math.ceil((a + 12.0) / 2.0), 4096]
        sizes += [math.ceil(n / 2)] * (variant.passes - 3)
        return [int(min(max(k, 1), n)) for k in sizes]
    if variant.power_of_two:
        k1 = 2 ** math.ceil(math.log2(variant.alpha / qber))
    else:
        k1 = _rounded(variant.alpha / qber, variant.round_down)
    sizes = [k1]
    for i in range(1, variant.passes):
        if i == 1:
            if variant.second_alpha > 0.0:
                sizes.append(_rounded(variant.second_alpha / qber, variant.round_down))
            else:
                sizes.append(variant.second_factor * k1)
        elif variant.later == "double":
            sizes.append(2 * sizes[-1])
        else:
            sizes.append(math.ceil(n / 2))
    return [int(min(max(k, 1), n)) for k in sizes]


VARIANTS: dict[str, CascadeVariant] = {}


def _add(variant: CascadeVariant) -> None:
    VARIANTS[variant.name] = variant


_add(
    CascadeVariant(
        name="cascade-original",
        passes=4,
        alpha=0.73,
        second_factor=2,
        later="double",
        description="Original Cascade: 4 passes, k1 = 0.73/Q, k_i = 2 k_{i-1} "
        "(Brassard and Salvail 1993; Demystifying 'Cascade orig.').",
    )
)
_add(
    CascadeVariant(
        name="cascade-biconf",
        passes=2,
        alpha=4.0 * math.log(2.0) / 3.0,
        second_alpha=4.0 * math.log(2.0),
        round_down=True,
        later="double",
        biconf_rounds=10,
        description="Cascade with BICONF: 2 passes, k1 = floor(4 ln2/(3Q)), k2 = floor(4 ln2/Q), "
        "then BICONF until 10 clean rounds (Sugimoto and Yamazaki 2000; Demystifying "
        "'Cascade mod. (1)').",
    )
)
_add(
    CascadeVariant(
        name="cascade-yan",
        passes=10,
        alpha=0.80,
        second_factor=5,
        later="half-key",
        description="Yan et al. 2008: 10 passes, k1 = 0.80/Q, k2 = 5 k1, k_i = n/2 "
        "(Demystifying 'Cascade opt. (2)').",
    )
)
_add(
    CascadeVariant(
        name="cascade-opt7",
        passes=14,
        alpha=1.0,
        second_factor=4,
        later="half-key",
        power_of_two=True,
        sub_block_reuse=True,
        description="Demystifying 'Cascade opt. (7)': 14 passes, k1 = 2^ceil(log2(1/Q)), "
        "k2 = 4 k1, k_i = n/2, sub-block reuse (Martinez-Mateo et al. 2015).",
    )
)
_add(
    CascadeVariant(
        name="cascade-opt8",
        passes=14,
        alpha=1.0,
        later="opt8",
        power_of_two=True,
        sub_block_reuse=True,
        description="Demystifying 'Cascade opt. (8)': 14 passes, k1 = 2^ceil(a), "
        "k2 = 2^ceil((a+12)/2), k3 = 4096, k_i = n/2 with a = log2(1/Q) - 1/2, sub-block reuse "
        "(Martinez-Mateo et al. 2015).",
    )
)


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _pass_blocks(
    n: int, frame_bits: int, size: int, count: int | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The blocks of a pass over a key cut into frames: ``(ids, starts, ends)`` in order.

    Frame ``f`` covers shuffled positions ``[f L, min((f + 1) L, n))`` with ``L = frame_bits``
    and holds block ids ``[f B, (f + 1) B)``, ``B = ceil(L / size)``; blocks that would start past
    the end of a short last frame do not exist. ``count`` keeps the first ``count`` of each frame.
    """
    frames = -(-n // frame_bits)
    per_frame = -(-frame_bits // size)
    frame = np.repeat(np.arange(frames, dtype=np.int64), per_frame)
    j = np.tile(np.arange(per_frame, dtype=np.int64), frames)
    starts = frame * frame_bits + j * size
    frame_end = np.minimum((frame + 1) * frame_bits, n)
    keep = starts < frame_end
    if count is not None:
        keep &= j < count
    ids = np.flatnonzero(keep).astype(np.int64)
    return ids, starts[ids], np.minimum(starts[ids] + size, frame_end[ids])


def frame_count(n: int, frame_bits: int | None) -> tuple[int, int]:
    """``(frames, L)``: cut ``n`` bits into ``max(1, n // frame_bits)`` near-equal frames.

    ``L = ceil(n / F)`` is each frame's length (the last may be shorter), so frames hold between
    ``frame_bits`` and ``2 frame_bits`` bits; ``frame_bits=None`` keeps the key in one frame.
    """
    if frame_bits is not None and frame_bits < 1:
        raise ParameterError(f"Argument 'frame_bits' must be >= 1 or None, not {frame_bits}.")
    wanted = 1 if frame_bits is None else max(1, n // frame_bits)
    length = -(-n // wanted)
    return -(-n // length), length


# --------------------------------------------------------------------------------------------
# Alice's half
# --------------------------------------------------------------------------------------------


def _int_field(public: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = public.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise ProtocolAbort(
            f"Cascade message field {name!r} must be an int in [{low}, {high}), not {value!r}.",
            stage=_STAGE,
        )
    return value


class AliceCascade(AliceReconciler):
    """Alice's half of Cascade: answers parity requests from her key (never corrects anything).

    Parameters
    ----------
    key : ndarray of uint8
        Alice's key bits.
    params : mapping
        The public ``ec.start`` fields: ``n`` (must equal ``len(key)``) and ``shuffle_seed``.
    """

    def __init__(self, key: BitArray, params: Mapping[str, Any]) -> None:
        self._key = np.ascontiguousarray(key, dtype=np.uint8)
        n = _int_field(params, "n", 1, 2**31)
        if n != self._key.shape[0]:
            raise ProtocolAbort(
                f"Cascade: Bob's key has {n} bits but Alice's has {self._key.shape[0]}.",
                stage=_STAGE,
            )
        self._n = n
        self._seed = _int_field(params, "shuffle_seed", 0, 2**63)
        self._frame_bits = (
            _int_field(params, "frame_bits", 1, n + 1) if "frame_bits" in params else n
        )
        # Prefix XOR of the shuffled key per pass: any range parity in O(1). Passes whose blocks
        # halve the key draw only the block membership first, the order when a range is asked.
        self._prefix: dict[int, BitArray] = {}
        self._sizes: dict[int, int] = {}

    def _pass_prefix(self, pass_index: int, block_size: int) -> BitArray:
        prefix = self._prefix.get(pass_index)
        if prefix is None:
            position = (
                identity_permutation(self._n)
                if pass_index == 0
                else framed_permutation(
                    self._n, self._frame_bits, self._seed, pass_index, block_size
                )
            )
            prefix = _prefix_xor(self._key, position)
            self._prefix[pass_index] = prefix
        return prefix

    def handle(self, request: Message) -> Message:
        """Answer ``ec.start`` (``ec.ready``), ``ec.blocks`` (all block parities of a pass) or
        ``ec.parity`` (the parities of given ranges)."""
        if request.kind == "ec.start":
            return Message("ec.ready")
        if request.kind == "ec.blocks":
            p = _int_field(request.public, "pass", 0, _MAX_PASSES)
            k = _int_field(request.public, "block_size", 1, self._n + 1)
            if p in self._sizes:
                raise ProtocolAbort(f"Cascade: pass {p} was already opened.", stage=_STAGE)
            self._sizes[p] = k
            count = (
                _int_field(request.public, "count", 1, self._n + 1)
                if "count" in request.public
                else None
            )
            ids, starts, ends = _pass_blocks(self._n, self._frame_bits, k, count)
            if p > 0 and frames_halve(self._n, self._frame_bits, k):
                member = framed_membership(self._n, self._frame_bits, self._seed, p, k)
                frames = -(-self._n // self._frame_bits)
                parity = _member_parities(self._key, member, self._frame_bits, frames)[ids]
                return Message("ec.parities", disclosed={"parity": parity})
            prefix = self._pass_prefix(p, k)
            return Message("ec.parities", disclosed={"parity": prefix[ends] ^ prefix[starts]})
        if request.kind == "ec.parity":
            starts = np.asarray(request.public.get("start"))
            ends = np.asarray(request.public.get("end"))
            passes = np.asarray(request.public.get("pass"))
            if (
                starts.ndim != 1
                or starts.size == 0
                or starts.shape != ends.shape
                or passes.shape != starts.shape
                or starts.dtype.kind not in "iu"
                or ends.dtype.kind not in "iu"
                or passes.dtype.kind not in "iu"
            ):
                raise ProtocolAbort("Cascade: malformed parity request.", stage=_STAGE)
            starts = starts.astype(np.int64, copy=False)
            ends = ends.astype(np.int64, copy=False)
            passes = passes.astype(np.int64, copy=False)
            valid, first, last = _check_ranges(starts, ends, passes, self._n)
            if not valid:
                raise ProtocolAbort("Cascade: malformed parity request.", stage=_STAGE)
            if first == last:  # the usual case: one pass per round
                if first not in self._sizes:
                    raise ProtocolAbort(f"Cascade: pass {first} was never opened.", stage=_STAGE)
                prefix = self._pass_prefix(first, self._sizes[first])
                return Message("ec.parities", disclosed={"parity": prefix[ends] ^ prefix[starts]})
            parity = np.empty(starts.size, dtype=np.uint8)
            for p in np.unique(passes).tolist():
                if p not in self._sizes:
                    raise ProtocolAbort(f"Cascade: pass {p} was never opened.", stage=_STAGE)
                sel = passes == p
                prefix = self._pass_prefix(p, self._sizes[p])
                parity[sel] = prefix[ends[sel]] ^ prefix[starts[sel]]
            return Message("ec.parities", disclosed={"parity": parity})
        raise ProtocolAbort(f"Cascade: unexpected message kind {request.kind!r}.", stage=_STAGE)


# --------------------------------------------------------------------------------------------
# Bob's half
# --------------------------------------------------------------------------------------------


class _Pass:
    """Bob's bookkeeping for one pass (over every frame at once).

    ``tree`` holds, per block, a heap-indexed binary-search tree (node 1 is the block, node ``h``
    has children ``2h`` and ``2h+1``, split as in :func:`_node_ranges`). Each entry is ``-1`` when
    Alice's parity of that node is unknown, else ``alice + 2 * mismatch`` where ``mismatch`` is the
    current parity difference between Bob's and Alice's bits in the node. Without sub-block reuse
    only the roots are kept (``width = 2``). Blocks are numbered frame by frame (see
    :func:`_pass_blocks`), ``per_frame`` ids per frame.
    """

    __slots__ = (
        "_full_width",
        "_inverse",
        "_perm",
        "frame_bits",
        "frames",
        "member",
        "n",
        "n_blocks",
        "p",
        "per_frame",
        "seed",
        "size",
        "tree",
        "width",
    )

    def __init__(self, n: int, frame_bits: int, seed: int, p: int, size: int, reuse: bool) -> None:
        self.n, self.frame_bits, self.seed, self.p, self.size = n, frame_bits, seed, p, size
        self.frames = -(-n // frame_bits)
        self.per_frame = -(-frame_bits // size)
        self.n_blocks = self.frames * self.per_frame
        # ``inverse[i]`` is the shuffled position of key bit ``i``; the forward map (which key bit
        # sits at a position) is built only if a search runs in this pass. A pass whose blocks
        # halve every frame starts from the block membership alone (see ``pass_membership``).
        self._inverse: npt.NDArray[np.int32] | None = None
        self._perm: npt.NDArray[np.int32] | None = None
        self.member: npt.NDArray[np.uint8] | None = None
        if p == 0:
            self._inverse = identity_permutation(n)
        elif frames_halve(n, frame_bits, size):
            self.member = framed_membership(n, frame_bits, seed, p, size)
        else:
            self._inverse = framed_permutation(n, frame_bits, seed, p, size)
        self._full_width = 2 ** (math.ceil(math.log2(size)) + 1) if (reuse and size > 1) else 2
        # A halving pass keeps only its roots until a search runs in it (most never search).
        self.width = 2 if self.member is not None else self._full_width
        self.tree = np.full(self.n_blocks * self.width, -1, dtype=np.int8)

    def make_searchable(self) -> None:
        """Draw the full permutation and the whole search tree (roots kept), before a search."""
        _ = self.inverse
        if self.width != self._full_width:
            blocks = np.arange(self.n_blocks, dtype=np.int64)
            tree = np.full(self.n_blocks * self._full_width, -1, dtype=np.int8)
            tree[blocks * self._full_width + 1] = self.tree[blocks * self.width + 1]
            self.tree, self.width = tree, self._full_width

    @property
    def inverse(self) -> npt.NDArray[np.int32]:
        """``inverse[i]``: the shuffled position of key bit ``i``."""
        if self._inverse is None:
            self._inverse = framed_permutation(
                self.n, self.frame_bits, self.seed, self.p, self.size
            )
        return self._inverse

    @property
    def perm(self) -> npt.NDArray[np.int32]:
        """``perm[j]``: the key bit at shuffled position ``j``."""
        if self._perm is None:
            inverse = self.inverse
            perm = np.empty_like(inverse)
            perm[inverse] = np.arange(inverse.shape[0], dtype=np.int32)
            self._perm = perm
        return self._perm

    def block_parities(self, bits: BitArray) -> BitArray:
        """Bob's parity of every block id of this pass (absent ids: 0)."""
        if self.member is not None and self._inverse is None:
            return _member_parities(bits, self.member, self.frame_bits, self.frames)
        return _block_parities(
            bits, self.inverse, self.frame_bits, self.size, self.per_frame, self.n_blocks
        )

    def walk(
        self, flips: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Toggle the known nodes holding ``flips``; return the (block, node) pairs now odd."""
        if self._inverse is None and self.member is not None:
            return _walk_roots(self.tree, self.member, flips, self.width, self.frame_bits)
        return _walk_flips(
            self.tree, self.inverse, flips, self.n, self.frame_bits, self.size,
            self.per_frame, self.width,
        )  # fmt: skip


#: Default frame length target in bits (None: the whole key is one frame). Measured at
#: n = 10^6, Q = 2% (BENCHMARKS.md): frames of 2^14-2^17 bits need about as many round trips as
#: the whole key (the cascade chain of one frame is nearly as long as that of the key, and every
#: block of the key already travels in one message per level), cost more Python per level, and
#: leak more (f 1.034-1.046 against 1.029), so one frame is the default.
DEFAULT_FRAME_BITS: int | None = None


class BobCascade(BobReconciler):
    """Bob's half of Cascade: asks for parities, runs the binary searches, corrects his key.

    Frame-parallel: the key is cut into ``F`` frames (see :func:`frame_count`), each shuffled
    within itself with its own public seed and corrected by the same Cascade, so that one round's
    searches of every frame travel in one message. Each frame keeps Brassard and Salvail's
    lowest-pass-first order on its own, so the round trips of a pass are the most any frame needs,
    not their sum. All frames open each pass together.

    Parameters
    ----------
    variant : CascadeVariant
        Which Cascade.
    seed : int, Generator or None
        Drives the public shuffle seed (public randomness; not secret).
    search_order : {"lowest-pass", "all-passes"}
        Per frame, search only the lowest pass with odd blocks in a round, or every pass.
    frame_bits : int or None
        Frame length target (frames hold ``[frame_bits, 2 frame_bits)`` bits); None: one frame.
    """

    def __init__(
        self,
        variant: CascadeVariant,
        seed: Seed = None,
        search_order: str = "lowest-pass",
        frame_bits: int | None = DEFAULT_FRAME_BITS,
    ) -> None:
        if search_order not in ("lowest-pass", "all-passes"):
            raise ParameterError(
                "Argument 'search_order' must be 'lowest-pass' or 'all-passes', "
                f"not {search_order!r}."
            )
        if frame_bits is not None and (
            isinstance(frame_bits, bool) or not isinstance(frame_bits, int) or frame_bits < 1
        ):
            raise ParameterError(
                f"Argument 'frame_bits' must be a positive int or None, not {frame_bits!r}."
            )
        self._all_passes = search_order == "all-passes"
        self._variant = variant
        self._frame_bits = frame_bits
        self._rng = as_generator(seed)
        self._params: dict[str, Any] = {}

    def start_params(self) -> Mapping[str, Any]:
        """The public ``ec.start`` fields of the last run (``n``, ``shuffle_seed``,
        ``frame_bits``)."""
        return dict(self._params)

    def reconcile(
        self, key: BitArray, qber: float, channel: ClassicalChannel
    ) -> ReconciliationOutcome:
        """Correct ``key`` towards Alice's over ``channel``.

        Parameters
        ----------
        key : ndarray of uint8, shape (n,)
            Bob's key bits (0/1). Not modified.
        qber : float
            Estimated error rate in (0, 0.5); sets the block sizes.
        channel : ClassicalChannel
            Whose responder forwards ``ec.*`` messages to Alice's half.
        """
        bits = np.ascontiguousarray(key, dtype=np.uint8).copy()
        if bits.ndim != 1 or bits.shape[0] < 1:
            raise ParameterError(
                f"Argument 'key' must be a non-empty 1-D bit array, not shape {bits.shape}."
            )
        n = int(bits.shape[0])
        variant = self._variant
        frames, frame_bits = frame_count(n, self._frame_bits)
        sizes = block_sizes(variant, frame_bits, qber)
        self._params = {
            "n": n,
            "shuffle_seed": int(self._rng.integers(0, 2**63)),
            "frame_bits": frame_bits,
        }
        reply = channel.ask(Message("ec.start", public={"method": variant.name, **self._params}))
        if reply.kind != "ec.ready":
            raise ProtocolAbort(f"Cascade: expected 'ec.ready', got {reply.kind!r}.", stage=_STAGE)
        run = _Run(
            bits,
            frame_bits,
            self._params["shuffle_seed"],
            variant.sub_block_reuse,
            channel,
            self._all_passes,
        )
        for k in sizes:
            run.open_pass(k, count=None)
            run.settle()
        # BICONF (Brassard and Salvail 1993): compare the parity of a random half of the
        # key (of every frame); a difference is searched and cascaded like any block. Stop after
        # a streak of ``biconf_rounds`` rounds without a difference in any frame (Demystifying,
        # 'Cascade mod. (1)').
        streak = 0
        while streak < variant.biconf_rounds and len(run.passes) < _MAX_PASSES:
            odd = run.open_pass(math.ceil(frame_bits / 2), count=1)
            run.settle()
            streak = 0 if odd else streak + 1
        return ReconciliationOutcome(key=bits, frames=frames, frames_failed=0)


class _Run:
    """Bob's state during one Cascade run: his key, the passes, and blocks still to search."""

    def __init__(
        self,
        bits: BitArray,
        frame_bits: int,
        seed: int,
        reuse: bool,
        channel: ClassicalChannel,
        all_passes: bool,
    ) -> None:
        self.all_passes = all_passes
        self.bits = bits
        self.n = int(bits.shape[0])
        self.frame_bits = frame_bits
        self.frames = -(-self.n // frame_bits)
        self.seed = seed
        self.reuse = reuse
        self.channel = channel
        self.passes: list[_Pass] = []
        # Pending candidates: (pass, block, node) of tree nodes that were odd when recorded.
        self._pending: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []

    def open_pass(self, k: int, count: int | None) -> int:
        """Start a pass with blocks of ``k`` bits; ask Alice the parities of the first ``count``
        blocks of every frame (all when None). Returns the number of mismatching blocks."""
        p = len(self.passes)
        ps = _Pass(self.n, self.frame_bits, self.seed, p, k, self.reuse)
        self.passes.append(ps)
        public: dict[str, Any] = {"pass": p, "block_size": k}
        if count is not None:
            public["count"] = count
        ids, _, _ = _pass_blocks(self.n, self.frame_bits, k, count)
        alice = _parity_reply(self.channel.ask(Message("ec.blocks", public=public)), ids.size)
        bob = ps.block_parities(self.bits)[ids]
        mismatch = alice ^ bob
        ps.tree[ids * ps.width + 1] = (alice + 2 * mismatch).astype(np.int8)
        odd = ids[mismatch.astype(bool)]
        if odd.size:
            self._pending.append((p, odd, np.ones(odd.size, dtype=np.int64)))
        return int(odd.size)

    def _next_batch(
        self, busy: npt.NDArray[np.bool_] | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
        """Still-odd candidates to search now, sorted by pass: one (deepest) node per block.

        In ``lowest-pass`` order each frame gives only its lowest pass that has candidates
        (Brassard and Salvail: smallest blocks first; frames are independent Cascades, so each
        keeps its own order while all search in the same round); in ``all-passes`` order every
        pass's candidates are taken at once. Candidates of ``busy`` frames (still searching) wait.
        """
        ps_, bs_, hs_ = [], [], []
        for p, blocks, nodes in self._pending:
            ps = self.passes[p]
            still = (ps.tree[blocks * ps.width + nodes] >> 1) == 1
            if still.any():
                ps_.append(np.full(int(still.sum()), p, dtype=np.int64))
                bs_.append(blocks[still])
                hs_.append(nodes[still])
        self._pending = []
        if not ps_:
            return None
        passes = np.concatenate(ps_)
        blocks = np.concatenate(bs_)
        nodes = np.concatenate(hs_)
        if not self.all_passes or busy is not None:
            per_frame = np.array([q.per_frame for q in self.passes], dtype=np.int64)
            frame = blocks // per_frame[passes]
            if self.all_passes:
                take = np.ones(passes.size, dtype=bool)
            else:
                lowest = np.full(self.frames, _MAX_PASSES, dtype=np.int64)
                np.minimum.at(lowest, frame, passes)
                take = passes == lowest[frame]
            if busy is not None:
                take &= ~busy[frame]
            if not take.all():
                rest = ~take
                for p in np.unique(passes[rest]).tolist():
                    sel = rest & (passes == p)
                    self._pending.append((int(p), blocks[sel], nodes[sel]))
                passes, blocks, nodes = passes[take], blocks[take], nodes[take]
                if passes.size == 0:
                    return None
        # Searches in one pass must not share bits: of nested odd nodes only the deepest is
        # searched (it holds an error of its ancestors too), but disjoint odd nodes of one block
        # are searched side by side, each finding its own error.
        order = np.lexsort((nodes, blocks, passes))
        passes, blocks, nodes = passes[order], blocks[order], nodes[order]
        keep = _innermost(passes, blocks, nodes)
        return passes[keep], blocks[keep], nodes[keep]

    def settle(self) -> None:
        """Search odd blocks until no known parity differs, every frame at its own pace.

        A frame's *round* is a set of BINARY searches started together against its bits as
        they stand (see :meth:`_next_batch`); its corrections are applied, and its next round
        chosen, as soon as all of them end. Frames share bits with no other frame, so their
        rounds need not wait for one another: each message carries the current level of every
        search of every frame, and the round trips of a pass are about the largest number of
        BINARY levels one frame needs in it, not the sum of the per-round maxima.
        """
        pool = self._start(self._next_batch(None))
        while pool is not None:
            pool = self._level(pool)

    def _start(
        self,
        batch: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None,
    ) -> _Searches | None:
        """New searches from odd nodes (sorted by pass)."""
        if batch is None:
            return None
        passes, blocks, nodes = batch
        m = blocks.size
        start = np.empty(m, dtype=np.int64)
        end = np.empty(m, dtype=np.int64)
        alice_par = np.empty(m, dtype=np.uint8)
        base = np.empty(m, dtype=np.int64)
        frame = np.empty(m, dtype=np.int64)
        for p, lo, hi in _spans(passes):
            ps = self.passes[p]
            ps.make_searchable()
            sl = slice(lo, hi)
            start[sl], end[sl] = _node_ranges(
                blocks[sl], nodes[sl], self.n, ps.frame_bits, ps.size, ps.per_frame
            )
            base[sl] = blocks[sl] * ps.width
            alice_par[sl] = ps.tree[base[sl] + nodes[sl]] & 1
            frame[sl] = blocks[sl] // ps.per_frame
        return _Searches(passes, frame, base, start, end, nodes.copy(), alice_par, _spans(passes))

    def _level(self, pool: _Searches) -> _Searches | None:
        """One BINARY level of every search in ``pool`` (one message); then finish the rounds of
        frames whose searches all ended and start their next ones."""
        m = pool.passes.size
        mid = np.empty(m, dtype=np.int64)
        need = np.empty(m, dtype=np.bool_)
        alice_left = np.zeros(m, dtype=np.uint8)
        bob_left = np.zeros(m, dtype=np.uint8)
        spans = [(self.passes[p], lo, hi) for p, lo, hi in pool.spans]
        for ps, lo, hi in spans:
            _level_prepare(
                self.bits, ps.perm, ps.tree, ps.width > 2, pool.base, pool.start, pool.end,
                pool.node, lo, hi, mid, need, alice_left, bob_left,
            )  # fmt: skip
        asked = np.flatnonzero(need)
        if asked.size:
            public: dict[str, Any] = {
                "pass": pool.passes[asked].astype(np.uint8),
                "start": pool.start[asked],
                "end": mid[asked],
            }
            reply = self.channel.ask(Message("ec.parity", public=public))
            alice_left[asked] = _parity_reply(reply, int(asked.size))
        for ps, lo, hi in spans:
            _level_update(
                ps.tree, ps.width > 2, pool.base, pool.start, pool.end, pool.node,
                pool.alice_par, lo, hi, mid, alice_left, bob_left,
            )  # fmt: skip
        running = (pool.end - pool.start) > 1
        if running.all():
            return pool
        busy = np.zeros(self.frames, dtype=bool)
        busy[pool.frame[running]] = True
        ended = ~busy[pool.frame]
        if not ended.any():
            return pool
        # Every search of these frames has ended on one erroneous bit: correct them, then let
        # the cascade effect reopen blocks of every pass.
        found = np.empty(m, dtype=np.int64)
        for ps, lo, hi in spans:
            found[lo:hi] = ps.perm[pool.start[lo:hi]]
        flips = np.unique(found[ended])
        self.bits[flips] ^= 1
        for p, ps in enumerate(self.passes):
            got_blocks, got_nodes = ps.walk(flips)
            if got_blocks.size:
                self._pending.append((p, got_blocks, got_nodes))
        keep = ~ended
        fresh = self._start(self._next_batch(busy))
        old = pool.take(keep) if keep.any() else None
        if old is None:
            return fresh
        if fresh is None:
            return old
        merged = _Searches(
            np.concatenate((old.passes, fresh.passes)),
            np.concatenate((old.frame, fresh.frame)),
            np.concatenate((old.base, fresh.base)),
            np.concatenate((old.start, fresh.start)),
            np.concatenate((old.end, fresh.end)),
            np.concatenate((old.node, fresh.node)),
            np.concatenate((old.alice_par, fresh.alice_par)),
            [],
        )
        return merged.take(np.argsort(merged.passes, kind="stable"))


class _Searches(NamedTuple):
    """The BINARY searches in progress, sorted by pass (one entry per search)."""

    passes: npt.NDArray[np.int64]
    frame: npt.NDArray[np.int64]
    base: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    node: npt.NDArray[np.int64]
    alice_par: BitArray
    spans: list[tuple[int, int, int]]  # (pass, lo, hi) of each run of one pass

    def take(self, index: npt.NDArray[Any]) -> _Searches:
        """The searches selected by ``index`` (a mask or indices), in that order."""
        passes = self.passes[index]
        return _Searches(
            passes, self.frame[index], self.base[index], self.start[index],
            self.end[index], self.node[index], self.alice_par[index], _spans(passes),
        )  # fmt: skip


def _spans(passes: npt.NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """``(pass, lo, hi)`` for each run of equal values in the sorted ``passes``."""
    if passes.size == 0:
        return []
    cut = np.flatnonzero(passes[1:] != passes[:-1]) + 1
    los = np.concatenate(([0], cut))
    his = np.concatenate((cut, [passes.size]))
    return [(int(passes[lo]), int(lo), int(hi)) for lo, hi in zip(los, his, strict=True)]


def _parity_reply(reply: Message, count: int) -> BitArray:
    """Alice's parity bits from a reply, checked for kind, length and values."""
    parity = reply.disclosed.get("parity") if reply.kind == "ec.parities" else None
    if (
        not isinstance(parity, np.ndarray)
        or parity.dtype != np.uint8
        or parity.shape != (count,)
        or (count and parity.max() > 1)
    ):
        raise ProtocolAbort(
            f"Cascade: expected {count} parity bits in 'ec.parities', got {reply.kind!r}.",
            stage=_STAGE,
        )
    return parity


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def _register(name: str, variant: CascadeVariant) -> None:
    def make_bob(
        seed: Seed = None,
        search_order: str = "lowest-pass",
        frame_bits: int | None = DEFAULT_FRAME_BITS,
        **options: Any,
    ) -> BobCascade:
        if options:
            raise ParameterError(
                f"Method {name!r} takes only 'seed', 'search_order' and 'frame_bits', "
                f"not {sorted(options)}."
            )
        return BobCascade(variant, seed=seed, search_order=search_order, frame_bits=frame_bits)

    def make_alice(key: BitArray, params: Mapping[str, Any]) -> AliceCascade:
        return AliceCascade(key, params)

    register_method(Method(name, make_bob, make_alice, variant.description))


for _name, _variant in VARIANTS.items():
    _register(_name, _variant)

# The default: the most efficient variant (see BENCHMARKS.md).
_register("cascade", VARIANTS["cascade-opt8"])
