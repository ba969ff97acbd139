"""What the eavesdropper learned: the ``eve`` block of the run report.

This analysis runs *outside* the parties, on simulation-only data: Eve's records
(:class:`~qkdstack.adversary.EveRecords`), the positions of the key bits, the corrected key and
the final key with its Toeplitz seed. Nothing here is ever given to Alice's or Bob's code.

Eve's information on the corrected key before privacy amplification is counted in two parts. From
the quantum phase, an individual attack gives her ``1 - h(p_i)`` bits of Shannon information on key
bit ``i``, where ``p_i`` is her posterior error probability (``EveRecords.error_prob``; Shannon 1948,
the capacity of a binary symmetric channel). From the public discussion she learns at most the
disclosed bits the classical channel counted (error-correction parities, verification tag). Their
sum, capped at the key length, is ``eve_info_bits_before_pa``.

After privacy amplification each final bit is the parity of a Toeplitz row of corrected-key bits,
``k_i = sum_j T[i, j] x_j mod 2`` with ``T[i, j] = seed[i - j + n - 1]`` (Krawczyk 1994). Eve's best
guess of ``k_i`` from her individual guesses ``g_j`` is the parity ``sum_j T[i, j] g_j mod 2``; a
parity with one coin-flip guess in it is itself a fair coin. Her agreement with the final key is
compared with 1/2 by an exact two-sided binomial test (and a z-score ``(a - m/2) / sqrt(m/4)``): in
any run that produces a key it must be consistent with 1/2.

That agreement test is weak: it passes even with no compression at all (``m = n``), because a row
touching one bit Eve does not know is a coin flip to her guess, and her guess ignores the parities
she read. The exact measure is :mod:`qkdstack.adversary.eve_knowledge`:
``eve_known_bits_before_pa`` (the dimension of the linear functions of the corrected key she can
evaluate from her certain bits and every disclosed parity) and ``eve_known_final_bits`` (the
dimension of those that are functions of the final key: ``rowspace(T) ∩ span``), computed by
GF(2) elimination when the run's transcript was recorded (:func:`eve_report_for_run` with a
``wiretap``). At the proof's key length the latter must be 0.

References
----------
C. E. Shannon, Bell Syst. Tech. J. 27, 379 (1948).
H. Krawczyk, "LFSR-based hashing and authentication", CRYPTO 1994 (Toeplitz hashing).
C. H. Bennett, G. Brassard, C. Crépeau, U. M. Maurer, "Generalized privacy amplification",
IEEE Trans. Inf. Theory 41, 1915 (1995).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import signal, stats

from qkdstack.adversary.cloner import fuchs_eve_error_prob, fuchs_information
from qkdstack.adversary.eve_records import EveRecords
from qkdstack.adversary.intercept_resend import BREIDBART_ERROR_PROB
from qkdstack.errors import ParameterError
from qkdstack.randomness import as_generator
from qkdstack.theory.entropy import binary_entropy
from qkdstack.typing import BitArray, FloatArray, IndexArray, Seed

if TYPE_CHECKING:
    from qkdstack.adversary.eve_knowledge import Wiretap
    from qkdstack.link.records import LinkOutput
    from qkdstack.processing.pipeline import PipelineResult

__all__ = [
    "BREIDBART_INFORMATION",
    "breidbart_information",
    "eve_report",
    "eve_report_for_run",
    "expected_final_agreement",
    "fuchs_eve_error_prob",
    "fuchs_information",
    "intercept_resend_information",
    "intercept_resend_qber",
    "shannon_information",
    "toeplitz_parities",
]

_FFT_BLOCK = 1 << 20


def intercept_resend_qber(fraction: float) -> float:
    """QBER an intercept-resend attack in random Z/X bases adds on an error-free link: ``f / 4``.

    Eve picks the wrong basis with probability 1/2, and then Bob's outcome is random (Bennett,
    Brassard 1984; Gisin, Ribordy, Tittel, Zbinden, Rev. Mod. Phys. 74, 145 (2002), Sec. VI.A).
    The Breidbart-basis attack gives the same 1/4 on attacked pulses.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ParameterError(f"Argument 'fraction' must be in [0, 1], not {fraction!r}.")
    return fraction / 4.0


def intercept_resend_information(fraction: float) -> float:
    """Eve's Shannon information per sifted bit for random-basis intercept-resend: ``f / 2``.

    She measured in the right basis half the time and then knows the bit (1 bit), else nothing
    (Gisin et al. 2002, Sec. VI.A).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ParameterError(f"Argument 'fraction' must be in [0, 1], not {fraction!r}.")
    return fraction / 2.0


def breidbart_information() -> float:
    """Eve's Shannon information per sifted bit in the Breidbart basis: ``1 - h(cos^2(pi/8))``.

    Her guess is right with probability ``cos^2(pi/8) ~ 0.854`` in either BB84 basis, so she gets
    ``~0.399`` bit per attacked sifted bit for a QBER of 1/4 (Bennett, Bessette, Brassard, Salvail,
    Smolin, J. Cryptology 5, 3 (1992), Sec. 4; Huttner, Ekert, J. Mod. Opt. 41, 2455 (1994)).
    """
    return 1.0 - float(binary_entropy(BREIDBART_ERROR_PROB))


BREIDBART_INFORMATION: float = breidbart_information()


def shannon_information(error_prob: FloatArray) -> float:
    """Total Shannon information ``sum_i [1 - h(p_i)]`` of guesses with error probabilities ``p_i``."""
    p = np.asarray(error_prob, dtype=np.float64)
    return float(np.sum(1.0 - np.asarray(binary_entropy(p))))


def toeplitz_parities(toeplitz_seed: BitArray, bits: BitArray, m: int) -> BitArray:
    """``T @ bits mod 2`` for the ``m x n`` Toeplitz matrix ``T[i, j] = seed[i - j + n - 1]``.

    ``(T x)_i = sum_j seed[i + n - 1 - j] x_j`` is entry ``i + n - 1`` of the full convolution of
    ``seed`` and ``x``, computed by FFT in blocks of ``2^20`` bits of ``x`` so every partial sum stays
    far below float64's exact-integer range.

    Parameters
    ----------
    toeplitz_seed : ndarray of uint8, shape (m + n - 1,)
    bits : ndarray of uint8, shape (n,)
    m : int
        Output length.
    """
    n = int(bits.shape[0])
    if m < 0:
        raise ParameterError(f"Argument 'm' must be >= 0, not {m}.")
    if m == 0 or n == 0:
        return np.zeros(m, dtype=np.uint8)
    if toeplitz_seed.shape[0] != m + n - 1:
        raise ParameterError(
            f"Argument 'toeplitz_seed' must have m + n - 1 = {m + n - 1} bits, "
            f"not {toeplitz_seed.shape[0]}."
        )
    acc = np.rint(_toeplitz_apply(toeplitz_seed, bits.astype(np.float64), m)).astype(np.int64)
    return (acc & 1).astype(np.uint8)


def _toeplitz_apply(toeplitz_seed: BitArray, values: FloatArray, m: int) -> FloatArray:
    """``T @ values`` in float64 (no reduction), by FFT in blocks of ``2^20`` columns.

    Integer inputs give sums exact after rounding, because each block's partial sums stay far
    below float64's exact-integer range.
    """
    n = int(values.shape[0])
    seed_f = toeplitz_seed.astype(np.float64)
    acc = np.zeros(m, dtype=np.float64)
    for start in range(0, n, _FFT_BLOCK):
        block = values[start : start + _FFT_BLOCK]
        width = block.shape[0]
        # Entry i of the output needs seed[i + n - 1 - j] for j in this block: the full
        # convolution of seed[lo:hi] with the block, read from index width - 1.
        lo = n - 1 - (start + width - 1)
        hi = m + n - 1 - start
        part = signal.fftconvolve(seed_f[lo:hi], block)
        if block.dtype == np.float64 and np.all(np.mod(block, 1.0) == 0):
            part = np.rint(part)
        acc += part[width - 1 : width - 1 + m]
    return acc


def expected_final_agreement(toeplitz_seed: BitArray, error_prob: FloatArray, m: int) -> float:
    """Expected share of final bits Eve's parity guesses get right, from her error probabilities.

    A parity of independent guesses with error probabilities ``p_j`` is right with probability
    ``(1 + prod_j (1 - 2 p_j)) / 2`` (the piling-up lemma, Matsui 1993, Lemma 2); a row with one
    ignorant guess (``p_j = 1/2``) gives exactly 1/2. The mean over the ``m`` rows of the Toeplitz
    matrix is returned (NaN when ``m = 0``).

    References
    ----------
    M. Matsui, "Linear cryptanalysis method for DES cipher", EUROCRYPT 1993, Lemma 2.
    """
    n = int(error_prob.shape[0])
    if m == 0 or n == 0:
        return float("nan")
    if toeplitz_seed.shape[0] != m + n - 1:
        raise ParameterError(
            f"Argument 'toeplitz_seed' must have m + n - 1 = {m + n - 1} bits, "
            f"not {toeplitz_seed.shape[0]}."
        )
    p = np.clip(np.asarray(error_prob, dtype=np.float64), 0.0, 0.5)
    ignorant = p >= 0.5 - 1e-12
    ignorant_per_row = np.rint(_toeplitz_apply(toeplitz_seed, ignorant.astype(np.float64), m))
    log_bias = np.where(ignorant, 0.0, np.log(np.where(ignorant, 1.0, 1.0 - 2.0 * p)))
    row_log_bias = _toeplitz_apply(toeplitz_seed, log_bias, m)
    per_row = np.where(
        ignorant_per_row > 0, 0.5, 0.5 * (1.0 + np.exp(np.minimum(row_log_bias, 0.0)))
    )
    return float(per_row.mean())


def _agreement_stats(agree: int, total: int) -> dict[str, Any]:
    if total == 0:
        return {
            "eve_agreement_final": None,
            "eve_agreement_final_z": None,
            "eve_agreement_final_p_value": None,
            "eve_agreement_final_consistent": None,
            "eve_agreement_final_expected": None,
        }
    z = (agree - total / 2.0) / math.sqrt(total / 4.0)
    p_value = float(stats.binomtest(agree, total, 0.5).pvalue)
    return {
        "eve_agreement_final": agree / total,
        "eve_agreement_final_z": z,
        "eve_agreement_final_p_value": p_value,
        # Consistent with 1/2 at 5 standard deviations.
        "eve_agreement_final_consistent": bool(abs(z) < 5.0),
    }


def eve_report(
    eve: EveRecords,
    sifted_pulse_index: IndexArray,
    corrected_key: BitArray,
    final_key: BitArray | None,
    toeplitz_seed: BitArray | None,
    *,
    leaked_bits: int = 0,
    seed: Seed = None,
) -> dict[str, Any]:
    """The ``eve`` block of the report: what Eve learned before and after privacy amplification.

    Parameters
    ----------
    eve : EveRecords
        Eve's records from the link (``LinkOutput.eve``).
    sifted_pulse_index : ndarray of int64, shape (n,)
        Pulse index of each bit of the corrected key, in key order.
    corrected_key : ndarray of uint8, shape (n,)
        The key after error correction (Alice's bits).
    final_key : ndarray of uint8, shape (m,), or None
        The key after privacy amplification, ``T(seed) @ corrected_key mod 2``; None (or empty)
        when the run aborted before producing a key.
    toeplitz_seed : ndarray of uint8, shape (m + n - 1,), or None
        The Toeplitz seed of privacy amplification.
    leaked_bits : int
        Key-dependent bits disclosed on the classical channel (``channel.stats.leaked_bits()``).
    seed : int, Generator or None
        Eve's coin flips where she has no guess (simulation randomness).

    Returns
    -------
    dict
        JSON-ready: ``attack``, ``parameters``, ``intercepted_pulses``, ``key_bits``,
        ``known_sifted_bits`` (key positions where Eve holds the correct bit for sure),
        ``eve_agreement_sifted``, ``eve_info_quantum_bits``, ``leaked_bits``,
        ``eve_info_bits_before_pa``, ``final_bits``, ``eve_agreement_final`` (None without a key)
        with its z-score, two-sided binomial p-value, ``eve_agreement_final_consistent`` and
        ``eve_agreement_final_expected`` (the agreement her error probabilities predict).
    """
    n = int(corrected_key.shape[0])
    if sifted_pulse_index.shape != (n,):
        raise ParameterError(
            f"Argument 'sifted_pulse_index' must have one entry per key bit ({n}), "
            f"not shape {sifted_pulse_index.shape}."
        )
    if leaked_bits < 0:
        raise ParameterError(f"Argument 'leaked_bits' must be >= 0, not {leaked_bits}.")
    pos = eve.positions_of(np.asarray(sifted_pulse_index, dtype=np.int64))
    guess = eve.guess[pos]
    certain = eve.certain[pos]
    error_prob = eve.error_prob[pos]
    agree_sifted = guess == corrected_key
    known = int(np.count_nonzero(certain & agree_sifted))
    info_quantum = shannon_information(error_prob)
    report: dict[str, Any] = {
        "attack": eve.attack,
        "parameters": dict(eve.parameters),
        "intercepted_pulses": int(eve.intercepted_pulses),
        "key_bits": n,
        "known_sifted_bits": known,
        "eve_agreement_sifted": float(agree_sifted.mean()) if n else None,
        "eve_info_quantum_bits": info_quantum,
        "leaked_bits": int(leaked_bits),
        "eve_info_bits_before_pa": min(float(n), info_quantum + leaked_bits),
    }
    m = 0 if final_key is None else int(final_key.shape[0])
    report["final_bits"] = m
    if m == 0 or toeplitz_seed is None:
        report.update(_agreement_stats(0, 0))
        return report
    rng = as_generator(seed)
    # Where Eve knows nothing her guess is a coin flip; a row containing one is a coin flip too.
    ignorant = error_prob >= 0.5
    guess = guess.copy()
    guess[ignorant] = rng.integers(0, 2, size=int(ignorant.sum()), dtype=np.uint8)
    eve_final = toeplitz_parities(toeplitz_seed, guess, m)
    report.update(_agreement_stats(int(np.count_nonzero(eve_final == final_key)), m))
    report["eve_agreement_final_expected"] = expected_final_agreement(toeplitz_seed, error_prob, m)
    return report


_KEY_STAGES = ("reconciliation", "verification")
"""Stages whose disclosed bits concern the key itself (sample bits are discarded from the key)."""


def eve_report_for_run(
    link: LinkOutput,
    pipeline: PipelineResult,
    *,
    seed: Seed = None,
    wiretap: Wiretap | None = None,
) -> dict[str, Any] | None:
    """The ``eve`` block of a finished simulated run (None when no attack ran).

    Simulation-only oracle: it reads Eve's records, Bob's key positions and keys after the run, and
    Alice's bits at those positions when the run stopped before error correction. The key positions
    are Bob's key after sampling (``key_index``) or, when the run aborted in estimation, the sifted
    positions. Eve's information from the channel is the disclosed bits of reconciliation and
    verification (``channel.stats.leaked_bits``).

    Parameters
    ----------
    link : LinkOutput
        The link's output; ``link.eve`` holds Eve's records.
    pipeline : PipelineResult
        The post-processing result (:func:`qkdstack.processing.pipeline.run_postprocessing`).
    seed : int, Generator or None
        Eve's coin flips where she has no guess.
    wiretap : Wiretap or None
        The reconciliation transcript as Eve read it (the run's ``PipelineOptions.observer``):
        with it, ``eve_known_bits_before_pa`` and ``eve_known_final_bits`` are the exact
        dimensions of what she can compute (:func:`qkdstack.adversary.eve_knowledge.linear_knowledge`).
    """
    eve = link.eve
    if not isinstance(eve, EveRecords):
        return None
    bob = pipeline.bob
    index = bob.key_index if bob.key_index is not None else bob.sifted_index
    if index is None:
        index = np.zeros(0, dtype=np.int64)
    index = np.asarray(index, dtype=np.int64)
    if bob.corrected_key is not None and bob.corrected_key.shape[0] == index.shape[0]:
        key = bob.corrected_key
    else:
        # Oracle: Alice's bits at the key positions (the parties never do this).
        pos = np.searchsorted(link.alice.pulse_index, index)
        key = link.alice.bit[pos]
    produced = pipeline.error is None and pipeline.alice_key is not None
    final = pipeline.alice_key if produced else None
    leaked = sum(pipeline.channel.stats.leaked_bits(stage) for stage in _KEY_STAGES)
    report = eve_report(
        eve,
        index,
        key,
        final,
        bob.toeplitz_seed if produced else None,
        leaked_bits=leaked,
        seed=seed,
    )
    report["aborted"] = not produced
    report.update(_linear_knowledge(eve, index, key, final, bob, produced, wiretap))
    return report


def _linear_knowledge(
    eve: EveRecords,
    index: IndexArray,
    key: BitArray,
    final: BitArray | None,
    bob: Any,
    produced: bool,
    wiretap: Wiretap | None,
) -> dict[str, Any]:
    """The exact GF(2) fields of the eve block, for the corrected key (None when not computed)."""
    from qkdstack.adversary.eve_knowledge import (
        EXACT_LIMIT_BITS,
        DisclosedFunctionals,
        disclosed_functionals,
        linear_knowledge,
    )

    if wiretap is None or bob.corrected_key is None:
        return {
            "eve_known_bits_before_pa": None,
            "eve_known_final_bits": None,
            "eve_knowledge_reason": "no reconciliation transcript"
            if bob.corrected_key is None
            else "the run kept no transcript of the public discussion",
        }
    if key.shape[0] > EXACT_LIMIT_BITS:  # before reading the transcript: it may be large
        return linear_knowledge(
            np.zeros(key.shape[0], dtype=bool),
            DisclosedFunctionals(int(key.shape[0]), 0, []),
            None,
            0,
        )
    pos = eve.positions_of(index)
    certain = eve.certain[pos] & (eve.guess[pos] == key)
    functionals = disclosed_functionals(wiretap.messages, int(key.shape[0]))
    m = 0 if final is None else int(final.shape[0])
    return linear_knowledge(certain, functionals, bob.toeplitz_seed if produced else None, m)
