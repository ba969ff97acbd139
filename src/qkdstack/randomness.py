"""Where randomness comes from.

Simulation randomness is a seeded :class:`numpy.random.Generator`, injected everywhere (no module- or
class-level generators). Randomness that protects a real key (privacy-amplification seeds,
authentication keys, key IDs) comes from :mod:`secrets`; functions that draw it say ``secret`` in
their names. A simulation may ask for a *seeded, not secure* mode to make its keys reproducible; that
mode is marked in every report it produces.
"""

from __future__ import annotations

import secrets

import numpy as np

from qkdstack.errors import ParameterError
from qkdstack.typing import BitArray, Seed

__all__ = [
    "SECRET_RANDOMNESS_MODES",
    "as_generator",
    "secret_bits",
    "secret_bytes",
    "secret_key_id",
    "secret_randomness_mode",
    "spawn_generators",
]

SECRET_RANDOMNESS_MODES: dict[str, str] = {
    "secrets": "sample, hash keys, privacy-amplification seeds and authentication keys from secrets",
    "simulation-sample": "the sample from the simulation's seeded generator (simulated records); "
    "hash keys, privacy-amplification seeds and authentication keys from secrets",
    "insecure-seeded": "everything from the seed: keys reproducible from it, NOT SECURE",
}
"""The values of the report's ``secret_randomness`` field and what each means."""


def secret_randomness_mode(*, simulated: bool, secure: bool) -> str:
    """Where the choices an eavesdropper must not predict came from (a key of
    :data:`SECRET_RANDOMNESS_MODES`).

    Parameters
    ----------
    simulated : bool
        The records come from a simulation (their metadata carry its seed), which owns the
        randomness of the disclosed sample; real records (no seed) never let a seed fix it.
    secure : bool
        False under ``--insecure-seeded-keys``: every choice then comes from the seed.
    """
    if not secure:
        return "insecure-seeded"
    return "simulation-sample" if simulated else "secrets"


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed`` (int, SeedSequence, Generator or None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or (
        seed is not None and not isinstance(seed, int | np.random.SeedSequence)
    ):
        raise ParameterError(
            f"Argument 'seed' must be an int, a numpy Generator, a SeedSequence or None, not {seed!r}."
        )
    if isinstance(seed, int) and seed < 0:
        raise ParameterError(f"Argument 'seed' must be >= 0, not {seed}.")
    return np.random.default_rng(seed)


def spawn_generators(seed: Seed, count: int) -> list[np.random.Generator]:
    """Spawn ``count`` independent generators from one seed (for parallel or per-party streams)."""
    if count < 0:
        raise ParameterError(f"Argument 'count' must be >= 0, not {count}.")
    return list(as_generator(seed).spawn(count))


def secret_key_id() -> str:
    """A random key ID: a version-4 UUID (RFC 4122, clause 4.4) from :mod:`secrets`, in its
    canonical lower-case form (as ``str(uuid.UUID(bytes=..., version=4))``, formatted directly:
    the key service draws one on the hot path of every delivery)."""
    b = bytearray(secrets.token_bytes(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def secret_bytes(n_bytes: int) -> bytes:
    """``n_bytes`` bytes from the operating system's CSPRNG (:func:`secrets.token_bytes`)."""
    if n_bytes < 0:
        raise ParameterError(f"Argument 'n_bytes' must be >= 0, not {n_bytes}.")
    return secrets.token_bytes(n_bytes)


def secret_bits(n_bits: int, rng: np.random.Generator | None = None) -> BitArray:
    """``n_bits`` uniformly random bits as a ``uint8`` 0/1 array.

    With ``rng=None`` (the default) the bits come from :mod:`secrets` and may protect a real key.
    Passing ``rng`` gives reproducible bits for simulations: **not secure**.
    """
    if n_bits < 0:
        raise ParameterError(f"Argument 'n_bits' must be >= 0, not {n_bits}.")
    if rng is None:
        raw = np.frombuffer(secrets.token_bytes((n_bits + 7) // 8), dtype=np.uint8)
    else:
        raw = rng.integers(0, 256, size=(n_bits + 7) // 8, dtype=np.uint8)
    return np.unpackbits(raw)[:n_bits].copy()
