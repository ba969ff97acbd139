"""Reliable numerical key rates: a primal value and a certified lower bound (Winick et al. 2018).

Step 1 (primal). ``min_{rho in S} f(rho)`` with ``f(rho) = D(G(rho) || Z(G(rho)))`` (Winick,
Lütkenhaus & Coles 2018) is solved with the interior-point solver QICS, whose quantum
key distribution cone is exactly ``{(t, X): t >= -S(G(X)) + S(Z(G(X)))}``. Any state ``rho*`` it
returns gives ``f(rho*) >= min f`` up to its constraint residual: the *upper* value.

Step 2 (certified lower bound). ``f`` is convex on the positive cone, so for any full-rank
``rho0`` and every ``sigma`` in ``S`` (Winick et al. 2018, step 2: linearisation)

.. math:: f(\\sigma) \\ge f(\\rho_0) + \\mathrm{Tr}[(\\sigma - \\rho_0) \\nabla f(\\rho_0)],

with ``grad f(rho) = G^dagger(log G(rho)) - G^dagger(log Z(G(rho)))`` (Winick et al.,
logarithms on the supports). Minimising the right-hand side over ``S`` is a semidefinite program;
*any* dual point ``(y, z)`` bounds it from below (weak duality; Winick et al., the dual of the linearised problem):

.. math:: \\min_{\\sigma\\in S}\\mathrm{Tr}[\\sigma\\nabla f] \\ge
          \\lambda_{\\min}(\\nabla f - \\textstyle\\sum_j y_j\\Gamma_j - \\sum_i z_i\\Omega_i)
          + y\\cdot\\gamma + z\\cdot F - \\mu \\|z\\|_\\infty ,

using ``Tr sigma = 1`` and ``|z . (Omega(sigma) - F)| <= ||z||_inf ||Omega(sigma) - F||_1 <= mu
||z||_inf`` for the 1-norm ball of the finite-size problem (George, Lin & Lütkenhaus 2021;
``mu = 0`` is the asymptotic problem). The dual point comes from solving that SDP with
QICS, but the bound is evaluated afresh from the point with an exact eigenvalue, so solver
tolerance can only loosen it, never make it invalid. Winick et al. perturb ``G`` by ``epsilon``
to make ``f`` differentiable; here ``rho0 = (1 - delta) rho* + delta 1/n`` is full rank instead,
which puts ``G(rho0)`` on the whole range of ``G`` (the inequality holds at any point of the
domain, feasible or not), so no ``epsilon`` correction term is needed.

References
----------
A. Winick, N. Lütkenhaus, P. J. Coles, "Reliable numerical key rates for quantum key
distribution", Quantum 2, 77 (2018), steps 1 and 2.
P. J. Coles, E. M. Metodiev, N. Lütkenhaus, Nat. Commun. 7, 11712 (2016).
K. He, J. Saunderson, H. Fawzi, "QICS: Quantum Information Conic Solver", arXiv:2410.17803 (2024).
I. George, J. Lin, N. Lütkenhaus, "Numerical calculations of the finite key rate for general
quantum key distribution protocols", Phys. Rev. Research 3, 013274 (2021) (the 1-norm confidence ball).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.theory.numerical.protocol import KeyRateProblem

__all__ = ["RelativeEntropyBound", "solve_relative_entropy"]

_LN2 = math.log(2.0)
# Weight of the maximally mixed state in the linearisation point rho0 (see the module docstring).
_DELTA = 1e-11


@dataclass(frozen=True)
class RelativeEntropyBound:
    """Result of the two-step calculation, in bits per signal.

    Attributes
    ----------
    upper_bits : float
        ``f(rho*)`` at the step-1 state (an upper value of the minimum).
    lower_bits : float
        The certified lower bound of step 2.
    constraint_residual : float
        Largest violation of an equality constraint by ``rho*`` (how far the upper value may be
        from a strict upper bound).
    state : ndarray
        ``rho*`` on the reduced space.
    """

    upper_bits: float
    lower_bits: float
    constraint_residual: float
    state: npt.NDArray[np.complex128]

    @property
    def gap_bits(self) -> float:
        """``upper - lower``: how tight the certificate is."""
        return self.upper_bits - self.lower_bits


def _vec(m: npt.NDArray, real: bool) -> npt.NDArray[np.float64]:
    """QICS's full vectorisation (row-major; real and imaginary parts interleaved if complex)."""
    if real:
        return np.ascontiguousarray(np.real(m)).reshape(-1)
    return np.stack([np.real(m), np.imag(m)], axis=-1).reshape(-1)


def _compactor(n: int, real: bool) -> npt.NDArray[np.float64]:
    """QICS's map from the full to the compact (isometric) vectorisation; its transpose maps
    back. Variables are compact: a full vector has redundant (skew) directions on which the
    barrier is flat, which makes the interior-point steps fail."""
    from qics.vectorize import get_full_to_compact_op

    return np.asarray(get_full_to_compact_op(n, not real).toarray())


def _unvec(v: npt.NDArray[np.float64], n: int, real: bool) -> npt.NDArray[np.complex128]:
    if real:
        m = v.reshape(n, n).astype(np.complex128)
    else:
        pair = v.reshape(n, n, 2)
        m = pair[..., 0] + 1j * pair[..., 1]
    return 0.5 * (m + m.conj().T)


def _apply(kraus: list[npt.NDArray], rho: npt.NDArray) -> npt.NDArray[np.complex128]:
    out = np.zeros((kraus[0].shape[0],) * 2, dtype=np.complex128)
    for k in kraus:
        out += k @ rho @ k.conj().T
    return out


def _adjoint(kraus: list[npt.NDArray], y: npt.NDArray) -> npt.NDArray[np.complex128]:
    out = np.zeros((kraus[0].shape[1],) * 2, dtype=np.complex128)
    for k in kraus:
        out += k.conj().T @ y @ k
    return out


class _Objective:
    """``f`` and its gradient with logarithms on the fixed supports of ``G`` and ``Z o G``."""

    def __init__(self, problem: KeyRateProblem) -> None:
        self.kraus = problem.kraus
        self.pinching = problem.pinching
        n = problem.dim
        g_id = _apply(self.kraus, np.eye(n))
        self.u_g = _support(g_id)
        self.u_z = _support(self._pinch(g_id))

    def _pinch(self, y: npt.NDArray) -> npt.NDArray[np.complex128]:
        return sum((p @ y @ p for p in self.pinching), start=np.zeros_like(y))

    def value_and_gradient(
        self, rho: npt.NDArray[np.complex128]
    ) -> tuple[float, npt.NDArray[np.complex128]]:
        """``f(rho)`` in nats and ``grad f(rho)`` (Winick et al. 2018)."""
        g = _apply(self.kraus, rho)
        zg = self._pinch(g)
        s_g, log_g = _entropy_and_log(g, self.u_g)
        s_z, log_z = _entropy_and_log(zg, self.u_z)
        grad = _adjoint(self.kraus, log_g - log_z)
        return s_z - s_g, 0.5 * (grad + grad.conj().T)


def _support(m: npt.NDArray) -> npt.NDArray[np.complex128]:
    w, v = np.linalg.eigh(0.5 * (m + m.conj().T))
    return v[:, w > 1e-12 * max(float(w.max()), 1e-300)]


def _entropy_and_log(
    m: npt.NDArray, basis: npt.NDArray
) -> tuple[float, npt.NDArray[np.complex128]]:
    """``S(m) = -Tr m log m`` (nats) and ``log m`` on the span of ``basis``."""
    small = basis.conj().T @ m @ basis
    w, v = np.linalg.eigh(0.5 * (small + small.conj().T))
    w = np.clip(w, 1e-300, None)
    log_small = (v * np.log(w)) @ v.conj().T
    return float(-np.sum(w * np.log(w))), basis @ log_small @ basis.conj().T


def _qics_solve(model: object) -> dict[str, object]:
    import qics

    solver = qics.Solver(model, verbose=0, tol_gap=1e-10, tol_feas=1e-10, max_iter=200)
    info: dict[str, object] = solver.solve()
    return info


def _project_affine(problem: KeyRateProblem, rho: npt.NDArray) -> npt.NDArray[np.complex128]:
    """Project onto the (orthonormal) equality constraints, then clip onto the positive cone:
    a solver's point is feasible only to its tolerance."""
    rho = rho - np.einsum(
        "j,jab->ab",
        np.einsum("jab,ba->j", problem.eq_ops, rho).real - problem.eq_values,
        problem.eq_ops,
    )
    rho = 0.5 * (rho + rho.conj().T)
    w, v = np.linalg.eigh(rho)
    if w[0] < 0:
        rho = (v * np.clip(w, 0.0, None)) @ v.conj().T
    return rho


def _step1(problem: KeyRateProblem) -> npt.NDArray[np.complex128]:
    """Solve ``min t`` s.t. ``(t, X)`` in the QKD cone and ``X`` in ``S`` (QICS).

    Variables ``(t, compact X, v+, v-)``; with a 1-norm ball (``mu > 0``) the observations
    enter as ``Tr[X Omega_i] - v+_i + v-_i = F_i``, ``v+- >= 0``, ``sum(v+ + v-) <= mu``.
    """
    import qics
    from qics.cones import NonNegOrthant, QuantKeyDist

    n, real = problem.dim, problem.is_real
    comp = _compactor(n, real)
    nc, nv = comp.shape
    m_eq = problem.eq_ops.shape[0]
    m_obs = problem.obs_ops.shape[0] if problem.obs_radius > 0 else 0
    nx = 1 + nc + 2 * m_obs
    c = np.zeros((nx, 1))
    c[0] = 1.0
    a_eq = np.zeros((m_eq + m_obs, nx))
    for j, op in enumerate(problem.eq_ops):
        a_eq[j, 1 : 1 + nc] = comp @ _vec(op, real)
    for i in range(m_obs):
        a_eq[m_eq + i, 1 : 1 + nc] = comp @ _vec(problem.obs_ops[i], real)
        a_eq[m_eq + i, 1 + nc + i] = -1.0
        a_eq[m_eq + i, 1 + nc + m_obs + i] = 1.0
    b_eq = np.concatenate([problem.eq_values, problem.obs_values[:m_obs]]).reshape(-1, 1)
    g = np.zeros((1 + nv + (2 * m_obs + 1 if m_obs else 0), nx))
    g[0, 0] = -1.0
    g[1 : 1 + nv, 1 : 1 + nc] = -comp.T
    h = np.zeros((g.shape[0], 1))
    cones: list[object] = [QuantKeyDist(problem.kraus, problem.pinching, iscomplex=not real)]
    if m_obs:
        g[1 + nv : 1 + nv + 2 * m_obs, 1 + nc :] = -np.eye(2 * m_obs)
        g[-1, 1 + nc :] = 1.0
        h[-1, 0] = problem.obs_radius
        cones.append(NonNegOrthant(2 * m_obs + 1))
    model = qics.Model(c=c, A=a_eq, b=b_eq, G=g, h=h, cones=cones)
    info = _qics_solve(model)
    x = np.asarray(info["x_opt"]).reshape(-1)
    return _project_affine(problem, _unvec(comp.T @ x[1 : 1 + nc], n, real))


def _step2_dual(
    problem: KeyRateProblem, grad: npt.NDArray[np.complex128]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Dual point of ``min Tr[sigma grad]`` over ``S`` (QICS semidefinite program)."""
    import qics
    from qics.cones import NonNegOrthant, PosSemidefinite

    n, real = problem.dim, problem.is_real
    m_eq = problem.eq_ops.shape[0]
    m_obs = problem.obs_ops.shape[0] if problem.obs_radius > 0 else 0
    nw = m_eq + m_obs + (1 if m_obs else 0)
    # maximise y.gamma + z.F - mu s  <=>  minimise the negative.
    c = np.zeros((nw, 1))
    c[:m_eq, 0] = -problem.eq_values
    if m_obs:
        c[m_eq : m_eq + m_obs, 0] = -problem.obs_values
        c[-1, 0] = problem.obs_radius
    ops = list(problem.eq_ops) + (list(problem.obs_ops) if m_obs else [])
    g_psd = np.zeros((len(_vec(grad, real)), nw))
    for j, op in enumerate(ops):
        g_psd[:, j] = _vec(op, real)
    g_rows, h_rows = [g_psd], [_vec(grad, real).reshape(-1, 1)]
    cones: list[object] = [PosSemidefinite(n, iscomplex=not real)]
    if m_obs:
        # s >= |z_i|.
        g_o = np.zeros((2 * m_obs, nw))
        g_o[:m_obs, m_eq : m_eq + m_obs] = np.eye(m_obs)
        g_o[m_obs:, m_eq : m_eq + m_obs] = -np.eye(m_obs)
        g_o[:, -1] = -1.0
        g_rows.append(g_o)
        h_rows.append(np.zeros((2 * m_obs, 1)))
        cones.append(NonNegOrthant(2 * m_obs))
    model = qics.Model(c=c, G=np.vstack(g_rows), h=np.vstack(h_rows), cones=cones)
    info = _qics_solve(model)
    w = np.asarray(info["x_opt"]).reshape(-1)
    return w[:m_eq], w[m_eq : m_eq + m_obs]


def certified_lower_bound(
    problem: KeyRateProblem, rho: npt.NDArray[np.complex128]
) -> tuple[float, float]:
    """Upper value ``f(rho)`` and certified lower bound of ``min_S f`` (nats), from ``rho``.

    Winick et al. 2018, step 2, with the linearisation point made full rank (module notes).
    """
    objective = _Objective(problem)
    upper, _ = objective.value_and_gradient(rho)
    n = problem.dim
    rho0 = (1.0 - _DELTA) * rho + _DELTA * np.eye(n) / n
    f0, grad = objective.value_and_gradient(rho0)
    y, z = _step2_dual(problem, grad)
    residual = grad - np.einsum("j,jab->ab", y, problem.eq_ops)
    linear = float(y @ problem.eq_values)
    if z.size:
        residual = residual - np.einsum("i,iab->ab", z, problem.obs_ops)
        linear += float(z @ problem.obs_values) - problem.obs_radius * float(np.max(np.abs(z)))
    lam_min = float(np.linalg.eigvalsh(0.5 * (residual + residual.conj().T))[0])
    lower = f0 - float(np.trace(rho0 @ grad).real) + lam_min + linear
    return upper, lower


@contextmanager
def _single_threaded_numba() -> Iterator[None]:
    """QICS's kernels are numba ``prange`` loops over tiny matrices: threads only add
    contention (8x slower on a loaded 2-core machine, BENCHMARKS.md), so run them on one."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def solve_relative_entropy(problem: KeyRateProblem) -> RelativeEntropyBound:
    """``min_{rho in S} D(G(rho) || Z(G(rho)))`` with an upper value and a certified lower bound.

    Parameters
    ----------
    problem : KeyRateProblem

    Returns
    -------
    RelativeEntropyBound
        In bits (per signal when ``G`` carries the sifting probability).

    Raises
    ------
    ParameterError
        If the constraints admit no state (the statistics are not quantum-realisable).
    """
    with _single_threaded_numba():
        rho = _step1(problem)
        upper, lower = certified_lower_bound(problem, rho)
    residual = float(
        np.max(
            np.abs(
                np.einsum("jab,ba->j", problem.eq_ops, rho).real - problem.eq_values,
            ),
            initial=0.0,
        )
    )
    if problem.obs_radius > 0:
        distance = float(
            np.abs(np.einsum("iab,ba->i", problem.obs_ops, rho).real - problem.obs_values).sum()
        )
        residual = max(residual, distance - problem.obs_radius)
    if residual > 1e-5:
        raise ParameterError(
            f"Argument 'table' admits no quantum state (constraint residual {residual:.2e})."
        )
    return RelativeEntropyBound(
        upper_bits=upper / _LN2,
        lower_bits=lower / _LN2,
        constraint_residual=residual,
        state=rho,
    )
