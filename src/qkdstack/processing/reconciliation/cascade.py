"""Cascade: interactive error correction by block parities and binary search.

Bob's key differs from Alice's in a fraction ``Q`` of positions. In pass ``i`` both cut their
(publicly shuffled) keys into blocks of ``k_i`` bits and compare block parities; every block whose
parities differ holds an odd number of errors, and a BINARY search (asking Alice the parity of one
half at a time, ``ceil(log2 k)`` questions) finds and flips one of them. Flipping a bit changes the
parity of the block that holds it in every other pass, so blocks of earlier passes that had matched
now differ and are searched again: this *cascade* effect is what lets a few passes remove all errors
(Brassard and Salvail 1993, the Cascade protocol). Every parity Alice reveals is one bit of leaked
key; the efficiency is ``f = leaked / (n h(Q))`` (the efficiency of Martinez-Mateo et al. 2015).

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

Protocol over the channel (all batched: one message per search level, never one per bit):

* ``ec.start``   public ``method, n, shuffle_seed``; Alice answers ``ec.ready``.
* ``ec.blocks``  public ``pass, block_size`` (and ``count`` for BICONF: only the first block);
  Alice answers the parities of every block of that pass (disclosed, one bit each), except, after
  pass 0, the last block's: both know it as the key's parity (the XOR of pass 0's) XOR the
  others'. A pass whose blocks halve the key draws only the block membership at first (packed
  fair coins, block 0 the larger side) and the order inside the blocks when a search needs it
  (see :mod:`.shuffle`).
* ``ec.parity``  public ``pass, start, end`` (``uint8`` and ``int32`` arrays of ranges of the
  shuffled key); Alice answers the parity of each range (disclosed, one bit each). One such
  message carries one level of every binary search in progress.

Searches run in rounds: a round takes the odd nodes of the lowest pass that has any (Brassard and
Salvail: smallest blocks first, and they cost the fewest questions); of nested odd nodes only the
innermost is searched, disjoint ones side by side (they hold distinct errors). The searches run in
lock step against Bob's bits as they stood at the start of the round (one compiled call,
:func:`.cascade_kernels.advance_searches`, between two messages); when all have ended, the
corrections are applied and every pass's known parities updated (the cascade effect).

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
Table 3 (option (8) at ``n = 2^14``: ``f`` 1.040 at 2%, 1.039 at 3%, 1.043 at 5%). Like this
engine, the paper infers one block parity per pass after the first from the frame parity. Table
numbers were read from a transcription of the paper, not from its text (see ``docs/cascade.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError, ProtocolAbort
from qkdstack.processing.channel import ClassicalChannel, Message
from qkdstack.processing.reconciliation.base import (
    AliceReconciler,
    BobReconciler,
    Method,
    ReconciliationOutcome,
    register_method,
)
from qkdstack.processing.reconciliation.cascade_kernels import (
    ALICE,
    BASE,
    END,
    MID,
    NODE,
    START,
    advance_searches,
    answer_one_pass,
    check_request,
    chunk_parities,
    halving_parities,
    innermost,
    node_ranges,
    packed_words,
    prefix_xor,
    range_parities,
    shuffle_bits,
    walk_flips,
    walk_roots,
)
from qkdstack.processing.reconciliation.shuffle import (
    halves,
    inverse_permutation,
    pass_block_size,
    pass_membership,
    pass_permutation,
)
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
_UNSHUFFLED = np.zeros(0, dtype=np.int32)  # a position array meaning "pass 0: not shuffled"
_STAGE = "reconciliation"


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
        # Prefix XOR of the shuffled key per pass: any range parity in O(1). Passes that halve
        # the key answer their block parities from the packed membership first, and build the
        # prefix only when a range is asked.
        self._prefix: dict[int, BitArray] = {}
        self._sizes: dict[int, int] = {}  # pass -> block size as asked
        self._key_words: npt.NDArray[np.uint64] | None = None

    def _pass_prefix(self, pass_index: int) -> BitArray:
        prefix = self._prefix.get(pass_index)
        if prefix is None:
            position = (
                _UNSHUFFLED
                if pass_index == 0
                else pass_permutation(self._n, self._seed, pass_index, self._sizes[pass_index])
            )
            prefix = prefix_xor(self._key, position)
            self._prefix[pass_index] = prefix
        return prefix

    def _block_parities(self, p: int, k: int) -> BitArray:
        if p > 0 and halves(self._n, k):
            if self._key_words is None:
                self._key_words = packed_words(self._key)
            member, _ = pass_membership(self._n, self._seed, p)
            return halving_parities(self._key_words, member)
        prefix = self._pass_prefix(p)
        starts = np.arange(0, self._n, k, dtype=np.int64)
        return prefix[np.minimum(starts + k, self._n)] ^ prefix[starts]

    def handle(self, request: Message) -> Message:
        """Answer ``ec.start`` (``ec.ready``), ``ec.blocks`` (all block parities of a pass) or
        ``ec.parity`` (the parities of given ranges)."""
        if request.kind == "ec.parity":
            public = request.public
            starts, ends, passes = public.get("start"), public.get("end"), public.get("pass")
            if not (
                isinstance(starts, np.ndarray)
                and isinstance(ends, np.ndarray)
                and isinstance(passes, np.ndarray)
                and starts.ndim == 1
                and starts.size > 0
                and ends.shape == starts.shape
                and passes.shape == starts.shape
                and starts.dtype.kind in "iu"
                and ends.dtype.kind in "iu"
                and passes.dtype.kind in "iu"
            ):
                raise ProtocolAbort("Cascade: malformed parity request.", stage=_STAGE)
            p = int(passes[0])
            if p not in self._sizes:
                raise ProtocolAbort(f"Cascade: pass {p} was never opened.", stage=_STAGE)
            status, parity = answer_one_pass(self._pass_prefix(p), p, passes, starts, ends)
            if status == 2:  # ranges of several passes: one sweep per pass
                valid, _, _ = check_request(passes, starts, ends, self._n)
                for q in np.unique(passes).tolist():
                    if q not in self._sizes:
                        raise ProtocolAbort(f"Cascade: pass {q} was never opened.", stage=_STAGE)
                    if valid:
                        sel = passes == q
                        parity[sel] = range_parities(self._pass_prefix(q), starts[sel], ends[sel])
                status = 0 if valid else 1
            if status:
                raise ProtocolAbort("Cascade: malformed parity request.", stage=_STAGE)
            return Message("ec.parities", disclosed={"parity": parity})
        if request.kind == "ec.blocks":
            p = _int_field(request.public, "pass", 0, _MAX_PASSES)
            k = _int_field(request.public, "block_size", 1, self._n + 1)
            if p in self._sizes:
                raise ProtocolAbort(f"Cascade: pass {p} was already opened.", stage=_STAGE)
            self._sizes[p] = k
            # Pass 0 is never shuffled, so never halved: its blocks are the k-bit runs Bob cuts
            # (Bob's _Pass keeps the requested size there; using the halving size k0 here made
            # the two disagree whenever k < n <= 2k, and honest runs abort).
            size = k if p == 0 else pass_block_size(self._n, self._seed, p, k)
            parity = self._block_parities(p, size)
            if "count" in request.public:
                parity = parity[: _int_field(request.public, "count", 1, self._n + 1)]
            elif p > 0:
                # The last block's parity is the key's (known from pass 0) XOR the others'.
                parity = parity[:-1]
            return Message("ec.parities", disclosed={"parity": np.ascontiguousarray(parity)})
        if request.kind == "ec.start":
            return Message("ec.ready")
        raise ProtocolAbort(f"Cascade: unexpected message kind {request.kind!r}.", stage=_STAGE)


# --------------------------------------------------------------------------------------------
# Bob's half
# --------------------------------------------------------------------------------------------


class _Pass:
    """Bob's bookkeeping for one pass: its public shuffle, block size and search trees.

    ``tree`` holds ``width`` entries per block (see :mod:`.cascade_kernels`); without sub-block
    reuse only the roots are kept (``width = 2``). A pass that halves the key starts from its packed
    membership alone and keeps only its roots until a search runs in it (most never search).
    """

    __slots__ = (
        "_full_width",
        "_perm",
        "_position",
        "member",
        "n",
        "n_blocks",
        "p",
        "requested_size",
        "seed",
        "shuffled",
        "size",
        "tree",
        "width",
    )

    def __init__(self, n: int, seed: int, p: int, requested_size: int, reuse: bool) -> None:
        self.n, self.seed, self.p, self.requested_size = n, seed, p, requested_size
        # ``position[i]`` is the shuffled position of key bit ``i``; ``perm`` (which key bit sits at a
        # position) is built only if a search runs in this pass.
        self._position: npt.NDArray[np.int32] | None = None
        self._perm: npt.NDArray[np.int32] | None = None
        self.member: npt.NDArray[np.uint64] | None = None
        # Bob's key in this pass's shuffled order, kept current (pass 0: the key itself).
        self.shuffled: BitArray | None = None
        if p == 0:  # unshuffled: position and perm are the identity, never drawn
            self.size = requested_size
        elif halves(n, requested_size):
            self.member, self.size = pass_membership(n, seed, p)
        else:
            self._position = pass_permutation(n, seed, p)
            self.size = requested_size
        self.n_blocks = -(-n // self.size)
        size = self.size
        self._full_width = 2 ** (math.ceil(math.log2(size)) + 1) if (reuse and size > 1) else 2
        self.width = 2 if self.member is not None else self._full_width
        self.tree = np.full(self.n_blocks * self.width, -1, dtype=np.int8)

    @property
    def position(self) -> npt.NDArray[np.int32]:
        """``position[i]``: the shuffled position of key bit ``i``."""
        if self._position is None:
            self._position = pass_permutation(self.n, self.seed, self.p, self.requested_size)
        return self._position

    @property
    def perm(self) -> npt.NDArray[np.int32]:
        """``perm[j]``: the key bit at shuffled position ``j``."""
        if self._perm is None:
            self._perm = inverse_permutation(self.position)
        return self._perm

    def key_bits(self, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The key bits at shuffled ``positions``."""
        return positions if self.p == 0 else self.perm[positions].astype(np.int64)

    def make_searchable(self, bits: BitArray) -> BitArray:
        """Draw the full permutation, Bob's shuffled key and the whole search tree (roots kept),
        before a search; return the shuffled key."""
        if self.p > 0:
            _ = self.perm
        shuffled = self.shuffled
        if shuffled is None:
            shuffled = self.shuffled = bits if self.p == 0 else shuffle_bits(bits, self.position)
        if self.width != self._full_width:
            blocks = np.arange(self.n_blocks, dtype=np.int64)
            tree = np.full(self.n_blocks * self._full_width, -1, dtype=np.int8)
            tree[blocks * self._full_width + 1] = self.tree[blocks * self.width + 1]
            self.tree, self.width = tree, self._full_width
        return shuffled

    def block_parities(self, bits: BitArray) -> BitArray:
        """Bob's parity of every block of this pass."""
        if self._position is None and self.member is not None:
            return halving_parities(packed_words(bits), self.member)
        if self.p == 0:
            self.shuffled = bits
        else:
            self.shuffled = shuffle_bits(bits, self.position)
        return chunk_parities(self.shuffled, self.size)

    def walk(
        self, flips: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Toggle the known nodes holding ``flips`` (and the bits in the shuffled copy); return
        the (block, node) pairs now odd."""
        if self.shuffled is None:
            if self.member is None:
                raise ProtocolAbort(
                    "Cascade: a pass was walked before it was opened.", stage=_STAGE
                )
            return walk_roots(self.tree, self.member, flips, self.width)
        return walk_flips(
            self.tree, self.position if self.p > 0 else _UNSHUFFLED, self.shuffled, self.p > 0,
            flips, self.n, self.size, self.width,
        )  # fmt: skip


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
        variant = self._variant
        sizes = block_sizes(variant, n, qber)
        self._params = {"n": n, "shuffle_seed": int(self._rng.integers(0, 2**63))}
        reply = channel.ask(Message("ec.start", public={"method": variant.name, **self._params}))
        if reply.kind != "ec.ready":
            raise ProtocolAbort(f"Cascade: expected 'ec.ready', got {reply.kind!r}.", stage=_STAGE)
        run = _Run(bits, self._params["shuffle_seed"], variant.sub_block_reuse, channel)
        for k in sizes:
            run.open_pass(k, count=None)
            run.settle()
        # BICONF (Brassard and Salvail 1993): compare the parity of a random half of the key; a
        # difference is searched and cascaded like any block. Stop after a streak of
        # ``biconf_rounds`` rounds without a difference (Demystifying, 'Cascade mod. (1)').
        streak = 0
        while streak < variant.biconf_rounds and len(run.passes) < _MAX_PASSES:
            odd = run.open_pass(math.ceil(n / 2), count=1)
            run.settle()
            streak = 0 if odd else streak + 1
        return ReconciliationOutcome(key=bits, frames=1, frames_failed=0)


_NO_ANSWERS = np.zeros(0, dtype=np.uint8)


class _Run:
    """Bob's state during one Cascade run: his key, the passes, and blocks still to search."""

    def __init__(self, bits: BitArray, seed: int, reuse: bool, channel: ClassicalChannel) -> None:
        self.bits = bits
        self.n = int(bits.shape[0])
        self.seed = seed
        self.reuse = reuse
        self.channel = channel
        self.passes: list[_Pass] = []
        self.alice_key_parity = 0  # the parity of Alice's whole key, known from pass 0
        # Bits corrected so far. With Alice's true parities every search ends on an erroneous bit,
        # so no bit is ever corrected twice; forged parities (a man in the middle before the
        # stage's transcript check, or no authentication) can make the cascade effect cycle, and
        # a second correction of a bit is how that shows (by pigeonhole within n + 1 flips).
        self._corrected = np.zeros(self.n, dtype=np.bool_)
        # Pending candidates per pass: (blocks, nodes) of tree nodes that were odd when recorded.
        self._pending: dict[int, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]] = {}

    def open_pass(self, k: int, count: int | None) -> int:
        """Start a pass with blocks of ``k`` bits; ask Alice the parities of its first ``count``
        blocks (all when None). Returns the number of mismatching blocks."""
        p = len(self.passes)
        ps = _Pass(self.n, self.seed, p, k, self.reuse)
        self.passes.append(ps)
        public: dict[str, Any] = {"pass": p, "block_size": k}
        if count is not None:
            public["count"] = count
            told = shown = min(count, ps.n_blocks)
        else:
            # After pass 0 Alice leaves out the last block's parity: it is the key's parity (the
            # XOR of pass 0's) XOR the others' (as in Martinez-Mateo et al. 2015).
            shown = ps.n_blocks
            told = shown if p == 0 else shown - 1
        alice = _parity_reply(self.channel.ask(Message("ec.blocks", public=public)), told)
        if told < shown:
            alice = np.append(
                alice,
                np.uint8(self.alice_key_parity ^ (np.bitwise_xor.reduce(alice) if told else 0)),
            )
        elif p == 0:
            self.alice_key_parity = int(np.bitwise_xor.reduce(alice))
        mismatch = alice ^ ps.block_parities(self.bits)[:shown]
        ps.tree[np.arange(shown, dtype=np.int64) * ps.width + 1] = (alice + 2 * mismatch).astype(
            np.int8
        )
        odd = np.flatnonzero(mismatch).astype(np.int64)
        if odd.size:
            self._pending.setdefault(p, []).append((odd, np.ones(odd.size, dtype=np.int64)))
        return int(odd.size)

    def _next_batch(self) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
        """The lowest pass with still-odd candidates (Brassard and Salvail: smallest blocks first,
        they cost the fewest questions) and its innermost odd nodes, sorted by block."""
        for p in sorted(self._pending):
            ps = self.passes[p]
            found = self._pending.pop(p)
            blocks = np.concatenate([b for b, _ in found])
            nodes = np.concatenate([h for _, h in found])
            still = (ps.tree[blocks * ps.width + nodes] >> 1) == 1
            if not still.any():
                continue
            blocks, nodes = blocks[still], nodes[still]
            # Of nested odd nodes only the deepest is searched (it holds an error of its
            # ancestors too); disjoint odd nodes of one block are searched side by side.
            order = np.lexsort((nodes, blocks))
            blocks, nodes = blocks[order], nodes[order]
            keep = innermost(blocks, nodes)
            return p, blocks[keep], nodes[keep]
        return None

    def settle(self) -> None:
        """Search odd blocks, lowest pass first, until no known parity differs."""
        batch = self._next_batch()
        while batch is not None:
            self._round(*batch)
            batch = self._next_batch()

    def _round(self, p: int, blocks: npt.NDArray[np.int64], nodes: npt.NDArray[np.int64]) -> None:
        """One round: BINARY searches of the odd nodes of pass ``p`` side by side (one message per
        level), then the corrections and the cascade effect on every pass."""
        ps = self.passes[p]
        shuffled = ps.make_searchable(self.bits)
        tree, reuse = ps.tree, ps.width > 2
        m = blocks.size
        state = np.zeros((8, m), dtype=np.int64)
        state[START], state[END] = node_ranges(blocks, nodes, self.n, ps.size)
        state[BASE] = blocks * ps.width
        state[NODE] = nodes
        state[ALICE] = tree[state[BASE] + nodes] & 1
        state[MID] = -1
        asked = np.empty(m, dtype=np.int64)
        ask_start = np.empty(m, dtype=np.int32)
        ask_end = np.empty(m, dtype=np.int32)
        tag = np.full(m, p, dtype=np.uint8)
        answers = _NO_ANSWERS
        while True:
            count = advance_searches(
                shuffled, tree, reuse, state, asked, answers, ask_start, ask_end
            )
            if count == 0:
                break
            if count < 0:
                raise ProtocolAbort("Cascade: Alice's parities must be 0 or 1.", stage=_STAGE)
            public = {"pass": tag[:count], "start": ask_start[:count], "end": ask_end[:count]}
            answers = _parity_reply(
                self.channel.ask(Message("ec.parity", public=public)), count, values=False
            )
        # Every search ended on one erroneous bit: correct them, then let the cascade effect
        # reopen blocks of every pass.
        flips = np.unique(ps.key_bits(state[START]))
        if self._corrected[flips].any():
            raise ProtocolAbort(
                "Cascade: a bit was corrected twice, so Alice's parities are inconsistent.",
                stage=_STAGE,
            )
        self._corrected[flips] = True
        self.bits[flips] ^= 1
        for q, other in enumerate(self.passes):
            got_blocks, got_nodes = other.walk(flips)
            if got_blocks.size:
                self._pending.setdefault(q, []).append((got_blocks, got_nodes))


def _parity_reply(reply: Message, count: int, values: bool = True) -> BitArray:
    """Alice's parity bits from a reply, checked for kind, length and (when ``values``; else the
    caller checks them) values."""
    parity = reply.disclosed.get("parity") if reply.kind == "ec.parities" else None
    if (
        not isinstance(parity, np.ndarray)
        or parity.dtype != np.uint8
        or parity.shape != (count,)
        or (values and count and parity.max() > 1)
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
            raise ParameterError(f"Method {name!r} takes only 'seed', not {sorted(options)}.")
        return BobCascade(variant, seed=seed)

    def make_alice(key: BitArray, params: Mapping[str, Any]) -> AliceCascade:
        return AliceCascade(key, params)

    register_method(Method(name, make_bob, make_alice, variant.description))


for _name, _variant in VARIANTS.items():
    _register(_name, _variant)

# The default: the most efficient variant (see BENCHMARKS.md).
_register("cascade", VARIANTS["cascade-opt8"])
