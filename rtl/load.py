"""From a decoded configuration image to the words the core's memories hold.

:func:`core_load` packs one :class:`~nmcompiler.image.contents.CoreImage` into configuration-port
writes (memory, address, word) with the layouts of :class:`rtl.params.Layouts`, and gives the
core's axon numbering: axon ``a`` is the ``a``-th distinct presynaptic source of the core's rows,
in ascending order; :func:`chip_load` adds the router's fan-out tables for multi-core images. The
same words initialize the memories of ``nmc rtl``'s image-initialized Verilog and memory files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import Shape
from amaranth.lib import data

from nmcompiler.errors import UserError
from nmcompiler.image.contents import FLAG_SPIKING, FLAG_SUBTRACT, CoreImage
from nmcompiler.targets.encoding import storage_layout

from .learn_load import LearnLoad, learn_load, unit_numbers
from .learn_params import LEARN_BASE, LEARN_MEMORIES
from .params import MEMORIES, CoreParams

__all__ = ["CoreLoad", "core_load", "ChipLoad", "chip_load", "check_fields", "pack", "unpack"]


def _width(shape) -> int:
    return shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width


def pack(layout, value) -> int:
    """The integer word of ``value`` (dict for a struct, list for an array, int for a leaf) in
    ``layout``; signed leaves are stored in two's complement. Out-of-range values raise."""
    if isinstance(layout, data.StructLayout):
        word = 0
        for name, field in layout:
            word |= pack(field.shape, value[name]) << field.offset
        return word
    if isinstance(layout, data.ArrayLayout):
        width = _width(layout.elem_shape)
        return sum(pack(layout.elem_shape, v) << (k * width) for k, v in enumerate(value))
    shape = Shape.cast(layout)
    v = int(value)
    lo, hi = (-(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1) if shape.signed else (0, (1 << shape.width) - 1)
    if not lo <= v <= hi:
        raise ValueError(f"{v} does not fit {shape}")
    return v & ((1 << shape.width) - 1)


def unpack(layout, word: int):
    """Inverse of :func:`pack`."""
    if isinstance(layout, data.StructLayout):
        return {name: unpack(field.shape, (word >> field.offset) & ((1 << _width(field.shape)) - 1))
                for name, field in layout}
    if isinstance(layout, data.ArrayLayout):
        width = _width(layout.elem_shape)
        return [unpack(layout.elem_shape, (word >> (k * width)) & ((1 << width) - 1)) for k in range(layout.length)]
    shape = Shape.cast(layout)
    if shape.signed and word >> (shape.width - 1):
        return word - (1 << shape.width)
    return word


@dataclass(frozen=True, kw_only=True, eq=False)
class CoreLoad:
    """What the host writes into one core, and how it addresses it."""
    core: int
    neurons: np.ndarray  # global neuron index of each local neuron
    # presynaptic index of each slot: the neurons, then partial-sum compartments (presynaptic + id)
    slots: np.ndarray
    axon_sources: np.ndarray  # presynaptic index (neuron or source channel) of each axon, ascending
    memories: dict[str, list[int]]  # memory name -> words from address 0
    learn: LearnLoad | None = None  # the learning engine's memories (a core that learns)

    def axon_of(self, source: np.ndarray) -> np.ndarray:
        """Axon id of each presynaptic index, -1 where the core has no axon for it."""
        source = np.asarray(source, dtype=np.int64)
        if not self.axon_sources.size:
            return np.full(source.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.axon_sources, source), self.axon_sources.size - 1)
        return np.where(self.axon_sources[pos] == source, pos, -1)

    def writes(self) -> list[tuple[int, int, int]]:
        """``(selector, address, word)`` for the configuration port, memory by memory (the
        learning engine's from selector 8)."""
        out = [(MEMORIES.index(name), a, w) for name in MEMORIES for a, w in enumerate(self.memories[name])]
        if self.learn is not None:
            out += [(LEARN_BASE + k, a, w) for k, name in enumerate(LEARN_MEMORIES)
                    for a, w in enumerate(self.learn.memories[name])]
        return out


def core_load(image: CoreImage, params: CoreParams, presynaptic: int | None = None, contents=None) -> CoreLoad:
    """Pack ``image`` for a core of ``params``; a table larger than the core's memory is an error
    naming the core, the table, its size and the limit. ``presynaptic`` (the image's ``meta``):
    where compartment ids start among the row sources; needed when the core holds compartments.
    ``contents`` (the whole image): needed by a core with a learning engine (meta's plastic
    projections). A core without one runs plastic rows with their initial weights (frozen)."""
    try:
        return _core_load(image, params, presynaptic, contents)
    except ValueError as exc:
        raise UserError(f"core {image.core}: a value of the image does not fit the RTL core's widths ({exc}): "
                        "generate the RTL for the image's target") from None


def _core_load(image: CoreImage, params: CoreParams, presynaptic: int | None, contents) -> CoreLoad:
    L, n, mc = params.layouts, image.neurons.size, image.compartments.size
    if mc and not params.payload_bits:
        raise UserError(f"core {image.core} holds {mc} partial-sum compartments; this RTL core has no graded "
                        "messages: generate it for the image's target (core.partial_sum_bits)")
    if mc and presynaptic is None:
        raise TypeError("core_load: compartments need the image's presynaptic count")
    rows = image.rows
    sources, first = np.unique(rows["source"].astype(np.int64), return_index=True) if rows.size else (
        np.zeros(0, np.int64), np.zeros(0, np.int64))
    counts = np.diff(np.append(first, rows.size))
    if rows.size and np.any(np.diff(rows["source"].astype(np.int64)) < 0):
        raise UserError(f"core {image.core}: rows are not grouped by source (image rows must be sorted)")
    sizes = {"neurons and compartments" if mc else "neurons": (n + mc, params.neurons),
             "axons": (sources.size, params.axons), "rows": (rows.size, params.rows),
             "synapse entries": (image.synapses.shape[0] if params.crossbar else image.synapses.size, params.entries)}
    over = [f"{k} {have} > {limit}" for k, (have, limit) in sizes.items() if have > limit]
    if over:
        raise UserError(f"core {image.core}: {', '.join(over)} of the RTL core (its memories follow the target's "
                        "per-core limits, one row per axon and channel): spread the network over more cores, or "
                        "build the core with larger memories (rtl.params.CoreParams.of(target, rows=..., ...))")
    syn = _crossbar_words(image, params) if params.crossbar else _synapse_words(image, L)
    rec, R = image.neurons, params.channels
    bounded, least = params.fmt.v_min, -(1 << (params.fmt.v_bits - 1))
    if image.v_min.size and not bounded:
        raise UserError(f"core {image.core}: the image bounds v from below (v_min), this RTL core has no lower bound: "
                        "generate it for the image's target (format.v_min)")
    param = [pack(L.param, {
        "decay_v": rec["decay_v"][j], "bias": rec["bias"][j], "threshold": rec["threshold"][j],
        "v_reset": rec["v_reset"][j], "refractory": rec["refractory"][j],
        "subtract": int(rec["flags"][j] & FLAG_SUBTRACT > 0), "spiking": int(rec["flags"][j] & FLAG_SPIKING > 0),
        "decay_i": [image.decay_i[k, j] if image.decay_i.shape[0] > k else 0 for k in range(R)]} | (
            {"v_min": int(image.v_min[j]) if image.v_min.size else least} if bounded else {}) | (
            {"type_w": [int(w) for w in image.type_weights[j]]} if params.crossbar else {})) for j in range(n)]
    state = [pack(L.state, {"v": rec["v0"][j], "i": [image.i0[k, j] if image.i0.shape[0] > k else 0 for k in range(R)],
                            "ref": 0}) for j in range(n)]
    param += [0] * mc  # compartments have no parameters or state
    state += [0] * mc
    axon = [pack(L.axon, {"first": int(f), "count": int(c)}) for f, c in zip(first, counts)]
    learn = None
    if params.learning is not None:
        if contents is None:
            raise TypeError("core_load: a core with a learning engine needs the image's contents")
        learn = learn_load(contents, image, params.learning, storage_layout(params.storage), params.fields,
                           unit_numbers(contents))
    fixed = {"plastic": 0} if params.learning is not None else {}
    if params.crossbar:
        row = [pack(L.row, {"delay": int(r["delay"]) - 1, "type": int(r["axon_type"])}) for r in rows]
    else:
        row = [pack(L.row, learn.rows[k] if learn is not None and k in learn.rows else fixed | {
            "start": int(r["start"]), "length": int(r["length"]), "exponent": int(r["exponent"])})
            for k, r in enumerate(rows)]
    slots = rec["neuron"].astype(np.int64)
    ctrl = {"active": n + mc}
    if params.payload_bits:
        ctrl["neurons"] = n
        slots = np.concatenate([slots, (presynaptic or 0) + image.compartments["id"].astype(np.int64)])
    return CoreLoad(core=image.core, neurons=rec["neuron"].astype(np.int64), slots=slots, axon_sources=sources,
                    memories={"param": param, "state": state, "axon": axon, "row": row,
                              "syn": syn, "ctrl": [pack(L.ctrl, ctrl)]}, learn=learn)


def _synapse_words(image: CoreImage, L) -> list[int]:
    """The sparse entries or word32 words, as the image holds them."""
    if image.synapses.dtype != np.uint32:
        raise UserError(f"core {image.core}: the RTL core reads 32-bit synapse entries")
    if image.synapses.size and int(image.synapses.max()) >> L.width("syn"):
        raise UserError(f"core {image.core}: a synapse entry has bits above the {L.width('syn')} of the image's "
                        "synapse fields (an image for another target?)")
    return [int(w) for w in image.synapses]


def _crossbar_words(image: CoreImage, params: CoreParams) -> list[int]:
    """A crossbar row's bits (bit j: neuron j, as the image's little-endian bytes) as one word."""
    if image.synapses.dtype != np.uint8 or image.type_weights.shape[1:] != (params.axon_types,):
        raise UserError(f"core {image.core}: not a crossbar of {params.axon_types} axon types (an image for "
                        "another target?)")
    words = [int.from_bytes(bytes(r), "little") for r in image.synapses]
    if any(w >> params.neurons for w in words):
        raise UserError(f"core {image.core}: a crossbar row reaches a neuron beyond the RTL core's {params.neurons}")
    return words


@dataclass(frozen=True, kw_only=True, eq=False)
class ChipLoad:
    """What the host writes into a multi-core chip: every core's :class:`CoreLoad` and the router's
    route tables (``route<d>``, one per destination core, at ``core << local_bits | neuron``)."""
    cores: tuple[CoreLoad, ...]
    memories: dict[str, list[int]]
    local_bits: int

    def writes(self) -> list[tuple[int, int, int, int]]:
        """``(selector, core, address, word)`` for the configuration port; a route table's core
        is its destination. Zero route words (no axon there) are what the memory holds after reset."""
        out = [(sel, ld.core, a, w) for ld in self.cores for sel, a, w in ld.writes()]
        return out + [(len(MEMORIES), int(name[len("route"):]), a, w) for name, words in self.memories.items()
                      for a, w in enumerate(words) if w]


def check_fields(contents, params: CoreParams) -> None:
    """The image's synapse entries have the fields this core reads (an image for a target with other
    core sizes has other index widths, and its entries would be misread)."""
    storage = contents.meta.get("synapse_storage", "sparse")
    if storage != params.storage:
        raise UserError(f"the image stores synapses as '{storage}', this RTL core reads '{params.storage}': "
                        "generate the RTL for the image's target")
    fields = contents.meta.get("synapse_fields")
    if fields is not None and fields != vars(params.fields):
        raise UserError(f"the image's synapse entries have fields {fields}, this RTL core reads {vars(params.fields)}: "
                        "generate the RTL for the image's target")


def chip_load(contents, chip) -> ChipLoad:
    """Pack a multi-core image for a :class:`rtl.chip.ChipParams` chip. The route table of each
    destination core holds, for every neuron of a core whose ``routes`` reach it, the axon it gives
    the neuron (valid) or nothing; a core that has an axon for a neuron its routes do not reach is
    an inconsistent image."""
    cp = chip.core
    check_fields(contents, cp)
    if len(contents.cores) > chip.cores:
        raise UserError(f"the image uses {len(contents.cores)} cores, the RTL chip has {chip.cores}")
    loads = tuple(core_load(c, cp, int(contents.meta["presynaptic"]), contents if cp.learning else None)
                  for c in contents.cores)
    nb = cp.local_bits
    routes = {name: [0] * chip.route_depth for name in chip.route_names}
    for c, (img, ld) in enumerate(zip(contents.cores, loads)):
        dests = set(int(d) for d in img.destinations)
        axons = {k: other.axon_of(ld.slots) for k, other in enumerate(loads)}
        for k, a in axons.items():
            if k not in dests and np.any(a >= 0):
                raise UserError(f"image inconsistent: core {k} has an axon for a neuron or compartment of core {c}, "
                                f"but core {c}'s routes do not reach core {k}")
        for k in sorted(dests):
            if k >= len(loads):
                continue
            table = routes[f"route{k}"]
            for j in np.flatnonzero(axons[k] >= 0).tolist():
                table[(c << nb) | j] = pack(chip.route_layout, {"axon": int(axons[k][j]), "valid": 1})
    return ChipLoad(cores=loads, memories=routes, local_bits=nb)
