"""The link simulator: ``simulate(protocol, params, pulses)`` gives Alice's and Bob's records.

The simulation draws the detection statistics in aggregate and makes bits only for detection events
(:mod:`qkdstack.link.events`), in chunks of bounded size: :func:`stream` yields the events chunk by
chunk for any number of pulses (10^12 and more) in bounded memory, and :func:`simulate` collects them
into two :class:`~qkdstack.link.records.Records`.

Alice's records list her settings for the pulses that produced a detection event only; her
``meta.sent_counts[i, a]`` counts every pulse she sent with intensity class ``i`` and basis
(setting) ``a``. Bob's records (and Alice's, for entanglement-based protocols, where she detects too)
carry ``time_tag_ps``: the gate time ``pulse_index / pulse_rate_hz``. ``LinkOutput.truth`` holds
simulation-only facts: ``detection_prob`` (per pulse, before dead time and afterpulses),
``detections``, ``event_probs``, ``event_counts``, ``dead_time_losses`` and ``afterpulses``.

Dead time and afterpulsing (:class:`~qkdstack.link.detectors.DeadTimeAfterpulse`) are applied to
Bob's detection unit in prepare-and-measure links; for entanglement-based links they are not
modelled (the coincidence stream is reported as is).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qkdstack.errors import ParameterError
from qkdstack.link.detectors import DeadTimeAfterpulse, dead_gates
from qkdstack.link.events import (
    DetectionChunk,
    EventTable,
    StreamTally,
    stream_detections,
    undetected_settings,
)
from qkdstack.link.index_kernels import gate_time_tags_ps
from qkdstack.link.protocols import ENTANGLED, event_table
from qkdstack.link.records import LinkOutput, RecordMeta, Records
from qkdstack.model import protocol_params
from qkdstack.params import LinkParams
from qkdstack.protocol import registry
from qkdstack.randomness import as_generator
from qkdstack.typing import Role, Seed

if TYPE_CHECKING:
    from qkdstack.link.attack import Attack

__all__ = [
    "DEFAULT_CHUNK_DETECTIONS",
    "LinkStream",
    "simulate",
    "simulate_to_files",
    "stream",
]

DEFAULT_CHUNK_DETECTIONS: int = 1 << 20
"""Detection events per chunk: bounds the working memory (about 40 bytes per event)."""


def _check_pulses(pulses: int) -> int:
    if isinstance(pulses, bool) or not isinstance(pulses, int | np.integer):
        raise ParameterError(f"Argument 'pulses' must be an integer, not {pulses!r}.")
    if pulses < 0:
        raise ParameterError(f"Argument 'pulses' must be >= 0, not {pulses}.")
    return int(pulses)


@dataclass
class LinkStream:
    """Detection events of one link run, produced chunk by chunk.

    Iterate over :meth:`chunks` once; afterwards :attr:`sent_counts` and :attr:`detections` are set.
    """

    protocol: str
    params: LinkParams
    pulses: int
    table: EventTable
    intensities: tuple[float, ...]
    rng: np.random.Generator
    chunk_detections: int = DEFAULT_CHUNK_DETECTIONS
    detections: int = 0
    sent_counts: npt.NDArray[np.int64] | None = None
    tally: StreamTally | None = None

    def chunks(self) -> Iterator[DetectionChunk]:
        """Yield :class:`~qkdstack.link.events.DetectionChunk` s in increasing pulse order."""
        tally = StreamTally.empty(self.table)
        detector = None
        if self.protocol not in ENTANGLED:
            detector = DeadTimeAfterpulse(
                dead_gates(self.params.dead_time_ns, self.params.pulse_rate_hz),
                self.params.afterpulse_prob,
            )
        detections = 0
        for chunk in stream_detections(
            self.table, self.pulses, self.rng, self.chunk_detections, detector=detector, tally=tally
        ):
            detections += len(chunk)
            yield chunk
        self.tally = tally
        self.detections = detections
        sent = undetected_settings(self.table, self.pulses - tally.pulses_drawn, self.rng)
        np.add.at(sent, (self.table.intensity, self.table.alice_basis), tally.type_counts)
        self.sent_counts = sent + tally.afterpulse_settings


def stream(
    protocol: str,
    params: LinkParams,
    pulses: int,
    *,
    seed: Seed = None,
    chunk_detections: int = DEFAULT_CHUNK_DETECTIONS,
) -> LinkStream:
    """A :class:`LinkStream` of ``pulses`` pulses of ``protocol``: bounded memory for any ``pulses``."""
    pulses = _check_pulses(pulses)
    if not isinstance(params, LinkParams):
        raise ParameterError(
            f"Argument 'params' must be a LinkParams, not {type(params).__name__}."
        )
    protocol = registry.resolve(protocol)  # an alias ("di") names its protocol in the records
    table, intensities = event_table(protocol, params)
    return LinkStream(
        protocol=protocol,
        params=params,
        pulses=pulses,
        table=table,
        intensities=intensities,
        rng=as_generator(seed),
        chunk_detections=chunk_detections,
    )


def _concat(chunks: list[DetectionChunk], name: str, dtype: type) -> np.ndarray:
    if not chunks:
        return np.zeros(0, dtype=dtype)
    return np.concatenate([getattr(c, name) for c in chunks]).astype(dtype, copy=False)


def simulate(
    protocol: str,
    params: LinkParams,
    pulses: int,
    *,
    seed: int | None = None,
    attack: Attack | None = None,
    chunk_detections: int = DEFAULT_CHUNK_DETECTIONS,
) -> LinkOutput:
    """Simulate ``pulses`` pulses of ``protocol`` over the link ``params``.

    Parameters
    ----------
    protocol : str
        ``"bb84"``, ``"decoy-bb84"``, ``"six-state"``, ``"b92"``, ``"bbm92"`` or ``"e91"``.
    params : LinkParams
        Physical parameters of the link; the protocol's rules apply
        (:func:`qkdstack.model.protocol_params`: ``decoy-bb84`` has a laser source).
    pulses : int
        Number of pulses (time slots) sent, >= 0.
    seed : int or None
        Seed of the simulation's random generator.
    attack : Attack or None
        When given, the attack simulates the link (``attack.simulate(protocol, params, pulses, rng)``).
    chunk_detections : int
        Events drawn per chunk (the records do not depend on it in distribution).

    Returns
    -------
    LinkOutput
        Alice's and Bob's :class:`~qkdstack.link.records.Records` (sorted by pulse index) and
        simulation-only ``truth``.
    """
    pulses = _check_pulses(pulses)
    protocol = registry.resolve(protocol)
    params = protocol_params(protocol, params)  # decoy-bb84: a laser, and the records say so
    if attack is not None:
        attacked = attack.simulate(protocol, params, pulses, as_generator(seed))
        if not isinstance(seed, int):
            return attacked
        # Simulated records say so (their seed), as the honest link's do: hardware records (no
        # seed) get their sample from secrets, simulated ones from the simulation's generator.
        return dataclasses.replace(
            attacked,
            alice=dataclasses.replace(
                attacked.alice, meta=dataclasses.replace(attacked.alice.meta, seed=seed)
            ),
            bob=dataclasses.replace(
                attacked.bob, meta=dataclasses.replace(attacked.bob.meta, seed=seed)
            ),
        )
    link = stream(protocol, params, pulses, seed=seed, chunk_detections=chunk_detections)
    chunks = list(link.chunks())
    tally = link.tally
    assert tally is not None
    index = _concat(chunks, "pulse_index", np.int64)
    intensity = _concat(chunks, "intensity", np.uint8)
    params_dict: dict[str, Any] = params.to_dict()
    alice_meta = RecordMeta(
        protocol=protocol,
        pulses=pulses,
        intensities=link.intensities,
        sent_counts=link.sent_counts,
        params=params_dict,
        seed=seed,
    )
    bob_meta = RecordMeta(protocol=protocol, pulses=pulses, params=params_dict, seed=seed)
    # Detection time = gate time: pulse index / pulse rate (exact in float64 below 2**53 ps).
    time_tag_ps = gate_time_tags_ps(index, 1e12 / params.pulse_rate_hz)
    alice = Records(
        role=Role.ALICE,
        pulse_index=index,
        basis=_concat(chunks, "alice_basis", np.uint8),
        bit=_concat(chunks, "alice_bit", np.uint8),
        meta=alice_meta,
        intensity=None if protocol in ENTANGLED else intensity,
        time_tag_ps=time_tag_ps.copy() if protocol in ENTANGLED else None,
    )
    bob = Records(
        role=Role.BOB,
        pulse_index=index.copy(),
        basis=_concat(chunks, "bob_basis", np.uint8),
        bit=_concat(chunks, "bob_bit", np.uint8),
        meta=bob_meta,
        time_tag_ps=time_tag_ps,
    )
    truth: dict[str, Any] = {
        "detection_prob": link.table.detection_prob,
        "detections": link.detections,
        "event_probs": link.table.prob,
        "event_counts": tally.type_counts,
        "dead_time_losses": tally.dead_time_losses,
        "afterpulses": int(tally.afterpulse_settings.sum()),
    }
    return LinkOutput(alice=alice, bob=bob, truth=truth)


def simulate_to_files(
    protocol: str,
    params: LinkParams,
    pulses: int,
    directory: str | os.PathLike[str],
    *,
    seed: int | None = None,
    chunk_detections: int = DEFAULT_CHUNK_DETECTIONS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Simulate like :func:`simulate` and write ``alice.parquet`` and ``bob.parquet`` in ``directory``.

    The events are streamed to the files chunk by chunk, so memory stays bounded for any number of
    pulses; the records equal those of :func:`simulate` with the same arguments. The directory is
    created if needed; on error no file is left behind. ``progress(pulses_done, detections)``, if
    given, is called after each chunk (a display).

    Returns
    -------
    dict
        ``protocol``, ``pulses``, ``seed``, ``detections`` and the two file paths.
    """
    from qkdstack.link.recordfile import RecordWriter

    pulses = _check_pulses(pulses)
    params = protocol_params(protocol, params)  # decoy-bb84: a laser, and the files say so
    link = stream(protocol, params, pulses, seed=seed, chunk_detections=chunk_detections)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    entangled = protocol in ENTANGLED
    alice = RecordWriter(
        out / "alice.parquet", Role.ALICE, intensity=not entangled, time_tags=entangled
    )
    bob = RecordWriter(out / "bob.parquet", Role.BOB, intensity=False, time_tags=True)
    period_ps = 1e12 / params.pulse_rate_hz
    try:
        detections = 0
        for chunk in link.chunks():
            if progress is not None and len(chunk):
                detections += len(chunk)
                progress(int(chunk.pulse_index[-1]) + 1, detections)
            tags = gate_time_tags_ps(chunk.pulse_index, period_ps)
            alice_cols: dict[str, np.ndarray] = {
                "pulse_index": chunk.pulse_index,
                "basis": chunk.alice_basis,
                "bit": chunk.alice_bit,
                "intensity": chunk.intensity,
                "time_tag_ps": tags,
            }
            alice.write(alice_cols)
            bob.write(
                {
                    "pulse_index": chunk.pulse_index,
                    "basis": chunk.bob_basis,
                    "bit": chunk.bob_bit,
                    "time_tag_ps": tags,
                }
            )
        params_dict = params.to_dict()
        alice.close(
            RecordMeta(
                protocol=protocol,
                pulses=pulses,
                intensities=link.intensities,
                sent_counts=link.sent_counts,
                params=params_dict,
                seed=seed,
            )
        )
        bob.close(RecordMeta(protocol=protocol, pulses=pulses, params=params_dict, seed=seed))
    except BaseException:
        alice.abort()
        bob.abort()
        for path in (alice.path, bob.path):
            if path.exists():
                path.unlink()
        raise
    return {
        "protocol": protocol,
        "pulses": pulses,
        "seed": seed,
        "detections": link.detections,
        "alice": str(alice.path),
        "bob": str(bob.path),
    }
