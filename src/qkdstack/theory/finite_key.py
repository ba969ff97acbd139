"""Finite-key security of decoy-state BB84 (Lim, Curty, Walenta, Xu, Zbinden 2014).

The protocol sends phase-randomised weak coherent pulses of three intensities
``mu_1 > mu_2 + mu_3``, ``mu_2 > mu_3 >= 0``, chosen with probabilities ``p_k``. The key is drawn
from the detections in the *key* basis (the paper's X) and the *test* basis (the paper's Z) serves
to estimate the phase error. From the observed counts alone,

* ``s_X,0 >= tau_0 (mu_2 n^-_{X,mu3} - mu_3 n^+_{X,mu2}) / (mu_2 - mu_3)``            (Eq. (2))
* ``s_X,1 >= tau_1 mu_1 [n^-_{X,mu2} - n^+_{X,mu3} - (mu_2^2 - mu_3^2)/mu_1^2
  (n^+_{X,mu1} - s_X,0/tau_0)] / (mu_1 (mu_2 - mu_3) - mu_2^2 + mu_3^2)``               (Eq. (3))
* ``v_Z,1 <= tau_1 (m^+_{Z,mu2} - m^-_{Z,mu3}) / (mu_2 - mu_3)``                        (Eq. (4))
* ``phi_X <= v_Z,1/s_Z,1 + gamma(eps_sec, v_Z,1/s_Z,1, s_Z,1, s_X,1)``                  (Eq. (5))
* ``l = floor(s_X,0 + s_X,1 - s_X,1 h(phi_X) - lambda_EC - 6 log2(21/eps_sec)
  - log2(2/eps_cor))``                                                                 (Eq. (1))

with ``tau_n = sum_k exp(-k) k^n p_k / n!``, the Hoeffding-corrected counts
``n^pm_{X,k} = (e^k / p_k) [n_X,k pm sqrt(n_X/2 ln(21/eps_sec))]`` (Eqs. (A7)-(A8)) and likewise
``m^pm_{Z,k}`` with ``m_Z`` (Eqs. (A9)-(A10)), and
``gamma(a,b,c,d) = sqrt((c+d)(1-b)b / (c d ln 2) log2((c+d)/(c d (1-b) b) 21^2/a^2))``.

The module also holds the paper's system model (Sec. IV) so that its Fig. 1 can be reproduced:
expected detection rate ``D_k = 1 - (1 - 2 p_dc) exp(-eta_sys k)``, with after-pulses
``R_k = D_k (1 + p_ap)``, and error probability ``e_k = p_dc + e_mis (1 - exp(-eta_sys k))
+ p_ap D_k / 2``; ``lambda_EC = f_EC n_X h(e_obs)``. (The paper writes ``eta_ch`` in the
misalignment term of ``e_k``; we use ``eta_sys = eta_ch eta_Bob``, which makes ``e_mis`` the optical
error rate of detected photons as the text defines it; with it the paper's Fig. 1 numbers are
reproduced, see ``benchmarks/bench_lim2014.py``.)

References
----------
C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security bounds for practical
decoy-state quantum key distribution", Phys. Rev. A 89, 022307 (2014), Eqs. (1)-(5), (A7)-(A10),
Sec. IV.
W. Hoeffding, J. Amer. Stat. Assoc. 58, 13 (1963).
C.-H. F. Fung, X. Ma, H. F. Chau, Phys. Rev. A 81, 012318 (2010) (the sampling bound ``gamma``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.theory.entropy import binary_entropy

__all__ = [
    "LIM2014_FORMULA",
    "ExpectedCounts",
    "FiniteKeyResult",
    "Lim2014Settings",
    "check_lim2014_intensities",
    "lim2014_expected_counts",
    "lim2014_key_length",
    "lim2014_rate",
    "optimise_lim2014",
]

LIM2014_FORMULA = (
    "Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014), Eqs. (1)-(5): "
    "decoy-state BB84 finite-key length (two decoys, Hoeffding bounds, eps_sec = 21 eps)"
)


@dataclass(frozen=True)
class FiniteKeyResult:
    """The secure key length of Lim et al. (2014) and the bounds it is built from.

    Attributes
    ----------
    length_bits : int
        ``l`` of Eq. (1), floored; ``<= 0`` means that no key may be extracted.
    vacuum_events_lower : float
        ``s_X,0`` (Eq. (2)), vacuum events in the key, clipped at 0.
    single_photon_events_lower : float
        ``s_X,1`` (Eq. (3)), single-photon events in the key, clipped at 0.
    phase_error_upper : float
        ``phi_X`` (Eq. (5)), phase-error rate of the single-photon key events, in [0, 1/2].
    test_vacuum_events_lower, test_single_photon_events_lower : float
        ``s_Z,0`` and ``s_Z,1``, the same bounds from the test-basis counts.
    test_single_photon_errors_upper : float
        ``v_Z,1`` (Eq. (4)).
    key_bits : int
        ``n_X``, the raw key length (all intensities).
    leak_ec_bits, epsilon_sec, epsilon_cor : float
        The inputs the length was computed with.
    length_bits_unfloored : float
        ``l`` before the floor (may be negative); useful to optimisers.
    single_photon_prob : float
        ``tau_1``, the probability that Alice sends one photon (for the yield bound).
    formula : str
        Name and citation of the formula.
    """

    length_bits: int
    vacuum_events_lower: float
    single_photon_events_lower: float
    phase_error_upper: float
    test_vacuum_events_lower: float
    test_single_photon_events_lower: float
    test_single_photon_errors_upper: float
    key_bits: int
    leak_ec_bits: float
    epsilon_sec: float
    epsilon_cor: float
    length_bits_unfloored: float = field(repr=False)
    single_photon_prob: float = field(repr=False, default=0.0)
    formula: str = LIM2014_FORMULA

    @property
    def single_photon_fraction(self) -> float:
        """``s_X,1 / n_X``: lower bound on the fraction of key bits from single photons."""
        return self.single_photon_events_lower / self.key_bits if self.key_bits else 0.0

    def single_photon_yield_lower(self, key_basis_pulses: float) -> float:
        """Lower bound on the single-photon yield ``Y_1 = s_X,1 / (tau_1 N_X)``.

        Parameters
        ----------
        key_basis_pulses : float
            ``N_X``: pulses in which both parties used the key basis (sent or expected, e.g.
            Alice's key-basis pulses times Bob's key-basis probability).

        References
        ----------
        Lim et al., PRA 89, 022307 (2014), Eq. (A3): ``tau_n`` is the probability that Alice sends
        an n-photon state, so ``tau_1 N_X`` single photons gave ``s_X,1`` detections.
        """
        if not key_basis_pulses > 0:
            raise ParameterError(
                f"Argument 'key_basis_pulses' must be > 0, not {key_basis_pulses!r}."
            )
        return self.single_photon_events_lower / (self.single_photon_prob * key_basis_pulses)


def _as_counts(name: str, values: Sequence[float], size: int) -> list[float]:
    out = [float(v) for v in values]
    if len(out) != size:
        raise ParameterError(
            f"Argument '{name}' must hold {size} values (one per intensity), not {len(out)}."
        )
    for v in out:
        if not (v >= 0.0) or not math.isfinite(v):
            raise ParameterError(f"Argument '{name}' must hold counts >= 0, not {v!r}.")
    return out


def check_lim2014_intensities(intensities: Sequence[float], probs: Sequence[float]) -> None:
    """Refuse decoy settings the Lim et al. 2014 bounds cannot use.

    The bounds (Eqs. (2)-(4)) need three intensities with ``mu_1 > mu_2 + mu_3`` and
    ``mu_2 > mu_3 >= 0``, each chosen with a probability ``p_k > 0``.

    Raises
    ------
    ParameterError
        Naming ``intensities`` or ``intensity_probs`` and the values.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014), Sec. III.
    """
    if len(intensities) != 3:
        raise ParameterError(
            f"Argument 'intensities' must hold 3 values (mu_1, mu_2, mu_3), not {len(intensities)}."
        )
    mu1, mu2, mu3 = (float(m) for m in intensities)
    if not (mu3 >= 0.0 and mu2 > mu3 and mu1 > mu2 + mu3):
        raise ParameterError(
            "Argument 'intensities' must satisfy mu_1 > mu_2 + mu_3 and mu_2 > mu_3 >= 0, "
            f"not {tuple(intensities)!r}."
        )
    if len(probs) != 3 or any(not (p > 0.0) for p in probs) or abs(sum(probs) - 1.0) > 1e-9:
        raise ParameterError(
            f"Argument 'intensity_probs' must hold 3 values > 0 summing to 1, not {tuple(probs)!r}."
        )


def _tau(n: int, mus: Sequence[float], probs: Sequence[float]) -> float:
    """``tau_n``: probability that Alice sends an n-photon state (Lim 2014, after Eq. (2))."""
    return sum(p * math.exp(-m) * m**n / math.factorial(n) for m, p in zip(mus, probs, strict=True))


def _gamma(a: float, b: float, c: float, d: float) -> float:
    """Fung-Ma-Chau sampling term ``gamma(a, b, c, d)`` of Lim 2014, Eq. (5)."""
    inner = (c + d) / (c * d * (1.0 - b) * b) * 21.0**2 / a**2
    return math.sqrt((c + d) * (1.0 - b) * b / (c * d * math.log(2.0)) * math.log2(inner))


def _decoy_bounds(
    mus: Sequence[float], probs: Sequence[float], counts: Sequence[float], epsilon_sec: float
) -> tuple[float, float]:
    """``(s_0, s_1)`` lower bounds of Eqs. (2)-(3) for one basis."""
    mu1, mu2, mu3 = mus
    total = sum(counts)
    delta = math.sqrt(total / 2.0 * math.log(21.0 / epsilon_sec))
    n_plus = [math.exp(m) / p * (n + delta) for m, p, n in zip(mus, probs, counts, strict=True)]
    n_minus = [math.exp(m) / p * (n - delta) for m, p, n in zip(mus, probs, counts, strict=True)]
    tau0 = _tau(0, mus, probs)
    tau1 = _tau(1, mus, probs)
    s0 = tau0 * (mu2 * n_minus[2] - mu3 * n_plus[1]) / (mu2 - mu3)
    s0 = max(s0, 0.0)
    s1 = (
        tau1
        * mu1
        * (n_minus[1] - n_plus[2] - (mu2**2 - mu3**2) / mu1**2 * (n_plus[0] - s0 / tau0))
        / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
    )
    return s0, max(s1, 0.0)


def _length_real(
    mus: Sequence[float],
    probs: Sequence[float],
    key_counts: Sequence[float],
    test_counts: Sequence[float],
    test_errors: Sequence[float],
    leak_ec_bits: float,
    epsilon_sec: float,
    epsilon_cor: float,
) -> tuple[float, float, float, float, float, float, float]:
    _, mu2, mu3 = mus
    s_x0, s_x1 = _decoy_bounds(mus, probs, key_counts, epsilon_sec)
    s_z0, s_z1 = _decoy_bounds(mus, probs, test_counts, epsilon_sec)
    m_z = sum(test_errors)
    delta_m = math.sqrt(m_z / 2.0 * math.log(21.0 / epsilon_sec))
    m_plus = [
        math.exp(m) / p * (e + delta_m) for m, p, e in zip(mus, probs, test_errors, strict=True)
    ]
    m_minus = [
        math.exp(m) / p * (e - delta_m) for m, p, e in zip(mus, probs, test_errors, strict=True)
    ]
    v_z1 = _tau(1, mus, probs) * (m_plus[1] - m_minus[2]) / (mu2 - mu3)
    v_z1 = max(v_z1, 0.0)
    if s_z1 <= 0.0 or s_x1 <= 0.0:
        phi = 0.5
    else:
        # The sampling bound degenerates at b = 0 (it would certify a zero phase error);
        # one error among the s_Z,1 single-photon test events is the smallest rate we accept.
        b = min(max(v_z1 / s_z1, 1.0 / s_z1), 0.5)
        phi = min(b + _gamma(epsilon_sec, b, s_z1, s_x1), 0.5)
    length = (
        s_x0
        + s_x1 * (1.0 - float(binary_entropy(phi)))
        - leak_ec_bits
        - 6.0 * math.log2(21.0 / epsilon_sec)
        - math.log2(2.0 / epsilon_cor)
    )
    return length, s_x0, s_x1, phi, s_z0, s_z1, v_z1


def _length_guarded(*args: object) -> float:
    # Degenerate settings (an underflowed probability or intensity gap) prove nothing.
    try:
        return _length_real(*args)[0]  # type: ignore[arg-type]
    except (ZeroDivisionError, OverflowError, ValueError):
        return -math.inf


def lim2014_key_length(
    *,
    intensities: Sequence[float],
    intensity_probs: Sequence[float],
    key_counts: Sequence[float],
    test_counts: Sequence[float],
    test_errors: Sequence[float],
    leak_ec_bits: float,
    epsilon_sec: float,
    epsilon_cor: float,
) -> FiniteKeyResult:
    """Secure key length of decoy-state BB84 from the counts a run observed (Lim et al. 2014).

    Parameters
    ----------
    intensities : sequence of 3 floats
        ``(mu_1, mu_2, mu_3)`` mean photon numbers, ``mu_1 > mu_2 + mu_3``, ``mu_2 > mu_3 >= 0``.
    intensity_probs : sequence of 3 floats
        ``p_k``, the probabilities with which Alice chose each intensity (> 0, sum 1).
    key_counts : sequence of 3 counts
        ``n_X,k``: sifted detections in the key basis for each intensity (all form the raw key).
    test_counts : sequence of 3 counts
        ``n_Z,k``: sifted detections in the test basis for each intensity.
    test_errors : sequence of 3 counts
        ``m_Z,k``: bit errors among the test-basis detections for each intensity.
    leak_ec_bits : float
        ``lambda_EC``: bits disclosed by error correction, as measured on the channel.
    epsilon_sec, epsilon_cor : float
        Secrecy and correctness parameters in (0, 1).

    Returns
    -------
    FiniteKeyResult
        ``length_bits`` (may be ``<= 0``: then no key), ``s_X,0``, ``s_X,1``, ``phi_X`` and the
        test-basis bounds.

    Notes
    -----
    The basis probabilities do not enter Eqs. (1)-(5): only the observed counts do. The
    verification hash of ``log2(1/eps_cor)`` bits is already accounted for by the
    ``log2(2/eps_cor)`` term, so it must not be counted again in ``leak_ec_bits``.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), Eqs. (1)-(5) and (A7)-(A10).
    """
    check_lim2014_intensities(intensities, intensity_probs)
    mus = [float(m) for m in intensities]
    probs = [float(p) for p in intensity_probs]
    n_x = _as_counts("key_counts", key_counts, 3)
    n_z = _as_counts("test_counts", test_counts, 3)
    m_z = _as_counts("test_errors", test_errors, 3)
    for k in range(3):
        if m_z[k] > n_z[k]:
            raise ParameterError(
                f"Argument 'test_errors' must not exceed 'test_counts' ({n_z[k]:g}), not {m_z[k]:g}."
            )
    if not (leak_ec_bits >= 0.0) or not math.isfinite(leak_ec_bits):
        raise ParameterError(f"Argument 'leak_ec_bits' must be >= 0, not {leak_ec_bits!r}.")
    for name, eps in (("epsilon_sec", epsilon_sec), ("epsilon_cor", epsilon_cor)):
        if not 0.0 < eps < 1.0:
            raise ParameterError(f"Argument '{name}' must be in (0, 1), not {eps!r}.")
    length, s_x0, s_x1, phi, s_z0, s_z1, v_z1 = _length_real(
        mus, probs, n_x, n_z, m_z, leak_ec_bits, epsilon_sec, epsilon_cor
    )
    return FiniteKeyResult(
        length_bits=math.floor(length),
        vacuum_events_lower=s_x0,
        single_photon_events_lower=s_x1,
        phase_error_upper=phi,
        test_vacuum_events_lower=s_z0,
        test_single_photon_events_lower=s_z1,
        test_single_photon_errors_upper=v_z1,
        key_bits=round(sum(n_x)),
        leak_ec_bits=float(leak_ec_bits),
        epsilon_sec=float(epsilon_sec),
        epsilon_cor=float(epsilon_cor),
        length_bits_unfloored=length,
        single_photon_prob=_tau(1, mus, probs),
    )


@dataclass(frozen=True)
class Lim2014Settings:
    """The free parameters of the protocol that the paper optimises (Sec. IV).

    Attributes
    ----------
    intensities : tuple of 3 floats
        ``(mu_1, mu_2, mu_3)``.
    intensity_probs : tuple of 3 floats
        ``(p_mu1, p_mu2, p_mu3)``.
    basis_prob_key : float
        ``q_x``, probability that Alice (and Bob) choose the key basis.
    """

    intensities: tuple[float, float, float]
    intensity_probs: tuple[float, float, float]
    basis_prob_key: float


@dataclass(frozen=True)
class ExpectedCounts:
    """Expected counts of the Lim 2014 system model for a block of ``n_X`` key-basis detections.

    Attributes
    ----------
    pulses : float
        ``N``, laser pulses Alice sends to collect the block.
    key_counts, key_errors, test_counts, test_errors : tuple of 3 floats
        ``n_X,k``, ``m_X,k``, ``n_Z,k``, ``m_Z,k`` per intensity.
    """

    pulses: float
    key_counts: tuple[float, float, float]
    key_errors: tuple[float, float, float]
    test_counts: tuple[float, float, float]
    test_errors: tuple[float, float, float]

    @property
    def key_qber(self) -> float:
        """``e_obs``: the average error rate of the key basis."""
        return sum(self.key_errors) / sum(self.key_counts)


def lim2014_expected_counts(
    settings: Lim2014Settings,
    *,
    system_transmittance: float,
    block_bits: float,
    dark_count_prob: float,
    afterpulse_prob: float,
    misalignment_error: float,
) -> ExpectedCounts:
    """Expected counts of the paper's dedicated-fibre system model (Lim 2014, Sec. IV).

    ``D_k = 1 - (1 - 2 p_dc) exp(-eta_sys k)``, ``R_k = D_k (1 + p_ap)``, errors
    ``e_k = p_dc + e_mis (1 - exp(-eta_sys k)) + p_ap D_k / 2`` per pulse; the key basis is used
    with probability ``q_x^2`` and the test basis with ``(1 - q_x)^2``. ``N`` is chosen so that the
    key basis collects ``n_X = block_bits`` detections.

    Parameters
    ----------
    settings : Lim2014Settings
        Intensities, their probabilities and ``q_x``.
    system_transmittance : float
        ``eta_sys = eta_ch eta_Bob`` in (0, 1].
    block_bits : float
        ``n_X``, the post-processing block size.
    dark_count_prob, afterpulse_prob, misalignment_error : float
        ``p_dc`` (per detector, two detectors), ``p_ap``, ``e_mis``.

    Returns
    -------
    ExpectedCounts

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), Sec. IV.
    """
    if not 0.0 < system_transmittance <= 1.0:
        raise ParameterError(
            f"Argument 'system_transmittance' must be in (0, 1], not {system_transmittance!r}."
        )
    if not block_bits > 0:
        raise ParameterError(f"Argument 'block_bits' must be > 0, not {block_bits!r}.")
    q = settings.basis_prob_key
    rates = []
    errors = []
    for k in settings.intensities:
        detect = 1.0 - (1.0 - 2.0 * dark_count_prob) * math.exp(-system_transmittance * k)
        rates.append(detect * (1.0 + afterpulse_prob))
        errors.append(
            dark_count_prob
            + misalignment_error * (-math.expm1(-system_transmittance * k))
            + afterpulse_prob * detect / 2.0
        )
    probs = settings.intensity_probs
    per_pulse_key = q * q * sum(p * r for p, r in zip(probs, rates, strict=True))
    pulses = block_bits / per_pulse_key
    key = tuple(pulses * q * q * p * r for p, r in zip(probs, rates, strict=True))
    key_err = tuple(pulses * q * q * p * e for p, e in zip(probs, errors, strict=True))
    tq = (1.0 - q) ** 2
    test = tuple(pulses * tq * p * r for p, r in zip(probs, rates, strict=True))
    test_err = tuple(pulses * tq * p * e for p, e in zip(probs, errors, strict=True))
    return ExpectedCounts(pulses, key, key_err, test, test_err)  # type: ignore[arg-type]


def lim2014_rate(
    settings: Lim2014Settings,
    *,
    system_transmittance: float,
    block_bits: float,
    dark_count_prob: float,
    afterpulse_prob: float,
    misalignment_error: float,
    ec_efficiency: float,
    epsilon_sec: float,
    epsilon_cor: float,
    secrecy_per_key_bit: float | None = None,
) -> float:
    """Expected finite-key rate ``l / N`` (bits per pulse) of the Lim 2014 system model.

    ``lambda_EC = f_EC n_X h(e_obs)``. If ``secrecy_per_key_bit`` (the paper's ``kappa``) is given,
    ``eps_sec = kappa l`` is solved self-consistently as in the paper's Sec. IV; otherwise
    ``epsilon_sec`` is used. The returned value is *not* floored and may be negative (no key);
    this keeps the optimiser informed below threshold.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), Eq. (1) and Sec. IV.
    """
    try:
        check_lim2014_intensities(settings.intensities, settings.intensity_probs)
    except ParameterError:
        return -math.inf
    if not 0.0 < settings.basis_prob_key < 1.0:
        return -math.inf
    counts = lim2014_expected_counts(
        settings,
        system_transmittance=system_transmittance,
        block_bits=block_bits,
        dark_count_prob=dark_count_prob,
        afterpulse_prob=afterpulse_prob,
        misalignment_error=misalignment_error,
    )
    leak = ec_efficiency * block_bits * float(binary_entropy(counts.key_qber))
    eps = epsilon_sec
    length = 0.0
    for _ in range(1 if secrecy_per_key_bit is None else 6):
        length = _length_guarded(
            settings.intensities,
            settings.intensity_probs,
            counts.key_counts,
            counts.test_counts,
            counts.test_errors,
            leak,
            eps,
            epsilon_cor,
        )
        if secrecy_per_key_bit is None or length <= 1.0:
            break
        eps = min(secrecy_per_key_bit * length, 0.5)
    return length / counts.pulses


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(v, -20.0), 20.0)))


def _decode(x: np.ndarray, mu3: float, mu1_fixed: float | None = None) -> Lim2014Settings:
    """Unconstrained vector -> settings satisfying mu_1 > mu_2 + mu_3, mu_2 > mu_3, p_k > 0."""
    q = _sigmoid(x[0])
    w = np.exp(np.clip([x[1], x[2], 0.0], -20.0, 20.0))
    probs = w / w.sum()
    if mu1_fixed is None:
        mu2 = mu3 + math.exp(min(max(x[3], -15.0), 3.0))
        mu1 = mu2 + mu3 + math.exp(min(max(x[4], -15.0), 3.0))
    else:
        mu1 = mu1_fixed
        mu2 = mu3 + (mu1 - 2.0 * mu3) * _sigmoid(x[3])
    return Lim2014Settings((mu1, mu2, mu3), (float(probs[0]), float(probs[1]), float(probs[2])), q)


def _encode(settings: Lim2014Settings, mu1_fixed: float | None = None) -> np.ndarray:
    mu1, mu2, mu3 = settings.intensities
    p1, p2, p3 = settings.intensity_probs
    q = settings.basis_prob_key
    if mu1_fixed is None:
        x3, x4 = math.log(mu2 - mu3), math.log(mu1 - mu2 - mu3)
    else:
        frac = min(max((mu2 - mu3) / (mu1_fixed - 2.0 * mu3), 1e-6), 1.0 - 1e-6)
        x3, x4 = math.log(frac / (1.0 - frac)), 0.0
    return np.array([math.log(q / (1.0 - q)), math.log(p1 / p3), math.log(p2 / p3), x3, x4])


def optimise_lim2014(
    *,
    system_transmittance: float,
    block_bits: float,
    dark_count_prob: float,
    afterpulse_prob: float,
    misalignment_error: float,
    ec_efficiency: float,
    epsilon_sec: float,
    epsilon_cor: float,
    secrecy_per_key_bit: float | None = None,
    weakest_intensity: float = 2e-4,
    signal_intensity: float | None = None,
    start: Lim2014Settings | None = None,
) -> tuple[Lim2014Settings, float]:
    """Maximise the Lim 2014 rate over ``q_x, p_mu1, p_mu2, mu_1, mu_2`` (``mu_3`` fixed).

    Nelder-Mead (scipy) on an unconstrained encoding of the settings, started from the best point
    of a coarse grid, from ``start`` and from a fixed point, each simplex restarted twice from its
    own result; the best of the runs is returned. ``signal_intensity`` fixes ``mu_1`` (then
    ``mu_2`` ranges over ``(mu_3, mu_1 - mu_3)``). Other parameters are those of
    :func:`lim2014_rate`.

    Returns
    -------
    (Lim2014Settings, float)
        The best settings found and their rate in bits per pulse (``<= 0``: no key even at best).

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), Sec. IV (the optimised parameters).
    """
    mu3 = weakest_intensity
    mu1_fixed = signal_intensity
    if not mu3 >= 0.0:
        raise ParameterError(f"Argument 'weakest_intensity' must be >= 0, not {mu3!r}.")
    if mu1_fixed is not None and not mu1_fixed > 2.0 * mu3:
        raise ParameterError(
            f"Argument 'signal_intensity' must be > 2 * weakest_intensity, not {mu1_fixed!r}."
        )

    def objective(x: np.ndarray) -> float:
        rate = lim2014_rate(
            _decode(x, mu3, mu1_fixed),
            system_transmittance=system_transmittance,
            block_bits=block_bits,
            dark_count_prob=dark_count_prob,
            afterpulse_prob=afterpulse_prob,
            misalignment_error=misalignment_error,
            ec_efficiency=ec_efficiency,
            epsilon_sec=epsilon_sec,
            epsilon_cor=epsilon_cor,
            secrecy_per_key_bit=secrecy_per_key_bit,
        )
        # Scale so that the simplex tolerances are meaningful for tiny rates.
        return -rate * 1e6 if math.isfinite(rate) else 1e30

    # Seed the simplex from the best point of a coarse grid: for small blocks the feasible
    # region is narrow and a fixed start can sit on a flat, keyless plateau.
    grid_best: tuple[float, Lim2014Settings] | None = None
    for q in (0.1, 0.3, 0.5, 0.7, 0.9):
        for p1, p2 in ((0.05, 0.5), (0.2, 0.4), (0.4, 0.3), (0.6, 0.2), (0.8, 0.1)):
            for mu1 in (0.3, 0.5, 0.8) if mu1_fixed is None else (mu1_fixed,):
                for frac in (0.1, 0.3, 0.5):
                    mu2 = mu3 + frac * (mu1 - 2.0 * mu3)
                    cand = Lim2014Settings((mu1, mu2, mu3), (p1, p2, 1.0 - p1 - p2), q)
                    value = objective(_encode(cand, mu1_fixed))
                    if grid_best is None or value < grid_best[0]:
                        grid_best = (value, cand)
    starts = [] if grid_best is None else [grid_best[1]]
    if mu1_fixed is None:
        starts.append(Lim2014Settings((0.5, 0.1, mu3), (0.7, 0.2, 0.1), 0.8))
    if start is not None:
        starts.insert(0, start)
    from scipy.optimize import minimize  # deferred: scipy.optimize is slow to import

    best_x: np.ndarray | None = None
    best_f = math.inf
    for s in starts:
        try:
            mus = (s.intensities[0], s.intensities[1], mu3)
            x0 = _encode(Lim2014Settings(mus, s.intensity_probs, s.basis_prob_key), mu1_fixed)
        except (ValueError, ZeroDivisionError):
            continue
        # Restarting the simplex from its own result escapes the stalls Nelder-Mead is prone to.
        for _ in range(3):
            res = minimize(
                objective,
                x0,
                method="Nelder-Mead",
                options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 2000},
            )
            x0 = res.x
        if res.fun < best_f:
            best_f, best_x = float(res.fun), res.x
    if best_x is None:
        raise ParameterError("Argument 'start' gave no feasible setting to optimise from.")
    return _decode(best_x, mu3, mu1_fixed), -best_f / 1e6
