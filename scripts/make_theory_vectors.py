"""Produce tests/vectors/theory.json: known-answer values for qkdstack.theory.

Written independently of the library (it does not import qkdstack), from the papers' equations:

* Shor & Preskill, PRL 85, 441 (2000): rate 1 - 2 h(e).
* Lo, QIC 1, 81 (2001): six-state rate 1 + (1 - 3e/2) log2(1 - 3e/2) + (3e/2) log2(e/2).
* Acin et al., PRL 98, 230501 (2007): DI rate 1 - h(Q) - h((1 + sqrt((S/2)^2 - 1))/2),
  S = 2 sqrt(2) (1 - 2Q).
* Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005): GYS parameters (Table I), channel model as explicit
  sums over photon numbers (Sec. II), GLLP rate Eq. (1), vacuum + weak decoy Eqs. (34)-(37).
* Ma, Fung, Lo, PRA 76, 012307 (2007): thermal pair source, as an explicit sum over pair numbers.
* Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014): Eqs. (1)-(5), system model Sec. IV.
* Pirandola et al., Nat. Commun. 8, 15043 (2017) and Takeoka et al., Nat. Commun. 5, 5235 (2014).

The photon-number sums (rather than the closed forms the library uses) and the separate optimiser
make this a check of the library, not a copy of it. Published numbers these reproduce are listed
under "published" in the output. Run from the repository root:
``.venv/bin/python scripts/make_theory_vectors.py`` (writes tests/vectors/theory.json).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy.optimize import brentq, minimize, minimize_scalar

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "theory.json"
N_MAX = 40  # photon-number cut-off of the explicit sums


def h2(p: float) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


# ----------------------------------------------------------------------- thresholds
def thresholds() -> dict[str, float]:
    sp = brentq(lambda e: 1 - 2 * h2(e), 0.01, 0.3, xtol=1e-14)

    def six(e: float) -> float:
        return 1 + (1 - 1.5 * e) * math.log2(1 - 1.5 * e) + 1.5 * e * math.log2(e / 2)

    six_state = brentq(six, 0.01, 0.3, xtol=1e-14)

    def di(q: float) -> float:
        s = 2 * math.sqrt(2) * (1 - 2 * q)
        return 1 - h2(q) - h2((1 + math.sqrt((s / 2) ** 2 - 1)) / 2)

    di_q = brentq(di, 0.001, 0.1, xtol=1e-14)
    return {
        "shor_preskill_qber": sp,
        "six_state_qber": six_state,
        "di_qber": di_q,
        "bbm92_qber": sp,
    }


def rate_samples() -> list[dict[str, float]]:
    rows = []
    for e_bit, e_ph, f in [
        (0.01, 0.01, 1.0),
        (0.03, 0.05, 1.16),
        (0.05, 0.02, 1.22),
        (0.1, 0.1, 1.0),
    ]:
        rows.append(
            {
                "qber_bit": e_bit,
                "qber_phase": e_ph,
                "f": f,
                "shor_preskill": 1 - f * h2(e_bit) - h2(e_ph),
            }
        )
    return rows


def six_state_samples() -> list[dict[str, float]]:
    rows = []
    for e, f in [(0.02, 1.0), (0.05, 1.1), (0.1, 1.0)]:
        pauli = [1 - 1.5 * e, e / 2, e / 2, e / 2]
        h_pauli = -sum(p * math.log2(p) for p in pauli)
        # Bob corrects the bit errors (f h(e)); privacy amplification removes H(pauli) - h(e).
        rows.append({"qber": e, "f": f, "rate": 1 - f * h2(e) - (h_pauli - h2(e))})
    return rows


def di_samples() -> list[dict[str, float]]:
    rows = []
    for s, q in [(2.8, 0.01), (2.6, 0.03), (2.5, 0.05), (2.2, 0.02)]:
        rows.append(
            {"chsh": s, "qber": q, "rate": 1 - h2(q) - h2((1 + math.sqrt((s / 2) ** 2 - 1)) / 2)}
        )
    return rows


def bound_samples() -> list[dict[str, float]]:
    return [
        {"eta": eta, "plob": -math.log2(1 - eta), "tgw": math.log2((1 + eta) / (1 - eta))}
        for eta in (1e-6, 1e-3, 0.1, 0.5, 0.9)
    ]


# ----------------------------------------------------------------------- GYS (MQZL 2005)
GYS = {"alpha": 0.21, "e_d": 0.033, "y0": 1.7e-6, "eta_bob": 0.045, "f": 1.22, "q": 0.5, "e0": 0.5}


def channel(mu: float, eta: float, g: dict[str, float]) -> tuple[float, float, float, float]:
    """(Q_mu, E_mu, Q_1, e_1) as explicit sums over the Poisson photon number (MQZL Sec. II)."""
    q_mu = 0.0
    eq_mu = 0.0
    p = math.exp(-mu)
    for n in range(N_MAX + 1):
        if n > 0:
            p *= mu / n
        eta_n = 1 - (1 - eta) ** n
        y_n = g["y0"] + eta_n - g["y0"] * eta_n
        q_mu += p * y_n
        eq_mu += p * (g["e0"] * g["y0"] + g["e_d"] * eta_n)
    y1 = g["y0"] + eta - g["y0"] * eta
    e1 = (g["e0"] * g["y0"] + g["e_d"] * eta) / y1
    return q_mu, eq_mu / q_mu, mu * math.exp(-mu) * y1, e1


def eta_at(d: float, g: dict[str, float]) -> float:
    return g["eta_bob"] * 10 ** (-g["alpha"] * d / 10)


def r_infinite(mu: float, d: float, g: dict[str, float]) -> float:
    q_mu, e_mu, q1, e1 = channel(mu, eta_at(d, g), g)
    return g["q"] * (q1 * (1 - h2(e1)) - g["f"] * q_mu * h2(e_mu))


def r_gllp(mu: float, d: float, g: dict[str, float]) -> float:
    q_mu, e_mu, _, _ = channel(mu, eta_at(d, g), g)
    p_multi = 1 - math.exp(-mu) - mu * math.exp(-mu)
    omega = 1 - p_multi / q_mu
    if omega <= 0:
        return -1.0
    return g["q"] * q_mu * (omega * (1 - h2(min(e_mu / omega, 0.5))) - g["f"] * h2(e_mu))


def r_vacuum_weak(mu: float, d: float, g: dict[str, float], nu: float) -> float:
    if mu <= nu:
        return -1.0
    eta = eta_at(d, g)
    q_mu, e_mu, _, _ = channel(mu, eta, g)
    q_nu, e_nu, _, _ = channel(nu, eta, g)
    y0 = channel(0.0, eta, g)[0]  # the vacuum decoy's gain
    y1l = (
        mu
        / (mu * nu - nu**2)
        * (q_nu * math.exp(nu) - q_mu * math.exp(mu) * nu**2 / mu**2 - (mu**2 - nu**2) / mu**2 * y0)
    )
    if y1l <= 0:
        return -1.0
    e1u = min((e_nu * q_nu * math.exp(nu) - g["e0"] * y0) / (y1l * nu), 0.5)
    q1l = mu * math.exp(-mu) * y1l
    return g["q"] * (q1l * (1 - h2(e1u)) - g["f"] * q_mu * h2(e_mu))


def best_mu(rate, d: float, lo: float = 1e-3, hi: float = 1.5) -> tuple[float, float]:
    """Golden-section-free search: a 60-point log grid, then a bounded Brent refinement."""
    grid = np.geomspace(lo, hi, 60)
    vals = [rate(m, d) for m in grid]
    i = int(np.argmax(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda m: -rate(m, d), bounds=(a, b), method="bounded", options={"xatol": 1e-8}
    )
    if -res.fun >= vals[i]:
        return float(res.x), float(-res.fun)
    return float(grid[i]), float(vals[i])


def max_distance(rate, lo_mu: float = 1e-3) -> float:
    """Bisection on the sign of the mu-optimised rate."""

    def positive(d: float) -> bool:
        return best_mu(rate, d, lo_mu)[1] > 0

    lo = 0.0
    while positive(lo + 5):
        lo += 5
    hi = lo + 5
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        if positive(mid):
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def gys_vectors() -> dict[str, object]:
    out: dict[str, object] = {}
    pts = []
    for d in (0.0, 50.0, 100.0, 140.0):
        mu, r = best_mu(lambda m, dd: r_infinite(m, dd, GYS), d)
        pts.append({"distance_km": d, "mu_opt": mu, "rate": r})
    out["infinite_decoy_points"] = pts
    out["infinite_decoy_max_distance_km"] = max_distance(lambda m, d: r_infinite(m, d, GYS))
    out["gllp_max_distance_km"] = max_distance(lambda m, d: r_gllp(m, d, GYS))
    gl = []
    for d in (0.0, 20.0):
        mu, r = best_mu(lambda m, dd: r_gllp(m, dd, GYS), d)
        gl.append({"distance_km": d, "mu_opt": mu, "rate": r})
    out["gllp_points"] = gl
    vw = []
    for nu in (0.02, 0.05, 0.1, 0.2):
        dmax = max_distance(lambda m, d, nu=nu: r_vacuum_weak(m, d, GYS, nu), lo_mu=nu * 1.001)
        mu50, r50 = best_mu(lambda m, d, nu=nu: r_vacuum_weak(m, d, GYS, nu), 50.0, nu * 1.001)
        vw.append({"nu": nu, "max_distance_km": dmax, "rate_50km": r50, "mu_opt_50km": mu50})
    out["vacuum_weak"] = vw
    # Fixed-mu channel values (no optimisation): exact known answers.
    fixed = []
    for mu, d in ((0.5, 0.0), (0.48, 60.0), (0.3, 120.0)):
        q_mu, e_mu, q1, e1 = channel(mu, eta_at(d, GYS), GYS)
        fixed.append(
            {
                "mu": mu,
                "distance_km": d,
                "gain": q_mu,
                "qber": e_mu,
                "q1": q1,
                "e1": e1,
                "rate_infinite": r_infinite(mu, d, GYS),
                "rate_gllp": r_gllp(mu, d, GYS),
                "rate_vacuum_weak_nu0.1": r_vacuum_weak(mu, d, GYS, 0.1),
            }
        )
    out["fixed_mu"] = fixed
    return out


# ----------------------------------------------------------------------- BBM92 (Ma-Fung-Lo 2007)
def bbm92_point(pair_mean: float, d: float, g: dict[str, float]) -> dict[str, float]:
    """Coincidence gain and QBER by explicit sum over the thermal pair number, source in middle."""
    lam = pair_mean / 2
    eta_arm = g["eta_bob"] * 10 ** (-g["alpha"] * d / 2 / 10)
    y0_arm = g["y0"]
    gain = 0.0
    for n in range(400):
        p_n = (n + 1) * lam**n / (1 + lam) ** (n + 2)
        # n pairs: each side clicks unless all its photons are lost and it has no background count.
        no_click = (1 - y0_arm) * (1 - eta_arm) ** n
        y_n = 1 - 2 * no_click + no_click**2
        gain += p_n * y_n
    # Error rate: MFL's generating-function result (Sec. III), written for the symmetric case.
    a = 1 + eta_arm * lam
    ab = 1 + 2 * eta_arm * lam - eta_arm**2 * lam
    err = 0.5 * gain - 2 * (0.5 - g["e_d"]) * eta_arm**2 * lam * (1 + lam) / (a * a * ab)
    qber = err / gain
    rate = 0.5 * gain * (1 - g["f"] * h2(qber) - h2(qber))
    return {"pair_mean": pair_mean, "distance_km": d, "gain": gain, "qber": qber, "rate": rate}


def bbm92_vectors() -> list[dict[str, float]]:
    return [bbm92_point(pm, d, GYS) for pm, d in ((0.05, 0.0), (0.1, 100.0), (0.02, 200.0))]


# ----------------------------------------------------------------------- Lim 2014
LIM = {"alpha": 0.2, "eta_bob": 0.1, "p_dc": 6e-7, "p_ap": 0.04, "e_mis": 0.005, "f": 1.16}


def lim_terms(mus, ps, nx_k, nz_k, mz_k, leak, eps_sec, eps_cor):
    """Eqs. (1)-(5) written out term by term."""
    m1, m2, m3 = mus
    tau0 = sum(p * math.exp(-m) for m, p in zip(mus, ps, strict=False))
    tau1 = sum(p * math.exp(-m) * m for m, p in zip(mus, ps, strict=False))
    ln = math.log(21 / eps_sec)

    def s01(n_k):
        dn = math.sqrt(sum(n_k) / 2 * ln)
        up = [math.exp(m) / p * (n + dn) for m, p, n in zip(mus, ps, n_k, strict=False)]
        dw = [math.exp(m) / p * (n - dn) for m, p, n in zip(mus, ps, n_k, strict=False)]
        s0 = max(0.0, tau0 * (m2 * dw[2] - m3 * up[1]) / (m2 - m3))
        num = dw[1] - up[2] - (m2**2 - m3**2) / m1**2 * (up[0] - s0 / tau0)
        s1 = max(0.0, tau1 * m1 * num / (m1 * (m2 - m3) - m2**2 + m3**2))
        return s0, s1

    sx0, sx1 = s01(nx_k)
    sz0, sz1 = s01(nz_k)
    dm = math.sqrt(sum(mz_k) / 2 * ln)
    mup = [math.exp(m) / p * (e + dm) for m, p, e in zip(mus, ps, mz_k, strict=False)]
    mdw = [math.exp(m) / p * (e - dm) for m, p, e in zip(mus, ps, mz_k, strict=False)]
    vz1 = max(0.0, tau1 * (mup[1] - mdw[2]) / (m2 - m3))
    if sz1 <= 0 or sx1 <= 0:
        phi = 0.5
    else:
        b = min(max(vz1 / sz1, 1 / sz1), 0.5)  # the library's documented floor of one error
        c, d = sz1, sx1
        gam = math.sqrt(
            (c + d)
            * (1 - b)
            * b
            / (c * d * math.log(2))
            * math.log2((c + d) / (c * d * (1 - b) * b) * 441 / eps_sec**2)
        )
        phi = min(b + gam, 0.5)
    ell = sx0 + sx1 - sx1 * h2(phi) - leak - 6 * math.log2(21 / eps_sec) - math.log2(2 / eps_cor)
    return {
        "length_real": ell,
        "s_x0": sx0,
        "s_x1": sx1,
        "phi_x": phi,
        "s_z0": sz0,
        "s_z1": sz1,
        "v_z1": vz1,
    }


def lim_model(mus, ps, qx, d, nx):
    eta = LIM["eta_bob"] * 10 ** (-LIM["alpha"] * d / 10)
    det = [1 - (1 - 2 * LIM["p_dc"]) * math.exp(-eta * k) for k in mus]
    rk = [x * (1 + LIM["p_ap"]) for x in det]
    ek = [
        LIM["p_dc"] + LIM["e_mis"] * (1 - math.exp(-eta * k)) + LIM["p_ap"] * x / 2
        for k, x in zip(mus, det, strict=False)
    ]
    n_pulses = nx / (qx**2 * sum(p * r for p, r in zip(ps, rk, strict=False)))
    nxk = [n_pulses * qx**2 * p * r for p, r in zip(ps, rk, strict=False)]
    mxk = [n_pulses * qx**2 * p * e for p, e in zip(ps, ek, strict=False)]
    nzk = [n_pulses * (1 - qx) ** 2 * p * r for p, r in zip(ps, rk, strict=False)]
    mzk = [n_pulses * (1 - qx) ** 2 * p * e for p, e in zip(ps, ek, strict=False)]
    leak = LIM["f"] * nx * h2(sum(mxk) / nx)
    return n_pulses, nxk, nzk, mzk, leak


def lim_rate(x, d, nx, eps_sec=1e-10, eps_cor=1e-15):
    qx, p1, p2, m1, m2 = x
    m3 = 2e-4
    p3 = 1 - p1 - p2
    if not (0 < qx < 1 and p1 > 0 and p2 > 0 and p3 > 0 and m2 > m3 and m1 > m2 + m3):
        return -1.0
    n_pulses, nxk, nzk, mzk, leak = lim_model((m1, m2, m3), (p1, p2, p3), qx, d, nx)
    try:
        return (
            lim_terms((m1, m2, m3), (p1, p2, p3), nxk, nzk, mzk, leak, eps_sec, eps_cor)[
                "length_real"
            ]
            / n_pulses
        )
    except (ValueError, ZeroDivisionError):
        return -1.0


def lim_optimum(d, nx, seed=7):
    """Random search then Nelder-Mead in the raw parameters (a different route from the library)."""
    rng = np.random.default_rng(seed)
    best = (-np.inf, None)
    for _ in range(4000):
        qx = rng.uniform(0.02, 0.98)
        p = rng.dirichlet([1, 1, 1])
        m2 = rng.uniform(0.002, 0.5)
        m1 = m2 + 2e-4 + rng.uniform(0.01, 0.9)
        x = np.array([qx, p[0], p[1], m1, m2])
        r = lim_rate(x, d, nx)
        if r > best[0]:
            best = (r, x)
    x = best[1]
    for _ in range(3):
        res = minimize(
            lambda y: -lim_rate(y, d, nx) * 1e6,
            x,
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000},
        )
        x = res.x
    return float(lim_rate(x, d, nx)), [float(v) for v in x]


def lim_vectors() -> dict[str, object]:
    fixed = []
    for d, nx, x in (
        (0.0, 1e6, (0.8, 0.6, 0.3, 0.45, 0.15)),
        (50.0, 1e7, (0.85, 0.5, 0.3, 0.4, 0.2)),
        (100.0, 1e9, (0.92, 0.75, 0.16, 0.44, 0.17)),
        (120.0, 1e4, (0.3, 0.05, 0.5, 0.5, 0.1)),
    ):
        qx, p1, p2, m1, m2 = x
        mus, ps = (m1, m2, 2e-4), (p1, p2, 1 - p1 - p2)
        n_pulses, nxk, nzk, mzk, leak = lim_model(mus, ps, qx, d, nx)
        terms = lim_terms(mus, ps, nxk, nzk, mzk, leak, 1e-10, 1e-15)
        fixed.append(
            {
                "distance_km": d,
                "n_x": nx,
                "q_x": qx,
                "intensities": list(mus),
                "intensity_probs": list(ps),
                "pulses": n_pulses,
                "key_counts": nxk,
                "test_counts": nzk,
                "test_errors": mzk,
                "leak_ec_bits": leak,
                "rate": terms["length_real"] / n_pulses,
                **terms,
            }
        )
    optimised = []
    for nx, d in ((1e4, 0.0), (1e4, 100.0), (1e4, 130.0), (1e7, 100.0), (1e9, 100.0), (1e6, 50.0)):
        r, x = lim_optimum(d, nx)
        optimised.append({"n_x": nx, "distance_km": d, "rate": r, "x": x})
    # Maximum distance for n_X = 10^4 (bisection on the optimised rate).
    lo, hi = 125.0, 140.0
    while hi - lo > 0.25:
        mid = (lo + hi) / 2
        if lim_optimum(mid, 1e4)[0] > 0:
            lo = mid
        else:
            hi = mid
    return {"fixed": fixed, "optimised": optimised, "max_distance_km_1e4": (lo + hi) / 2}


def main() -> None:
    data = {
        "provenance": (
            "scripts/make_theory_vectors.py (independent of qkdstack; explicit photon-number sums, "
            "own optimiser), numpy " + np.__version__
        ),
        "published": {
            "shor_preskill_qber": {"value": 0.110, "source": "Shor & Preskill PRL 85, 441 (2000)"},
            "six_state_qber": {"value": 0.1262, "source": "Lo, QIC 1, 81 (2001)"},
            "di_qber": {"value": 0.0715, "source": "Acin et al. PRL 98, 230501 (2007)"},
            "gys_infinite_decoy": {
                "max_distance_km": 142,
                "mu": 0.48,
                "source": "Ma, Qi, Zhao, Lo PRA 72, 012326 (2005)",
            },
            "gys_gllp": {
                "max_distance_km": 40,
                "source": "Ma, Qi, Zhao, Lo PRA 72, 012326 (2005) (no decoy)",
            },
            "lim2014_1e4_key_at_km": {
                "value": 135,
                "source": "Lim et al. PRA 89, 022307 (2014), Sec. IV",
            },
            "lim2014_ratio_1e9_1e7_at_100km": {
                "value": 1.75,
                "source": "Lim et al. PRA 89, 022307 (2014), Sec. IV",
            },
        },
        "thresholds": thresholds(),
        "shor_preskill": rate_samples(),
        "six_state": six_state_samples(),
        "device_independent": di_samples(),
        "bounds": bound_samples(),
        "gys": gys_vectors(),
        "bbm92_gys": bbm92_vectors(),
        "lim2014": lim_vectors(),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
