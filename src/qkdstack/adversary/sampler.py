"""The attacked-link sampler: prepare-and-measure BB84 links with an eavesdropper, detected events only.

Each attack describes, for one intensity class, a finite set of *cases* (hidden per-pulse facts such
as the photon number ``n``, how many photons reach Bob, how many Eve keeps) with their prior
probabilities and Bob's probability of a signal click in each case. Bob's two detectors each fire on
a dark count with probability ``p_d`` per gate, so a gate shows a noise click with probability
``Y0 = 1 - (1 - p_d)^2`` and the detection probability of case ``s`` is

    Y_s = 1 - (1 - Y0) (1 - c_s),

with ``c_s`` the signal-click probability (Ma, Qi, Zhao, Lo 2005, Eq. 4, ``Y_n = Y0 + eta_n - Y0
eta_n``). A detected event is a signal click with probability ``c_s / Y_s`` and otherwise a pure
noise click carrying a uniformly random bit; a signal click goes to the wrong detector with the
misalignment probability ``e_d`` (Ma et al. 2005, Eq. 5). Double clicks of a signal with a dark count
are counted as signal clicks (their probability is ``O(p_d)`` of the signal rate). Dead time and
afterpulsing are then applied to the stream of clicks with the honest link's detection unit
(:class:`qkdstack.link.detectors.DeadTimeAfterpulse`): afterpulse clicks carry a random outcome and
land on pulses Bob did not otherwise detect.

Because every pulse is independent and the detection probability does not depend on the bases or
bits, the sampler draws the detected pulse indices directly, as geometric gaps of a Bernoulli
process (Feller 1968, Ch. VI.8; the same method as :mod:`qkdstack.link.events`), and only then, for
detected pulses alone, the intensity class, the case, bases, bits and outcomes. Undetected pulses
are only counted (per class and basis, and those Eve acted on), so the cost scales with the
detections, not the pulses.

Qubit states are described by their Bloch angle in the x-z plane: basis ``Z`` has axis 0, ``X``
axis pi/2, the Breidbart basis pi/4; bit ``b`` of a basis with axis ``phi`` is the state at angle
``phi + b pi``. Measuring the state at angle ``theta`` in the basis with axis ``phi`` gives bit 1 with
probability ``sin^2((theta - phi) / 2)`` (Born's rule for the overlap of two real qubit states).

References
----------
W. Feller, "An Introduction to Probability Theory and Its Applications", Vol. I, 3rd ed. (1968),
Ch. VI.8.
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key distribution",
Phys. Rev. A 72, 012326 (2005), Eqs. (4)-(5).
C. H. Bennett, G. Brassard, "Quantum cryptography: public key distribution and coin tossing",
Proc. IEEE ICCSSP, 175 (1984).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.link.channels import link_transmittance
from qkdstack.link.detectors import DeadTimeAfterpulse, dead_gates
from qkdstack.link.records import LinkOutput, RecordMeta, Records
from qkdstack.link.sources import number_distribution
from qkdstack.params import LinkParams
from qkdstack.protocol import registry
from qkdstack.typing import BitArray, FloatArray, IndexArray, Role

from .eve_records import EveBasis, EveRecords

__all__ = [
    "ATTACKED_PROTOCOLS",
    "CHUNK_DETECTIONS",
    "CaseAttack",
    "Cases",
    "Detections",
    "EveView",
    "LinkClasses",
    "basis_axis",
    "bob_channel_transmittance",
    "case_attr",
    "coin_flips",
    "detect",
    "ignorant_view",
    "kept_photon_view",
    "link_classes",
    "measure",
    "noise_click_prob",
    "photon_number_pmf",
    "run_attacked_link",
]

ATTACKED_PROTOCOLS: tuple[str, ...] = tuple(
    n for n in registry.names() if registry.get(n).attackable
)
"""The built-in protocols whose link the attacks simulate (``attackable`` in their spec; the
check itself reads the registry, so a protocol registered later counts too)."""
CHUNK_DETECTIONS: int = 1 << 20
"""Detections drawn per batch: bounds the sampler's working memory besides the detected events."""

_POISSON_TAIL = 1e-15


def photon_number_pmf(mean: float, *, single_photon: bool = False) -> FloatArray:
    """Photon-number distribution ``P(n)`` of one pulse, ``n = 0..n_max``.

    A laser pulse of mean photon number ``mean`` is Poissonian, ``P(n) = e^-mu mu^n / n!``
    (Ma et al. 2005, Eq. 1; the link's :func:`qkdstack.link.sources.number_distribution`); the table
    stops where the remaining tail is below 1e-15 and the tail is added to the last entry. A
    single-photon source emits exactly one photon.
    """
    if single_photon:
        return number_distribution("single-photon", 1.0, 1)
    if not (mean >= 0 and math.isfinite(mean)):
        raise ParameterError(f"Argument 'mean' must be >= 0, not {mean!r}.")
    if mean == 0:
        return np.array([1.0])
    # Smallest n_max whose Poisson tail beyond it is below 1e-15 (running sum of the terms).
    n_max, term, total = 0, math.exp(-mean), math.exp(-mean)
    while 1.0 - total > _POISSON_TAIL and n_max < 10_000:
        n_max += 1
        term *= mean / n_max
        total += term
    out = number_distribution("poisson", mean, n_max)
    out[-1] += max(0.0, 1.0 - float(out.sum()))
    return out


def noise_click_prob(dark_count_prob: float) -> float:
    """Probability that Bob's two detectors show a click from dark counts alone: ``1 - (1-p_d)^2``."""
    return 1.0 - (1.0 - dark_count_prob) ** 2


def bob_channel_transmittance(params: LinkParams) -> float:
    """Transmittance of the honest fibre (the link's :func:`~qkdstack.link.channels.link_transmittance`)."""
    return link_transmittance(params)


def basis_axis(basis: npt.NDArray[np.uint8]) -> FloatArray:
    """Bloch angle of the axis of each basis code (Z: 0, X: pi/2, Breidbart: pi/4)."""
    axis = np.where(basis == EveBasis.X, np.pi / 2, 0.0)
    return np.where(basis == EveBasis.BREIDBART, np.pi / 4, axis)


def coin_flips(rng: np.random.Generator, n: int) -> BitArray:
    """``n`` fair random bits as ``uint8`` (simulation randomness)."""
    return (rng.random(n) < 0.5).astype(np.uint8)


def measure(theta: FloatArray, axis: FloatArray, rng: np.random.Generator) -> BitArray:
    """Measure qubits at Bloch angles ``theta`` in bases with axes ``axis`` (Born's rule)."""
    p_one = np.sin((theta - axis) / 2.0) ** 2
    return (rng.random(theta.shape[0]) < p_one).astype(np.uint8)


@dataclass(frozen=True)
class Cases:
    """The hidden per-pulse cases of one intensity class under an attack (all arrays one per case).

    Attributes
    ----------
    weight : ndarray of float64
        Prior probability of each case (sums to 1).
    signal_click_prob : ndarray of float64
        Probability that at least one signal photon is detected by Bob.
    photons : ndarray of int64
        Photons Alice emitted.
    eve_photons : ndarray of int64
        Photons Eve keeps.
    action : ndarray of uint8
        An attack-specific code (for example 1 where Eve intercepts).
    intercepted : ndarray of bool
        Whether Eve acts on at least one photon of the pulse.
    """

    weight: FloatArray
    signal_click_prob: FloatArray
    photons: IndexArray
    eve_photons: IndexArray
    action: BitArray
    intercepted: npt.NDArray[np.bool_]

    @classmethod
    def build(
        cls,
        weight: Sequence[float],
        signal_click_prob: Sequence[float],
        photons: Sequence[int],
        eve_photons: Sequence[int],
        action: Sequence[int],
        intercepted: Sequence[bool],
    ) -> Cases:
        """Build from lists, dropping cases of zero weight."""
        w = np.asarray(weight, dtype=np.float64)
        keep = w > 0
        return cls(
            weight=w[keep] / w[keep].sum(),
            signal_click_prob=np.clip(np.asarray(signal_click_prob, dtype=np.float64)[keep], 0, 1),
            photons=np.asarray(photons, dtype=np.int64)[keep],
            eve_photons=np.asarray(eve_photons, dtype=np.int64)[keep],
            action=np.asarray(action, dtype=np.uint8)[keep],
            intercepted=np.asarray(intercepted, dtype=bool)[keep],
        )


@dataclass(frozen=True)
class LinkClasses:
    """The intensity classes of a prepare-and-measure link."""

    means: tuple[float, ...]
    probs: tuple[float, ...]
    single_photon: bool

    def pmf(self, k: int) -> FloatArray:
        """Photon-number distribution of class ``k``."""
        return photon_number_pmf(self.means[k], single_photon=self.single_photon)


def link_classes(protocol: str, params: LinkParams) -> LinkClasses:
    """Intensity classes of ``protocol``: one class for ``bb84``, ``params.intensities`` for decoys."""
    attacked = [n for n in registry.names() if registry.get(n).attackable]
    if not registry.is_registered(protocol) or not registry.get(protocol).attackable:
        raise ParameterError(
            f"Argument 'protocol' must be one of {', '.join(attacked)} under attack, "
            f"not {protocol!r}."
        )
    if params.source == "spdc":
        raise ParameterError(
            "Argument 'source' must be 'single-photon' or 'laser' for an attacked "
            f"prepare-and-measure link, not {params.source!r}."
        )
    if registry.get(protocol).emission == "intensities":
        return LinkClasses(
            tuple(params.intensities), tuple(params.intensity_probs), single_photon=False
        )
    single = params.source == "single-photon"
    return LinkClasses((params.mu,), (1.0,), single_photon=single)


@dataclass(frozen=True)
class Detections:
    """Detected events of an attacked link (one entry per detected pulse), before outcomes."""

    pulse_index: IndexArray
    klass: BitArray
    alice_basis: BitArray
    case: IndexArray
    signal: npt.NDArray[np.bool_]
    sent_counts: npt.NDArray[np.int64]
    intercepted_pulses: int
    dead_time_losses: int = 0
    afterpulses: int = 0


def detect(
    pulses: int,
    class_probs: Sequence[float],
    basis_prob_z: float,
    cases: Sequence[Cases],
    noise_prob: float,
    rng: np.random.Generator,
    chunk_detections: int = CHUNK_DETECTIONS,
    *,
    dead_gates_after_click: int = 0,
    afterpulse_prob: float = 0.0,
) -> Detections:
    """Draw which pulses Bob detects, and for those the class, Alice's basis and the case.

    Detections form a Bernoulli process over the pulses with probability ``p_det = sum_k p_k Q_k``,
    so the gaps between detected pulses are geometric (Feller 1968, Ch. VI.8); they are drawn in
    batches of at most ``chunk_detections``. Each detected pulse then gets its class ``k`` with
    probability ``p_k Q_k / p_det``, Alice's basis, and its case given detection. The undetected
    pulses are split over classes and bases (multinomial, binomial) for ``sent_counts``, and those
    Eve acted on are counted with one binomial draw per class.

    Parameters
    ----------
    pulses : int
        Pulses sent.
    class_probs : sequence of float
        Probability of each intensity class.
    basis_prob_z : float
        Probability that Alice prepares in Z.
    cases : sequence of Cases
        The attack's cases of each class.
    noise_prob : float
        Probability of a noise click per gate, ``Y0``.
    rng : numpy.random.Generator
    chunk_detections : int
        Upper bound on the detections drawn per batch.
    dead_gates_after_click, afterpulse_prob : int, float
        Bob's detection unit: gates blind after a click, and the probability of an afterpulse
        (:class:`qkdstack.link.detectors.DeadTimeAfterpulse`, the honest link's model).
    """
    if pulses < 0:
        raise ParameterError(f"Argument 'pulses' must be >= 0, not {pulses}.")
    if chunk_detections < 1:
        raise ParameterError(f"Argument 'chunk_detections' must be >= 1, not {chunk_detections}.")
    n_classes = len(class_probs)
    probs = np.asarray(class_probs, dtype=np.float64)
    yields = [1.0 - (1.0 - noise_prob) * (1.0 - c.signal_click_prob) for c in cases]
    q = np.array([float(np.dot(c.weight, y)) for c, y in zip(cases, yields, strict=True)])
    p_icpt_undet = np.array(
        [
            float(np.dot(c.weight * (1.0 - y), c.intercepted)) / max(1.0 - qk, 1e-300)
            for c, y, qk in zip(cases, yields, q, strict=True)
        ]
    )
    p_case_det = [
        c.weight * y / max(float(np.dot(c.weight, y)), 1e-300)
        for c, y in zip(cases, yields, strict=True)
    ]
    p_signal = [
        c.signal_click_prob / np.maximum(y, 1e-300) for c, y in zip(cases, yields, strict=True)
    ]
    joint = probs * q
    p_det = min(float(joint.sum()), 1.0)

    # Detected pulse indices: geometric gaps of a Bernoulli(p_det) process.
    batches: list[IndexArray] = []
    last = -1
    while p_det > 0.0 and last < pulses - 1:
        expected = p_det * (pulses - 1 - last)
        size = int(min(chunk_detections, expected + 6.0 * math.sqrt(expected) + 16))
        positions = last + np.cumsum(rng.geometric(p_det, size=size))
        if positions[-1] >= pulses:
            positions = positions[: int(np.searchsorted(positions, pulses))]
            batches.append(positions.astype(np.int64))
            break
        batches.append(positions.astype(np.int64))
        last = int(positions[-1])
    pulse_index = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    n_det = pulse_index.shape[0]
    cdf = np.cumsum(joint) / max(float(joint.sum()), 1e-300)
    cdf[-1] = 1.0
    klass = np.searchsorted(cdf, np.asarray(rng.random(n_det)), side="right").astype(np.uint8)
    alice_basis = (np.asarray(rng.random(n_det)) >= basis_prob_z).astype(np.uint8)
    case, signal, intercepted = _draw_cases(klass, cases, p_case_det, p_signal, rng)

    p_undet = probs * (1.0 - q)
    p_undet_class = p_undet / max(float(p_undet.sum()), 1e-300)
    dead_time_losses = 0
    n_afterpulses = 0
    if dead_gates_after_click > 0 or afterpulse_prob > 0:
        # The link's detection unit (qkdstack.link.detectors): dead time drops clicks, and
        # afterpulses add clicks with a random outcome at pulses that were not detected.
        unit = DeadTimeAfterpulse(dead_gates_after_click, afterpulse_prob)
        keep, ap = unit.process(pulse_index, rng)
        ap = np.concatenate([ap, unit.finish(pulses)])
        dead_time_losses = int(n_det - np.count_nonzero(keep))
        n_afterpulses = int(ap.shape[0])
        ap_cdf = np.cumsum(p_undet_class)
        ap_cdf[-1] = 1.0
        ap_klass: BitArray = np.searchsorted(
            ap_cdf, np.asarray(rng.random(n_afterpulses)), side="right"
        ).astype(np.uint8)
        ap_basis = (np.asarray(rng.random(n_afterpulses)) >= basis_prob_z).astype(np.uint8)
        p_case_undet = [
            c.weight * (1.0 - y) / max(float(np.dot(c.weight, 1.0 - y)), 1e-300)
            for c, y in zip(cases, yields, strict=True)
        ]
        zero_signal = [np.zeros_like(ps) for ps in p_signal]
        ap_case, ap_signal, ap_icpt = _draw_cases(ap_klass, cases, p_case_undet, zero_signal, rng)
        sent_all = np.zeros((n_classes, 2), dtype=np.int64)
        _tally(sent_all, klass, alice_basis)
        _tally(sent_all, ap_klass, ap_basis)
        intercepted += ap_icpt
        order = np.argsort(np.concatenate([pulse_index[keep], ap]), kind="stable")
        pulse_index = np.concatenate([pulse_index[keep], ap])[order]
        klass = np.concatenate([klass[keep], ap_klass])[order]
        alice_basis = np.concatenate([alice_basis[keep], ap_basis])[order]
        case = np.concatenate([case[keep], ap_case])[order]
        signal = np.concatenate([signal[keep], ap_signal])[order]
        sent = sent_all
    else:
        sent = np.zeros((n_classes, 2), dtype=np.int64)
        _tally(sent, klass, alice_basis)

    undetected_total = pulses - n_det - n_afterpulses
    if undetected_total > 0:
        undetected = rng.multinomial(undetected_total, p_undet_class)
        z = rng.binomial(undetected, basis_prob_z)
        sent += np.stack([z, undetected - z], axis=1)
        intercepted += int(rng.binomial(undetected, p_icpt_undet).sum())
    return Detections(
        pulse_index,
        klass,
        alice_basis,
        case,
        signal,
        sent,
        intercepted,
        dead_time_losses=dead_time_losses,
        afterpulses=n_afterpulses,
    )


def _tally(sent: npt.NDArray[np.int64], klass: BitArray, basis: BitArray) -> None:
    """Add the (class, basis) counts of events to ``sent``."""
    np.add.at(sent, (klass.astype(np.int64), basis.astype(np.int64)), 1)


def _draw_cases(
    klass: BitArray,
    cases: Sequence[Cases],
    p_case: Sequence[FloatArray],
    p_signal: Sequence[FloatArray],
    rng: np.random.Generator,
) -> tuple[IndexArray, npt.NDArray[np.bool_], int]:
    """Each event's case (given its class), whether it is a signal click, and Eve's interceptions."""
    n = klass.shape[0]
    case = np.zeros(n, dtype=np.int64)
    signal = np.zeros(n, dtype=bool)
    intercepted = 0
    for k in range(len(cases)):
        sel = np.flatnonzero(klass == k)
        if sel.size == 0:
            continue
        ck = rng.choice(p_case[k].shape[0], size=sel.size, p=p_case[k])
        case[sel] = ck
        signal[sel] = np.asarray(rng.random(sel.size)) < p_signal[k][ck]
        intercepted += int(np.count_nonzero(cases[k].intercepted[ck]))
    return case, signal, intercepted


@dataclass(frozen=True)
class EveView:
    """What an attack's resolution step returns for the detected events."""

    bob_theta: FloatArray
    bob_extra_flip_prob: FloatArray
    attacked: npt.NDArray[np.bool_]
    basis: BitArray
    guess: BitArray
    certain: npt.NDArray[np.bool_]
    error_prob: FloatArray


Resolver = Callable[
    [Detections, Sequence[Cases], BitArray, FloatArray, np.random.Generator], EveView
]


def run_attacked_link(
    *,
    name: str,
    parameters: dict[str, object],
    protocol: str,
    params: LinkParams,
    pulses: int,
    rng: np.random.Generator,
    cases: Sequence[Cases],
    resolve: Resolver,
    chunk_detections: int = CHUNK_DETECTIONS,
) -> LinkOutput:
    """Sample an attacked link and build Alice's, Bob's and Eve's records.

    ``resolve(detections, cases, alice_bit, alice_theta, rng)`` gives, for every detected event, the
    Bloch angle of the state reaching Bob, an extra flip probability of Bob's outcome, and Eve's view.
    """
    classes = link_classes(protocol, params)
    det = detect(
        pulses,
        classes.probs,
        params.basis_prob_z,
        cases,
        noise_click_prob(params.dark_count_prob),
        rng,
        chunk_detections,
        dead_gates_after_click=dead_gates(params.dead_time_ns, params.pulse_rate_hz),
        afterpulse_prob=params.afterpulse_prob,
    )
    n = det.pulse_index.shape[0]
    alice_bit = coin_flips(rng, n)
    alice_theta = basis_axis(det.alice_basis) + np.pi * alice_bit
    view = resolve(det, cases, alice_bit, alice_theta, rng)
    bob_basis = (np.asarray(rng.random(n)) >= params.basis_prob_z).astype(np.uint8)
    bob_bit = measure(view.bob_theta, basis_axis(bob_basis), rng)
    e_d = params.misalignment_error
    flip_p = e_d + view.bob_extra_flip_prob - 2.0 * e_d * view.bob_extra_flip_prob
    bob_bit ^= (rng.random(n) < flip_p).astype(np.uint8)
    noise = ~det.signal
    bob_bit[noise] = coin_flips(rng, int(noise.sum()))

    photons_all = np.zeros(n, dtype=np.int64)
    eve_photons = np.zeros(n, dtype=np.int64)
    for k, c in enumerate(cases):
        sel = det.klass == k
        photons_all[sel] = c.photons[det.case[sel]]
        eve_photons[sel] = c.eve_photons[det.case[sel]]

    params_dict = params.to_dict()
    # Same conventions as the honest simulator: a single-photon source is class (1.0,).
    intensities = tuple(classes.means) if not classes.single_photon else (1.0,)
    alice = Records(
        role=Role.ALICE,
        pulse_index=det.pulse_index,
        basis=det.alice_basis,
        bit=alice_bit,
        intensity=det.klass,
        meta=RecordMeta(
            protocol=protocol,
            pulses=pulses,
            intensities=intensities,
            sent_counts=det.sent_counts,
            params=params_dict,
        ),
    )
    bob = Records(
        role=Role.BOB,
        pulse_index=det.pulse_index.copy(),
        basis=bob_basis,
        bit=bob_bit,
        meta=RecordMeta(
            protocol=protocol, pulses=pulses, intensities=intensities, params=params_dict
        ),
    )
    eve = EveRecords(
        attack=name,
        parameters=dict(parameters),
        pulses=pulses,
        intercepted_pulses=det.intercepted_pulses,
        pulse_index=det.pulse_index.copy(),
        attacked=view.attacked,
        basis=view.basis,
        guess=view.guess,
        certain=view.certain,
        error_prob=view.error_prob,
        photons=np.minimum(eve_photons, 255).astype(np.uint8),
    )
    truth = {
        "photon_number": photons_all,
        "signal_click": det.signal,
        "attack": name,
        "dead_time_losses": det.dead_time_losses,
        "afterpulses": det.afterpulses,
    }
    return LinkOutput(alice=alice, bob=bob, eve=eve, truth=truth)


def ignorant_view(det: Detections, alice_theta: FloatArray, rng: np.random.Generator) -> EveView:
    """Eve's view where she learned nothing: coin-flip guesses, error probability 1/2."""
    n = det.pulse_index.shape[0]
    return EveView(
        bob_theta=alice_theta,
        bob_extra_flip_prob=np.zeros(n),
        attacked=np.zeros(n, dtype=bool),
        basis=np.full(n, EveBasis.NONE, dtype=np.uint8),
        guess=coin_flips(rng, n),
        certain=np.zeros(n, dtype=bool),
        error_prob=np.full(n, 0.5),
    )


def kept_photon_view(
    det: Detections,
    cases: Sequence[Cases],
    alice_bit: BitArray,
    alice_theta: FloatArray,
    rng: np.random.Generator,
) -> EveView:
    """Eve's view when she stores photons and measures them after the basis announcement.

    Where she holds at least one photon of the pulse she measures it in Alice's announced basis and
    knows Alice's bit for sure; elsewhere she guesses. Bob receives Alice's state.
    """
    view = ignorant_view(det, alice_theta, rng)
    held = np.zeros(det.pulse_index.shape[0], dtype=bool)
    for k, c in enumerate(cases):
        sel = det.klass == k
        held[sel] = c.eve_photons[det.case[sel]] > 0
    view.guess[held] = alice_bit[held]
    view.basis[held] = det.alice_basis[held]
    view.certain[held] = True
    view.error_prob[held] = 0.0
    view.attacked[held] = True
    return view


def case_attr(det: Detections, cases: Sequence[Cases], attr: str) -> npt.NDArray[np.generic]:
    """The value of a :class:`Cases` attribute for every detected event."""
    first = getattr(cases[0], attr)
    out = np.zeros(det.pulse_index.shape[0], dtype=first.dtype)
    for k, c in enumerate(cases):
        sel = det.klass == k
        out[sel] = getattr(c, attr)[det.case[sel]]
    return out


class CaseAttack:
    """Base of the attacks described by per-photon-number :class:`Cases` and a resolver.

    Subclasses give :meth:`cases` (what happens to a pulse of each photon number) and
    :meth:`resolve` (Eve's view of each detected event); :meth:`simulate` is shared.
    """

    name: str

    def parameters(self) -> dict[str, Any]:
        """The attack's parameters, JSON-ready."""
        raise NotImplementedError

    def cases(self, pmf: FloatArray, params: LinkParams) -> Cases:
        """The cases of a pulse whose photon number has distribution ``pmf``."""
        raise NotImplementedError

    def resolve(
        self,
        det: Detections,
        cases: Sequence[Cases],
        alice_bit: BitArray,
        alice_theta: FloatArray,
        rng: np.random.Generator,
    ) -> EveView:
        """Eve's view of the detected events (see :func:`run_attacked_link`)."""
        raise NotImplementedError

    def simulate(
        self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
    ) -> LinkOutput:
        """Run the quantum phase of ``protocol`` under this attack."""
        classes = link_classes(protocol, params)
        cases = [self.cases(classes.pmf(k), params) for k in range(len(classes.means))]
        return run_attacked_link(
            name=self.name,
            parameters=self.parameters(),
            protocol=protocol,
            params=params,
            pulses=pulses,
            rng=rng,
            cases=cases,
            resolve=self.resolve,
        )
