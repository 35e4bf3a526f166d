"""Decode an image's tables into what the bit-accurate simulator runs (:class:`SimProgram`).

Only the tables are used: neuron parameters from ``neurons``, synapses from ``rows`` and
``synapses`` (with ``type_weights`` on crossbars), partial-sum compartments from
``compartments`` and the rows that carry their messages; names, sources and probes from
``meta``. Simulating the result runs exactly the integers the image holds.
"""

from __future__ import annotations

import numpy as np

from ..datapath import LearningFormat, NeuronParams
from ..datapath.format import NumericFormat
from ..errors import UserError
from ..ir import Probe
from ..lowered import Compartments, PopulationSlot, SimProgram, synapse_table
from ..targets.encoding import StorageLayout, storage_layout
from .cam import cam_synapses
from .contents import (FLAG_SPIKING, FLAG_SUBTRACT, MAX_SOURCE_CHANNELS, CoreImage, ImageContents, SynapseFields,
                       source_from_json)
from .plastic import plastic_pieces

__all__ = ["core_synapses", "to_program"]


def to_program(contents: ImageContents, learn: bool = False) -> SimProgram:
    """The simulator's input, made from the image's tables alone (names and sources from META).
    An image whose sections contradict each other raises :class:`UserError` naming what. Plastic
    synapses learn with ``learn`` (one learning unit per projection and core); otherwise they
    are fixed at the weights the image holds (inference, and what the RTL core runs)."""
    try:
        prog = _to_program(contents)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, AttributeError) as exc:
        raise UserError(f"image content inconsistent: {type(exc).__name__}: {exc}") from None
    problems = _program_problems(prog, contents)
    if problems:
        raise UserError("image content inconsistent: " + "; ".join(problems))
    return prog if learn else prog.frozen()


def _program_problems(prog: SimProgram, contents: ImageContents) -> list[str]:
    fmt, n = prog.format, prog.n
    out = [f"format: {p}" for p in fmt.problems()]
    ids = np.sort(np.concatenate([c.neurons["neuron"].astype(np.int64) for c in contents.cores] or [np.zeros(0, np.int64)]))
    if not np.array_equal(ids, np.arange(n)):
        out.append(f"the cores' neuron tables do not hold each of the {n} neurons exactly once")
    start = 0
    for slot in prog.populations:
        if slot.offset != start or slot.size < 1:
            out.append(f"population '{slot.name}' does not follow its predecessor")
        start = slot.offset + slot.size
    if start != n:
        out.append(f"populations cover {start} neurons, the image holds {n}")
    t = prog.synapses
    n_pre = n + sum(s.size for s in prog.sources)
    if t.indptr.size != n_pre + 1:
        out.append(f"synapse sources: {t.indptr.size - 1} presynaptic indices, sources and neurons make {n_pre}")
    d = np.asarray(t.delay)
    m = 0 if prog.compartments is None else prog.compartments.size
    if t.target.size and (d.min() < 1 or d.max() > fmt.delay_max or t.target.max() >= prog.channels * n + m):
        out.append("a synapse has a delay or target outside the format's range")
    names = {p.name for p in prog.populations}
    sizes = {p.name: p.size for p in prog.populations}
    for q in prog.probes:
        if q.target not in names or q.variable not in ("spikes", "v", "i"):
            out.append(f"probe of unknown population or variable '{q.target}.{q.variable}'")
        elif q.neurons is not None and q.neurons.size and not (0 <= q.neurons.min() and q.neurons.max() < sizes[q.target]):
            out.append(f"probe of '{q.target}' names neurons outside its {sizes[q.target]}")
    for src in prog.sources:
        out += [f"source '{src.name}': {m}" for m in src.problems()]
    if prog.params.refractory.size and prog.params.refractory.min() < 0:
        out.append("negative refractory period")
    lo = prog.params.v_min
    if lo is not None and lo.size and not (-(1 << (fmt.v_bits - 1)) <= lo.min() and lo.max() < (1 << (fmt.v_bits - 1))):
        out.append(f"a lower bound of v (v_min) lies outside the format's {fmt.v_bits} bits")
    if lo is not None and not fmt.v_min:
        out.append(f"the image bounds v from below (v_min sections), format {fmt.name} has no lower bound")
    return out


def core_synapses(c: CoreImage, layout: StorageLayout, f: SynapseFields, n_pre: int, cams: dict | None = None):
    """Per synapse of core ``c``: source, local slot, channel field, delay, weight."""
    if cams is not None:  # a CAM core: what its words and every source's tags make (.cam)
        return cams[c.core]
    if c.layer is not None:  # a convolution core: the synapses its kernel makes
        return c.layer.entries(c.neurons.size, n_pre)
    rows = c.rows
    lengths = rows["length"].astype(np.int64)
    src = np.repeat(rows["source"].astype(np.int64), lengths)
    if layout.axon_per_delay:  # crossbar: a bit per (axon, neuron), weights per (neuron, axon type)
        nb = c.neurons.size
        bitmat = np.unpackbits(c.synapses, axis=1, bitorder="little")[:, :nb].astype(bool)
        r_idx, j = np.nonzero(bitmat)
        src = rows["source"].astype(np.int64)[r_idx]
        d = rows["delay"].astype(np.int64)[r_idx]
        w = c.type_weights[j, rows["axon_type"][r_idx]].astype(np.int64)
        return src, j, np.zeros_like(j), d, w
    j, ch, d, mantissa = layout.unpack(f, c.synapses)
    return src, j, ch, d, mantissa << np.repeat(rows["exponent"].astype(np.int64), lengths)


# Synapses per joined piece: large arrays come from the system (mmap) and go back to it when the
# table has placed them; thousands of per-core pieces would stay in the heap (4 GB at full scale)
PIECE_SYNAPSES = 1 << 23


def _join(pending: list, *lists) -> None:
    """Append the concatenation of the ``pending`` (pre, target, weight, delay) pieces to ``lists``."""
    if pending:
        for k, out in enumerate(lists):
            out.append(np.concatenate([p[k] for p in pending]))
        pending.clear()


def _to_program(contents: ImageContents) -> SimProgram:
    meta = contents.meta
    fmt = NumericFormat(**meta["format"])
    n, R = int(meta["neurons"]), max(1, fmt.receptors)
    m = int(meta.get("compartments", 0))
    # sizes from META must agree with the tables before anything is allocated from them
    held = sum(int(c.neurons.size) for c in contents.cores)
    comps_held = sum(int(c.compartments.size) for c in contents.cores)
    channels = [int(src["size"]) for src in meta["sources"]]
    if n != held or m != comps_held or not 1 <= R <= 64 or any(not 0 < k <= MAX_SOURCE_CHANNELS for k in channels):
        raise ValueError(f"meta says {n} neurons and {m} compartments, the cores hold {held} and {comps_held}; "
                         f"receptors {R}; source sizes {channels} (at most {MAX_SOURCE_CHANNELS} channels each)")
    n_pre = n + sum(channels)
    if int(meta["presynaptic"]) != n_pre:
        raise ValueError(f"meta says {meta['presynaptic']} presynaptic indices, neurons and sources make {n_pre}")
    for c in contents.cores:
        if c.rows.size and int(c.rows["source"].max()) >= n_pre + m:
            raise ValueError(f"core {c.core}: a row's source lies outside the {n_pre} presynaptic indices and "
                             f"{m} compartments")
    f = SynapseFields(**meta["synapse_fields"])
    layout = storage_layout(meta["synapse_storage"])
    cams = cam_synapses(contents, n, n_pre) if "cam" in meta else None
    arrays = {k: np.zeros(n, dtype=np.int64) for k in ("v0", "decay_v", "bias", "threshold", "v_reset", "refractory", "flags")}
    per_core = meta.get("spikes_per_step")  # port cores: spikes per tick of each core's neurons
    if per_core is not None and any(not 0 <= c.core < len(per_core) for c in contents.cores):
        raise ValueError(f"meta gives spikes per step for {len(per_core)} cores, the image holds core "
                         f"{max(c.core for c in contents.cores)}")
    max_spikes = np.ones(n, dtype=np.int64) if per_core is not None else None
    bounded = any(c.v_min.size for c in contents.cores)  # a core without the section: no bound
    v_min = np.full(n, -(1 << (fmt.v_bits - 1)), dtype=np.int64) if bounded else None
    decay_i, i0 = np.zeros((R, n), dtype=np.int64), np.zeros((R, n), dtype=np.int64)
    comp_target = np.full(m, -1, dtype=np.int64)  # from the rows that carry the messages
    comp_record = np.full(m, -1, dtype=np.int64)  # from the compartments sections
    pres, targets, weights, delays = [], [], [], []
    learned: dict[int, list] = {}  # plastic projection -> (core, src, neuron, channel, delay, mantissa, neurons)
    pending, held = [], 0  # the cores' small pieces, joined into large ones (see _join)
    index_type = np.int32 if max(n_pre, R * n) + m < 2 ** 31 else np.int64
    for c in contents.cores:
        ids = c.neurons["neuron"].astype(np.int64)
        for k in arrays:
            arrays[k][ids] = c.neurons[k]
        decay_i[:, ids], i0[:, ids] = c.decay_i, c.i0
        if max_spikes is not None:
            max_spikes[ids] = per_core[c.core]
        if c.v_min.size:
            v_min[ids] = c.v_min
        src, j, ch, d, w = core_synapses(c, layout, f, n_pre, cams)
        if c.plastic.size:  # rows that learn: out of the fixed table, into the core's learning units
            src, j, ch, d, w = _take_plastic(c, ids, learned, meta, src, j, ch, d, w)
        nb, cid = ids.size, c.compartments["id"].astype(np.int64)
        if np.any(j >= nb + cid.size):
            raise UserError(f"core {c.core}: a synapse targets slot {int(j.max())}, the core holds {nb} neurons "
                            f"and {cid.size} compartments")
        if cid.size:
            if np.any(comp_record[cid] >= 0):
                raise UserError(f"core {c.core}: a compartment is also held by another core")
            comp_record[cid] = c.compartments["channel"].astype(np.int64) * n + c.compartments["neuron"]
        message = src >= n_pre  # a compartment's message: one synapse of weight 1 and delay 1 onto a neuron
        if message.any():
            k, jm = src[message] - n_pre, j[message]
            lengths = c.rows["length"][c.rows["source"] >= n_pre]
            if np.any(lengths != 1) or np.any(w[message] != 1) or np.any(d[message] != 1) or np.any(jm >= nb):
                raise UserError(f"core {c.core}: a compartment's message row is not one synapse of weight 1 and "
                                "delay 1 onto a neuron of the core")
            if np.any(comp_target[k] >= 0):
                raise UserError(f"core {c.core}: compartment {int(k[0])} sends to more than one neuron")
            comp_target[k] = ch[message] * n + ids[jm]
        plain = ~message
        src, j, ch, d, w = src[plain], j[plain], ch[plain], d[plain], w[plain]
        into = j >= nb  # synapses onto a compartment store channel 0
        if np.any(ch[into] != 0):
            raise UserError(f"core {c.core}: a synapse onto a compartment has channel bits set")
        target = np.empty(j.size, dtype=np.int64)
        target[~into] = ch[~into] * n + ids[j[~into]]
        target[into] = R * n + cid[j[into] - nb]
        if d.size and (d.min() < 1 or d.max() > fmt.delay_max):  # checked before int16 could wrap it
            raise UserError(f"core {c.core}: a synapse has delay {int(d.max())}, the format's range is "
                            f"1..{fmt.delay_max}")
        # narrow pieces: at 0.3 billion synapses the int64 table alone would take 7 GB
        pending.append((src.astype(index_type), target.astype(index_type),
                        w.astype(np.int32) if not w.size or (-2 ** 31 <= w.min() and w.max() < 2 ** 31) else w,
                        d.astype(np.int16)))
        held += src.size
        if held >= PIECE_SYNAPSES:
            _join(pending, pres, targets, weights, delays)
            held = 0
    compartments = None
    if m:
        if not np.array_equal(comp_target, comp_record):
            k = int(np.argmax(comp_target != comp_record))
            raise UserError(f"compartment {k}: its record names target {comp_record[k]}, its message row "
                            f"{comp_target[k]} (channel x neurons + neuron; -1: none)")
        compartments = Compartments(target=comp_target, payload_bits=int(meta["payload_bits"]))
    params = NeuronParams(decay_v=arrays["decay_v"], decay_i=decay_i, bias=arrays["bias"],
                          threshold=arrays["threshold"], v_reset=arrays["v_reset"], refractory=arrays["refractory"],
                          subtract=(arrays["flags"] & FLAG_SUBTRACT) > 0, spiking=(arrays["flags"] & FLAG_SPIKING) > 0,
                          max_spikes=max_spikes, v_min=v_min)
    _join(pending, pres, targets, weights, delays)
    table = synapse_table(n_pre, pres, targets, weights, delays)
    probes = tuple(Probe(target=q["target"], variable=q["variable"], neurons=q["neurons"]) for q in meta["probes"])
    sizes = {a: int(c) for a, _, c in meta["populations"]} | {s["name"]: int(s["size"]) for s in meta["sources"]}
    offsets = {a: int(b) for a, b, _ in meta["populations"]}
    firsts = (n + np.cumsum([0] + channels[:-1])).astype(int).tolist()
    offsets |= dict(zip([s["name"] for s in meta["sources"]], firsts))
    plastic = plastic_pieces(meta, lambda k: learned.get(k, []), sizes, offsets)
    return SimProgram(name=meta["network"], dt=float(meta["dt"]), seed=int(meta["seed"]), format=fmt,
                      populations=tuple(PopulationSlot(a, int(b), int(c)) for a, b, c in meta["populations"]),
                      params=params, v0=arrays["v0"], i0=i0, synapses=table,
                      sources=tuple(source_from_json(s) for s in meta["sources"]), probes=probes,
                      compartments=compartments, plastic=plastic,
                      learning=LearningFormat(**meta["learning"]) if plastic else None)


def _take_plastic(c: CoreImage, ids: np.ndarray, learned: dict, meta: dict, src, j, ch, d, w):
    """Move core ``c``'s plastic rows' synapses into ``learned``; return the fixed ones."""
    lengths = c.rows["length"].astype(np.int64)
    row_of = np.repeat(np.arange(c.rows.size), lengths)
    proj_of_row = np.full(c.rows.size, -1, dtype=np.int64)
    proj_of_row[c.plastic["row"].astype(np.int64)] = c.plastic["projection"]
    k = proj_of_row[row_of]
    plastic = meta.get("plastic", [])
    if np.any(k >= len(plastic)) or np.any(j[k >= 0] >= ids.size):
        raise UserError(f"core {c.core}: a plastic row names an unknown projection or a slot that is not a neuron")
    exps = c.rows["exponent"].astype(np.int64)[row_of]
    for p in np.unique(k[k >= 0]):
        sel = k == p
        if np.any(exps[sel] != plastic[p]["exponent"]):
            raise UserError(f"core {c.core}: a plastic row of projection '{plastic[p]['name']}' has another exponent "
                            "than the projection's")
        learned.setdefault(int(p), []).append((c.core, src[sel], ids[j[sel]].astype(np.int64), ch[sel], d[sel],
                                               w[sel] >> exps[sel], ids))
    keep = k < 0
    return src[keep], j[keep], ch[keep], d[keep], w[keep]
