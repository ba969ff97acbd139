"""Cascade's array kernels (numba): block parities, BINARY search levels, the cascade effect.

Pure functions on numpy arrays, used by both halves of :mod:`.cascade`. Conventions:

* A pass cuts the shuffled key into blocks of ``size`` bits (the last may be shorter): block ``b``
  covers shuffled positions ``[b size, min((b + 1) size, n))``. ``position[i]`` is where key bit
  ``i`` sits (see :mod:`.shuffle`); ``perm`` is its inverse (the key bit at a position).
* Bob keeps, per block, a heap-indexed binary-search tree in a flat ``int8`` array ``tree`` of
  ``width`` entries per block: node 1 is the block, node ``h`` over ``[s, e)`` has children ``2h``
  over ``[s, m)`` and ``2h + 1`` over ``[m, e)``, ``m = s + ceil((e - s) / 2)`` (Brassard and
  Salvail's BINARY halving). An entry is ``-1`` when Alice's parity of the node is unknown, else
  ``alice + 2 * mismatch`` with ``mismatch`` the current parity difference of Bob's and Alice's
  bits in the node. ``width = 2`` keeps only the roots.

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994): BINARY and the cascade effect.
J. Martinez-Mateo et al., "Demystifying the information reconciliation protocol Cascade", QIC 15,
453 (2015): reuse of the parities of sub-blocks already disclosed or inferred.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.processing.reconciliation.shuffle import popcount64
from qkdstack.typing import BitArray

__all__ = [
    "ALICE",
    "BASE",
    "END",
    "MID",
    "NODE",
    "START",
    "advance_searches",
    "answer_one_pass",
    "check_request",
    "chunk_parities",
    "halving_parities",
    "innermost",
    "node_ranges",
    "packed_words",
    "prefix_xor",
    "range_parities",
    "shuffle_bits",
    "walk_flips",
    "walk_roots",
]


def packed_words(bits: BitArray) -> npt.NDArray[np.uint64]:
    """``bits`` packed little-endian into 64-bit words (bit ``i`` is bit ``i % 64`` of word
    ``i // 64``; the tail of the last word is zero), the layout of :func:`.shuffle.pass_membership`."""
    packed = np.packbits(bits, bitorder="little")
    pad = (-packed.shape[0]) % 8
    if pad:
        packed = np.concatenate((packed, np.zeros(pad, dtype=np.uint8)))
    return packed.view("<u8")


@njit(cache=True)
def prefix_xor(key: BitArray, position: npt.NDArray[np.int32]) -> BitArray:  # pragma: no cover
    """Prefix XOR of the shuffled key (length n + 1), bit ``i`` sitting at ``position[i]``; an
    empty ``position`` means the key unshuffled."""
    n = key.shape[0]
    out = np.empty(n + 1, dtype=np.uint8)
    out[0] = 0
    if position.shape[0] == 0:
        out[1:] = key
    else:
        for i in range(n):
            out[position[i] + 1] = key[i]
    acc = np.uint8(0)
    for j in range(1, n + 1):
        acc ^= out[j]
        out[j] = acc
    return out


@njit(cache=True)
def chunk_parities(bits: BitArray, size: int) -> BitArray:  # pragma: no cover
    """Parity of each run of ``size`` consecutive bits (the last run may be shorter)."""
    n = bits.shape[0]
    blocks = (n + size - 1) // size
    out = np.empty(blocks, dtype=np.uint8)
    for b in range(blocks):
        acc = np.uint8(0)
        for j in range(b * size, min(b * size + size, n)):
            acc ^= bits[j]
        out[b] = acc
    return out


@njit(cache=True)
def shuffle_bits(bits: BitArray, position: npt.NDArray[np.int32]) -> BitArray:  # pragma: no cover
    """The bits in shuffled order: ``out[position[i]] = bits[i]``."""
    out = np.empty(bits.shape[0], dtype=np.uint8)
    for i in range(bits.shape[0]):
        out[position[i]] = bits[i]
    return out


@njit(cache=True)
def halving_parities(
    key_words: npt.NDArray[np.uint64], member: npt.NDArray[np.uint64]
) -> BitArray:  # pragma: no cover
    """Parities of the two blocks of a halving pass from the packed key and membership words."""
    total = np.uint64(0)
    second = np.uint64(0)
    for w in range(member.shape[0]):
        total ^= key_words[w]
        second ^= key_words[w] & member[w]
    out = np.empty(2, dtype=np.uint8)
    out[1] = popcount64(second) & 1
    out[0] = (popcount64(total) & 1) ^ out[1]
    return out


@njit(cache=True)
def check_request(
    passes: npt.NDArray[np.integer[Any]],
    starts: npt.NDArray[np.integer[Any]],
    ends: npt.NDArray[np.integer[Any]],
    n: int,
) -> tuple[bool, int, int]:  # pragma: no cover
    """Whether every range ``[start, end)`` is non-empty and inside ``[0, n)``; the least and the
    greatest pass asked (one sweep instead of one numpy reduction per condition)."""
    first = int(passes[0])
    last = first
    for i in range(starts.shape[0]):
        if starts[i] < 0 or ends[i] > n or starts[i] >= ends[i]:
            return False, 0, 0
        first = min(first, int(passes[i]))
        last = max(last, int(passes[i]))
    return True, first, last


@njit(cache=True)
def answer_one_pass(
    prefix: BitArray,
    p: int,
    passes: npt.NDArray[np.integer[Any]],
    starts: npt.NDArray[np.integer[Any]],
    ends: npt.NDArray[np.integer[Any]],
) -> tuple[int, BitArray]:  # pragma: no cover
    """Alice's answer to a parity request whose ranges all belong to pass ``p`` (prefix XOR
    ``prefix``): ``(0, parities)``; ``(1, _)`` when a range is empty or outside the key; ``(2, _)``
    when some range belongs to another pass (answer those with :func:`range_parities`)."""
    n = prefix.shape[0] - 1
    out = np.empty(starts.shape[0], dtype=np.uint8)
    for i in range(starts.shape[0]):
        s = starts[i]
        e = ends[i]
        if s < 0 or e > n or s >= e:
            return 1, out
        if passes[i] != p:
            return 2, out
        out[i] = prefix[e] ^ prefix[s]
    return 0, out


@njit(cache=True)
def range_parities(
    prefix: BitArray, starts: npt.NDArray[np.int32], ends: npt.NDArray[np.int32]
) -> BitArray:  # pragma: no cover
    """Parity of each shuffled range ``[start, end)`` from the prefix XOR."""
    out = np.empty(starts.shape[0], dtype=np.uint8)
    for i in range(starts.shape[0]):
        out[i] = prefix[ends[i]] ^ prefix[starts[i]]
    return out


@njit(cache=True)
def walk_roots(
    tree: npt.NDArray[np.int8],
    member: npt.NDArray[np.uint64],
    flips: npt.NDArray[np.int64],
    width: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """:func:`walk_flips` for a halving pass with no search yet (only its roots are known)."""
    out_b = np.empty(flips.shape[0], dtype=np.int64)
    count = 0
    for i in range(flips.shape[0]):
        f = flips[i]
        b = np.int64((member[f >> 6] >> np.uint64(f & 63)) & np.uint64(1))
        code = tree[b * width + 1]
        if code >= 0:
            code ^= 2
            tree[b * width + 1] = code
            if code >= 2:
                out_b[count] = b
                count += 1
    return out_b[:count], np.ones(count, dtype=np.int64)


@njit(cache=True)
def walk_flips(
    tree: npt.NDArray[np.int8],
    position: npt.NDArray[np.int32],
    shuffled: BitArray,
    update: bool,
    flips: npt.NDArray[np.int64],
    n: int,
    size: int,
    width: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """Toggle the mismatch of every known tree node that holds a flipped bit (one pass), and the
    bit itself in the pass's shuffled copy of Bob's key when ``update`` (a shuffled pass; else the
    pass is unshuffled, ``position`` is not read and ``shuffled`` is the key, already flipped).

    Returns the (block, node) pairs toggled to *odd*: the blocks the cascade effect reopens.
    """
    out_b = np.empty(flips.shape[0] * 64, dtype=np.int64)
    out_h = np.empty(flips.shape[0] * 64, dtype=np.int64)
    count = 0
    for i in range(flips.shape[0]):
        if update:
            pos = int(position[flips[i]])
            shuffled[pos] ^= 1
        else:
            pos = int(flips[i])
        b = pos // size
        s = b * size
        e = s + size if s + size < n else n
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


@njit(cache=True)
def innermost(
    blocks: npt.NDArray[np.int64], nodes: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:  # pragma: no cover
    """Which heap nodes (sorted by block, node) have no other listed node below them.

    Node ``a`` is an ancestor of node ``h`` when shifting ``h`` right by the depth difference
    gives ``a``; duplicates keep their first copy.
    """
    m = nodes.shape[0]
    keep = np.ones(m, dtype=np.bool_)
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and blocks[hi] == blocks[lo]:
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
def node_ranges(
    blocks: npt.NDArray[np.int64], nodes: npt.NDArray[np.int64], n: int, size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:  # pragma: no cover
    """Shuffled-key range ``[start, end)`` of heap node ``nodes[i]`` of block ``blocks[i]``."""
    starts = np.empty(blocks.shape[0], dtype=np.int64)
    ends = np.empty(blocks.shape[0], dtype=np.int64)
    for i in range(blocks.shape[0]):
        s = blocks[i] * size
        e = min(s + size, n)
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


#: Rows of the search state of :func:`advance_searches` (one column per search).
BASE, START, END, NODE, MID, ALICE, ALICE_LEFT, BOB_LEFT = range(8)


@njit(cache=True)
def advance_searches(
    shuffled: BitArray,
    tree: npt.NDArray[np.int8],
    reuse: bool,
    state: npt.NDArray[np.int64],
    asked: npt.NDArray[np.int64],
    answers: BitArray,
    ask_start: npt.NDArray[np.int32],
    ask_end: npt.NDArray[np.int32],
) -> int:  # pragma: no cover
    """Run the BINARY searches of one round up to the next question for Alice.

    ``state[:, i]`` describes search ``i``: its block's offset in ``tree`` (row ``BASE``), its
    current node's shuffled range (``START``, ``END``) and heap index (``NODE``), the split point
    of the pending question (``MID``, -1 when none), Alice's parity of the node (``ALICE``), and
    the left half's parities, Alice's and Bob's (``ALICE_LEFT``, ``BOB_LEFT``). On entry
    ``asked[:len(answers)]`` are the searches whose left halves Alice has just told (``answers``;
    empty on the first call). Each waiting search then keeps the half whose parities differ,
    recording both children's parities when reusing (left told or known, right inferred as parent
    XOR left); then every search still longer than one bit splits again, takes the left half's
    parity from the tree when known, and otherwise is listed in ``asked`` with its range in
    ``ask_start``/``ask_end``. Levels whose questions are all known are run without asking.
    ``shuffled`` is Bob's key in the pass's shuffled order. Returns the number of questions (0:
    every search has ended on one bit; -1: an answer was not a bit).
    """
    m = state.shape[1]
    for j in range(answers.shape[0]):
        if answers[j] > 1:
            return -1
        state[ALICE_LEFT, asked[j]] = answers[j]
    while True:
        # Alice's answers (or known parities) in: keep the odd half.
        for i in range(m):
            half = state[MID, i]
            if half < 0:
                continue
            base = state[BASE, i]
            left = 2 * state[NODE, i]
            al = state[ALICE_LEFT, i]
            cur = state[ALICE, i]
            mis = state[BOB_LEFT, i] ^ al
            if reuse:
                tree[base + left] = np.int8(al + 2 * mis)
                tree[base + left + 1] = np.int8((cur ^ al) + 2 * (1 - mis))
            if mis:
                state[END, i] = half
                state[NODE, i] = left
                state[ALICE, i] = al
            else:
                state[START, i] = half
                state[NODE, i] = left + 1
                state[ALICE, i] = cur ^ al
            state[MID, i] = -1
        # Next level: split, look up known left parities, list the questions.
        count = 0
        active = False
        for i in range(m):
            s = state[START, i]
            e = state[END, i]
            if e - s <= 1:
                continue
            active = True
            half = s + (e - s + 1) // 2
            state[MID, i] = half
            acc = np.uint8(0)
            for j in range(s, half):
                acc ^= shuffled[j]
            state[BOB_LEFT, i] = acc
            code = tree[state[BASE, i] + 2 * state[NODE, i]] if reuse else np.int8(-1)
            if code >= 0:
                state[ALICE_LEFT, i] = code & 1
            else:
                asked[count] = i
                ask_start[count] = s
                ask_end[count] = half
                count += 1
        if not active or count:
            return count
