"""The link simulator against the analytic detection model of the papers.

Reference formulas are written out here from the papers, independently of the library's kernels:
Ma, Qi, Zhao, Lo, PRA 72, 012326 (2005), Eqs. (1)-(4): for a Poisson source of mean mu and overall
transmittance eta, each of Bob's two detectors receives an independent Poisson number of photons
(mean eta*mu*(1-e_d) for the "correct" one, eta*mu*e_d for the other when the bases match), so

    P(correct clicks) = 1 - (1 - p_d) exp(-eta mu (1 - e_d)),
    P(wrong clicks)   = 1 - (1 - p_d) exp(-eta mu e_d),
    Q_mu = 1 - (1 - p_d)^2 exp(-eta mu)                       (Ma 2005 Eq. (3), Y_0 = 1-(1-p_d)^2)
    E_mu Q_mu = P(wrong only) + P(both) / 2                    (double clicks squashed at random)
              ~ e_0 Y_0 + e_d (1 - exp(-eta mu))              (Ma 2005 Eq. (4), first order in p_d)

Tolerances are 5 standard deviations of the binomial counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qkdstack.errors import ParameterError
from qkdstack.link import LinkOutput, simulate, stream
from qkdstack.params import LinkParams
from qkdstack.typing import Role

from helpers import assert_binomial


def _eta(p: LinkParams) -> float:
    return 10 ** (-(p.attenuation_db_per_km * p.distance_km + p.insertion_loss_db) / 10) * (
        p.detector_efficiency
    )


def _poisson_matched(p: LinkParams, mu: float) -> tuple[float, float]:
    """Gain and error probability per pulse in the matched basis (independent reference)."""
    eta, pd, ed = _eta(p), p.dark_count_prob, p.misalignment_error
    pc = 1 - (1 - pd) * math.exp(-eta * mu * (1 - ed))
    pw = 1 - (1 - pd) * math.exp(-eta * mu * ed)
    gain = 1 - (1 - pd) ** 2 * math.exp(-eta * mu)
    err = pw * (1 - pc) + pc * pw / 2
    return gain, err


def _matched(out: LinkOutput, basis: int | None = None) -> np.ndarray:
    m = out.alice.basis == out.bob.basis
    if basis is not None:
        m &= out.alice.basis == basis
    return m


@pytest.mark.parametrize("distance_km", [0.0, 25.0, 80.0])
def test_bb84_laser_gain_and_error_match_ma2005(distance_km: float) -> None:
    p = LinkParams(
        distance_km=distance_km,
        source="laser",
        mu=0.5,
        misalignment_error=0.02,
        dark_count_prob=1e-5,
        detector_efficiency=0.1,
    )
    n = 4_000_000
    out = simulate("bb84", p, n, seed=11)
    gain, err = _poisson_matched(p, 0.5)
    sent = out.alice.meta.sent_counts
    assert sent is not None and sent.sum() == n
    # Matched-basis pulses: each pulse's basis pair is independent of its detection.
    m = _matched(out)
    assert_binomial(int(m.sum()), n, 0.5 * gain)
    errors = int((out.alice.bit[m] != out.bob.bit[m]).sum())
    assert_binomial(errors, n, 0.5 * err)
    # Ma 2005 Eq. (4) with Y_0 = 2 p_d, e_0 = 1/2, to first order: same within the statistics.
    eta = _eta(p)
    ma_eq = 0.5 * 2 * p.dark_count_prob + p.misalignment_error * (1 - math.exp(-eta * 0.5))
    assert abs(err - ma_eq) < 0.05 * err


def test_bb84_single_photon_gain() -> None:
    p = LinkParams(distance_km=25.0, source="single-photon", misalignment_error=0.01)
    n = 2_000_000
    out = simulate("bb84", p, n, seed=5)
    eta, pd, ed = _eta(p), p.dark_count_prob, p.misalignment_error
    gain = 1 - (1 - eta) * (1 - pd) ** 2
    assert_binomial(len(out.bob), n, gain)
    # Matched-basis errors: photon to wrong detector (and the correct one dark or not), or no photon
    # and a dark count on the wrong detector; double clicks count half.
    err = (
        eta * ed * (1 - pd)
        + eta * ed * pd / 2
        + eta * (1 - ed) * pd / 2
        + (1 - eta) * (pd * (1 - pd) + pd * pd / 2)
    )
    m = _matched(out)
    assert_binomial(int((out.alice.bit[m] != out.bob.bit[m]).sum()), n, 0.5 * err)


def test_biased_basis_choice_fractions() -> None:
    p = LinkParams(basis_prob_z=0.9, source="laser", distance_km=10.0)
    n = 1_000_000
    out = simulate("bb84", p, n, seed=3)
    sent = out.alice.meta.sent_counts
    assert sent is not None and sent.shape == (1, 2)
    assert_binomial(int(sent[0, 0]), n, 0.9)
    d = len(out.bob)
    assert_binomial(int((out.alice.basis == 0).sum()), d, 0.9)
    assert_binomial(int((out.bob.basis == 0).sum()), d, 0.9)
    assert_binomial(int(_matched(out).sum()), d, 0.9**2 + 0.1**2)


def test_records_are_well_formed() -> None:
    p = LinkParams(source="laser")
    out = simulate("bb84", p, 300_000, seed=1)
    a, b = out.alice, out.bob
    assert a.role is Role.ALICE and b.role is Role.BOB
    assert np.array_equal(a.pulse_index, b.pulse_index)
    assert np.all(np.diff(a.pulse_index) > 0) and a.pulse_index[-1] < 300_000
    for arr in (a.basis, a.bit, b.basis, b.bit):
        assert arr.dtype == np.uint8 and set(np.unique(arr)) <= {0, 1}
    assert a.intensity is not None and not a.intensity.any()
    assert a.meta.intensities == (0.5,) and a.meta.seed == 1 and b.meta.sent_counts is None
    # Bob's detection times are the gate times at 1 GHz (1000 ps per pulse); Alice does not detect.
    assert b.time_tag_ps is not None and np.array_equal(b.time_tag_ps, b.pulse_index * 1000)
    assert a.time_tag_ps is None
    # Alice's bits are uniform and independent of her basis.
    assert_binomial(int(a.bit.sum()), len(a), 0.5)


def test_same_seed_same_records_and_different_seed_differs() -> None:
    p = LinkParams(source="laser")
    x = simulate("bb84", p, 100_000, seed=7)
    y = simulate("bb84", p, 100_000, seed=7)
    z = simulate("bb84", p, 100_000, seed=8)
    assert np.array_equal(x.bob.bit, y.bob.bit) and np.array_equal(
        x.bob.pulse_index, y.bob.pulse_index
    )
    assert not np.array_equal(x.bob.pulse_index[:50], z.bob.pulse_index[:50])


def test_chunks_are_bounded_and_cover_all_pulses() -> None:
    p = LinkParams(source="laser", distance_km=0.0)
    n = 500_000
    link = stream("bb84", p, n, seed=2, chunk_detections=1000)
    sizes = []
    last = -1
    for chunk in link.chunks():
        sizes.append(len(chunk))
        assert chunk.pulse_index[0] > last
        last = int(chunk.pulse_index[-1])
    assert max(sizes) <= 1000 and len(sizes) > 10
    gain, _ = _poisson_matched(p, 0.5)
    assert_binomial(sum(sizes), n, gain)
    assert link.sent_counts is not None and link.sent_counts.sum() == n


def test_huge_pulse_counts_need_no_memory_per_pulse() -> None:
    # 10^15 pulses over 300 km: ~10^15 * 1e-7 detections would be too many; check a prefix of
    # the stream only, which must be produced without allocating anything per pulse.
    p = LinkParams(source="laser", distance_km=300.0, dark_count_prob=1e-9)
    link = stream("bb84", p, 10**15, seed=1, chunk_detections=10_000)
    first = next(iter(link.chunks()))
    assert len(first) == 10_000 and first.pulse_index[-1] < 10**15


def test_zero_pulses_and_bad_arguments() -> None:
    out = simulate("bb84", LinkParams(), 0, seed=1)
    assert len(out.alice) == 0 and out.alice.meta.sent_counts is not None
    assert out.alice.meta.sent_counts.sum() == 0
    with pytest.raises(ParameterError, match="'pulses' must be >= 0, not -1"):
        simulate("bb84", LinkParams(), -1)
    with pytest.raises(ParameterError, match="'protocol' must be one of"):
        simulate("bb85", LinkParams(), 10)
    with pytest.raises(ParameterError, match="'source'"):
        simulate("bb84", LinkParams(source="spdc"), 10)
    with pytest.raises(ParameterError, match="'pulses' must be an integer"):
        simulate("bb84", LinkParams(), 1.5)  # type: ignore[arg-type]


def test_attack_is_delegated() -> None:
    class Recorder:
        name = "recorder"

        def __init__(self) -> None:
            self.calls: list[tuple[str, int]] = []

        def simulate(
            self, protocol: str, params: LinkParams, pulses: int, rng: np.random.Generator
        ) -> LinkOutput:
            self.calls.append((protocol, pulses))
            return simulate(protocol, params, pulses, seed=int(rng.integers(1 << 30)))

    from qkdstack.link.attack import Attack

    eve = Recorder()
    assert isinstance(eve, Attack)
    out = simulate("bb84", LinkParams(), 1000, seed=1, attack=eve)
    assert eve.calls == [("bb84", 1000)] and isinstance(out, LinkOutput)


@pytest.mark.parametrize(
    ("distance_km", "param_set"), [(10.0, None), (50.0, None), (20.0, "gys"), (60.0, "gys")]
)
def test_decoy_gains_and_errors_per_intensity(distance_km: float, param_set: str | None) -> None:
    from qkdstack.params import get_param_set

    if param_set is None:
        p = LinkParams(
            distance_km=distance_km,
            intensities=(0.6, 0.2, 0.0),
            intensity_probs=(0.6, 0.3, 0.1),
            dark_count_prob=1e-5,
            misalignment_error=0.02,
        )
    else:  # Ma et al. 2005 with the GYS parameters (Table I)
        p = get_param_set(param_set).replace(distance_km=distance_km)
    n = 3_000_000
    out = simulate("decoy-bb84", p, n, seed=21)
    a, b = out.alice, out.bob
    sent = a.meta.sent_counts
    assert sent is not None and sent.shape == (3, 2) and sent.sum() == n
    assert a.meta.intensities == p.intensities
    assert a.intensity is not None
    for i, (mu, pi) in enumerate(zip(p.intensities, p.intensity_probs, strict=True)):
        assert_binomial(int(sent[i].sum()), n, pi)
        gain, err = _poisson_matched(p, mu)
        for basis in (0, 1):
            m = (a.intensity == i) & (a.basis == basis) & (b.basis == basis)
            # Given Alice sent (i, basis), Bob chooses the same basis w.p. 1/2 and detects w.p. gain.
            k = int(sent[i, basis])
            assert_binomial(int(m.sum()), k, 0.5 * gain)
            assert_binomial(int((a.bit[m] != b.bit[m]).sum()), k, 0.5 * err)


def _per_pulse_bb84(p: LinkParams, n: int, rng: np.random.Generator) -> dict[str, float]:
    """A direct per-pulse simulation (photon by photon), independent of the library."""
    eta = _eta(p)
    pd, ed = p.dark_count_prob, p.misalignment_error
    a_basis = rng.random(n) >= p.basis_prob_z
    b_basis = rng.random(n) >= p.basis_prob_z
    a_bit = rng.integers(0, 2, n)
    photons = rng.poisson(p.mu, n)
    arrived = rng.binomial(photons, eta)
    q = np.where(a_basis == b_basis, 1 - ed, 0.5)
    to_correct = rng.binomial(arrived, q)
    to_wrong = arrived - to_correct
    click_c = (to_correct > 0) | (rng.random(n) < pd)
    click_w = (to_wrong > 0) | (rng.random(n) < pd)
    det = click_c | click_w
    both = click_c & click_w
    flip = np.where(both, rng.integers(0, 2, n), click_w.astype(int))
    b_bit = a_bit ^ flip
    m = det & (a_basis == b_basis)
    return {
        "gain": det.mean(),
        "matched": m.mean(),
        "errors": (m & (a_bit != b_bit)).mean(),
        "z_det": (det & ~a_basis).mean(),
    }


def test_aggregate_sampling_matches_per_pulse_simulation() -> None:
    p = LinkParams(
        source="laser",
        mu=0.8,
        distance_km=5.0,
        detector_efficiency=0.3,
        dark_count_prob=1e-3,
        misalignment_error=0.05,
        basis_prob_z=0.7,
    )
    n = 400_000
    direct = _per_pulse_bb84(p, n, np.random.default_rng(99))
    out = simulate("bb84", p, n, seed=98)
    agg = {
        "gain": len(out.bob) / n,
        "matched": _matched(out).sum() / n,
        "errors": (_matched(out) & (out.alice.bit != out.bob.bit)).sum() / n,
        "z_det": (out.alice.basis == 0).sum() / n,
    }
    for key in direct:
        # Two independent binomial estimates: sd of the difference is sqrt(2 p (1 - p) / n).
        pr = (direct[key] + agg[key]) / 2
        sd = math.sqrt(2 * pr * (1 - pr) / n)
        assert abs(direct[key] - agg[key]) <= 5 * sd, (key, direct[key], agg[key])


def test_default_run_is_fast() -> None:
    import time

    # The default `qkd run` link (single photons, 25 km, 10^8 pulses) must take well under 2 s; it
    # takes ~0.15 s on an idle core. Best of three, as the test machine is shared.
    p = LinkParams()
    elapsed = []
    for seed in range(3):
        start = time.perf_counter()
        out = simulate("bb84", p, 10**8, seed=seed)
        elapsed.append(time.perf_counter() - start)
        assert len(out.bob) > 3_000_000
    assert min(elapsed) < 2.0


@pytest.mark.parametrize("distance_km", [25.0, 75.0])
def test_lim2014_detection_model_per_intensity(distance_km: float) -> None:
    """Lim et al., PRA 89, 022307 (2014), Sec. IV: D_k = 1 - (1 - p_dc)^2 exp(-eta k) without
    afterpulses; an afterpulse (probability p_ap after each click) fills the next gate with a random
    outcome. With no dead time, a gate of class k clicks with probability
    D_k + D_avg p_ap (1 - D_k), D_avg = sum_j p_j D_j (the previous gate's real-click probability),
    and half the afterpulses in matched bases are errors (Lim's p_ap D / 2 term)."""
    from qkdstack.params import get_param_set

    p = get_param_set("lim2014").replace(distance_km=distance_km)
    n = 4_000_000
    out = simulate("decoy-bb84", p, n, seed=77)
    a, b = out.alice, out.bob
    sent = a.meta.sent_counts
    assert sent is not None and a.intensity is not None
    eta = _eta(p)
    pd = p.dark_count_prob
    d = [1 - (1 - pd) ** 2 * math.exp(-eta * k) for k in p.intensities]
    d_avg = sum(pk * dk for pk, dk in zip(p.intensity_probs, d, strict=True))
    for i, mu in enumerate(p.intensities):
        _, err_real = _poisson_matched(p, mu)
        ap = d_avg * p.afterpulse_prob * (1 - d[i])
        for basis in (0, 1):
            k = int(sent[i, basis])
            m = (a.intensity == i) & (a.basis == basis)
            assert_binomial(int(m.sum()), k, d[i] + ap)
            mm = m & (b.basis == basis)
            assert_binomial(int((a.bit[mm] != b.bit[mm]).sum()), k, 0.5 * err_real + 0.5 * ap / 2)


def test_vanishing_detection_probability_gives_no_events() -> None:
    # 2000 km of fibre and no dark counts: p_det ~ 1e-201; nothing may overflow or be detected.
    p = LinkParams(distance_km=2000.0, dark_count_prob=0.0)
    out = simulate("bb84", p, 10**15, seed=1)
    assert len(out.bob) == 0
    assert out.alice.meta.sent_counts is not None and out.alice.meta.sent_counts.sum() == 10**15


def test_geometric_gaps_have_the_right_distribution() -> None:
    from qkdstack.link.events import _detection_positions, _log_survival

    p = 0.2
    u = np.random.default_rng(5).random(200_000)
    gaps = np.diff(_detection_positions(_log_survival(u), float(np.log1p(-p)), -1), prepend=-1)
    for g in (1, 2, 5):
        assert_binomial(int((gaps == g).sum()), gaps.size, (1 - p) ** (g - 1) * p)
    assert gaps.min() == 1


def test_log_survival_is_log1p_of_minus_u_and_keeps_every_gap() -> None:
    from qkdstack.link.events import _detection_positions, _log_survival

    u = np.random.default_rng(6).random(1_000_000)
    k = u * 2.0**53  # Generator.random: multiples of 2**-53, so 1 - u is exact
    np.testing.assert_array_equal(k, np.floor(k))
    np.testing.assert_array_equal((1.0 - u) * 2.0**53, 2.0**53 - k)
    logs = _log_survival(u.copy())
    reference = np.log1p(-u)
    np.testing.assert_array_less(
        np.abs(logs - reference), 2 * np.spacing(np.abs(reference)) + 1e-300
    )
    # The gaps of the positions equal 1 + floor(log1p(-u) / log1p(-p)), element by element.
    p = 0.013
    log_miss = float(np.log1p(-p))
    gaps = np.diff(_detection_positions(logs, log_miss, -1), prepend=-1)
    np.testing.assert_array_equal(gaps, 1 + np.floor(reference / log_miss).astype(np.int64))


def test_branch_free_bit_rules_follow_each_rule() -> None:
    from qkdstack.link.events import (
        RANDOM,
        USE_FLIPPED,
        USE_VALUE,
        EventTable,
        _draw_events,
        _guide_table,
        _type_settings,
    )

    rules = np.array([0, 1, RANDOM, USE_VALUE, USE_FLIPPED], dtype=np.uint8)
    a_rule, b_rule = np.repeat(rules, 5), np.tile(rules, 5)  # every pair of rules
    k = a_rule.shape[0]
    table = EventTable(
        prob=np.full(k, 1.0 / k),
        intensity=(np.arange(k) % 3).astype(np.uint8),
        alice_basis=(np.arange(k) % 2).astype(np.uint8),
        bob_basis=(np.arange(k) // 2 % 2).astype(np.uint8),
        alice_bit=a_rule,
        bob_bit=b_rule,
        no_detection=np.zeros((3, 2)),
    )
    rng = np.random.default_rng(7)
    n = 20_000
    r = rng.integers(0, 256, n).astype(np.uint8)
    cdf = np.cumsum(table.prob)
    cdf[-1] = 1.0
    counts = np.zeros(k, dtype=np.int64)
    kind, inten, a_basis, a_bit, b_basis, b_bit = _draw_events(
        rng.random(n), r, cdf, _guide_table(cdf), _type_settings(table), counts
    )
    np.testing.assert_array_equal(counts, np.bincount(kind, minlength=k))

    def rule_bit(rule: int, value: int, fresh: int) -> int:
        return {RANDOM: fresh, USE_VALUE: value, USE_FLIPPED: 1 - value}.get(rule, rule)

    for j in range(n):
        t, value = int(kind[j]), int(r[j]) & 1
        assert inten[j] == table.intensity[t] and a_basis[j] == table.alice_basis[t]
        assert b_basis[j] == table.bob_basis[t]
        assert a_bit[j] == rule_bit(int(a_rule[t]), value, (int(r[j]) >> 1) & 1)
        assert b_bit[j] == rule_bit(int(b_rule[t]), value, (int(r[j]) >> 2) & 1)


def test_an_unknown_bit_rule_is_refused() -> None:
    from qkdstack.errors import ParameterError
    from qkdstack.link.events import _rule_masks

    with pytest.raises(ParameterError, match="Unknown bit rule"):
        _rule_masks(np.array([0, 7], dtype=np.uint8))
