"""Sizes, widths and memory word layouts of the core's learning engine (docs/rtl.md, "Learning").

A core generated for a target with a ``learning:`` section (:class:`LearnParams`, from the
target's :class:`~nmcompiler.datapath.learning.LearningFormat` and the core's depths) holds, beside
the inference memories:

* ``lrow[p]``: the ``p``-th plastic row (rows ordered by delay, then source): its first plastic
  synapse, length, learning unit and pre-trace address;
* ``psyn[s]``: a plastic synapse: neuron, unit, pre-trace address, weight ``m`` in learning units
  (``weight_bits + weight_frac_bits`` bits) and eligibility ``c``; a unit's synapses are
  consecutive (rows by source, each row's entries in the image's order);
* ``pinptr[neuron]`` -> first and count in ``pin`` and the units that keep a post trace for the
  neuron; ``pin[k]``: the plastic synapses into each neuron, ascending;
* ``lunit[u]``: one learning unit's integer parameters (a projection on this core) and its LFSR
  seed; ``lctrl``: the number of plastic rows; ``reward[u]``: the tick's reward (written by the
  host before ``tick_end``);
* ``hist`` (one bit per plastic row and ring slot: a spike arrives in that slot; words of
  :data:`HIST_WORD` rows, written bit by bit), the pre traces ``xtr[p]`` and the post traces
  ``ytr[unit, neuron]``, zero after reset.

The configuration port writes them with selectors 8 and up (:data:`LEARN_MEMORIES`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from nmcompiler.datapath.learning import INV_BITS, LEARN_ROUNDING, LearningFormat

__all__ = ["HIST_WORD", "LEARN_BASE", "LEARN_MEMORIES", "LearnParams", "LearnLayouts", "REWARD_GUARD_BITS"]

#: configuration selectors of the learning memories (``cfg_sel = LEARN_BASE + index``)
LEARN_MEMORIES = ("lrow", "psyn", "pinptr", "pin", "lunit", "lctrl", "reward")
LEARN_BASE = 8
#: plastic rows per word of the arrival bits: the arrival scan reads one word per cycle
HIST_WORD = 32
#: a tick's reward is the sum of its explicit rewards and the reward node's amounts: this many bits
#: over ``reward_bits`` hold it (the host checks)
REWARD_GUARD_BITS = 8
#: read-back selectors of ``ldbg_sel``
LEARN_DEBUG = ("psyn", "xtr", "ytr", "lfsr")


def _bits(n: int) -> int:
    return max(1, (max(n, 2) - 1).bit_length())


@dataclass(frozen=True, kw_only=True)
class LearnParams:
    """The learning engine of one core: ``units`` learning units (plastic projections on the
    core), ``rows`` plastic rows, ``entries`` plastic synapses; widths from ``fmt``."""

    fmt: LearningFormat
    units: int
    rows: int
    entries: int
    neurons: int
    local_bits: int
    slot_bits: int
    weight_bits: int
    exp_bits: int
    channel_bits: int

    @property
    def unit_bits(self) -> int:
        return _bits(self.units)

    @property
    def row_bits(self) -> int:
        return _bits(self.rows)

    @property
    def entry_bits(self) -> int:
        return _bits(self.entries)

    @property
    def hist_groups(self) -> int:
        """Words of arrival bits per ring slot."""
        return -(-self.rows // HIST_WORD)

    @property
    def group_bits(self) -> int:
        return _bits(self.hist_groups)

    @property
    def m_bits(self) -> int:
        """A weight in learning units: the signed mantissa with ``weight_frac_bits`` below it."""
        return self.weight_bits + self.fmt.weight_frac_bits

    @property
    def stochastic(self) -> bool:
        return self.fmt.rounding == LEARN_ROUNDING.STOCHASTIC

    @property
    def reward_width(self) -> int:
        return self.fmt.reward_bits + REWARD_GUARD_BITS

    @property
    def epoch_bits(self) -> int:
        return max(1, self.fmt.epoch_max.bit_length())

    @property
    def layouts(self) -> "LearnLayouts":
        return LearnLayouts(self)

    def depth(self, name: str) -> int:
        return {"lrow": self.rows, "psyn": self.entries, "pinptr": self.neurons, "pin": self.entries,
                "lunit": self.units, "lctrl": 1, "reward": self.units}[name]

    def memory_bits(self) -> dict[str, int]:
        """Bits of the engine's memories (``lunit``, ``lctrl`` and ``reward`` are registers)."""
        L = self.layouts
        out = {name: self.depth(name) * L.width(name) for name in ("lrow", "psyn", "pinptr", "pin")}
        out["hist"] = (self.hist_groups * HIST_WORD) << self.slot_bits
        out["xtr"] = self.rows * self.fmt.trace_bits
        out["ytr"] = (self.units << self.local_bits) * self.fmt.trace_bits
        return out

    def describe(self) -> dict:
        return {"units": self.units, "plastic_rows": self.rows, "plastic_entries": self.entries,
                "weight_bits": self.m_bits, "trace_bits": self.fmt.trace_bits, "rounding": self.fmt.rounding,
                "eligibility_bits": self.fmt.eligibility_bits, "epoch_max": self.fmt.epoch_max}


class LearnLayouts:
    """Word layouts of the learning memories (LSB first, in field order)."""

    def __init__(self, p: LearnParams):
        f = p.fmt
        decay = unsigned(f.trace_decay_bits + 1)  # 0 .. 2^F
        self.lrow = data.StructLayout({"first": unsigned(p.entry_bits), "length": unsigned(p.entry_bits + 1),
                                       "unit": unsigned(p.unit_bits), "xa": unsigned(p.row_bits)})
        self.psyn = data.StructLayout({"neuron": unsigned(p.local_bits), "unit": unsigned(p.unit_bits),
                                       "xa": unsigned(p.row_bits), "m": signed(p.m_bits),
                                       "c": signed(f.eligibility_bits)})
        self.pinptr = data.StructLayout({"first": unsigned(p.entry_bits), "count": unsigned(p.entry_bits + 1),
                                         "mask": unsigned(p.units)})
        self.pin = unsigned(p.entry_bits)
        self.lunit = data.StructLayout({
            "inc": unsigned(f.trace_bits), "d_pre": decay, "d_post": decay, "d_elig": decay,
            "a_plus": unsigned(f.param_bits), "a_minus": unsigned(f.param_bits), "q": signed(8),
            "m_min": signed(p.m_bits), "m_max": signed(p.m_bits), "inv": unsigned(INV_BITS + 1),
            "mult": unsigned(1), "nearest": unsigned(1), "elig": unsigned(1), "rf": unsigned(6),
            "epoch": unsigned(p.epoch_bits), "exp": unsigned(p.exp_bits), "channel": unsigned(max(1, p.channel_bits)),
            "x_lo": unsigned(p.row_bits + 1), "x_hi": unsigned(p.row_bits + 1),
            "s_lo": unsigned(p.entry_bits + 1), "s_hi": unsigned(p.entry_bits + 1), "seed": unsigned(32)})
        self.lctrl = unsigned(p.row_bits + 1)
        self.reward = signed(p.reward_width)

    def width(self, name: str) -> int:
        shape = getattr(self, name)
        return shape.size if isinstance(shape, data.Layout) else shape.width
