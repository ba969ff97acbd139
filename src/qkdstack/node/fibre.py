"""The quantum side of a node: each round's detection records, simulated or read from hardware.

In simulation the link of round ``r`` is simulated once, in Alice's process, from the seed
sequence ``(seed, r)``; Alice keeps her half and sends Bob's half over a second TCP connection
that stands in for the fibre (:data:`~qkdstack.node.framing.Kind.RECORDS` frames), never over
the classical channel. With hardware records (``--records``) each node reads its own files and
the fibre connection carries nothing.

A records payload is one :class:`~qkdstack.processing.channel.Message` (wire format of
:mod:`qkdstack.processing.channel`) with the record arrays and the metadata as JSON.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qkdstack.errors import RecordError
from qkdstack.link.records import RecordMeta, Records
from qkdstack.params import LinkParams
from qkdstack.processing.channel import Message, decode_message, encode_message
from qkdstack.typing import Role

__all__ = ["RoundSource", "decode_records", "encode_records", "round_seeds"]


def round_seeds(seed: int | None, round_id: int) -> tuple[int, np.random.SeedSequence]:
    """The link seed of round ``round_id`` and the seed sequence of its post-processing.

    From ``SeedSequence([seed, round_id])`` when ``seed`` is given (reproducible simulation),
    else from :mod:`secrets`.
    """
    entropy = [seed, round_id] if seed is not None else secrets.randbits(128)
    seq = np.random.SeedSequence(entropy)
    link, post = seq.spawn(2)
    return int(link.generate_state(1, np.uint64)[0] >> np.uint64(1)), post


def encode_records(records: Records) -> bytes:
    """Bytes of one party's records (arrays and metadata)."""
    meta = records.meta
    public: dict[str, object] = {
        "role": records.role.value,
        "pulse_index": records.pulse_index,
        "basis": records.basis,
        "bit": records.bit,
        "meta": {
            "protocol": meta.protocol,
            "pulses": int(meta.pulses),
            "intensities": [float(x) for x in meta.intensities],
            "params": meta.params,
            "seed": meta.seed,
        },
    }
    if records.intensity is not None:
        public["intensity"] = records.intensity
    if records.time_tag_ps is not None:
        public["time_tag_ps"] = records.time_tag_ps
    return encode_message(Message("records", public=public))


def decode_records(data: bytes) -> Records:
    """Records from :func:`encode_records` bytes; raise :class:`RecordError` if malformed."""
    message = decode_message(data)
    try:
        pub = message.public
        meta = pub["meta"]
        return Records(
            role=Role(pub["role"]),
            pulse_index=np.asarray(pub["pulse_index"], dtype=np.int64),
            basis=np.asarray(pub["basis"], dtype=np.uint8),
            bit=np.asarray(pub["bit"], dtype=np.uint8),
            intensity=pub.get("intensity"),
            time_tag_ps=pub.get("time_tag_ps"),
            meta=RecordMeta(
                protocol=str(meta["protocol"]),
                pulses=int(meta["pulses"]),
                intensities=tuple(float(x) for x in meta["intensities"]),
                params=dict(meta["params"]),
                seed=meta["seed"],
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(f"malformed records on the fibre connection: {exc}") from None


@dataclass
class RoundSource:
    """Where a node's records of each round come from.

    Attributes
    ----------
    protocol : str
    params : LinkParams
    pulses : int
        Pulses per round (simulation).
    seed : int or None
        Simulation seed (rounds differ by their id); None: from :mod:`secrets`.
    record_files : list of Path
        Hardware records, one file per round (round ``i`` of this process reads file ``i``).
    """

    protocol: str
    params: LinkParams
    pulses: int
    seed: int | None = None
    record_files: Sequence[Path] = field(default_factory=list)
    _whole: Records | None = field(default=None, repr=False)

    @property
    def simulated(self) -> bool:
        """Whether records are simulated (Alice simulates; Bob receives his over the fibre)."""
        return not self.record_files

    def simulate(self, round_id: int) -> tuple[Records, Records, np.random.SeedSequence]:
        """Alice's and Bob's records of round ``round_id`` and the round's post seed sequence."""
        from qkdstack.link import simulate

        link_seed, post = round_seeds(self.seed, round_id)
        link = simulate(self.protocol, self.params, self.pulses, seed=link_seed)
        return link.alice, link.bob, post

    def read(self, round_id: int) -> Records:
        """This node's hardware records of round ``round_id`` (from 1).

        Several files: round ``r`` reads file ``r`` (a round that was dropped is not retried, so
        both nodes read the same file for the same round id). One file: it is cut into rounds of
        ``pulses`` pulses by ``pulse_index`` (round ``r`` holds pulses ``[(r-1) P, r P)``,
        renumbered from 0).
        """
        from qkdstack.link.recordfile import read_records

        if len(self.record_files) > 1:
            if round_id > len(self.record_files):
                raise RecordError(
                    f"no record file for round {round_id}: {len(self.record_files)} were given"
                )
            return read_records(self.record_files[round_id - 1])
        if self._whole is None:
            self._whole = read_records(self.record_files[0])
        whole = self._whole
        first, end = (round_id - 1) * self.pulses, round_id * self.pulses
        if end > whole.meta.pulses:
            raise RecordError(
                f"the record file holds {whole.meta.pulses:,} pulses: no round {round_id} of "
                f"{self.pulses:,} pulses"
            )
        lo, hi = np.searchsorted(whole.pulse_index, [first, end])
        cut = slice(int(lo), int(hi))
        meta = whole.meta
        return Records(
            role=whole.role,
            pulse_index=whole.pulse_index[cut] - first,
            basis=whole.basis[cut],
            bit=whole.bit[cut],
            intensity=None if whole.intensity is None else whole.intensity[cut],
            time_tag_ps=None if whole.time_tag_ps is None else whole.time_tag_ps[cut],
            meta=RecordMeta(
                protocol=meta.protocol,
                pulses=self.pulses,
                intensities=meta.intensities,
                sent_counts=None,  # per-class counts of the whole file do not apply to a cut
                params=meta.params,
                seed=meta.seed,
            ),
        )
