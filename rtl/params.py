"""Parameters of the generated core, derived from a target (its numeric format and core limits).

Every width of the RTL comes from here; nothing in :mod:`rtl.core` is a literal limit. The
memory word layouts (:class:`Layouts`) are the single definition of how the configuration image
is packed into the core's memories, used both by the hardware and by :mod:`rtl.load`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from nmcompiler.datapath.format import DecayKind, NumericFormat
from nmcompiler.errors import UserError
from nmcompiler.targets.encoding import (ENTRY_BITS, WORD32_LOW_BITS, CrossbarLayout, SparseLayout, SynapseFields,
                                        Word32Layout)
from nmcompiler.targets import Target

from .learn_params import LearnParams

__all__ = ["CoreParams", "Layouts", "SynapseWord", "RTL_STORAGE", "MEMORIES", "LEARN_UNITS", "LANES", "RTL_DECAYS",
           "address_bits", "rtl_unsupported"]

#: learning units (plastic projections) per core, unless asked otherwise
LEARN_UNITS = 4

#: the synapse lane counts a core can have (synaptic operations per event-phase cycle)
LANES = (1, 2, 4, 8)

#: Config port memory selectors, in order (``cfg_sel`` value = index).
MEMORIES = ("param", "state", "axon", "row", "syn", "ctrl")


def address_bits(n: int) -> int:
    """Address bits for ``n`` entries (at least 1)."""
    return max(1, math.ceil(math.log2(max(n, 2))))


RTL_DECAYS = (DecayKind.MULTIPLY, DecayKind.SHIFT, DecayKind.LEAK)  # the decay kinds the core implements
#: the synapse layouts the core reads: a word per synapse, its fields where the image puts them, or
#: a crossbar row per input axon (a bit per neuron) with a weight per neuron and axon type
RTL_STORAGE = (SparseLayout, Word32Layout, CrossbarLayout)


@dataclass(frozen=True)
class SynapseWord:
    """Where a synapse memory word's fields lie, as (offset, width): the local neuron index,
    delay - 1, the channel and the signed weight mantissa; ``width`` is the memory's word width.
    ``sparse``: index | delay - 1 | channel | weight, exactly the fields' widths; ``word32``
    (SpiNNaker's synaptic word): index | channel | delay - 1 in the low 16 bits, the weight as 16-bit
    two's complement in the high 16; ``crossbar``: no word is stored, the core forms index |
    delay - 1 | weight from the crossbar bit's neuron, the row's delay and the neuron's weight for
    the row's axon type."""
    index: tuple[int, int]
    delay: tuple[int, int]
    channel: tuple[int, int]
    weight: tuple[int, int]
    width: int

    @classmethod
    def of(cls, f: SynapseFields, storage: str) -> SynapseWord:
        if storage == "word32":
            high = ENTRY_BITS - WORD32_LOW_BITS
            return cls(index=(0, f.index), channel=(f.index, f.channel), delay=(f.index + f.channel, f.delay),
                       weight=(WORD32_LOW_BITS, high), width=ENTRY_BITS)
        if storage == "crossbar":
            return cls(index=(0, f.index), delay=(f.index, f.delay), channel=(f.index + f.delay, 0),
                       weight=(f.index + f.delay, f.weight), width=f.index + f.delay + f.weight)
        return cls(index=(0, f.index), delay=(f.index, f.delay), channel=(f.index + f.delay, f.channel),
                   weight=(f.index + f.delay + f.channel, f.weight), width=f.total)


def rtl_unsupported(target: Target) -> str | None:
    """Why the RTL core cannot run ``target``'s images (None: it can): its synapse layout, decay
    kind, update order and spikes per tick must be the core's."""
    fmt, core = target.format, target.core
    if not isinstance(target.storage, RTL_STORAGE):
        return (f"target '{target.name}' stores synapses as '{core.synapse_storage}'; the RTL core reads the "
                "'sparse', 'word32' and 'crossbar' layouts: choose such a target")
    if fmt.decay not in RTL_DECAYS:
        return f"target '{target.name}': decay '{fmt.decay}' has no RTL implementation (it has {', '.join(RTL_DECAYS)})"
    if fmt.order != "decay_first" or target.ports is not None or core.spikes_per_step > 1:
        return (f"target '{target.name}': the RTL core runs the default datapath order with one spike per neuron "
                "and tick, not this target's (input-first order, ports, several spikes per tick)")
    return None


@dataclass(frozen=True, kw_only=True)
class CoreParams:
    """Sizes and widths of one core. ``neurons``, ``axons``, ``rows`` and ``entries`` are memory
    depths; the widths are the numeric format's (docs/datapath.md); ``acc_width`` holds the exact
    sum of one tick's input to one neuron and channel (guard bits over ``acc_bits``)."""

    fmt: NumericFormat
    fields: SynapseFields
    neurons: int
    axons: int
    rows: int
    entries: int
    payload_bits: int = 0  # graded messages of partial-sum compartments (0: the core has none)
    learning: LearnParams | None = None  # the learning engine (targets with a ``learning:`` section)
    storage: str = "sparse"  # the image's synapse layout: sparse, word32 or crossbar (SynapseWord)
    axon_types: int = 0  # crossbar: the weights each neuron holds, one per axon type
    lanes: int = 1  # synapse lanes: synaptic operations per event-phase cycle (docs/rtl.md, "Synapse lanes")

    @classmethod
    def of(cls, target: Target, *, neurons: int | None = None, axons: int | None = None,
           rows: int | None = None, entries: int | None = None, learn: bool = False, learn_units: int = LEARN_UNITS,
           plastic_rows: int | None = None, plastic_entries: int | None = None, lanes: int = 1) -> CoreParams:
        """The core for ``target``; memory depths default to the target's per-core limits (rows:
        one per axon and channel). With ``learn`` (an image with plastic synapses), a learning engine
        of ``learn_units`` units (plastic projections per core) and ``plastic_rows`` /
        ``plastic_entries`` (default: as many as the core's rows and synapse entries); without it
        the core is the inference core, whatever the target. ``lanes``: synapse lanes (:data:`LANES`)."""
        fmt, core = target.format, target.core
        problem = rtl_unsupported(target)
        if problem is not None:
            raise UserError(problem)
        fields = SynapseFields.of(target)
        n_axons = axons or core.input_axons
        n_rows = rows or n_axons * max(1, fmt.receptors)
        crossbar = isinstance(target.storage, CrossbarLayout)  # one crossbar row per input axon
        base = cls(fmt=fmt, fields=fields, neurons=neurons or core.neurons, axons=n_axons, rows=n_rows,
                   entries=n_rows if crossbar else entries or max(1, core.synapse_memory_bits // target.synapse_bits()),
                   payload_bits=core.partial_sum_bits or 0, storage=target.storage.kind,
                   axon_types=(core.axon_types or 1) if crossbar else 0, lanes=lanes)
        base.check_lanes(target.name)
        if not learn:
            return base
        if target.learning is None or not core.learning_rules:
            raise UserError(f"target '{target.name}' has no learning engine (learning: and core.learning_rules): "
                            "its cores cannot run plastic synapses")
        if base.payload_bits:
            raise UserError(f"target '{target.name}': the RTL core has no learning engine beside partial-sum "
                            "compartments (core.partial_sum_bits)")
        lp = LearnParams(fmt=target.learning, units=learn_units, rows=plastic_rows or base.rows,
                         entries=plastic_entries or base.entries, neurons=base.neurons, local_bits=base.local_bits,
                         slot_bits=base.slot_bits, weight_bits=fmt.weight_bits, exp_bits=base.exp_bits,
                         channel_bits=fields.channel)
        return dataclasses.replace(base, learning=lp)

    def check_lanes(self, target: str) -> None:
        """Refuse a lane count the core cannot have (UserError naming the limit)."""
        if self.lanes not in LANES:
            raise UserError(f"--lanes {self.lanes}: a core has {', '.join(map(str, LANES))} synapse lanes")
        if self.lanes > 1 << self.local_bits:
            raise UserError(f"--lanes {self.lanes}: target '{target}''s core has {self.neurons} neurons, fewer than "
                            "its accumulator banks (one per lane): choose at most "
                            f"{1 << self.local_bits} lanes")

    # --- derived sizes -------------------------------------------------------------------
    @property
    def lane_bits(self) -> int:
        """Low bits of a neuron index that pick its accumulator bank (and of an entry its lane)."""
        return (self.lanes - 1).bit_length()

    @property
    def group(self) -> int:
        """Entries per word of the synapse memory: one per lane (a crossbar row is one word, its
        lanes take set bits)."""
        return 1 if self.crossbar else self.lanes

    @property
    def group_bits(self) -> int:
        return (self.group - 1).bit_length()

    @property
    def syn_groups(self) -> int:
        """Words of the synapse memory: ``group`` consecutive entries each."""
        return -(-self.entries // self.group)

    @property
    def channels(self) -> int:
        return max(1, self.fmt.receptors)

    @property
    def neuron_bits(self) -> int:
        return self.fields.index

    @property
    def local_bits(self) -> int:
        """Bits of a neuron's address in the core's memories (``neurons`` may be below the target's
        per-core limit that sets the synapse entry's index field)."""
        return min(address_bits(self.neurons), self.fields.index)

    @property
    def slot_bits(self) -> int:
        """Ring-buffer slots: ``2^slot_bits >= delay_max`` (a delay of ``delay_max`` reuses the slot
        read and cleared in the same tick)."""
        return self.fields.delay

    @property
    def axon_bits(self) -> int:
        return address_bits(self.axons)

    @property
    def row_bits(self) -> int:
        return address_bits(self.rows)

    @property
    def entry_bits(self) -> int:
        return address_bits(self.entries)

    @property
    def exp_bits(self) -> int:
        return max(1, self.fmt.exponent_max.bit_length())

    @property
    def message_bits(self) -> int:
        """Bits an event or output carries beside its axon or neuron: with compartments, a graded
        flag and the ``payload_bits`` value (two's complement); else none."""
        return 1 + self.payload_bits if self.payload_bits else 0

    @property
    def acc_width(self) -> int:
        """Every entry of the synapse memory delivering its largest weight (or largest graded
        message) to one neuron in one tick (each axon receives at most one event per tick) fits
        without overflow."""
        f = self.fmt
        largest = max(f.weight_bits - 1 + f.exponent_max, self.payload_bits - 1)
        peak = largest + address_bits(self.entries + 1)
        return max(f.acc_bits, peak + 1)

    @property
    def decay_width(self) -> int:
        f = self.fmt
        if f.decay == DecayKind.MULTIPLY:
            return f.decay_bits + 1  # 0 .. 2^F
        if f.decay == DecayKind.SHIFT:
            return 6  # 0 .. 63
        return f.decay_bits  # leak L

    @property
    def crossbar(self) -> bool:
        return self.storage == "crossbar"

    @property
    def type_bits(self) -> int:
        """crossbar: bits of a row's axon type."""
        return max(1, (self.axon_types - 1).bit_length())

    @property
    def word(self) -> SynapseWord:
        return SynapseWord.of(self.fields, self.storage)

    @property
    def layouts(self) -> Layouts:
        return Layouts(self)

    def memory_bits(self) -> dict[str, int]:
        """Bits of each of the core's memories (depth x word width): the configuration memories
        (``ctrl`` is a register) and the accumulator, one word per (delay slot, neuron)."""
        L = self.layouts
        out = {name: L.depth(self, name) * L.width(name) for name in MEMORIES if name != "ctrl"}
        out["syn"] = self.syn_groups * L.memory_width("syn")
        out["acc"] = (1 << (self.local_bits + self.slot_bits)) * data.Layout.cast(L.acc).size
        if self.learning is not None:
            out |= self.learning.memory_bits()
        return out

    def describe(self) -> dict:
        """JSON summary (README of the generated RTL, `nmc rtl --json`)."""
        f = self.fmt
        return {"neurons": self.neurons, "axons": self.axons, "rows": self.rows, "entries": self.entries,
                "channels": self.channels, "slots": 1 << self.slot_bits, "acc_width": self.acc_width,
                "v_bits": f.v_bits, "i_bits": f.i_bits, "weight_bits": f.weight_bits, "decay": f.decay,
                "decay_bits": f.decay_bits, "rounding": f.rounding, "compare": f.compare,
                "synapse_fields": vars(self.fields), "payload_bits": self.payload_bits} | (
                    {"storage": self.storage} if self.storage != "sparse" else {}) | (
                    {"axon_types": self.axon_types} if self.crossbar else {}) | (
                    {"lanes": self.lanes} if self.lanes > 1 else {}) | (
                    {"learning": self.learning.describe()} if self.learning is not None else {})


class Layouts:
    """Bit layouts of the core's memory words (LSB first, in field order)."""

    def __init__(self, p: CoreParams):
        f, R = p.fmt, p.channels
        dw = p.decay_width
        self.param = data.StructLayout({
            "decay_v": unsigned(dw), "bias": signed(f.bias_bits), "threshold": signed(f.v_bits),
            "v_reset": signed(f.v_bits), "refractory": unsigned(max(1, f.refractory_bits)),
            "subtract": unsigned(1), "spiking": unsigned(1),
            "decay_i": data.ArrayLayout(unsigned(dw), R)} | ({"v_min": signed(f.v_bits)} if f.v_min else {}) | (
                {"type_w": data.ArrayLayout(signed(f.weight_bits), p.axon_types)} if p.crossbar else {}))
        self.state = data.StructLayout({
            "v": signed(f.v_bits), "i": data.ArrayLayout(signed(max(2, f.i_bits)), R),
            "ref": unsigned(max(1, f.refractory_bits))})
        self.axon = data.StructLayout({"first": unsigned(p.row_bits), "count": unsigned(p.row_bits + 1)})
        # a plastic row (learning cores): ``start`` is its plastic row, ``length`` its delay; a crossbar
        # row: its delay - 1 and axon type (its neurons are its word of the ``syn`` memory)
        self.row = data.StructLayout({"delay": unsigned(p.fields.delay), "type": unsigned(p.type_bits)}) if (
            p.crossbar) else data.StructLayout({"start": unsigned(p.entry_bits), "length": unsigned(p.entry_bits + 1),
                                      "exponent": unsigned(p.exp_bits)} | (
                                          {"plastic": unsigned(1)} if p.learning is not None else {}))
        # an entry is exactly the image's word (crossbar: a row's bit per neuron): the memory holds
        # what the mapper counted
        self.syn = unsigned(p.neurons if p.crossbar else p.word.width)
        self.group = p.group  # the synapse memory holds this many entries per word
        self.acc = data.ArrayLayout(signed(p.acc_width), R)
        # active slots; with compartments also the neurons (slots from there on are compartments)
        self.ctrl = data.StructLayout({"active": unsigned(p.neuron_bits + 1)} | (
            {"neurons": unsigned(p.neuron_bits + 1)} if p.payload_bits else {}))

    def width(self, name: str) -> int:
        shape = getattr(self, name)
        return shape.width if name == "syn" else data.Layout.cast(shape).size

    def memory_words(self, name: str, words: list[int]) -> list[int]:
        """The words of memory ``name`` as stored: the synapse memory's entries in groups of
        ``group`` per word (entry ``e`` in lane ``e mod group`` of word ``e div group``)."""
        if name != "syn" or self.group == 1:
            return list(words)
        w = self.width("syn")
        return [sum(int(e) << (k * w) for k, e in enumerate(words[g:g + self.group]))
                for g in range(0, len(words), self.group)]

    def memory_width(self, name: str) -> int:
        """Bits of one stored word of memory ``name`` (:meth:`memory_words`)."""
        return self.width(name) * (self.group if name == "syn" else 1)

    def depth(self, p: CoreParams, name: str) -> int:
        return {"param": p.neurons, "state": p.neurons, "axon": p.axons, "row": p.rows, "syn": p.entries,
                "ctrl": 1}[name]
