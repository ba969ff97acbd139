"""The pipeline as a stream: ``qkd run --realtime`` runs the link's blocks on both cores at once.

A run of ``pulses`` pulses is cut into ``k`` blocks of consecutive pulses, exactly as
:func:`qkdstack.blocked.run_in_blocks` cuts it (same sizes, same per-block seeds spawned from the
run's seed, each block with ``epsilon_sec / k`` and ``epsilon_cor / k``). A producer hands the blocks
to a pool of worker processes (two by default: one per core) through a bounded window of at most
``workers + 1`` blocks in flight. Each worker simulates its block's link (the quantum phase) and runs
the whole post-processing on it (sifting, estimation, error correction, verification, privacy
amplification): while one worker sifts block ``i`` the other simulates or amplifies block ``i + 1``,
so the stages of consecutive blocks overlap. The parent takes the finished blocks in order, deposits
their keys (in block order) and drops them.

Memory is bounded independently of the run's length: at most ``workers + 1`` blocks exist at once
(each worker holds one block's records and copies; finished blocks wait as their small reports and
final keys), and the report keeps one report of about 3 kB per block.

Finite-key statistics apply per block: each block is an independent execution of the protocol with
its own parameter estimation over its own sample, so its key length comes from its own finite-key
bound at ``epsilon / k``; by composability (the epsilons of independent executions add) the
concatenated key is ``epsilon_sec``-secret and ``epsilon_cor``-correct. Every block's key therefore
equals, bit for bit, the key :func:`~qkdstack.blocked.run_in_blocks` makes for the same seed and
block size (tests compare the digests).

The report is the blocked run's (counts summed over blocks, QBER as total errors over total sample
bits), with the per-block summaries under ``block_reports`` and the realtime fields:
``link_seconds`` (pulses / ``pulse_rate_hz``: the link time the run stands for), ``wall_seconds``,
``realtime_factor`` (``link_seconds / wall_seconds``; at least 1 keeps up with the link), ``blocks``
(their number) and ``peak_rss_mib`` (the parent's peak resident memory plus each worker's: an upper
bound on the peak of their sum, since pages the forked workers share with the parent count twice).

References
----------
J. Müller-Quade, R. Renner, "Composability in quantum cryptography", New J. Phys. 11, 085006
(2009) (the epsilons of independent protocol executions add).
M. Tomamichel, C. C. W. Lim, N. Gisin, R. Renner, "Tight finite-key analysis for quantum
cryptography", Nat. Commun. 3, 634 (2012) (the key length of one execution from its own sample).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import resource
import secrets
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from qkdstack import experiment
from qkdstack.blocked import (
    Deposit,
    Progress,
    aggregate,
    block_options,
    block_params,
    block_seeds,
    block_sizes,
)
from qkdstack.errors import ParameterError
from qkdstack.model import protocol_params
from qkdstack.params import LinkParams
from qkdstack.processing.pipeline import PipelineOptions
from qkdstack.typing import BitArray

__all__ = ["DEFAULT_WORKERS", "BlockResult", "peak_rss_mib", "run_block", "run_streaming"]

DEFAULT_WORKERS = 2
"""Worker processes: one per core of the two-core machine the line-rate goal is set on."""


@dataclass
class BlockResult:
    """One finished block: its report, its final keys (when asked for) and its worker's memory."""

    report: dict[str, Any]
    alice_key: BitArray | None
    bob_key: BitArray | None
    peak_rss_mib: float
    worker: int


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (``ru_maxrss`` is in KiB on Linux)."""
    scale = 1.0 if sys.platform == "darwin" else 1024.0  # bytes on macOS, KiB elsewhere
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale / 2**20


def run_block(
    protocol: str,
    params: LinkParams,
    pulses: int,
    seed: int | None,
    options: PipelineOptions | None,
    attack: Any,
    keep_keys: bool,
) -> BlockResult:
    """Simulate and post-process one block (a worker's task); the keys come back only if asked."""
    result = experiment.run_experiment(
        protocol, params, pulses, seed=seed, options=options, attack=attack
    )
    pipeline = result.pipeline
    alice_key = pipeline.alice_key if keep_keys else None
    bob_key = pipeline.bob_key if keep_keys else None
    report = result.report
    # The block's records and copies go before the next block (the nodes and the channel refer to
    # each other: only the cycle collector frees them).
    del result, pipeline
    gc.collect()
    return BlockResult(report, alice_key, bob_key, peak_rss_mib(), os.getpid())


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes forked from this one (they inherit the loaded modules and compiled
    kernels: no import or JIT cost per worker) where fork exists, spawned elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker)


_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX_BYTES = 32 * 2**20  # glibc's largest on 64-bit: 4 MiB * sizeof(long)


def _init_worker() -> None:
    """A worker's start: its FFTs run on one thread (the other workers keep the other cores), and
    on glibc its heap keeps the memory a block freed for the next block.

    By default glibc maps arrays above a (moving) threshold afresh and unmaps them when freed, so
    every block faults in and zeroes its ~0.5 GB of working arrays again; a fixed 32 MiB threshold
    and no trimming keep them in the heap (system time of a 10^10-pulse stream 1.4 -> 0.8-1.2 s,
    BENCHMARKS.md). The heap stays near one block's peak, which the window bounds anyway.
    """
    from qkdstack.processing import amplification

    amplification.FFT_WORKERS = 1
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX_BYTES)
            libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
        except (OSError, AttributeError):  # not glibc (musl): its defaults stay
            pass


def _warm_before_fork(options: PipelineOptions) -> None:
    """Load the compiled kernels once here, so that the forked workers inherit them instead of
    each loading them inside its first block (:mod:`qkdstack.processing.warmup`)."""
    from qkdstack.processing.warmup import STAGES, warm_up

    stages = ["link", "amplification"]
    if options.ec_method in STAGES:
        stages.append(options.ec_method)
    try:
        warm_up(stages)
    except Exception:  # a block meets the same failure and reports it
        pass


def run_streaming(
    protocol: str,
    params: LinkParams,
    pulses: int,
    *,
    seed: int | None = None,
    options: PipelineOptions | None = None,
    attack: Any = None,
    deposit: Deposit | None = None,
    block_pulses: int | None = None,
    max_detections: int | None = None,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run a simulated link as a stream of blocks on ``workers`` processes.

    Parameters
    ----------
    protocol, params, pulses, seed, options, attack
        As for :func:`qkdstack.experiment.run_experiment`.
    deposit : callable, optional
        ``deposit(alice_key, bob_key) -> keys stored``, called in block order with each block's
        final keys (the report's ``stored_keys`` adds its results).
    block_pulses : int, optional
        Pulses per block (at most; blocks are nearly equal). Default: as many blocks as keep each
        within :data:`~qkdstack.blocked.MAX_BLOCK_DETECTIONS` expected detections (or
        ``max_detections``), the plan of :func:`~qkdstack.blocked.run_in_blocks`.
    workers : int
        Worker processes (1 runs the blocks one after another in this process).
    progress : callable, optional
        ``progress(pulses_done, detections, secret_bits)`` after each block taken in order.

    Returns
    -------
    dict
        The blocked run's report (with ``block_reports`` for the blocks' summaries) and
        ``link_seconds``, ``wall_seconds``, ``realtime_factor``, ``blocks``, ``peak_rss_mib``.
    """
    if block_pulses is not None and block_pulses < 1:
        raise ParameterError(f"Argument 'block_pulses' must be >= 1, not {block_pulses}.")
    if workers < 1:
        raise ParameterError(f"Argument 'workers' must be >= 1, not {workers}.")
    start = time.perf_counter()
    params = protocol_params(protocol, params)
    opts = experiment.security_options(params, options)
    sizes = block_sizes(
        protocol, params, pulses, block_pulses=block_pulses, max_detections=max_detections
    )
    k = len(sizes)
    if k == 1:  # one block is one run, with the run's own seed (as run_in_blocks)
        tasks = [(pulses, seed, params, options)]
    else:
        if seed is None:
            seed = secrets.randbits(63)
        # Each block is a run on the link with epsilon / k (the link's parameters hold them).
        block_link, block_opts = block_params(params, k), block_options(opts, k)
        tasks = [
            (n, s, block_link, block_opts) for n, s in zip(sizes, block_seeds(seed, k), strict=True)
        ]
    keep_keys = deposit is not None
    reports: list[dict[str, Any]] = []
    worker_rss: dict[int, float] = {}
    totals = [0, 0, 0]

    def take(block: BlockResult) -> None:
        rep = block.report
        if deposit is not None and block.alice_key is not None and block.bob_key is not None:
            rep["stored_keys"] = deposit(block.alice_key, block.bob_key)  # as run_in_blocks
        worker_rss[block.worker] = max(worker_rss.get(block.worker, 0.0), block.peak_rss_mib)
        reports.append(rep)
        totals[0] += int(rep["pulses"])
        totals[1] += int(rep["detections"] or 0)
        totals[2] += int(rep["secret_bits"] or 0)
        if progress is not None:
            progress(totals[0], totals[1], totals[2])

    if workers == 1 or k == 1:
        for n, s, p, o in tasks:
            take(run_block(protocol, p, n, s, o, attack, keep_keys))
    else:
        _warm_before_fork(opts)
        # The objects alive now (modules, compiled kernels) go to the collector's permanent
        # generation: the workers inherit them frozen, so their per-block collection walks only
        # the block's own objects (0.05 -> 0.004 s a block) and never writes to the shared pages.
        # (A caller that froze objects of its own keeps its frozen set as it is.)
        freeze = gc.get_freeze_count() == 0
        if freeze:
            gc.collect()
            gc.freeze()
        window: deque[Future[BlockResult]] = deque()
        pending = iter(tasks)
        try:
            with _pool(workers) as pool:
                try:
                    for n, s, p, o in pending:
                        window.append(
                            pool.submit(run_block, protocol, p, n, s, o, attack, keep_keys)
                        )
                        if len(window) > workers:  # bounded: a block waits only for its turn
                            take(window.popleft().result())
                    while window:
                        take(window.popleft().result())
                except BaseException:
                    for future in window:
                        future.cancel()
                    raise
        finally:
            if freeze:
                gc.unfreeze()  # this process's own objects are collected again
    wall_s = time.perf_counter() - start
    if k == 1:
        report = reports[0]
    else:
        assert seed is not None
        report = aggregate(reports, seed, (opts.epsilon_sec, opts.epsilon_cor))
        report["params"] = params.to_dict()  # the run's parameters, not one block's epsilon / k
        report["block_reports"] = report.pop("blocks")
    link_s = pulses / params.pulse_rate_hz
    report["link_seconds"] = link_s
    report["wall_seconds"] = wall_s
    report["realtime_factor"] = link_s / wall_s if wall_s > 0 else None
    report["blocks"] = k
    report["peak_rss_mib"] = peak_rss_mib() + sum(
        v for pid, v in worker_rss.items() if pid != os.getpid()
    )
    return report
