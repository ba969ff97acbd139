"""The specification of one protocol: everything the layers need to know about it, in one place.

A :class:`ProtocolSpec` names what each layer does for the protocol:

* the link makes its events with ``events`` (``LinkParams -> (EventTable, intensities)``);
* the post-processing sifts with ``sifting`` (a
  :class:`~qkdstack.processing.sifting.SiftingRule` class), estimates errors as ``estimation`` says
  (after a CHSH test when ``bell_test``), aborts above ``qber_limit``, and decides the key length
  with ``key_length`` (``LengthInputs -> KeyDecision``, :mod:`qkdstack.processing.length_rules`);
* theory draws its rate with the model ``theory_model`` of :mod:`qkdstack.theory.curves`;
* the attacks of :mod:`qkdstack.adversary` simulate its link when ``attackable``.

The registry sits below every layer and imports none of them, so implementations are given as
references ``"package.module:attribute"``, imported only when first used (:func:`resolve_ref`);
a spec made at run time (a test, a plug-in) may hold the objects themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from qkdstack.errors import ParameterError

__all__ = [
    "Emission",
    "Estimation",
    "Family",
    "ProtocolSpec",
    "Ref",
    "resolve_ref",
]

Family = Literal["prepare-and-measure", "entanglement-based"]
"""Prepare-and-measure (Alice sends states) or entanglement-based (both measure halves of pairs)."""

Estimation = Literal["sample", "test-basis", "b92-test"]
"""How the parties estimate the errors:

* ``"sample"`` - Alice discloses a uniform random sample of the sifted bits (``sample_fraction``);
* ``"test-basis"`` - every sifted bit of the test basis (X) is disclosed and the key basis (Z) is
  kept whole, counted per intensity class (decoy BB84, Lim et al. 2014);
* ``"b92-test"`` - test rounds drawn over every pulse give the full statistics of B92's numerical
  proof (George, Lin, Lutkenhaus 2021).
"""

Emission = Literal["mu", "intensities", "mu_pair"]
"""What sets the source's photon numbers: one mean ``mu`` (single photons or a laser), the decoy
``intensities`` of a laser, or the pair number ``mu_pair`` of an SPDC source."""

Ref: TypeAlias = Any
"""An implementation: the object itself, or a string ``"package.module:attribute"`` naming it."""


def resolve_ref(ref: Ref, *, what: str = "implementation") -> Any:
    """The object ``ref`` names (imported on first use), or ``ref`` itself if it is no string.

    Raises
    ------
    ParameterError
        ``ref`` is a string that names no importable attribute.
    """
    if not isinstance(ref, str):
        return ref
    module_name, sep, attribute = ref.partition(":")
    if not sep or not module_name or not attribute:
        raise ParameterError(
            f"Argument '{what}' must be a reference 'package.module:attribute', not {ref!r}."
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ParameterError(
            f"Argument '{what}' names no importable object: {ref!r} ({exc})."
        ) from None
    return obj


@dataclass(frozen=True)
class ProtocolSpec:
    """One protocol, as every layer sees it.

    Attributes
    ----------
    name : str
        The registry name (what ``--protocol`` and the records' ``meta.protocol`` say).
    description : str
        One line for help texts, with the paper that defines the protocol.
    family : {"prepare-and-measure", "entanglement-based"}
    events : Ref
        ``LinkParams -> (EventTable, intensities)``: the link's event table
        (:mod:`qkdstack.link.protocols`).
    sifting : Ref
        The class of its :class:`~qkdstack.processing.sifting.SiftingRule` (called with ``name``).
    estimation : {"sample", "test-basis", "b92-test"}
        How errors are estimated (:data:`Estimation`).
    qber_limit : float
        Estimated QBER above which the proof gives no key at any block size: estimation aborts
        above it.
    key_length : Ref
        The proof's length rule, ``LengthInputs -> KeyDecision``
        (:mod:`qkdstack.processing.length_rules`).
    aliases : tuple of str
        Other names accepted for this protocol.
    emission : {"mu", "intensities", "mu_pair"}
        What sets the source's photon numbers (:data:`Emission`).
    bell_test : bool
        A CHSH test on the non-key settings precedes the estimation (E91).
    source_proof : bool
        The length rule depends on the photon source (single-photon proof or GLLP for a laser),
        which Alice's records must declare.
    scalable_proof : bool
        The rule can be evaluated on ``s`` times the data, to tell a finite-size abort from a
        physical one (:func:`~qkdstack.processing.key_length.no_key_reason`).
    record_bases : (frozenset, frozenset)
        The ``basis`` codes Alice's and Bob's records may hold (docs/records.md).
    named_bases : bool
        The ``basis`` codes are :class:`~qkdstack.typing.Basis` values (Z, X, Y); False for
        measurement settings (E91's angles).
    theory_model : str or None
        The rate model of :mod:`qkdstack.theory.curves`; None when theory has none.
    attackable : bool
        The quantum-channel attacks of :mod:`qkdstack.adversary` can simulate this link.
    """

    name: str
    description: str
    family: Family
    events: Ref
    sifting: Ref
    estimation: Estimation
    qber_limit: float
    key_length: Ref
    aliases: tuple[str, ...] = ()
    emission: Emission = "mu"
    bell_test: bool = False
    source_proof: bool = False
    scalable_proof: bool = True
    record_bases: tuple[frozenset[int], frozenset[int]] = field(
        default=(frozenset({0, 1}), frozenset({0, 1}))
    )
    named_bases: bool = True
    theory_model: str | None = None
    attackable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))  # a ProtocolName becomes its plain value
        object.__setattr__(self, "aliases", tuple(str(a) for a in self.aliases))
        if not self.name or self.name != self.name.strip().lower() or " " in self.name:
            raise ParameterError(
                f"Argument 'name' must be a non-empty lower-case word, not {self.name!r}."
            )
        if not 0.0 < self.qber_limit <= 0.5:
            raise ParameterError(
                f"Argument 'qber_limit' must be in (0, 0.5], not {self.qber_limit!r}."
            )
        if self.family not in ("prepare-and-measure", "entanglement-based"):
            raise ParameterError(
                "Argument 'family' must be 'prepare-and-measure' or 'entanglement-based', "
                f"not {self.family!r}."
            )
        if self.estimation not in ("sample", "test-basis", "b92-test"):
            raise ParameterError(
                "Argument 'estimation' must be one of sample, test-basis, b92-test, "
                f"not {self.estimation!r}."
            )

    @property
    def entangled(self) -> bool:
        """Both parties measure halves of entangled pairs."""
        return self.family == "entanglement-based"

    def event_builder(self) -> Callable[..., Any]:
        """The link's event-table builder (imported on first use)."""
        return resolve_ref(self.events, what="events")

    def sifting_rule(self) -> Any:
        """The sifting rule, ``sifting(name)`` (its class imported on first use)."""
        return resolve_ref(self.sifting, what="sifting")(self.name)

    def length_rule(self) -> Callable[..., Any]:
        """The key-length rule (imported on first use)."""
        return resolve_ref(self.key_length, what="key_length")
