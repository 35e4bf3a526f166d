"""Content-addressable synapse memories as target data (DYNAP-SE2).

A core of a ``cam`` target holds, per neuron, a CAM of ``entries`` words; each word names a
presynaptic *tag* (``tag_bits`` wide), a *synapse type* and a weight *mask* of ``base_weights``
bits. A spike arriving at a core with tag ``t`` reaches every CAM word holding ``t``: the word's
neuron receives ``sign(type) x (sum of the core's base weights its mask selects)`` on the type's
current channel. The base weights are shared by all neurons of a core (DYNAP-SE2's Iw_0..Iw_3;
``weight_sharing: type`` gives each synapse type of a core its own), and so are the neurons' parameters (a core is one parameter group): populations take whole
cores. A neuron's spike leaves through at most ``destinations`` SRAM entries, each naming a tag,
a chip hop ``(dx, dy)`` of at most ``hop_max`` per axis and a mask of that chip's cores.

The design rules of such targets are in :mod:`nmcompiler.drc.cam`, the base-weight fit in
:mod:`nmcompiler.passes.cam_weights`, the tags in :mod:`nmcompiler.mapping.tags`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["CamSpec", "SynapseType", "cam_from_document"]


@dataclass(frozen=True, kw_only=True)
class SynapseType:
    name: str  # the chip's name for it (AMPA, NMDA, GABA, SHUNT)
    sign: int  # +1 excitatory, -1 inhibitory
    channel: int  # the neuron's current channel it feeds


@dataclass(frozen=True, kw_only=True)
class CamSpec:
    entries: int  # CAM words per neuron: the fan-in of one neuron
    tag_bits: int  # a tag names one presynaptic source among those a core receives
    base_weights: int  # per core; a word's mask has a bit per base weight
    synapse_types: tuple[SynapseType, ...]
    destinations: int  # SRAM entries per neuron: chips (with a core mask each) one neuron reaches
    hop_max: int  # largest chip hop |dx|, |dy| of an SRAM entry
    weight_sharing: str = "core"  # "core": a core's synapses share the base weights; "type": each type its own

    @property
    def groups(self) -> int:
        """Sets of base weights per core: 1, or one per synapse type."""
        return len(self.synapse_types) if self.weight_sharing == "type" else 1

    def group_table(self, channels: int) -> np.ndarray:
        """``table[channel, sign > 0]``: the synapse type of a (channel, sign), -1 where there is none."""
        return np.array([[-1 if self.type_of(c, s) is None else self.type_of(c, s) for s in (-1, 1)]
                         for c in range(max(1, channels))], dtype=np.int64)

    @property
    def tags(self) -> int:
        return 1 << self.tag_bits

    @property
    def type_bits(self) -> int:
        return max(1, (len(self.synapse_types) - 1).bit_length())

    @property
    def word_bits(self) -> int:
        """Bits of one CAM word: tag, synapse type, weight mask."""
        return self.tag_bits + self.type_bits + self.base_weights

    def type_of(self, channel: int, sign: int) -> int | None:
        """The index of the synapse type feeding ``channel`` with ``sign`` (None: there is none)."""
        for k, t in enumerate(self.synapse_types):
            if t.channel == channel and t.sign == sign:
                return k
        return None

    def problems(self, receptors: int) -> list[str]:
        out = []
        names = [t.name for t in self.synapse_types]
        if len(set(names)) != len(names):
            out.append("synapse type names repeat")
        for t in self.synapse_types:
            if t.sign not in (-1, 1):
                out.append(f"synapse type '{t.name}': sign must be 1 or -1, not {t.sign}")
            if not 0 <= t.channel < max(1, receptors):
                out.append(f"synapse type '{t.name}': channel {t.channel} outside the format's {receptors} receptors")
        pairs = [(t.channel, t.sign) for t in self.synapse_types]
        if len(set(pairs)) != len(pairs):
            out.append("two synapse types feed one channel with one sign")
        if self.weight_sharing not in ("core", "type"):
            out.append(f"weight_sharing '{self.weight_sharing}' is unknown (use core or type)")
        return out

    def to_json(self) -> dict:
        return asdict(self)


def cam_from_document(doc: dict) -> CamSpec:
    """The ``cam`` section of a target file (already checked by the target schema) or of its JSON."""
    return CamSpec(**(doc | {"synapse_types": tuple(SynapseType(**t) for t in doc["synapse_types"])}))
