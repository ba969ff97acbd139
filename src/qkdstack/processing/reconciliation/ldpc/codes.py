"""The shipped LDPC mother codes: their rates and lengths, loading, and the syndrome ``H x``.

Codes of rates 0.50-0.90 (step 0.05) at three lengths, built by ``scripts/make_ldpc_codes.py``
(``make codes``) from the BSC-optimised degree distributions of Elkouss et al. 2009 (Table I; at
2^20 bits, rates whose distribution was re-optimised by discretised density evolution,
``scripts/optimize_ldpc_degrees.py``) and shipped as ``codes/ldpc_R<rate>_N<N>.npz`` beside this
package:

- 65536 bits: progressive edge growth (Hu et al. 2005), stored edge by edge;
- 262144 = 2^18 bits: quasi-cyclic, a 1024-column base graph grown by progressive edge growth,
  lifted by 256 x 256 circulant permutations whose shifts leave no 4-cycle and few 6-cycles
  (Fossorier 2004), stored as base edges and shifts (~17 kB per code);
- 1048576 = 2^20 bits: quasi-cyclic, the same kind of base graph lifted by 1024 x 1024 circulants
  (each shift of the 2^18-bit construction plus a seeded multiple of 256, which keeps it free of
  4-cycles: Fossorier 2004, Theorem 2).

References
----------
X.-Y. Hu, E. Eleftheriou, D.-M. Arnold, "Regular and irregular progressive edge-growth Tanner
graphs", IEEE Trans. Inf. Theory 51, 386 (2005).
M. P. C. Fossorier, "Quasi-cyclic low-density parity-check codes from circulant permutation
matrices", IEEE Trans. Inf. Theory 50, 1788 (2004).
D. Elkouss, A. Leverrier, R. Alleaume, J. J. Boutros, "Efficient reconciliation protocol for
discrete-variable quantum key distribution", ISIT 2009.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
from numba import njit

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray

__all__ = ["CODE_LENGTHS", "CODE_RATES", "LDPCCode", "load_code", "syndrome"]

_N = 65536  # length of the progressive-edge-growth codes (and of every ldpc-blind frame)
_N_BASE = 1024  # columns of the base graph of the quasi-cyclic codes
CODE_RATES: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
"""Rates of the shipped mother codes (each at every length of :data:`CODE_LENGTHS`)."""
CODE_LENGTHS: tuple[int, ...] = (65536, 262144, 1048576)
"""Lengths of the shipped mother codes: PEG codes of 65536 bits, quasi-cyclic codes of 2^18 and
2^20 bits."""


@dataclass(frozen=True)
class LDPCCode:
    """A parity-check matrix as its Tanner-graph edges.

    Attributes
    ----------
    n, m : int
        Columns (bits per frame) and rows (syndrome bits).
    edge_check, edge_var : ndarray of int64
        Row and column of each one of ``H``, sorted by column.
    check_order : ndarray of int64
        Edge indices sorted by row; ``check_ptr`` (length m + 1) delimits each row's edges in it.
    var_ptr : ndarray of int64
        Length n + 1: column ``v``'s edges are ``var_ptr[v]:var_ptr[v+1]``.
    check_var : ndarray of int32
        ``edge_var[check_order]``: the column of every edge, edges in row order (the decoder's
        layout).
    """

    n: int
    m: int
    edge_check: npt.NDArray[np.int64]
    edge_var: npt.NDArray[np.int64]
    check_order: npt.NDArray[np.int64]
    check_ptr: npt.NDArray[np.int64]
    var_ptr: npt.NDArray[np.int64]
    check_var: npt.NDArray[np.int32]

    @property
    def rate(self) -> float:
        """Design rate ``1 - m / n``."""
        return 1.0 - self.m / self.n


@cache
def load_code(rate: float, length: int = _N) -> LDPCCode:
    """The shipped mother code of rate ``rate`` (one of :data:`CODE_RATES`) and ``length`` bits.

    Codes of 65536 bits are stored edge by edge (progressive edge growth); codes of 2^18 and 2^20
    bits are quasi-cyclic, stored as a base graph of 1024 columns and the shift of every base edge:
    base edge ``(c, v)`` with shift ``s`` stands for the ``Z x Z`` circulant permutation that joins
    column ``v Z + j`` to row ``c Z + (j + s) mod Z``, with ``Z`` the file's ``lift`` (256 and
    1024) (Fossorier, IEEE Trans. Inf. Theory 50, 1788 (2004)).
    """
    if rate not in CODE_RATES:
        raise ParameterError(f"Argument 'rate' must be one of {CODE_RATES}, not {rate}.")
    if length not in CODE_LENGTHS:
        raise ParameterError(f"Argument 'length' must be one of {CODE_LENGTHS}, not {length}.")
    name = f"ldpc_R{rate:.2f}_N{length}.npz"
    path = resources.files("qkdstack.processing.reconciliation").joinpath("codes", name)
    with path.open("rb") as fh, np.load(fh) as data:
        rows = data["rows"].astype(np.int64)
        degrees = data["degrees"].astype(np.int64)
        n, m = int(data["n"]), int(data["m"])
        shifts = data["shifts"].astype(np.int64) if "shifts" in data else None
        lift = int(data["lift"]) if "lift" in data else 1
    cols = np.repeat(np.arange(n, dtype=np.int64), degrees)
    if shifts is not None:
        # Lift: base edge e becomes the edges (rows[e] Z + (j + s_e) mod Z, cols[e] Z + j).
        # Base edges are sorted by column, then row, so within one base column the lifted edges
        # come out sorted by (column, row) when laid out as (j, edge).
        j = np.arange(lift, dtype=np.int64)
        lifted_check = np.empty(rows.size * lift, dtype=np.int64)
        lifted_var = np.empty(rows.size * lift, dtype=np.int64)
        ends = np.cumsum(degrees)
        for v in range(n):
            lo, hi = int(ends[v] - degrees[v]), int(ends[v])
            block = rows[lo:hi][None, :] * lift + (j[:, None] + shifts[lo:hi][None, :]) % lift
            lifted_check[lo * lift : hi * lift] = block.ravel()
            lifted_var[lo * lift : hi * lift] = np.repeat(v * lift + j, hi - lo)
        rows, cols = lifted_check, lifted_var
        n, m = n * lift, m * lift
    check_order = np.argsort(rows, kind="stable").astype(np.int64)
    check_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=check_ptr[1:])
    var_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=n), out=var_ptr[1:])
    check_var = cols[check_order].astype(np.int32)
    return LDPCCode(n, m, rows, cols, check_order, check_ptr, var_ptr, check_var)


@njit(cache=True)
def _syndrome(
    edge_check: npt.NDArray[np.int64], edge_var: npt.NDArray[np.int64], m: int, bits: BitArray
) -> BitArray:  # pragma: no cover
    out = np.zeros(m, dtype=np.uint8)
    for e in range(edge_check.shape[0]):
        out[edge_check[e]] ^= bits[edge_var[e]]
    return out


def syndrome(code: LDPCCode, bits: BitArray) -> BitArray:
    """``H x mod 2`` for one frame ``bits`` (length ``code.n``)."""
    return _syndrome(code.edge_check, code.edge_var, code.m, np.ascontiguousarray(bits, np.uint8))


def _checks(rate: float, length: int) -> int:
    """Rows of the mother code of ``rate`` and ``length`` (quasi-cyclic: base rows times Z)."""
    if length == _N:
        return round(_N * (1.0 - rate))
    return round(_N_BASE * (1.0 - rate)) * (length // _N_BASE)
