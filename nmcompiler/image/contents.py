"""The content of a configuration image, core by core, in each target's own storage layout.

:func:`build_contents` turns a mapping and its fixed-point network into :class:`ImageContents`;
:mod:`.codec` writes and reads it as bytes; :func:`.program.to_program` turns it back into what
the bit-accurate simulator runs. docs/image-format.md describes every field.

Partial-sum compartments (mappings with :class:`nmcompiler.mapping.partial_sums.PartialSums`)
occupy the slots after their core's neurons: synapses that go through a compartment address its
slot (channel field 0, delay ``max(d - 1, 1)``), and each compartment's message arrives at its
neuron's core as a row whose source is ``presynaptic + compartment`` with one synapse of weight 1
and delay 1 onto the neuron's channel.

Synapse layouts (``target.storage``, :mod:`nmcompiler.targets.encoding`, which packs and unpacks the
entries), all addressed through the core's row table
(one row per presynaptic source, delay and exponent group; see ``ROW_DTYPE``):

* ``sparse`` (Loihi-like, FPGA core): one 32-bit entry per synapse, low to high bits: local
  neuron index (``ib``), delay - 1 (``db``), channel (``cb``), weight mantissa (two's complement,
  ``wb``); the row's exponent shifts the mantissa.
* ``word32`` (SpiNNaker-like synaptic rows): one 32-bit word per synapse, bits 0.. local neuron
  index, then channel (synapse type), then delay - 1; the weight in bits 16-31.
* ``crossbar`` (TrueNorth-like): one row per input axon (source, delay, axon type) holding a bit
  per neuron of the core; the weight of a synapse is the neuron's weight for the axon's type.
"""

from __future__ import annotations

import dataclasses

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from .._version import __version__
from ..errors import UserError
from ..ir import PoissonSource, SpikeSource
from ..ir.fixed_point import FixedPointNetwork
from ..mapping.mapping import Mapping
from ..lowered import program_from_fixed_point
from .plastic import PLASTIC_DTYPE, plastic_meta, plastic_rows
from .core_rows import CoreScratch, CoreSynapses, fill_rows
from .synapse_batches import BATCH_SYNAPSES, synapse_batches
from ..targets import Target
from ..targets.encoding import SynapseFields

__all__ = ["NEURON_DTYPE", "ROW_DTYPE", "COMPARTMENT_DTYPE", "CoreImage", "ImageContents", "build_contents",
           "target_digest", "SynapseFields", "compiled_target", "source_from_json"]

NEURON_DTYPE = np.dtype([("neuron", "<u4"), ("v0", "<i4"), ("decay_v", "<i4"), ("bias", "<i4"),
                         ("threshold", "<i4"), ("v_reset", "<i4"), ("refractory", "<u2"), ("flags", "u1"),
                         ("reserved", "u1")])
ROW_DTYPE = np.dtype([("source", "<u4"), ("start", "<u4"), ("length", "<u4"), ("delay", "u1"),
                      ("axon_type", "u1"), ("exponent", "i1"), ("reserved", "u1")])
COMPARTMENT_DTYPE = np.dtype([("id", "<u4"), ("neuron", "<u4"), ("channel", "<u2"), ("reserved", "<u2")])
FLAG_SUBTRACT, FLAG_SPIKING = 1, 2
MAX_SOURCE_CHANNELS = 1 << 24  # channels per host source (image formats 1 and 2)
GLOBAL = 0xFFFFFFFF


@dataclass(frozen=True, kw_only=True, eq=False)
class CoreImage:
    core: int
    position: tuple[int, int, int]  # chip, row, column
    neurons: np.ndarray  # NEURON_DTYPE, ascending global neuron index
    decay_i: np.ndarray  # (R, n) int32
    i0: np.ndarray  # (R, n) int32
    rows: np.ndarray  # ROW_DTYPE
    synapses: np.ndarray  # uint32 entries/words, or uint8 crossbar bits (rows x ceil(neurons / 8))
    type_weights: np.ndarray  # crossbar: (n, axon_types) int16 weight per neuron and axon type; else (0, 0)
    key: int  # routing key of the core's spikes (neuron index in the low bits)
    mask: int
    destinations: np.ndarray  # uint32 cores that receive this core's spikes (and compartment messages)
    # partial-sum compartments in the slots after the neurons (COMPARTMENT_DTYPE, ascending id)
    compartments: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=COMPARTMENT_DTYPE))
    # rows that learn and their plastic projection (PLASTIC_DTYPE, ascending row; format version 3)
    plastic: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=PLASTIC_DTYPE))
    # convolution cores: the layer, its sources and kernel memory (.layers.LayerImage; format version 4)
    layer: object | None = None
    # CAM cores: base weights, CAM words and SRAM entries (.cam.CamCore; format version 5)
    cam: object | None = None
    # lower bounds of v, one per neuron record (int32; empty: none; format version 6)
    v_min: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageContents:
    meta: dict  # JSON: compiler, target, format, network, populations, sources, probes, layout
    cores: tuple[CoreImage, ...]
    chip_tables: dict[int, np.ndarray]  # chip -> (entries, 3) uint32: key, mask, route bits
    # CAM targets: the host's input channels' routes (mapping.tags.ROUTE_DTYPE; format version 5)
    host_routes: np.ndarray | None = None

    @property
    def target_digest(self) -> bytes:
        return bytes.fromhex(self.meta["target_sha256"])

    def with_source(self, source) -> ImageContents:
        """The image with its host spike source ``source.name`` replaced (same size; the chip's
        tables do not change, only what the host sends)."""
        names = [d["name"] for d in self.meta["sources"]]
        if source.name not in names:
            raise UserError(f"'{source.name}' is not a host source of the image (sources: {', '.join(names) or 'none'})")
        old = self.meta["sources"][names.index(source.name)]
        if old["size"] != source.size:
            raise UserError(f"input for '{source.name}': {source.size} channels, but the source has {old['size']}")
        sources = [_source_json(source) if d["name"] == source.name
                   else _source_json(dataclasses.replace(source, name=d["name"], mirror_of=source.name))
                   if d.get("mirror_of") == source.name else d for d in self.meta["sources"]]
        return dataclasses.replace(self, meta=self.meta | {"sources": sources})


def target_digest(target: Target, learns: bool = False) -> str:
    """SHA-256 of the target's canonical JSON (without the file it was read from). The learning
    engine (``learning:`` and ``core.learning_rules``) counts only for an image that ``learns``
    (holds plastic synapses): nothing else depends on it, and images compiled before targets had
    it still match. The cost model (``cost:``) never counts: no bit of an image depends on it."""
    doc = target.to_json()
    doc.pop("source", None)
    doc.pop("cost", None)
    if not learns:
        doc.pop("learning", None)
        doc["core"].pop("learning_rules", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compiled_target(target: Target, meta: dict) -> Target:
    """``target`` as the image with ``meta`` was compiled for it (:meth:`Target.effective` of the
    image format's current channels); readers check it against the image's target digest."""
    return target.effective(int(meta["format"]["receptors"]))


def _source_json(src) -> dict:
    if isinstance(src, PoissonSource):
        inputs = {"inputs": int(src.inputs)} if src.inputs != 1 else {}  # images without it stay as they were
        return {"kind": "poisson", "name": src.name, "size": src.size, "rate": src.rate.tolist(),
                "start": repr(float(src.start)), "stop": repr(float(src.stop)), **inputs}
    mirror = {"mirror_of": src.mirror_of} if src.mirror_of is not None else {}
    return {"kind": "spikes", "name": src.name, "size": src.size, "ids": src.ids.tolist(), "times": src.times.tolist(),
            **mirror}


def source_from_json(d: dict):
    if d["kind"] == "poisson":
        return PoissonSource(name=d["name"], size=d["size"], rate=np.array(d["rate"], dtype=np.float64),
                             start=float(d["start"]), stop=float(d["stop"]), inputs=int(d.get("inputs", 1)))
    return SpikeSource(name=d["name"], size=d["size"], ids=np.array(d["ids"], dtype=np.int64),
                       times=np.array(d["times"], dtype=np.float64), mirror_of=d.get("mirror_of"))


def _check_widths(fxp: FixedPointNetwork) -> None:
    f = fxp.format
    wide = [k for k in ("v_bits", "i_bits", "bias_bits", "acc_bits") if getattr(f, k) > 32]
    if wide or f.decay_bits > 30:
        raise UserError(f"format '{f.name}': the image format stores neuron state in 32 bits; "
                        f"{', '.join(wide) or 'decay_bits'} is wider: choose narrower widths")


def build_contents(mapping: Mapping, fxp: FixedPointNetwork, seed: int | None = None,
                   batch_synapses: int = BATCH_SYNAPSES) -> ImageContents:
    """Everything a chip (and the host that feeds it) needs, from a checked mapping. Synapses are
    placed a batch of cores at a time (:mod:`.synapse_batches`); the bytes do not depend on
    ``batch_synapses``."""
    target = mapping.target
    _check_widths(fxp)
    if (mapping.layer_parts or target.cam is not None) and any(q.params.v_min is not None
                                                              for q in fxp.populations.values()):
        raise UserError(f"{target.name}: its convolution or CAM cores hold no lower voltage bound (v_min) in their "
                        "image: drop v_min, or set format.v_min false")
    if mapping.layer_parts:
        return _layer_contents(mapping, fxp, seed)
    if target.cam is not None:
        return _cam_contents(mapping, fxp, seed)
    prog = program_from_fixed_point(fxp, seed, synapses=False)
    n = prog.n
    core_of = np.asarray(mapping.core_of, dtype=np.int64)
    ps = mapping.partial_sums
    n_cores = int(ps.cores) if ps is not None else (int(core_of.max()) + 1 if n else 0)
    p = prog.params
    n_pre = int(prog.synapses.indptr.size - 1)
    by_core = np.argsort(core_of, kind="stable")  # neurons core by core, ascending within a core
    core_bounds = np.searchsorted(core_of[by_core], np.arange(n_cores + 1))
    local = np.empty(n, dtype=np.int64)  # index of each neuron within its core
    local[by_core] = np.arange(n) - core_bounds[core_of[by_core]]
    pop_starts = np.array([sl.offset for sl in prog.populations], dtype=np.int64)
    batches, dest_pairs, comps = synapse_batches(fxp, prog.offsets, pop_starts, n, n_pre, core_of, local,
                                                 np.diff(core_bounds), ps, batch_synapses)
    learns = plastic_rows(fxp, prog, max(1, fxp.format.receptors))
    if learns is not None and comps:
        raise UserError("plastic projections and partial-sum compartments in one image: compile with --fan-in none, "
                        "or without learning")
    layout = target.storage
    problems = layout.problems(target)  # a target derived in code (more receptors, say) is checked here
    if problems:
        raise UserError(f"{target.name}: core.synapse_storage '{layout.kind}': " + "; ".join(problems))
    fields = SynapseFields.of(target)
    key_bits = fields.index
    width = max(n_cores, 1)
    dest_bounds = np.searchsorted(dest_pairs, np.arange(n_cores + 1) * width)
    cores, max_delay = [], 1
    scratch = CoreScratch()
    for batch in batches:
        s = batch.arrays
        # rows group a source's synapses by (channel, target population): each row then comes from
        # one projection and shares its exponent
        max_delay = max(max_delay, int(s["delay"].max(initial=1)))
        bounds = batch.bounds  # core by core
        for c in batch.cores:
            members = by_core[core_bounds[c]:core_bounds[c + 1]]
            rec = _neuron_records(prog, members)
            lo, hi = bounds[c - batch.cores.start], bounds[c - batch.cores.start + 1]
            syn = scratch.gather(s, lo, hi)  # ordered by row, delay and slot
            if layout.axon_per_delay:
                rows, synapses, type_w = _crossbar(c, target, members.size, syn.pre, syn.slot, syn.delay, syn.weight,
                                                   mapping.axon_types.get(c))
            else:
                forced = None if learns is None else learns.exponents(syn.key)
                rows, synapses = _rows(c, target, fields, layout, syn, forced, scratch)
                type_w = np.zeros((0, 0), dtype=np.int16)
            dests = dest_pairs[dest_bounds[c]:dest_bounds[c + 1]] % width
            extra = {"compartments": _records(comps, c)} if comps else {}
            if p.v_min is not None:
                extra["v_min"] = p.v_min[members].astype(np.int32)
            if learns is not None and rows.size:
                extra["plastic"] = _plastic_records(learns, syn.key, rows)
            cores.append(CoreImage(core=c, position=tuple(int(x) for x in mapping.position[c]), neurons=rec,
                                   decay_i=p.decay_i[:, members].astype(np.int32),
                                   i0=prog.i0[:, members].astype(np.int32), rows=rows, synapses=synapses,
                                   type_weights=type_w, key=c << key_bits, mask=(0xFFFFFFFF ^ ((1 << key_bits) - 1)),
                                   destinations=dests.astype(np.uint32), **extra))
        del s
    meta = _meta(prog, fxp, target, n_cores, learns is not None) | {"max_delay": max_delay}
    if comps:
        meta |= {"compartments": int(ps.compartments), "payload_bits": int(target.core.partial_sum_bits)}
    meta |= plastic_meta(fxp)
    return ImageContents(meta=meta, cores=tuple(cores), chip_tables=_chip_tables(mapping, n_cores))


def _neuron_records(prog, members: np.ndarray) -> np.ndarray:
    """The ``neurons`` records of the neurons ``members`` (ascending global indices)."""
    p = prog.params
    rec = np.zeros(members.size, dtype=NEURON_DTYPE)
    rec["neuron"], rec["v0"] = members, prog.v0[members]
    for name in ("decay_v", "bias", "threshold", "v_reset", "refractory"):
        rec[name] = getattr(p, name)[members]
    rec["flags"] = p.subtract[members] * FLAG_SUBTRACT + p.spiking[members] * FLAG_SPIKING
    return rec


def _meta(prog, fxp: FixedPointNetwork, target: Target, n_cores: int, learns: bool) -> dict:
    return _port_meta(target) | {
        "compiler": f"nmcompiler {__version__}", "target": target.name,
        "target_sha256": target_digest(target, learns=learns),
        "format": fxp.format.to_json(), "network": prog.name, "dt": repr(prog.dt),
        "seed": prog.seed, "neurons": prog.n, "presynaptic": int(prog.synapses.indptr.size - 1), "cores": n_cores,
        "populations": [[sl.name, sl.offset, sl.size] for sl in prog.populations],
        "sources": [_source_json(src) for src in prog.sources],
        "probes": [{"target": q.target, "variable": q.variable,
                    "neurons": None if q.neurons is None else q.neurons.tolist()} for q in prog.probes],
        "synapse_storage": target.storage.kind, "synapse_fields": vars(SynapseFields.of(target)),
    }


def _port_meta(target: Target) -> dict:
    """Port-structured targets: the spikes per tick of each logical core's neurons (a property of
    the port, as the chip fixes it; absent: one spike per neuron and tick)."""
    if target.ports is None:
        return {}
    per_core = {target.ports.HIDDEN_CORE: target.ports.hidden_spikes_per_step,
                target.ports.OUTPUT_CORE: target.ports.output_spikes_per_step}
    return {"spikes_per_step": [per_core[k] for k in sorted(per_core)]}


def _layer_contents(mapping: Mapping, fxp: FixedPointNetwork, seed: int | None) -> ImageContents:
    """A convolution mapping's image: per core its neurons, its ``layer`` (geometry, sources and
    kernel memory; no synapse rows) and the cores of its destination layers (format version 4)."""
    from .layers import layer_images

    target = mapping.target
    prog = program_from_fixed_point(fxp, seed, synapses=False)
    core_of = np.asarray(mapping.core_of, dtype=np.int64)
    layers = layer_images(mapping, fxp, prog.offsets)
    parts = mapping.layer_parts
    key_bits = SynapseFields.of(target).index
    cores = []
    by_core = np.argsort(core_of, kind="stable")
    bounds = np.searchsorted(core_of[by_core], np.arange(len(parts) + 1))
    for c, (part, layer) in enumerate(zip(parts, layers)):
        members = by_core[bounds[c]:bounds[c + 1]]
        dests = [k for k, q in enumerate(parts) if part.layer in _sources_of(fxp, q.layer)]
        cores.append(CoreImage(core=c, position=tuple(int(x) for x in mapping.position[c]),
                               neurons=_neuron_records(prog, members),
                               decay_i=prog.params.decay_i[:, members].astype(np.int32),
                               i0=prog.i0[:, members].astype(np.int32), rows=np.zeros(0, dtype=ROW_DTYPE),
                               synapses=np.zeros(0, dtype=np.uint32), type_weights=np.zeros((0, 0), dtype=np.int16),
                               key=c << key_bits, mask=(0xFFFFFFFF ^ ((1 << key_bits) - 1)),
                               destinations=np.array(dests, dtype=np.uint32), layer=layer))
    meta = _meta(prog, fxp, target, len(parts), False) | {"max_delay": 1}
    return ImageContents(meta=meta, cores=tuple(cores), chip_tables={})


def _cam_contents(mapping: Mapping, fxp: FixedPointNetwork, seed: int | None) -> ImageContents:
    """A CAM mapping's image: per core its neurons, CAM words and SRAM entries (no synapse rows),
    and the host's routes (format version 5, :mod:`.cam`)."""
    from ..mapping.tags import assign_tags
    from ..mapping.usage import synapse_arrays
    from .cam import cam_cores, cam_meta

    target = mapping.target
    if mapping.cam_bases is None:
        raise UserError(f"{target.name}: the mapping has no base weights: compile it with "
                        "nmcompiler.compiler.compile_network")
    prog = program_from_fixed_point(fxp, seed)
    core_of = np.asarray(mapping.core_of, dtype=np.int64)
    pre, post = synapse_arrays(fxp.network, prog.offsets, prog.n)
    tags = assign_tags(pre, post, core_of, np.asarray(mapping.position), prog.n, target)
    by_core = np.argsort(core_of, kind="stable")
    bounds = np.searchsorted(core_of[by_core], np.arange(int(core_of.max(initial=-1)) + 2))
    cams, host = cam_cores(mapping, prog, tags, lambda c: by_core[bounds[c]:bounds[c + 1]])
    cores = []
    for c, cam in enumerate(cams):
        members = by_core[bounds[c]:bounds[c + 1]]
        cores.append(CoreImage(core=c, position=tuple(int(x) for x in mapping.position[c]),
                               neurons=_neuron_records(prog, members),
                               decay_i=prog.params.decay_i[:, members].astype(np.int32),
                               i0=prog.i0[:, members].astype(np.int32), rows=np.zeros(0, dtype=ROW_DTYPE),
                               synapses=np.zeros(0, dtype=np.uint32), type_weights=np.zeros((0, 0), dtype=np.int16),
                               key=0, mask=0, destinations=np.zeros(0, dtype=np.uint32), cam=cam))
    meta = _meta(prog, fxp, target, len(cores), False) | {"max_delay": 1} | cam_meta(target)
    return ImageContents(meta=meta, cores=tuple(cores), chip_tables={}, host_routes=host)


def _sources_of(fxp: FixedPointNetwork, layer: str) -> list[str]:
    return [p.pre for p in fxp.network.spiking_projections(layer)]


def _plastic_records(learns, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The core's rows that learn (ascending) and their plastic projection."""
    k = learns.projection_of(keys[rows["start"].astype(np.int64)])
    rec = np.zeros(int(np.count_nonzero(k >= 0)), dtype=PLASTIC_DTYPE)
    rec["row"], rec["projection"] = np.flatnonzero(k >= 0), k[k >= 0]
    return rec


def _records(comps: dict, c: int) -> np.ndarray:
    ids = comps["by_core"][comps["first"][c]:comps["first"][c + 1]]
    rec = np.zeros(ids.size, dtype=COMPARTMENT_DTYPE)
    rec["id"], rec["neuron"], rec["channel"] = ids, comps["soma"][ids], comps["channel"][ids]
    return rec


def _rows(core, target, f: SynapseFields, layout, syn: CoreSynapses, forced, scratch: CoreScratch):
    """Rows and entries; ``forced``: per synapse an exponent its row must have at least (a plastic
    projection's own: its mantissas learn in those units). Each core's arrays are its own (about a
    megabyte each onto spinnaker-like): as views of one array per batch they took three times
    longer to fault in, its pages being huge (numpy asks for them above 4 MiB) and compacted first."""
    wmax = (1 << (f.weight - 1)) - 1
    # one row per (source, channel, target population); its exponent is the largest its synapses
    # need (``syn.key`` ascends: the batch's order sorts by core, then key)
    forced = np.zeros(0, dtype=np.int64) if forced is None else np.asarray(forced, dtype=np.int64)
    out = np.empty(syn.key.size, dtype=np.uint32)
    start, row_exp, bad = scratch.rows(syn, forced, wmax, layout.shifts(f), out)
    if bad >= 0:
        raise UserError(f"core {core}: the weights of source {int(syn.pre[bad])} do not share an exponent that "
                        f"{target.name}'s {f.weight}-bit weights can express")
    rows = np.zeros(start.size, dtype=ROW_DTYPE)
    fill_rows(rows, syn.pre, start, row_exp, syn.key.size)
    return rows, out


def _crossbar(core, target, n_local, s_pre, s_post, s_delay, s_w, assigned=None):
    """Axons = (source, delay) pairs; each gets an axon type so that every synapse's weight equals
    its neuron's weight for that type: the mapping's assignment (``AssignAxonTypes``) when it has
    one, else one type per weight value or first fit. Fails naming the core and axon when the
    weights contradict the types."""
    types = target.core.axon_types or 1
    keys = target.axon_keys(s_pre, s_delay)
    # the batch orders a core's synapses by row key (source, channel, target population): one
    # source's axons can be apart, so they are brought together by axon key first
    by_axon = np.argsort(keys, kind="stable")
    keys, s_pre, s_post, s_delay, s_w = keys[by_axon], s_pre[by_axon], s_post[by_axon], s_delay[by_axon], s_w[by_axon]
    uniq, start = np.unique(keys, return_index=True)
    ends = np.append(start[1:], keys.size)
    table = np.zeros((n_local, types), dtype=np.int64)
    known = np.zeros((n_local, types), dtype=bool)
    rows = np.zeros(uniq.size, dtype=ROW_DTYPE)
    bits = np.zeros((uniq.size, (target.core.neurons + 7) // 8), dtype=np.uint8)
    values = np.unique(s_w)
    uniform = all(np.all(s_w[a:b] == s_w[a]) for a, b in zip(start, ends))
    by_value = uniform and values.size <= types  # one type per weight value: always consistent
    for r, (a, b) in enumerate(zip(start, ends)):
        j, w = s_post[a:b], s_w[a:b]
        if assigned is not None:
            at = int(np.searchsorted(assigned[0], uniq[r]))
            candidates = [int(assigned[1][at])] if at < assigned[0].size and assigned[0][at] == uniq[r] else []
        else:
            candidates = [int(np.searchsorted(values, w[0]))] if by_value else range(types)
        for t in candidates:
            if np.all(~known[j, t] | (table[j, t] == w)):
                break
        else:
            raise UserError(f"core {core}: axon of source {int(s_pre[a])} (delay {int(s_delay[a])}) needs weights no "
                            f"{types} axon types can hold consistently across the core's neurons")
        table[j, t], known[j, t] = w, True
        rows[r] = (s_pre[a], 0, b - a, s_delay[a], t, 0, 0)
        np.bitwise_or.at(bits[r], j // 8, (1 << (j % 8)).astype(np.uint8))
    if np.abs(table).max(initial=0) > np.iinfo(np.int16).max:
        raise UserError(f"core {core}: a crossbar weight does not fit 16 bits")
    return rows, bits, table.astype(np.int16)


_LINK_BITS = {"E": 0, "W": 1, "S": 2, "N": 3}


def _chip_tables(mapping: Mapping, n_cores: int) -> dict[int, np.ndarray]:
    """Each chip's routing table as (key, mask, route bits) rows, from the mapping's tables."""
    target = mapping.target
    if not target.routing.table_entries or n_cores == 0:
        return {}
    tables = mapping.routes.tables
    if tables is None:
        raise UserError(f"{target.name} routes by keyed tables, and the mapping has none: compile it with "
                        "nmcompiler.compiler.compile_network")
    per_chip = target.chip.cores_per_chip
    out = {}
    for chip in sorted(tables.entries):
        rows = []
        for key, mask, outs in tables.entries[chip]:
            route = 0
            for o in outs:
                route |= 1 << (_LINK_BITS[o] if o in _LINK_BITS else 8 + int(o[4:]) % per_chip)
            rows.append((key, mask, route))
        out[int(chip)] = np.array(rows, dtype=np.uint32).reshape(-1, 3)
    return out
