"""What Eve can compute: the exact dimension of the linear functions of the key she knows.

Simulation-only analysis, outside the parties (as :mod:`qkdstack.adversary.eve`). Eve holds

* the key bits she knows with certainty (an intercept in the right basis, a photon split off), the
  unit functionals ``e_i``;
* every parity the public discussion disclosed, as the linear functional it is: Cascade's block
  and range parities over its public shuffles, LDPC syndromes ``H x`` (the punctured positions
  hold fresh secret bits of Alice, which enter as extra unknowns ``z``; blind reconciliation's
  revealed punctured values are then the functionals ``e_z``), read off the messages a passive
  :class:`Wiretap` recorded;
* the verification tag, which has no linear part over GF(2) (Poly1305 evaluates a polynomial
  modulo ``2^130 - 5``), so it adds no functional here (its cost is in ``log2(2/eps_cor)``).

Let ``E`` be the span of those functionals over the key ``x`` (``n`` bits) and the punctured
unknowns ``z``. What Eve knows about the corrected key is the subspace of ``E`` that does not depend
on ``z``, of dimension ``rank(E) - rank(E_z)`` (``E_z``: the functionals restricted to the ``z``
columns): that is ``eve_known_bits_before_pa``. A final key bit is the functional ``T_i`` (a row of
the Toeplitz matrix of privacy amplification); the linear functions of the final key Eve can
evaluate form ``rowspace(T) ∩ E``, of dimension (Grassmann's formula)::

    dim(rowspace(T) ∩ E) = rank(T) + rank(E) - rank([T; E])

which is ``eve_known_final_bits``. Certain bits are projected out first (a functional lies in
``E`` iff its restriction to the other columns lies in the restriction of the parities), so only
the unknown columns are eliminated. Ranks are exact, by bit-packed elimination
(:mod:`qkdstack.processing.gf2`), for keys up to :data:`EXACT_LIMIT_BITS`; above it the fields are
``None`` and ``eve_knowledge_reason`` says why.

References
----------
H. Grassmann, "Die lineale Ausdehnungslehre" (1844): ``dim(U ∩ W) = dim U + dim W - dim(U + W)``.
G. Brassard and L. Salvail, EUROCRYPT '93 (Cascade's parities); A. D. Liveris et al., IEEE Commun.
Lett. 6, 440 (2002) (syndromes); H. Krawczyk, CRYPTO '94 (Toeplitz hashing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.processing.channel import Message
from qkdstack.processing.gf2 import (
    pack_index_rows,
    pack_rows,
    packed_rank,
    words_for,
)
from qkdstack.processing.reconciliation.shuffle import (
    inverse_permutation,
    pass_block_size,
    pass_permutation,
)
from qkdstack.typing import BitArray, Role

__all__ = [
    "EXACT_LIMIT_BITS",
    "DisclosedFunctionals",
    "Wiretap",
    "disclosed_functionals",
    "linear_knowledge",
]

EXACT_LIMIT_BITS = 20_000
"""Longest corrected key whose knowledge is computed exactly: the elimination grows as ``n^3``
(a few seconds of one core at this length), so longer keys report ``None``."""

_T_CHUNK_ROWS = 1024


@dataclass
class Wiretap:
    """A passive observer of the classical channel (``PipelineOptions(observer=...)``): keeps the
    messages of ``stages`` as Eve reads them."""

    stages: tuple[str, ...] = ("reconciliation",)
    messages: list[tuple[Role, Message]] = field(default_factory=list)

    def __call__(self, sender: Role, stage: str, message: Message) -> None:
        if stage in self.stages:
            self.messages.append((sender, message))


@dataclass(frozen=True)
class DisclosedFunctionals:
    """Linear functionals over ``n_key`` key bits and ``n_aux`` secret unknowns.

    ``rows[r]`` lists the columns of functional ``r`` (key bits ``0..n_key-1``, then the unknowns
    ``n_key..n_key+n_aux-1``); ``None`` with ``reason`` when the transcript could not be read.
    """

    n_key: int
    n_aux: int
    rows: list[npt.NDArray[np.int64]]
    reason: str | None = None


def disclosed_functionals(
    messages: Sequence[tuple[Role, Message]], n_key: int
) -> DisclosedFunctionals:
    """The parities disclosed in a reconciliation transcript, as linear functionals of the key.

    Parameters
    ----------
    messages : sequence of (sender, Message)
        The reconciliation stage as a :class:`Wiretap` recorded it (Bob's requests, each followed
        by Alice's reply).
    n_key : int
        Length of the corrected key.
    """
    rows: list[npt.NDArray[np.int64]] = []
    reader = _Reader(n_key)
    pending: Message | None = None
    try:
        for sender, message in messages:
            if sender is Role.BOB:
                pending = message
                continue
            if pending is None:
                continue
            rows.extend(reader.rows(pending, message))
            pending = None
    except _Unreadable as exc:
        return DisclosedFunctionals(n_key, 0, [], reason=str(exc))
    return DisclosedFunctionals(n_key, reader.n_aux, rows)


class _Unreadable(Exception):
    pass


class _Reader:
    """Turns (request, reply) pairs into functionals, keeping each method's public state."""

    def __init__(self, n_key: int) -> None:
        self.n = n_key
        self.method: str | None = None
        self.seed = 0
        self.sizes: dict[int, int] = {}
        self.perms: dict[int, npt.NDArray[np.int64]] = {}
        self.n_aux = 0
        self.blind: tuple[Any, int, npt.NDArray[np.int64]] | None = None  # plan, aux0, revealed

    def rows(self, request: Message, reply: Message) -> list[npt.NDArray[np.int64]]:
        kind, public = request.kind, request.public
        if kind == "ec.start":
            self.method = str(public.get("method"))
            if int(public.get("n", -1)) != self.n:
                raise _Unreadable("the transcript's key length differs from the key's")
            if self.method.startswith("cascade"):
                self.seed = int(public["shuffle_seed"])
            elif self.method not in ("ldpc", "ldpc-blind"):
                raise _Unreadable(f"the parities of method {self.method!r} are not modelled")
            return []
        if kind == "ec.blocks":
            return self._blocks(public, int(np.asarray(reply.disclosed["parity"]).size))
        if kind == "ec.parity":
            return self._ranges(public)
        if kind in ("ec.syndromes", "ec.blind"):
            return self._syndromes(request, reply)
        if kind == "ec.reveal":
            return self._reveal(public)
        raise _Unreadable(f"message {kind!r} is not modelled")

    # -- Cascade -------------------------------------------------------------------------
    def _perm(self, p: int) -> npt.NDArray[np.int64]:
        """``perm[j]``: the key bit at shuffled position ``j`` of pass ``p``."""
        perm = self.perms.get(p)
        if perm is None:
            if p == 0:
                perm = np.arange(self.n, dtype=np.int64)
            else:
                position = pass_permutation(self.n, self.seed, p, self.sizes[p])
                perm = inverse_permutation(position).astype(np.int64)
            self.perms[p] = perm
        return perm

    def _blocks(self, public: Any, count: int) -> list[npt.NDArray[np.int64]]:
        p, k = int(public["pass"]), int(public["block_size"])
        self.sizes[p] = k
        size = pass_block_size(self.n, self.seed, p, k)
        perm = self._perm(p)
        return [perm[b * size : (b + 1) * size] for b in range(count)]

    def _ranges(self, public: Any) -> list[npt.NDArray[np.int64]]:
        passes = np.asarray(public["pass"]).tolist()
        starts = np.asarray(public["start"]).tolist()
        ends = np.asarray(public["end"]).tolist()
        return [self._perm(q)[s:e] for q, s, e in zip(passes, starts, ends, strict=True)]

    # -- LDPC ----------------------------------------------------------------------------
    def _syndromes(self, request: Message, reply: Message) -> list[npt.NDArray[np.int64]]:
        from qkdstack.processing.reconciliation.ldpc import _N, _frame_plan, load_code

        public = request.public
        rate = float(public["rate"])
        length = int(public.get("length", _N))
        d = int(public["punctured"])
        step = int(public.get("step", 1))
        plan = _frame_plan(
            rate, length, self.n, d, int(public["payload"]), step, int(public["seed"])
        )
        code = load_code(rate, length)
        aux0 = self.n + self.n_aux
        self.n_aux += plan.frames * d
        # Column of each frame position: a key bit, a punctured unknown, or -1 (shortened 0).
        rows: list[npt.NDArray[np.int64]] = []
        order = code.check_order
        check_cols = code.edge_var[order]
        bounds = code.check_ptr
        for f in range(plan.frames):
            column = np.full(code.n, -1, dtype=np.int64)
            chunk = min(plan.payload, self.n - f * plan.payload)
            column[plan.payload_positions[:chunk]] = f * plan.payload + np.arange(chunk)
            column[plan.punctured] = aux0 + f * d + np.arange(d)
            mapped = column[check_cols]
            for c in range(code.m):
                cols = mapped[bounds[c] : bounds[c + 1]]
                rows.append(cols[cols >= 0])
        if request.kind == "ec.blind":
            self.blind = (plan, aux0, np.zeros(plan.frames, dtype=np.int64))
        return rows

    def _reveal(self, public: Any) -> list[npt.NDArray[np.int64]]:
        if self.blind is None:
            raise _Unreadable("'ec.reveal' before 'ec.blind'")
        plan, aux0, revealed = self.blind
        d = plan.punctured.size
        rows: list[npt.NDArray[np.int64]] = []
        for f in np.asarray(public["frames"]).tolist():
            lo, hi = int(revealed[f]), min(d, int(revealed[f]) + plan.step)
            rows.extend(np.array([aux0 + f * d + i], dtype=np.int64) for i in range(lo, hi))
            revealed[f] = hi
        return rows


def _pack_functionals(
    rows: list[npt.NDArray[np.int64]], column: npt.NDArray[np.int64], n_cols: int
) -> npt.NDArray[np.uint64]:
    """Pack functionals after mapping their columns through ``column`` (-1: dropped)."""
    if not rows:
        return np.zeros((0, words_for(n_cols)), dtype=np.uint64)
    lengths = np.array([r.size for r in rows], dtype=np.int64)
    cols = column[np.concatenate(rows)] if lengths.sum() else np.zeros(0, dtype=np.int64)
    row_of = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
    keep = cols >= 0
    return pack_index_rows(row_of[keep], cols[keep], len(rows), n_cols)


def _toeplitz_packed(
    toeplitz_seed: BitArray, n: int, m: int, columns: npt.NDArray[np.int64], n_cols: int
) -> npt.NDArray[np.uint64]:
    """The Toeplitz rows ``T[i, j] = seed[i - j + n - 1]`` restricted to key ``columns``, packed
    into ``n_cols``-column rows (columns beyond ``columns.size`` zero)."""
    rev = np.ascontiguousarray(toeplitz_seed[::-1])
    windows = np.lib.stride_tricks.sliding_window_view(rev, n)  # windows[m-1-i] is row i
    out = np.zeros((m, words_for(n_cols)), dtype=np.uint64)
    for i0 in range(0, m, _T_CHUNK_ROWS):
        i1 = min(m, i0 + _T_CHUNK_ROWS)
        block = windows[m - i1 : m - i0][::-1][:, columns]
        wide = np.zeros((i1 - i0, n_cols), dtype=np.uint8)
        wide[:, : columns.size] = block
        out[i0:i1] = pack_rows(wide)
    return out


def linear_knowledge(
    certain: npt.NDArray[np.bool_],
    functionals: DisclosedFunctionals,
    toeplitz_seed: BitArray | None,
    m: int,
    *,
    limit_bits: int = EXACT_LIMIT_BITS,
) -> dict[str, Any]:
    """``eve_known_bits_before_pa`` and ``eve_known_final_bits`` (see the module docstring).

    Parameters
    ----------
    certain : ndarray of bool, shape (n,)
        Key bits Eve knows with certainty.
    functionals : DisclosedFunctionals
        The disclosed parities (:func:`disclosed_functionals`).
    toeplitz_seed : ndarray of uint8, shape (m + n - 1,), or None
        Privacy amplification's seed; None (or ``m = 0``) when no key was produced.
    m : int
        Final key length.
    limit_bits : int
        Longest key computed exactly; longer keys give ``None`` with a reason.

    Returns
    -------
    dict
        ``eve_known_bits_before_pa``, ``eve_known_final_bits`` (None without a final key),
        ``eve_knowledge_reason`` (None when both were computed), ``eve_functionals`` (count of
        disclosed functionals read from the transcript).
    """
    n = int(certain.shape[0])
    if functionals.n_key != n:
        raise ParameterError(
            f"Argument 'functionals' must concern the {n}-bit key, not {functionals.n_key} bits."
        )
    out: dict[str, Any] = {
        "eve_known_bits_before_pa": None,
        "eve_known_final_bits": None,
        "eve_knowledge_reason": None,
        "eve_functionals": len(functionals.rows),
    }
    if functionals.reason is not None:
        out["eve_knowledge_reason"] = f"transcript not modelled: {functionals.reason}"
        return out
    if n > limit_bits:
        out["eve_knowledge_reason"] = (
            f"key of {n} bits above the {limit_bits}-bit limit of the exact GF(2) computation"
        )
        return out
    known = int(np.count_nonzero(certain))
    unknown = np.flatnonzero(~certain).astype(np.int64)
    n_u, n_aux = int(unknown.size), functionals.n_aux
    # Columns after projecting out the certain bits: unknown key bits, then the secret unknowns.
    column = np.full(n + n_aux, -1, dtype=np.int64)
    column[unknown] = np.arange(n_u)
    column[n:] = n_u + np.arange(n_aux)
    width = n_u + n_aux
    parities = _pack_functionals(functionals.rows, column, width)
    rank_r = packed_rank(parities, width)
    aux_only = np.full(n + n_aux, -1, dtype=np.int64)
    aux_only[n:] = np.arange(n_aux)
    rank_aux = packed_rank(_pack_functionals(functionals.rows, aux_only, n_aux), n_aux)
    out["eve_known_bits_before_pa"] = known + rank_r - rank_aux
    if toeplitz_seed is None or m == 0:
        return out
    if toeplitz_seed.shape != (m + n - 1,):
        raise ParameterError(
            f"Argument 'toeplitz_seed' must have m + n - 1 = {m + n - 1} bits, "
            f"not shape {toeplitz_seed.shape}."
        )
    # rank([T; E]) - rank(E) is the rank of T modulo E; when it is m, T has full rank m and
    # meets E in 0 alone, and rank(T) need not be computed.
    stacked = np.concatenate([parities, _toeplitz_packed(toeplitz_seed, n, m, unknown, width)])
    beyond = packed_rank(stacked, width) - rank_r
    if beyond == m:
        out["eve_known_final_bits"] = 0
        return out
    rank_t = packed_rank(_toeplitz_packed(toeplitz_seed, n, m, np.arange(n, dtype=np.int64), n), n)
    out["eve_known_final_bits"] = rank_t - beyond
    return out
