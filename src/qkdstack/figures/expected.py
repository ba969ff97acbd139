"""What theory expects of a simulated run: the lines ``qkd plot --theory`` draws beside the points.

* :func:`rates_curve` - the ``qkd rates`` curve (asymptotic, optimised ``mu`` unless fixed) and the
  PLOB bound, for the link a run used;
* :func:`expected_decoy_rate` - the Lim et al. (2014) finite-key rate of decoy-state BB84 at the
  run's own settings (intensities, their probabilities, the key-basis probability, the number of
  pulses), from the expected counts of the same system model (Lim 2014, Sec. IV), with the error
  correction leak ``f n_X h(e_obs)`` at the efficiency ``f`` the runs achieved, plus the verification
  tag; a simulated run's key length fluctuates around it;
* :func:`intercept_resend_qber` - the QBER of BB84 with single photons when Eve intercepts and
  resends a share ``f`` of the pulses in a random basis: ``e(f) = e_0 + f (1/4 - e_0 / 2)``
  (Gisin, Ribordy, Tittel, Zbinden 2002, Sec. VI.A: a wrong-basis measurement, half the time,
  leaves Bob a random bit; a right-basis one leaves the link's own error ``e_0``).

References
----------
C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, Phys. Rev. A 89, 022307 (2014), Eqs. (1)-(5)
and Sec. IV.
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005), Sec. II.
N. Gisin, G. Ribordy, W. Tittel, H. Zbinden, Rev. Mod. Phys. 74, 145 (2002), Sec. VI.A.
S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, Nat. Commun. 8, 15043 (2017).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.params import LinkParams
from qkdstack.theory.bounds import plob_bound
from qkdstack.theory.entropy import binary_entropy
from qkdstack.theory.finite_key import (
    Lim2014Settings,
    lim2014_expected_counts,
    lim2014_key_length,
)
from qkdstack.theory.models import single_photon_statistics

__all__ = [
    "asymptotic_reach_km",
    "binomial_sigma",
    "expected_decoy_rate",
    "expected_decoy_rate_sigma",
    "intercept_resend_qber",
    "link_params_of_row",
    "plob_curve",
    "rates_curve",
]


def link_params_of_row(row: Mapping[str, Any]) -> LinkParams:
    """The :class:`LinkParams` a ``qkd run`` row used, from its ``params.*`` report columns."""
    fields = {
        name: row[f"params.{name}"]
        for name in LinkParams.field_names()
        if row.get(f"params.{name}") is not None
    }
    if not fields:
        raise ParameterError(
            "Argument '--theory' needs rows of 'qkd run' (with params.* columns), not these rows."
        )
    return LinkParams().replace(**fields)


def _system_transmittance(params: LinkParams, distance_km: float) -> float:
    """``eta_sys = 10^(-(alpha L + insertion loss) / 10) eta_Bob``."""
    loss_db = params.attenuation_db_per_km * distance_km + params.insertion_loss_db
    return float(10.0 ** (-loss_db / 10.0) * params.detector_efficiency)


def plob_curve(params: LinkParams, distances_km: Sequence[float]) -> np.ndarray:
    """PLOB bound ``-log2(1 - eta_ch)`` (bits per pulse) of the fibre at each distance."""
    loss_db = params.attenuation_db_per_km * np.asarray(distances_km, dtype=float)
    eta = 10.0 ** (-(loss_db + params.insertion_loss_db) / 10.0)
    return np.asarray(plob_bound(eta), dtype=float)  # inf on a lossless link


def rates_curve(
    protocol: str, params: LinkParams, distances_km: Sequence[float], *, fixed_mu: bool = False
) -> np.ndarray:
    """The ``qkd rates`` key rate (bits per pulse) of ``protocol`` on ``params``' link.

    Asymptotic; ``mu`` is optimised unless ``fixed_mu`` (then ``params.mu`` is used).
    """
    from qkdstack.model import check_rate_params, system_model
    from qkdstack.theory.curves import PROTOCOLS, key_rate_curve

    if protocol not in PROTOCOLS:
        raise ParameterError(
            f"Argument '--theory' has no rate for protocol {protocol!r}; known: "
            f"{', '.join(PROTOCOLS)}."
        )
    check_rate_params(protocol, params)
    mu = params.mu if fixed_mu else None
    points = key_rate_curve(protocol, list(distances_km), system_model(params), mu=mu)
    return np.array([p.rate_bits_per_pulse for p in points])


def asymptotic_reach_km(protocol: str, params: LinkParams) -> float:
    """The distance at which the ``qkd rates`` (asymptotic, optimised) rate reaches 0."""
    from qkdstack.model import check_rate_params, system_model
    from qkdstack.theory.curves import max_distance_km

    check_rate_params(protocol, params)
    return float(max_distance_km(protocol, system_model(params), tolerance_km=1.0))


def expected_decoy_rate(
    params: LinkParams,
    distance_km: float,
    pulses: float,
    *,
    ec_efficiency: float,
    verification_bits: float = 0.0,
) -> float:
    """Expected finite-key rate (bits per pulse, >= 0) of a decoy-BB84 run at its own settings.

    Parameters
    ----------
    params : LinkParams
        The run's link and protocol settings (three intensities, their probabilities,
        ``basis_prob_z`` as the key-basis probability ``q_x``).
    distance_km : float
    pulses : float
        ``N``, pulses Alice sends.
    ec_efficiency : float
        ``f`` of the leak ``f n_X h(e_obs)`` (the runs' measured ``ec_efficiency``).
    verification_bits : float
        Bits the verification tag discloses, added to the leak.

    Returns
    -------
    float
        ``l / N`` with ``l`` the Lim 2014 length of the expected counts (0 if no key).
    """
    return float(
        np.mean(
            _decoy_rates(
                params, distance_km, pulses, ec_efficiency, verification_bits, draws=0, seed=0
            )
        )
    )


def expected_decoy_rate_sigma(
    params: LinkParams,
    distance_km: float,
    pulses: float,
    *,
    ec_efficiency: float,
    verification_bits: float = 0.0,
    draws: int = 400,
    seed: int = 0,
) -> float:
    """Standard deviation of one run's rate (bits per pulse) about :func:`expected_decoy_rate`.

    A parametric bootstrap: every count of the expected-count model (key and test basis, each
    intensity, detections and errors) is drawn from its Poisson distribution ``draws`` times, and
    the Lim 2014 length with the leak ``f n_X h(m_X / n_X)`` is evaluated on each draw.
    """
    rates = _decoy_rates(
        params, distance_km, pulses, ec_efficiency, verification_bits, draws=draws, seed=seed
    )
    return float(np.std(rates, ddof=1))


def _decoy_rates(
    params: LinkParams,
    distance_km: float,
    pulses: float,
    ec_efficiency: float,
    verification_bits: float,
    *,
    draws: int,
    seed: int,
) -> np.ndarray:
    """Rates of the expected counts (``draws = 0``) or of ``draws`` Poisson draws of them."""
    if len(params.intensities) != 3:
        raise ParameterError(
            f"Argument 'intensities' must have 3 values for Lim 2014, not {params.intensities!r}."
        )
    settings = Lim2014Settings(
        tuple(params.intensities),  # type: ignore[arg-type]
        tuple(params.intensity_probs),  # type: ignore[arg-type]
        params.basis_prob_z,
    )
    unit = lim2014_expected_counts(
        settings,
        system_transmittance=_system_transmittance(params, distance_km),
        block_bits=1.0,
        dark_count_prob=params.dark_count_prob,
        afterpulse_prob=params.afterpulse_prob,
        misalignment_error=params.misalignment_error,
    )
    scale = pulses / unit.pulses  # expected counts are proportional to the pulses sent
    mean = scale * np.array(
        [unit.key_counts, unit.key_errors, unit.test_counts, unit.test_errors], dtype=float
    )
    samples = (
        [mean] if draws == 0 else list(np.random.default_rng(seed).poisson(mean, (draws, 4, 3)))
    )
    out = []
    for key, key_err, test, test_err in samples:
        n_x = float(np.sum(key))
        qber = float(np.sum(key_err)) / n_x if n_x > 0 else 0.5
        leak = ec_efficiency * n_x * float(binary_entropy(min(qber, 0.5))) + verification_bits
        result = lim2014_key_length(
            intensities=settings.intensities,
            intensity_probs=settings.intensity_probs,
            key_counts=[float(v) for v in key],
            test_counts=[float(v) for v in test],
            test_errors=[float(min(e, t)) for e, t in zip(test_err, test, strict=True)],
            leak_ec_bits=leak,
            epsilon_sec=params.epsilon_sec,
            epsilon_cor=params.epsilon_cor,
        )
        out.append(max(result.length_bits, 0) / pulses)
    return np.asarray(out)


def intercept_resend_qber(params: LinkParams, distance_km: float, fraction: float) -> float:
    """QBER of single-photon BB84 with a random-basis intercept-resend on a share ``fraction``.

    ``e(f) = e_0 + f (1/4 - e_0 / 2)`` with ``e_0`` the link's single-photon error rate
    (Ma et al. 2005, Sec. II: ``e_1``); Gisin et al. 2002, Sec. VI.A.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ParameterError(f"Argument 'fraction' must be in [0, 1], not {fraction!r}.")
    _, e0 = single_photon_statistics(
        _system_transmittance(params, distance_km),
        2.0 * params.dark_count_prob,
        params.misalignment_error,
    )
    return e0 + fraction * (0.25 - e0 / 2.0)


def binomial_sigma(p: float, n: float) -> float:
    """Standard deviation of a fraction ``p`` estimated from ``n`` trials."""
    return math.sqrt(max(p * (1.0 - p), 0.0) / n) if n > 0 else math.inf
