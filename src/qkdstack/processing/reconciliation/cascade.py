"""Cascade: interactive error correction by block parities and binary search.

Bob's key differs from Alice's in a fraction ``Q`` of positions. In pass ``i`` both cut their
(publicly shuffled) keys into blocks of ``k_i`` bits and compare block parities; every block whose
parities differ holds an odd number of errors, and a BINARY search (asking Alice the parity of one
half at a time, ``ceil(log2 k)`` questions) finds and flips one of them. Flipping a bit changes the
parity of the block that holds it in every other pass, so blocks of earlier passes that had matched
now differ and are searched again: this *cascade* effect is what lets a few passes remove all errors
(Brassard and Salvail 1993, Sec. 4). Every parity Alice reveals is one bit of leaked key; the
efficiency is ``f = leaked / (n h(Q))`` (Martinez-Mateo et al. 2015, Eq. 1).

Variants (Martinez-Mateo et al. 2015, "Demystifying", Table 1 and Sec. 5) differ in the number of
passes, the block sizes ``k_i``, and whether parities already known (of sub-blocks asked before, or
inferred as parent XOR sibling) are reused instead of asked again:

============== ====== ============================= ==================== =====================
name           passes k_1                           k_2                  k_i, i >= 3
============== ====== ============================= ==================== =====================
original       4      ``0.73/Q``                    ``2 k_1``            ``2 k_{i-1}``
============== ====== ============================= ==================== =====================

Protocol over the channel (all batched: one message per round, never one per bit):

* ``ec.start``   public ``method, n, shuffle_seed``; Alice answers ``ec.ready``.
* ``ec.blocks``  public ``pass, block_size``; Alice answers all block parities of that pass
  (disclosed, one bit each).
* ``ec.parity``  public ``pass, start, end`` (arrays of ranges of the shuffled key); Alice answers
  the parity of each range (disclosed, one bit each). One such message carries one level of every
  binary search that runs in the round.

Searches run in rounds: each round takes every mismatching block of the lowest pass that has any
(blocks of one pass are disjoint, so no two searches find the same bit, and the smallest blocks
cost the fewest questions, as Brassard and Salvail prescribe), runs their binary searches in lock
step against Bob's key as it stood at the start of the round, then applies all corrections and
updates the block parities of every pass.

References
----------
G. Brassard and L. Salvail, "Secret-key reconciliation by public discussion", EUROCRYPT '93,
LNCS 765, 410 (1994), Sec. 4 (Cascade, BINARY, k_1 = 0.73/p).
J. Martinez-Mateo, C. Pacher, M. Peev, A. Ciurana, V. Martin, "Demystifying the information
reconciliation protocol Cascade", Quantum Inf. Comput. 15, 453 (2015), arXiv:1407.3257: Eq. (1)
efficiency, Table 1 variants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from qkdstack.processing.reconciliation.shuffle import identity_permutation, pass_permutation
from qkdstack.randomness import as_generator
from qkdstack.typing import BitArray, Seed

__all__ = [
    "VARIANTS",
    "AliceCascade",
    "BobCascade",
    "CascadeVariant",
    "block_sizes",
]

_MAX_PASSES = 64
_STAGE = "reconciliation"


# --------------------------------------------------------------------------------------------
# Kernels (pure array code; numba-compiled)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _prefix_xor(key: BitArray, perm: npt.NDArray[np.int32]) -> BitArray:  # pragma: no cover
    """``out[j] = key[perm[0]] ^ ... ^ key[perm[j-1]]`` (length n + 1)."""
    n = perm.shape[0]
    out = np.zeros(n + 1, dtype=np.uint8)
    acc = np.uint8(0)
    for j in range(n):
        acc ^= key[perm[j]]
        out[j + 1] = acc
    return out


@njit(cache=True)
def _block_parities(
    key: BitArray, perm: npt.NDArray[np.int32], block_size: int
) -> BitArray:  # pragma: no cover
    """Parity of each block ``perm[b k : (b+1) k]`` of the shuffled key (last block may be short)."""
    n = perm.shape[0]
    n_blocks = (n + block_size - 1) // block_size
    out = np.zeros(n_blocks, dtype=np.uint8)
    for b in range(n_blocks):
        acc = np.uint8(0)
        for j in range(b * block_size, min(n, (b + 1) * block_size)):
            acc ^= key[perm[j]]
        out[b] = acc
    return out


@njit(cache=True)
def _range_parities(
    key: BitArray,
    perm: npt.NDArray[np.int32],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> BitArray:  # pragma: no cover
    """Parity of ``key[perm[starts[i]:ends[i]]]`` for each i."""
    out = np.zeros(starts.shape[0], dtype=np.uint8)
    for i in range(starts.shape[0]):
        acc = np.uint8(0)
        for j in range(starts[i], ends[i]):
            acc ^= key[perm[j]]
        out[i] = acc
    return out


@njit(cache=True)
def _toggle_blocks(
    parities: BitArray,
    inverse: npt.NDArray[np.int32],
    flips: npt.NDArray[np.int64],
    block_size: int,
) -> None:  # pragma: no cover
    """Flip the parity of the block (in one pass) that holds each flipped key position."""
    for i in range(flips.shape[0]):
        b = inverse[flips[i]] // block_size
        parities[b] ^= np.uint8(1)


# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CascadeVariant:
    """Parameters that distinguish the Cascade variants of the literature.

    Attributes
    ----------
    name : str
        Registry name (``"cascade-original"``).
    passes : int
        Number of Cascade passes.
    alpha : float
        First block size ``k_1 = ceil(alpha / Q)`` (or the next power of two when
        ``power_of_two``).
    second_factor : int
        ``k_2 = second_factor * k_1``.
    later : {"double", "half-key"}
        ``k_i`` for ``i >= 3``: ``2 k_{i-1}`` or ``n / 2``.
    power_of_two : bool
        Round ``k_1`` up to a power of two.
    sub_block_reuse : bool
        Reuse parities already disclosed (or inferable as parent XOR sibling) in later searches of
        the same block instead of asking again.
    description : str
        One line with the reference.
    """

    name: str
    passes: int
    alpha: float
    second_factor: int = 2
    later: str = "double"
    power_of_two: bool = False
    sub_block_reuse: bool = False
    description: str = ""


def block_sizes(variant: CascadeVariant, n: int, qber: float) -> list[int]:
    """Block size of each pass of ``variant`` for an ``n``-bit key at error rate ``qber``.

    ``k_1 = ceil(alpha / Q)`` (Brassard and Salvail 1993, Sec. 4: ``k_1 = 0.73/p``), optionally
    rounded up to a power of two (Martinez-Mateo et al. 2015, Sec. 5); later sizes per
    :class:`CascadeVariant`. Every size is clipped to ``[1, n]``.
    """
    if n < 1:
        raise ParameterError(f"Argument 'n' must be >= 1, not {n}.")
    if not 0.0 < qber < 0.5:
        raise ParameterError(f"Argument 'qber' must be in (0, 0.5), not {qber}.")
    if variant.power_of_two:
        k1 = 2 ** math.ceil(math.log2(variant.alpha / qber))
    else:
        k1 = math.ceil(variant.alpha / qber)
    sizes = [k1]
    for i in range(1, variant.passes):
        if i == 1:
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
        "(Brassard and Salvail 1993).",
    )
)


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
        # Prefix XOR of the shuffled key per pass: any range parity in O(1).
        self._prefix: dict[int, BitArray] = {}

    def _pass_prefix(self, pass_index: int) -> BitArray:
        prefix = self._prefix.get(pass_index)
        if prefix is None:
            perm = (
                identity_permutation(self._n)
                if pass_index == 0
                else pass_permutation(self._n, self._seed, pass_index)
            )
            prefix = _prefix_xor(self._key, perm)
            self._prefix[pass_index] = prefix
        return prefix

    def handle(self, request: Message) -> Message:
        """Answer ``ec.start`` (``ec.ready``), ``ec.blocks`` (all block parities of a pass) or
        ``ec.parity`` (the parities of given ranges)."""
        if request.kind == "ec.start":
            return Message("ec.ready")
        p = _int_field(request.public, "pass", 0, _MAX_PASSES)
        if request.kind == "ec.blocks":
            k = _int_field(request.public, "block_size", 1, self._n + 1)
            prefix = self._pass_prefix(p)
            starts = np.arange(0, self._n, k, dtype=np.int64)
            ends = np.minimum(starts + k, self._n)
            return Message("ec.parities", disclosed={"parity": prefix[ends] ^ prefix[starts]})
        if request.kind == "ec.parity":
            if p not in self._prefix:
                raise ProtocolAbort(f"Cascade: pass {p} was never opened.", stage=_STAGE)
            starts = np.asarray(request.public.get("start"))
            ends = np.asarray(request.public.get("end"))
            if (
                starts.shape != ends.shape
                or starts.ndim != 1
                or starts.dtype.kind not in "iu"
                or ends.dtype.kind not in "iu"
                or (starts.size and (starts.min() < 0 or ends.max() > self._n))
                or np.any(starts >= ends)
            ):
                raise ProtocolAbort("Cascade: malformed parity request ranges.", stage=_STAGE)
            prefix = self._prefix[p]
            return Message("ec.parities", disclosed={"parity": prefix[ends] ^ prefix[starts]})
        raise ProtocolAbort(f"Cascade: unexpected message kind {request.kind!r}.", stage=_STAGE)


# --------------------------------------------------------------------------------------------
# Bob's half
# --------------------------------------------------------------------------------------------


class _Pass:
    """Bob's bookkeeping for one pass: permutation, block size, both parities per block."""

    __slots__ = ("alice", "bob", "inverse", "known", "perm", "size", "tree")

    def __init__(
        self,
        perm: npt.NDArray[np.int32],
        size: int,
        alice: BitArray,
        bob: BitArray,
        reuse: bool,
    ) -> None:
        self.perm = perm
        self.size = size
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(perm.shape[0], dtype=np.int32)
        self.inverse = inverse
        self.alice = alice
        self.bob = bob
        # Heap-indexed binary-search tree per block: node 1 is the block, children 2i, 2i+1.
        self.tree = 2 ** (math.ceil(math.log2(size)) + 1) if size > 1 else 2
        self.known: npt.NDArray[np.int8] | None = (
            np.full(alice.shape[0] * self.tree, -1, dtype=np.int8) if reuse else None
        )


class BobCascade(BobReconciler):
    """Bob's half of Cascade: asks for parities, runs the binary searches, corrects his key.

    Parameters
    ----------
    variant : CascadeVariant
        Which Cascade.
    seed : int, Generator or None
        Drives the public shuffle seed (public randomness; not secret).
    """

    def __init__(self, variant: CascadeVariant, seed: Seed = None) -> None:
        self._variant = variant
        self._rng = as_generator(seed)
        self._params: dict[str, Any] = {}

    def start_params(self) -> Mapping[str, Any]:
        """The public ``ec.start`` fields of the last run (``n``, ``shuffle_seed``)."""
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
        sizes = block_sizes(self._variant, n, qber)
        self._params = {"n": n, "shuffle_seed": int(self._rng.integers(0, 2**63))}
        reply = channel.ask(
            Message("ec.start", public={"method": self._variant.name, **self._params})
        )
        if reply.kind != "ec.ready":
            raise ProtocolAbort(f"Cascade: expected 'ec.ready', got {reply.kind!r}.", stage=_STAGE)
        passes: list[_Pass] = []
        seed = self._params["shuffle_seed"]
        for p, k in enumerate(sizes):
            perm = identity_permutation(n) if p == 0 else pass_permutation(n, seed, p)
            reply = channel.ask(Message("ec.blocks", public={"pass": p, "block_size": k}))
            alice = _parity_reply(reply, (n + k - 1) // k)
            bob = _block_parities(bits, perm, k)
            passes.append(_Pass(perm, k, alice, bob, self._variant.sub_block_reuse))
            self._settle(bits, passes, channel)
        return ReconciliationOutcome(key=bits, frames=1, frames_failed=0)

    # Cascade proper ------------------------------------------------------------------------

    def _settle(self, bits: BitArray, passes: list[_Pass], channel: ClassicalChannel) -> None:
        """Search mismatching blocks, lowest pass first, until every pass's parities agree."""
        while True:
            found = _lowest_mismatching_pass(passes)
            if found is None:
                return
            q, odd = found
            ps = passes[q]
            flips = self._binary_search(bits, q, ps, odd, channel)
            bits[flips] ^= 1
            for other in passes:
                _toggle_blocks(other.bob, other.inverse, flips, other.size)

    def _binary_search(
        self,
        bits: BitArray,
        q: int,
        ps: _Pass,
        blocks: npt.NDArray[np.intp],
        channel: ClassicalChannel,
    ) -> npt.NDArray[np.int64]:
        """BINARY on every block in ``blocks`` of pass ``q`` in lock step; return error positions.

        Each block has odd parity difference, so it holds an odd number of errors; halving and
        keeping the half whose parities differ ends on one erroneous bit after
        ``ceil(log2 k)`` steps (Brassard and Salvail 1993, Sec. 3, BINARY).
        """
        n = bits.shape[0]
        k = ps.size
        start = blocks.astype(np.int64) * k
        end = np.minimum(start + k, n)
        node = np.ones(blocks.shape[0], dtype=np.int64)
        alice_par = ps.alice[blocks].copy()  # Alice's parity of the current range
        base = blocks.astype(np.int64) * ps.tree
        while True:
            active = np.flatnonzero(end - start > 1)
            if active.size == 0:
                break
            s = start[active]
            e = end[active]
            mid = s + (e - s + 1) // 2
            left_node = 2 * node[active]
            alice_left = np.empty(active.size, dtype=np.uint8)
            if ps.known is not None:
                cached = ps.known[base[active] + left_node]
                need = cached < 0
                alice_left[~need] = cached[~need].astype(np.uint8)
            else:
                need = np.ones(active.size, dtype=bool)
            if need.any():
                reply = channel.ask(
                    Message(
                        "ec.parity",
                        public={"pass": q, "start": s[need], "end": mid[need]},
                    )
                )
                alice_left[need] = _parity_reply(reply, int(need.sum()))
            cur = alice_par[active]
            if ps.known is not None:
                ps.known[base[active] + left_node] = alice_left.astype(np.int8)
                ps.known[base[active] + left_node + 1] = (cur ^ alice_left).astype(np.int8)
            bob_left = _range_parities(bits, ps.perm, s, mid)
            go_left = bob_left != alice_left
            end[active] = np.where(go_left, mid, e)
            start[active] = np.where(go_left, s, mid)
            node[active] = np.where(go_left, left_node, left_node + 1)
            alice_par[active] = np.where(go_left, alice_left, cur ^ alice_left)
        return ps.perm[start].astype(np.int64)


def _lowest_mismatching_pass(
    passes: list[_Pass],
) -> tuple[int, npt.NDArray[np.intp]] | None:
    """The first pass with blocks whose parities differ, and those blocks; None when all agree."""
    for q, ps in enumerate(passes):
        odd = np.flatnonzero(ps.alice != ps.bob)
        if odd.size:
            return q, odd
    return None


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
    def make_bob(seed: Seed = None, **options: Any) -> BobCascade:
        if options:
            raise ParameterError(
                f"Method {name!r} takes no options besides 'seed', not {sorted(options)}."
            )
        return BobCascade(variant, seed=seed)

    def make_alice(key: BitArray, params: Mapping[str, Any]) -> AliceCascade:
        return AliceCascade(key, params)

    register_method(Method(name, make_bob, make_alice, variant.description))


for _name, _variant in VARIANTS.items():
    _register(_name, _variant)

# The default: the best variant implemented (see BENCHMARKS.md).
_register("cascade", VARIANTS["cascade-original"])
