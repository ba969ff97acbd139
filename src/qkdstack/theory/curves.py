"""Key rate against distance: the proven formulas applied to the papers' link models.

:class:`SystemModel` holds the physical numbers (plain floats; the CLI fills it from a named
parameter set), :func:`key_rate` gives the rate at one distance (optimising the mean photon number
unless it is fixed) and :func:`key_rate_curve` / :func:`max_distance_km` sweep it.

Protocols (``Protocol``):

``bb84``
    Single-photon source: Shor-Preskill; laser source: GLLP without decoys (worst-case multiphoton
    fraction). Sifting factor 1/2.
``six-state``
    Single-photon source, Lo (2001) one-way rate; sifting factor 1/3.
``decoy-bb84``
    Asymptotic decoy state, infinite decoys or vacuum + weak decoy (Ma, Qi, Zhao, Lo 2005);
    with ``block_bits`` the finite-key rate of Lim et al. (2014), all settings optimised.
``bbm92``
    Thermal entangled-pair source (Ma, Fung, Lo 2007); ``mu`` is the mean pair number.
``di``
    Device-independent (Acín et al. 2007) with a perfect pair source at Alice and no-clicks
    assigned an outcome, so that the detection loophole is closed; no sifting (biased bases).

References
----------
See :mod:`qkdstack.theory.rates`, :mod:`qkdstack.theory.models` and
:mod:`qkdstack.theory.finite_key`; PLOB: :mod:`qkdstack.theory.bounds`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from qkdstack.errors import ParameterError
from qkdstack.protocol import registry
from qkdstack.theory.bounds import plob_bound
from qkdstack.theory.finite_key import Lim2014Settings, optimise_lim2014
from qkdstack.theory.models import (
    chsh_statistics,
    poisson_statistics,
    single_photon_statistics,
    thermal_pair_statistics,
)
from qkdstack.theory.rates import (
    bbm92_rate,
    decoy_rate,
    device_independent_rate,
    gllp_rate,
    shor_preskill_rate,
    six_state_rate,
    vacuum_weak_decoy,
)

__all__ = [
    "DECOY_METHODS",
    "PROTOCOLS",
    "CurvePoint",
    "DecoyMethod",
    "Protocol",
    "SystemModel",
    "key_rate",
    "key_rate_curve",
    "max_distance_km",
]

Protocol = Literal["bb84", "six-state", "decoy-bb84", "bbm92", "e91", "di"]
DecoyMethod = Literal["infinite", "vacuum-weak"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)
"""The protocols with a rate model; ``e91`` and ``di`` name the same (device-independent) one."""
_MODELS: tuple[str, ...] = ("bb84", "six-state", "decoy-bb84", "bbm92", "di")
"""The rate models of this module (a protocol spec's ``theory_model``)."""
DECOY_METHODS: tuple[str, ...] = get_args(DecoyMethod)

_MU_RANGE = (1e-4, 2.0)


@dataclass(frozen=True)
class SystemModel:
    """The physical numbers a key-rate curve needs (units in the names).

    The names are those of :class:`qkdstack.params.LinkParams`, and a link's model is made by one
    adapter, :func:`qkdstack.model.system_model` (theory imports nothing from the rest of the
    package, so the adapter lives above it). ``dark_count_prob`` is per detector; Bob has two, so
    the background yield is ``Y_0 = 2 dark_count_prob``. ``detector_efficiency`` is Bob's total
    detection efficiency (``eta_Bob``). ``mu_pair`` is the mean pair number of an entangled-pair
    source. ``weak_decoy_mu`` is ``nu`` (vacuum + weak) and ``weakest_intensity`` is ``mu_3``
    (Lim 2014). ``secrecy_per_key_bit`` is Lim 2014's ``kappa`` (``eps_sec = kappa l``); ``None``
    uses ``epsilon_sec``.

    ``source`` decides only the ``bb84`` and ``six-state`` rates (decoy-bb84 always has a laser,
    bbm92 and di pairs). Its default here is ``"laser"``, the papers' source (``bb84`` is then
    GLLP without decoys), where a link's :class:`~qkdstack.params.LinkParams` defaults to
    ``"single-photon"``: the adapter always passes the link's source explicitly.

    ``pair_mean`` is the deprecated name of ``mu_pair``: accepted by the constructor and read
    as an attribute, with a :class:`DeprecationWarning`.
    """

    attenuation_db_per_km: float = 0.2
    insertion_loss_db: float = 0.0
    detector_efficiency: float = 0.1
    dark_count_prob: float = 1e-6
    afterpulse_prob: float = 0.0
    misalignment_error: float = 0.01
    ec_efficiency: float = 1.16
    source: Literal["single-photon", "laser", "spdc"] = "laser"
    mu_pair: float = 0.05
    source_position: Literal["alice", "middle"] = "middle"
    visibility: float = 1.0
    weak_decoy_mu: float = 0.1
    weakest_intensity: float = 2e-4
    epsilon_sec: float = 1e-10
    epsilon_cor: float = 1e-15
    secrecy_per_key_bit: float | None = None

    def __post_init__(self) -> None:
        checks = (
            ("attenuation_db_per_km", self.attenuation_db_per_km >= 0, ">= 0"),
            ("insertion_loss_db", self.insertion_loss_db >= 0, ">= 0"),
            ("detector_efficiency", 0 < self.detector_efficiency <= 1, "in (0, 1]"),
            ("dark_count_prob", 0 <= self.dark_count_prob < 0.5, "in [0, 0.5)"),
            ("afterpulse_prob", 0 <= self.afterpulse_prob < 1, "in [0, 1)"),
            ("misalignment_error", 0 <= self.misalignment_error <= 0.5, "in [0, 0.5]"),
            ("ec_efficiency", self.ec_efficiency >= 1, ">= 1"),
            ("mu_pair", self.mu_pair > 0, "> 0"),
            ("visibility", 0 <= self.visibility <= 1, "in [0, 1]"),
            ("weak_decoy_mu", self.weak_decoy_mu > 0, "> 0"),
            ("weakest_intensity", self.weakest_intensity >= 0, ">= 0"),
            ("epsilon_sec", 0 < self.epsilon_sec < 1, "in (0, 1)"),
            ("epsilon_cor", 0 < self.epsilon_cor < 1, "in (0, 1)"),
        )
        for name, ok, constraint in checks:
            if not ok:
                raise ParameterError(
                    f"Argument '{name}' must be {constraint}, not {getattr(self, name)!r}."
                )

    @property
    def pair_mean(self) -> float:
        """Deprecated name of :attr:`mu_pair`."""
        _warn_pair_mean()
        return self.mu_pair

    @property
    def background_yield(self) -> float:
        """``Y_0 = 2 p_dc`` (two detectors)."""
        return 2.0 * self.dark_count_prob

    def channel_transmittance(self, distance_km: float) -> float:
        """``10^(-(alpha L + insertion loss)/10)``."""
        return 10.0 ** (-(self.attenuation_db_per_km * distance_km + self.insertion_loss_db) / 10.0)


def _warn_pair_mean() -> None:
    warnings.warn(
        "SystemModel's 'pair_mean' is deprecated; use 'mu_pair' (the name LinkParams gives it).",
        DeprecationWarning,
        stacklevel=3,
    )


_dataclass_init = SystemModel.__init__


@functools.wraps(_dataclass_init)
def _init_with_alias(
    self: SystemModel, *args: Any, pair_mean: float | None = None, **kwargs: Any
) -> None:
    """The dataclass constructor, also accepting the deprecated ``pair_mean`` for ``mu_pair``."""
    if pair_mean is not None:
        if "mu_pair" in kwargs:
            raise ParameterError(
                "Argument 'pair_mean' must not be given with 'mu_pair' (its new name), "
                f"not {pair_mean!r}."
            )
        _warn_pair_mean()
        kwargs["mu_pair"] = pair_mean
    _dataclass_init(self, *args, **kwargs)


SystemModel.__init__ = _init_with_alias  # type: ignore[method-assign]


@dataclass(frozen=True)
class CurvePoint:
    """One point of a key-rate curve.

    Attributes
    ----------
    distance_km : float
    rate_bits_per_pulse : float
        The secret key rate, clipped at 0 (no key).
    plob_bits_per_pulse : float
        PLOB bound of the fibre's transmittance.
    mu : float or None
        The (optimised or fixed) signal mean photon number, or mean pair number for ``bbm92``;
        ``None`` where the protocol has none.
    """

    distance_km: float
    rate_bits_per_pulse: float
    plob_bits_per_pulse: float
    mu: float | None


def _model(protocol: str) -> str:
    """The rate model of ``protocol``: the ``theory_model`` of its spec in the protocol registry
    (``e91`` and its alias ``di``: the device-independent model), or a model's own name."""
    if protocol in _MODELS:
        return protocol
    model = registry.get(protocol).theory_model if registry.is_registered(protocol) else None
    if model not in _MODELS:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(PROTOCOLS)}, not {protocol!r}."
        )
    return str(model)


def _check(protocol: str, decoy: str) -> None:
    _model(protocol)
    if decoy not in DECOY_METHODS:
        raise ParameterError(
            f"Argument 'decoy' must be one of {', '.join(DECOY_METHODS)}, not {decoy!r}."
        )


def _rate_at_mu(
    protocol: str, decoy: str, model: SystemModel, distance_km: float, mu: float
) -> float:
    """Raw (unclipped) rate at a given ``mu`` for the protocols that have one."""
    t_ch = model.channel_transmittance(distance_km)
    eta = t_ch * model.detector_efficiency
    y0 = model.background_yield
    f = model.ec_efficiency
    if protocol == "bb84":
        st = poisson_statistics(mu, eta, y0, model.misalignment_error)
        return gllp_rate(st.gain, st.qber, mu, f, 0.5)
    if protocol == "decoy-bb84":
        st = poisson_statistics(mu, eta, y0, model.misalignment_error)
        if decoy == "infinite":
            return decoy_rate(st.gain, st.qber, st.single_photon_gain, st.single_photon_error, f)
        nu = model.weak_decoy_mu
        if not mu > nu:
            return -math.inf
        weak = poisson_statistics(nu, eta, y0, model.misalignment_error)
        return vacuum_weak_decoy(
            st.gain, st.qber, weak.gain, weak.qber, y0, mu, nu, f
        ).rate_bits_per_pulse
    if protocol == "bbm92":
        if model.source_position == "middle":
            # Each arm carries half the fibre (and half the insertion loss).
            eta_a = eta_b = model.detector_efficiency * math.sqrt(t_ch)
        else:
            eta_a, eta_b = model.detector_efficiency, eta
        gain, qber = thermal_pair_statistics(mu, eta_a, eta_b, y0, y0, model.misalignment_error)
        return 0.5 * gain * bbm92_rate(min(qber, 0.5), f)
    raise ParameterError(
        f"Argument 'protocol' {protocol!r} has no mean photon number."
    )  # pragma: no cover


def _optimise_mu(
    protocol: str, decoy: str, model: SystemModel, distance_km: float
) -> tuple[float, float]:
    lo = _MU_RANGE[0]
    if protocol == "decoy-bb84" and decoy == "vacuum-weak":
        lo = model.weak_decoy_mu * 1.0001
    # A coarse log grid, then Brent's method around the best grid point.
    grid = [lo * (_MU_RANGE[1] / lo) ** (i / 40.0) for i in range(41)]
    values = [_rate_at_mu(protocol, decoy, model, distance_km, m) for m in grid]
    i = max(range(len(grid)), key=lambda j: values[j])
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    from scipy.optimize import minimize_scalar  # deferred: scipy.optimize is slow to import

    res = minimize_scalar(
        lambda m: -_rate_at_mu(protocol, decoy, model, distance_km, m),
        bounds=(a, b),
        method="bounded",
        options={"xatol": 1e-6},
    )
    if -res.fun >= values[i]:
        return float(res.x), float(-res.fun)
    return grid[i], values[i]


def key_rate(
    protocol: str,
    distance_km: float,
    model: SystemModel,
    *,
    mu: float | None = None,
    decoy: str = "infinite",
    block_bits: float | None = None,
    start: Lim2014Settings | None = None,
) -> tuple[float, float | None, Lim2014Settings | None]:
    """Secret key rate (bits per pulse, unclipped) at one distance.

    Parameters
    ----------
    protocol : {"bb84", "six-state", "decoy-bb84", "bbm92", "e91", "di"}
        A protocol with a rate model (its spec's ``theory_model``); ``di`` is ``e91``'s alias.
    distance_km : float
        Fibre length, >= 0.
    model : SystemModel
    mu : float, optional
        Fixed signal mean photon number (pair number for ``bbm92``); optimised when omitted.
        For the finite-key curve (``block_bits``) it fixes ``mu_1`` and the rest is optimised.
    decoy : {"infinite", "vacuum-weak"}
        Decoy method of the asymptotic ``decoy-bb84`` rate.
    block_bits : float, optional
        ``n_X``; with ``decoy-bb84`` selects the Lim 2014 finite-key rate.
    start : Lim2014Settings, optional
        Warm start of the finite-key optimisation.

    Returns
    -------
    (rate, mu, settings)
        Rate in bits per pulse (negative: no key), the ``mu`` used (``None`` if the protocol has
        none) and, for the finite key, the optimal settings.
    """
    _check(protocol, decoy)
    protocol = _model(protocol)
    if not distance_km >= 0 or not math.isfinite(distance_km):
        raise ParameterError(f"Argument 'distance_km' must be >= 0, not {distance_km!r}.")
    if mu is not None and not mu > 0:
        raise ParameterError(f"Argument 'mu' must be > 0, not {mu!r}.")
    if block_bits is not None and protocol != "decoy-bb84":
        raise ParameterError(
            f"Argument 'block_bits' needs protocol 'decoy-bb84', not {protocol!r}."
        )
    t_ch = model.channel_transmittance(distance_km)
    eta = t_ch * model.detector_efficiency
    y0 = model.background_yield
    f = model.ec_efficiency
    if protocol in ("bb84", "six-state") and model.source == "single-photon":
        y1, e1 = single_photon_statistics(eta, y0, model.misalignment_error)
        if protocol == "bb84":
            return 0.5 * y1 * shor_preskill_rate(min(e1, 0.5), None, f), None, None
        return y1 / 3.0 * six_state_rate(min(e1, 2.0 / 3.0), f), None, None
    if protocol == "six-state":
        raise ParameterError(
            f"Argument 'source' must be 'single-photon' for protocol 'six-state', not {model.source!r}."
        )
    if protocol == "di":
        s, q = chsh_statistics(
            model.detector_efficiency,
            eta,
            model.visibility * (1.0 - 2.0 * model.misalignment_error),
        )
        return device_independent_rate(min(s, 2.0 * math.sqrt(2.0)), q, f), None, None
    if protocol == "decoy-bb84" and block_bits is not None:
        if not block_bits > 0:
            raise ParameterError(f"Argument 'block_bits' must be > 0, not {block_bits!r}.")
        settings, rate = optimise_lim2014(
            system_transmittance=eta,
            block_bits=block_bits,
            dark_count_prob=model.dark_count_prob,
            afterpulse_prob=model.afterpulse_prob,
            misalignment_error=model.misalignment_error,
            ec_efficiency=f,
            epsilon_sec=model.epsilon_sec,
            epsilon_cor=model.epsilon_cor,
            secrecy_per_key_bit=model.secrecy_per_key_bit,
            weakest_intensity=model.weakest_intensity,
            signal_intensity=mu,
            start=start if mu is None else None,
        )
        return rate, settings.intensities[0], settings
    if mu is not None:
        return _rate_at_mu(protocol, decoy, model, distance_km, mu), mu, None
    best_mu, rate = _optimise_mu(protocol, decoy, model, distance_km)
    return rate, best_mu, None


def key_rate_curve(
    protocol: str,
    distances_km: Sequence[float],
    model: SystemModel,
    *,
    mu: float | None = None,
    decoy: str = "infinite",
    block_bits: float | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> list[CurvePoint]:
    """Key rate and PLOB bound at each distance (rates clipped at 0; see :func:`key_rate`).

    ``progress(i, distance_km)``, when given, is called before the ``i``-th distance (from 0):
    a finite-key curve optimises five settings per point and may take minutes.
    """
    points = []
    start: Lim2014Settings | None = None
    for i, d in enumerate(distances_km):
        if progress is not None:
            progress(i, float(d))
        rate, used_mu, settings = key_rate(
            protocol, float(d), model, mu=mu, decoy=decoy, block_bits=block_bits, start=start
        )
        if settings is not None and rate > 0:
            start = settings
        plob = float(plob_bound(model.channel_transmittance(float(d))))
        points.append(CurvePoint(float(d), max(rate, 0.0), plob, used_mu))
    return points


def max_distance_km(
    protocol: str,
    model: SystemModel,
    *,
    mu: float | None = None,
    decoy: str = "infinite",
    block_bits: float | None = None,
    step_km: float = 10.0,
    limit_km: float = 500.0,
    tolerance_km: float = 0.05,
) -> float:
    """Largest distance with a positive key rate (0 if none at 0 km; ``limit_km`` if beyond).

    Steps outwards by ``step_km`` until the rate is no longer positive, then bisects.
    """

    def positive(d: float) -> bool:
        return key_rate(protocol, d, model, mu=mu, decoy=decoy, block_bits=block_bits)[0] > 0.0

    if not positive(0.0):
        return 0.0
    lo = 0.0
    hi = step_km
    while positive(hi):
        lo = hi
        hi += step_km
        if hi > limit_km:
            return limit_km
    while hi - lo > tolerance_km:
        mid = 0.5 * (lo + hi)
        if positive(mid):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
