"""A discrete-variable QKD protocol described by data, and its translation into a convex problem.

A prepare-and-measure protocol is given by Alice's signal states ``|psi_a>`` with probabilities
``p_a``, Bob's POVM ``{M_b}``, the public announcements (Alice announces ``alpha(a)``, Bob
announces ``beta(b)``), which announcement pairs are kept, and the key map. The source-replacement
scheme (Coles, Metodiev & Lütkenhaus 2016, Methods, "Source-replacement scheme") turns it into
an entanglement-based one: Alice prepares

.. math:: |\\Psi\\rangle_{AA'} = \\sum_a \\sqrt{p_a}\\, |a\\rangle_A |\\psi_a\\rangle_{A'},

sends ``A'`` through the channel, and measures her register ``A`` in the basis ``{|a>}``. Every
state of ``A B`` that Eve can produce satisfies

* ``Tr_B rho_AB = rho_A = Tr_A' |Psi><Psi|`` (Alice's register never leaves her lab), and
* ``Tr[rho_AB (|a><a| (x) M_b)] = P(a, b)``, the observed joint statistics.

The secret-key rate against collective attacks is (Winick, Lütkenhaus & Coles 2018;
Coles et al. 2016)

.. math:: R = \\min_{\\rho \\in S} D(\\mathcal G(\\rho) \\| \\mathcal Z(\\mathcal G(\\rho)))
          - \\mathrm{leak}_{EC},

where ``G`` is the post-processing map (announcement, sifting, key map) and ``Z`` the pinching
onto the key register (Winick et al. 2018). This module writes ``G`` with one
Kraus operator per kept announcement pair ``(alpha, beta)``:

.. math:: K_{\\alpha\\beta} = |\\alpha\\beta\\rangle \\otimes
          \\Pi^A_{\\alpha\\beta} \\otimes \\sqrt{\\Pi^B_\\beta},

where ``Pi^B_beta = sum_{b: beta(b)=beta} M_b`` and ``Pi^A_{alpha beta}`` projects on the symbols
``a`` that Alice announces as ``alpha`` and that carry a key value. Because the key is a function
of Alice's symbol (direct reconciliation), the key register of Winick et al. is a copy of
``A``'s computational basis: the isometry ``|a> -> |g(a)>_R |a>`` leaves the relative entropy
unchanged, so ``Z`` is the pinching by the projectors ``|alpha beta><alpha beta| (x)
sum_{a: g(a)=k} |a><a| (x) 1`` and no key register is needed. Each block is compressed to the
ranges of ``Pi^A`` and ``sqrt(Pi^B)``, which keeps the output small (4 x 4 for B92).

References
----------
P. J. Coles, E. M. Metodiev, N. Lütkenhaus, "Numerical approach for unstructured quantum key
distribution", Nat. Commun. 7, 11712 (2016), Methods (source replacement).
A. Winick, N. Lütkenhaus, P. J. Coles, "Reliable numerical key rates for quantum key
distribution", Quantum 2, 77 (2018) (problem statement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError

__all__ = ["KeyRateProblem", "ProtocolDescription", "leak_ec_bits"]

_ATOL = 1e-9
# Observed probabilities below this are exact zeros of the model (rounding of <0|1> and so on).
_ZERO_PROB = 1e-14


def _herm(m: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    return 0.5 * (m + m.conj().T)


def _psd_sqrt(m: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    w, v = np.linalg.eigh(_herm(m))
    w = np.clip(w, 0.0, None)
    return (v * np.sqrt(w)) @ v.conj().T


def _range_basis(m: npt.NDArray[np.complex128], rel_tol: float = 1e-10) -> npt.NDArray:
    """Orthonormal columns spanning the range of the PSD matrix ``m``."""
    w, v = np.linalg.eigh(_herm(m))
    scale = max(float(np.max(np.abs(w))), 1e-300)
    return v[:, w > rel_tol * scale]


@dataclass(frozen=True)
class ProtocolDescription:
    """A prepare-and-measure protocol as data (the input of the numerical key-rate engine).

    Parameters
    ----------
    name : str
        A label for reports.
    states : ndarray, shape (n_a, d), complex
        Alice's signal states ``|psi_a>`` as rows, in Bob's input space of dimension ``d`` (for
        example a qubit plus a vacuum level for loss).
    state_probs : ndarray, shape (n_a,)
        ``p_a``, summing to 1.
    povm : ndarray, shape (n_b, d, d)
        Bob's POVM ``M_b`` (positive, summing to the identity).
    alice_announcement : ndarray of int, shape (n_a,)
        The label ``alpha(a)`` Alice announces for symbol ``a``.
    bob_announcement : ndarray of int, shape (n_b,)
        The label ``beta(b)`` Bob announces for outcome ``b``.
    kept : ndarray of bool, shape (n_alpha, n_beta)
        Which announcement pairs enter the key.
    alice_key : ndarray of int, shape (n_a, n_beta)
        Alice's key value for symbol ``a`` when Bob announced ``beta`` (``-1``: no key).
    bob_key : ndarray of int, shape (n_b, n_alpha)
        Bob's guess of the key for outcome ``b`` when Alice announced ``alpha`` (``-1``: none).
    key_size : int
        Number of key values (2 for a bit).
    """

    name: str
    states: npt.NDArray[np.complex128]
    state_probs: npt.NDArray[np.float64]
    povm: npt.NDArray[np.complex128]
    alice_announcement: npt.NDArray[np.int64]
    bob_announcement: npt.NDArray[np.int64]
    kept: npt.NDArray[np.bool_]
    alice_key: npt.NDArray[np.int64]
    bob_key: npt.NDArray[np.int64]
    key_size: int = 2

    def __post_init__(self) -> None:
        states = np.asarray(self.states, dtype=np.complex128)
        probs = np.asarray(self.state_probs, dtype=np.float64)
        povm = np.asarray(self.povm, dtype=np.complex128)
        if states.ndim != 2 or probs.shape != (states.shape[0],):
            raise ParameterError(
                f"Argument 'states' must be (n_a, d) with one probability each, not "
                f"{states.shape} and {probs.shape}."
            )
        if np.any(probs < 0) or abs(float(probs.sum()) - 1.0) > _ATOL:
            raise ParameterError(
                f"Argument 'state_probs' must be >= 0 and sum to 1, not {probs.tolist()}."
            )
        norms = np.linalg.norm(states, axis=1)
        if np.any(np.abs(norms - 1.0) > _ATOL):
            raise ParameterError(f"Argument 'states' must be normalised, not norms {norms}.")
        d = states.shape[1]
        if povm.ndim != 3 or povm.shape[1:] != (d, d):
            raise ParameterError(
                f"Argument 'povm' must have shape (n_b, {d}, {d}), not {povm.shape}."
            )
        for b, m in enumerate(povm):
            if np.max(np.abs(m - m.conj().T)) > _ATOL or np.linalg.eigvalsh(_herm(m))[0] < -_ATOL:
                raise ParameterError(f"Argument 'povm' element {b} must be positive semidefinite.")
        if np.max(np.abs(povm.sum(axis=0) - np.eye(d))) > _ATOL:
            raise ParameterError("Argument 'povm' must sum to the identity.")
        n_a, n_b = states.shape[0], povm.shape[0]
        alpha = np.asarray(self.alice_announcement, dtype=np.int64)
        beta = np.asarray(self.bob_announcement, dtype=np.int64)
        kept = np.asarray(self.kept, dtype=bool)
        if alpha.shape != (n_a,) or beta.shape != (n_b,) or kept.ndim != 2:
            raise ParameterError("Arguments 'alice_announcement'/'bob_announcement' mismatch.")
        if alpha.min() < 0 or beta.min() < 0 or kept.shape != (alpha.max() + 1, beta.max() + 1):
            raise ParameterError(
                f"Argument 'kept' must have shape (n_alpha, n_beta) = "
                f"({alpha.max() + 1}, {beta.max() + 1}), not {kept.shape}."
            )
        akey = np.asarray(self.alice_key, dtype=np.int64)
        bkey = np.asarray(self.bob_key, dtype=np.int64)
        if akey.shape != (n_a, kept.shape[1]) or bkey.shape != (n_b, kept.shape[0]):
            raise ParameterError(
                f"Arguments 'alice_key'/'bob_key' must have shapes {(n_a, kept.shape[1])} and "
                f"{(n_b, kept.shape[0])}, not {akey.shape} and {bkey.shape}."
            )
        if akey.max() >= self.key_size or bkey.max() >= self.key_size:
            raise ParameterError(f"Key values must be < key_size = {self.key_size}.")
        for name, value in (
            ("states", states),
            ("state_probs", probs),
            ("povm", povm),
            ("alice_announcement", alpha),
            ("bob_announcement", beta),
            ("kept", kept),
            ("alice_key", akey),
            ("bob_key", bkey),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_symbols(self) -> int:
        """Number of Alice's signal states."""
        return int(self.states.shape[0])

    @property
    def n_outcomes(self) -> int:
        """Number of Bob's POVM outcomes."""
        return int(self.povm.shape[0])

    @property
    def dim_b(self) -> int:
        """Dimension of Bob's input space."""
        return int(self.states.shape[1])

    @property
    def is_real(self) -> bool:
        """True when every state and POVM element is real (the optimum is then real too)."""
        return bool(np.all(self.states.imag == 0) and np.all(self.povm.imag == 0))

    def alice_marginal(self) -> npt.NDArray[np.complex128]:
        """``rho_A = sum_{a,a'} sqrt(p_a p_a') <psi_a'|psi_a> |a><a'|`` (source replacement)."""
        amp = np.sqrt(self.state_probs)[:, None] * self.states
        return amp @ amp.conj().T

    def statistics(self, channel_outputs: npt.NDArray[np.complex128]) -> npt.NDArray[np.float64]:
        """Joint table ``P(a, b) = p_a Tr[M_b rho_a]`` from Bob's received states ``rho_a``.

        Parameters
        ----------
        channel_outputs : ndarray, shape (n_a, d, d)
            The channel's output for each of Alice's states.
        """
        rho = np.asarray(channel_outputs, dtype=np.complex128)
        table = np.einsum("bij,aji->ab", self.povm, rho).real
        return np.clip(table * self.state_probs[:, None], 0.0, None)

    def sifting_probability(self, table: npt.NDArray[np.float64]) -> float:
        """Probability per signal that the round is kept and carries a key value."""
        total = 0.0
        for a in range(self.n_symbols):
            for b in range(self.n_outcomes):
                al, be = self.alice_announcement[a], self.bob_announcement[b]
                if self.kept[al, be] and self.alice_key[a, be] >= 0:
                    total += float(table[a, b])
        return total


def leak_ec_bits(protocol: ProtocolDescription, table: npt.NDArray[np.float64]) -> float:
    """Shannon limit of one-way error correction per signal, ``sum P(ab) H(K_A | K_B, ab)``.

    Coles et al. 2016: ``leak_EC = sum_{alpha beta} p_{alpha beta} H(Z_A | Z_B)`` for
    the kept announcements; a real code leaks ``f`` times this.
    """
    k = protocol.key_size
    leak = 0.0
    for al, be in zip(*np.nonzero(protocol.kept), strict=True):
        joint = np.zeros((k, k + 1))  # Bob's column k: no guess
        for a in np.flatnonzero(protocol.alice_announcement == al):
            ka = protocol.alice_key[a, be]
            if ka < 0:
                continue
            for b in np.flatnonzero(protocol.bob_announcement == be):
                kb = protocol.bob_key[b, al]
                joint[ka, kb if kb >= 0 else k] += table[a, b]
        pb = joint.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(joint > 0, -joint * np.log2(joint / pb[None, :]), 0.0)
        leak += float(terms.sum())
    return leak


@dataclass(frozen=True)
class KeyRateProblem:
    """The convex problem ``min D(G(rho) || Z(G(rho)))`` over ``rho`` in a constraint set.

    Built from a :class:`ProtocolDescription` and an observed table by :meth:`build`. The
    variable ``rho`` lives on a reduced space ``V^dagger (A (x) B) V`` (facial reduction: every
    state consistent with the constraints is supported on ``range(V)``, because a positive
    constraint operator with expectation zero annihilates it), which also makes the problem
    strictly feasible for the interior-point solver.

    Attributes
    ----------
    kraus : list of ndarray
        Kraus operators of ``G`` acting on the reduced space.
    pinching : list of ndarray
        Diagonal 0/1 projectors of ``Z`` on ``G``'s output.
    eq_ops, eq_values : ndarray
        Orthonormalised equality constraints ``Tr[rho Gamma_j] = gamma_j`` (on the reduced space).
    obs_ops, obs_values : ndarray
        Observation operators and frequencies constrained only within a 1-norm ball (finite size).
    obs_radius : float
        ``mu`` of the ball ``||Gamma(rho) - F||_1 <= mu`` (George, Lin & Lütkenhaus 2021).
    is_real : bool
        Whether the problem can be solved over real symmetric matrices.
    """

    kraus: list[npt.NDArray[np.complex128]]
    pinching: list[npt.NDArray[np.float64]]
    eq_ops: npt.NDArray[np.complex128]
    eq_values: npt.NDArray[np.float64]
    obs_ops: npt.NDArray[np.complex128] = field(
        default_factory=lambda: np.zeros((0, 1, 1), dtype=np.complex128)
    )
    obs_values: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    obs_radius: float = 0.0
    is_real: bool = True

    @property
    def dim(self) -> int:
        """Dimension of the (reduced) variable ``rho``."""
        return int(self.eq_ops.shape[1])

    @classmethod
    def build(
        cls,
        protocol: ProtocolDescription,
        table: npt.ArrayLike,
        *,
        obs_radius: float = 0.0,
        obs_groups: npt.ArrayLike | None = None,
    ) -> KeyRateProblem:
        """Translate a protocol and its observed joint table into the problem.

        Parameters
        ----------
        protocol : ProtocolDescription
        table : array_like, shape (n_a, n_b)
            Observed joint probabilities ``P(a, b)`` (exact expectations, or frequencies when
            ``obs_radius > 0``).
        obs_radius : float
            0 for the asymptotic problem (equalities); ``mu > 0`` keeps the statistics in the
            1-norm ball of George et al. 2021, and only Alice's marginal as equalities.
        obs_groups : array_like of int, shape (n_a, n_b), optional
            Coarse-grained observations: cell ``(a, b)`` counts towards observation
            ``obs_groups[a, b]`` (for example every no-click, whatever Alice sent); ``table`` is
            then the vector of the groups' probabilities. Default: every cell on its own.
        """
        n_a, n_b, d = protocol.n_symbols, protocol.n_outcomes, protocol.dim_b
        groups = (
            np.arange(n_a * n_b).reshape(n_a, n_b)
            if obs_groups is None
            else np.asarray(obs_groups, dtype=np.int64)
        )
        n_groups = int(groups.max()) + 1 if groups.size else 0
        if groups.shape != (n_a, n_b) or set(np.unique(groups)) != set(range(n_groups)):
            raise ParameterError(
                f"Argument 'obs_groups' must label the ({n_a}, {n_b}) cells 0..k-1, "
                f"not shape {groups.shape}."
            )
        tab = np.asarray(table, dtype=np.float64)
        expected = (n_a, n_b) if obs_groups is None else (n_groups,)
        if tab.shape != expected or not np.all(np.isfinite(tab)) or np.any(tab < 0):
            raise ParameterError(
                f"Argument 'table' must be a finite non-negative array of shape {expected}, "
                f"not shape {tab.shape}."
            )
        if not obs_radius >= 0:
            raise ParameterError(f"Argument 'obs_radius' must be >= 0, not {obs_radius!r}.")
        if obs_radius == 0 and abs(float(tab.sum()) - 1.0) > 1e-8:
            raise ParameterError(f"Argument 'table' must sum to 1, not {float(tab.sum())!r}.")
        n = n_a * d
        eye_a = np.eye(n_a)
        # Observation operators |a><a| (x) M_b.
        obs = np.zeros((n_groups, n, n), dtype=np.complex128)
        for a in range(n_a):
            for b in range(n_b):
                obs[groups[a, b]] += np.kron(np.outer(eye_a[a], eye_a[a]), protocol.povm[b])
        obs_vals = tab.reshape(-1)
        # Alice's marginal: Tr[rho (E (x) 1)] = Tr[rho_A E] for a Hermitian basis E of A.
        rho_a = protocol.alice_marginal()
        marg_ops, marg_vals = [], []
        for i in range(n_a):
            for j in range(i, n_a):
                e = np.zeros((n_a, n_a), dtype=np.complex128)
                if i == j:
                    e[i, i] = 1.0
                    marg_ops.append(e)
                else:
                    e[i, j] = e[j, i] = 1.0 / np.sqrt(2.0)
                    marg_ops.append(e.copy())
                    if not protocol.is_real:
                        e2 = np.zeros((n_a, n_a), dtype=np.complex128)
                        e2[i, j], e2[j, i] = 1j / np.sqrt(2.0), -1j / np.sqrt(2.0)
                        marg_ops.append(e2)
        for e in marg_ops:
            marg_vals.append(float(np.trace(rho_a @ e).real))
        marg_full = np.array([np.kron(e, np.eye(d)) for e in marg_ops])

        # Facial reduction: positive operators with expectation zero cut the support.
        w_a, v_a = np.linalg.eigh(rho_a)
        kernel = np.zeros((n, n), dtype=np.complex128)
        for k in np.flatnonzero(w_a < 1e-12):
            kernel += np.kron(np.outer(v_a[:, k], v_a[:, k].conj()), np.eye(d))
        if obs_radius == 0:
            for op, val in zip(obs, obs_vals, strict=True):
                if val < _ZERO_PROB:
                    kernel += op
        w_k, v_k = np.linalg.eigh(_herm(kernel))
        reduce = v_k[:, w_k < 1e-10]  # isometry V: reduced space -> A (x) B
        if reduce.shape[1] == 0:
            raise ParameterError("Argument 'table' admits no quantum state (no support left).")

        def red(ops: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
            return np.einsum("ji,njk,kl->nil", reduce.conj(), ops, reduce)

        if obs_radius == 0:
            eq_all = np.concatenate([red(marg_full), red(obs)])
            eq_v = np.concatenate([np.array(marg_vals), obs_vals])
            obs_r = np.zeros((0, reduce.shape[1], reduce.shape[1]), dtype=np.complex128)
            obs_v = np.zeros(0)
        else:
            eq_all, eq_v = red(marg_full), np.array(marg_vals)
            obs_r, obs_v = red(obs), obs_vals
        eq_ops, eq_values = _orthonormalise(eq_all, eq_v)

        kraus, pinch_blocks = [], []
        for al, be in zip(*np.nonzero(protocol.kept), strict=True):
            sym = [
                a
                for a in np.flatnonzero(protocol.alice_announcement == al)
                if protocol.alice_key[a, be] >= 0
            ]
            outs = np.flatnonzero(protocol.bob_announcement == be)
            if not sym or outs.size == 0:
                continue
            sqrt_pb = _psd_sqrt(protocol.povm[outs].sum(axis=0))
            wb = _range_basis(sqrt_pb)
            if wb.shape[1] == 0:
                continue
            # A-part: rows |a><a| for the keyed symbols (output basis = those |a>).
            sel_a = eye_a[sym]
            k_block = np.kron(sel_a, wb.conj().T @ sqrt_pb) @ reduce
            kraus.append(k_block)
            keys = protocol.alice_key[sym, be]
            pinch_blocks.append(np.repeat(keys, wb.shape[1]))
        if not kraus:
            raise ParameterError("Argument 'protocol' keeps no announcement that carries a key.")
        # Stack the blocks into one output space (direct sum over announcements).
        sizes = [k.shape[0] for k in kraus]
        total = sum(sizes)
        stacked, offset = [], 0
        for k in kraus:
            big = np.zeros((total, k.shape[1]), dtype=np.complex128)
            big[offset : offset + k.shape[0]] = k
            stacked.append(big)
            offset += k.shape[0]
        keys_all = np.concatenate(pinch_blocks)
        pinching = [np.diag((keys_all == v).astype(np.float64)) for v in range(protocol.key_size)]
        pinching = [p for p in pinching if p.any()]
        real = protocol.is_real
        if real:
            stacked = [np.ascontiguousarray(k.real) for k in stacked]
        return cls(
            kraus=stacked,
            pinching=pinching,
            eq_ops=eq_ops,
            eq_values=eq_values,
            obs_ops=obs_r,
            obs_values=obs_v,
            obs_radius=float(obs_radius),
            is_real=real,
        )


def _orthonormalise(
    ops: npt.NDArray[np.complex128], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.float64]]:
    """An orthonormal (Hilbert-Schmidt) basis of the constraint span, with consistent values.

    Redundant constraints (Alice's marginal is implied by the full table) make the solver's
    equality matrix rank-deficient; an SVD keeps one orthonormal operator per independent
    direction, ``Gamma'_k = sum_j U_jk Gamma_j / s_k`` and ``gamma'_k = sum_j U_jk gamma_j / s_k``.
    """
    m = ops.shape[0]
    herm = 0.5 * (ops + ops.conj().transpose(0, 2, 1))
    flat = np.concatenate([herm.real.reshape(m, -1), herm.imag.reshape(m, -1)], axis=1)
    u, s, _ = np.linalg.svd(flat, full_matrices=False)
    keep = s > 1e-10 * s[0]
    u, s = u[:, keep], s[keep]
    new_ops = np.einsum("jk,jab->kab", u, herm) / s[:, None, None]
    new_vals = (u.T @ values) / s
    return new_ops, new_vals
