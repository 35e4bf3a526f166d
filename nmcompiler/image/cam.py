"""CAM cores in the image (format version 5; docs/image-format.md, "cam", "sram", "host_routes").

A CAM core (:mod:`nmcompiler.targets.cam`) has no synapse rows. Its ``cam`` section holds the
core's base weights and, per neuron, its CAM words (tag, synapse type, weight mask; type 255: an
empty word); its ``sram`` section, per neuron, the destination entries its spikes leave through
(tag, chip hop dx and dy, core mask, valid). The global ``host_routes`` section gives the same
for the host's input channels (source, destination chip, tag, core mask).

Running the image means what the chip does: a spike of source ``s`` enters, through each of its
entries, the masked cores of the destination chip with the entry's tag, and reaches every CAM word
holding that tag there (:func:`cam_synapses`). Nothing else connects a source to a neuron.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import UserError
from ..mapping.tags import ROUTE_DTYPE, TagAssignment, chip_xy
from ..passes.cam_weights import subset_sums

__all__ = ["CAM_DTYPE", "EMPTY", "SRAM_DTYPE", "CamCore", "cam_cores", "cam_meta", "cam_synapses"]

CAM_DTYPE = np.dtype([("tag", "<u2"), ("type", "u1"), ("mask", "u1")])
SRAM_DTYPE = np.dtype([("tag", "<u2"), ("dx", "i1"), ("dy", "i1"), ("core_mask", "u1"), ("valid", "u1"),
                       ("reserved", "<u2")])
EMPTY = 255  # the type of an unused CAM word
_CAM_HEAD = struct.Struct("<IIII")  # neurons, words per neuron, base weights, sets of them (1 or one per type)
_SRAM_HEAD = struct.Struct("<II")  # neurons, entries per neuron


class CamCore:
    """One core's CAM and SRAM contents."""

    def __init__(self, bases: np.ndarray, words: np.ndarray, sram: np.ndarray):
        self.bases = np.asarray(bases, dtype=np.int64)  # (G, B): G = 1, or one set per synapse type
        self.words = words  # (n, entries) CAM_DTYPE
        self.sram = sram  # (n, destinations) SRAM_DTYPE

    def pack(self) -> tuple[bytes, bytes]:
        n, entries = self.words.shape
        cam = (_CAM_HEAD.pack(n, entries, self.bases.shape[1], self.bases.shape[0]) + self.bases.astype("<i4").tobytes()
               + np.ascontiguousarray(self.words, dtype=CAM_DTYPE).tobytes())
        sram = _SRAM_HEAD.pack(*self.sram.shape) + np.ascontiguousarray(self.sram, dtype=SRAM_DTYPE).tobytes()
        return cam, sram

    @classmethod
    def unpack(cls, cam_reader, sram_reader) -> CamCore:
        n, entries, count, sets = cam_reader.unpack(_CAM_HEAD.format)
        if count > 16 or entries > 1 << 16 or not 1 <= sets <= 16:
            raise UserError(f"a cam section says {sets} x {count} base weights and {entries} words per neuron")
        bases = cam_reader.array("<i4", sets * count, (sets, count)).astype(np.int64)
        words = cam_reader.array(CAM_DTYPE, n * entries, (n, entries))
        cam_reader.done()
        m, dests = sram_reader.unpack(_SRAM_HEAD.format)
        if m != n or dests > 64:
            raise UserError(f"a sram section holds {m} neurons x {dests} entries, its cam section {n} neurons")
        sram = sram_reader.array(SRAM_DTYPE, m * dests, (m, dests))
        sram_reader.done()
        return cls(bases, words, sram)


def cam_meta(target) -> dict:
    """What running a CAM image needs besides its tables: the synapse types and the geometry that
    turns a core's position and an entry's hop into cores."""
    return {"cam": {"synapse_types": [[t.sign, t.channel] for t in target.cam.synapse_types],
                    "tags": target.cam.tags, "board_columns": max(1, target.chip.board[1]),
                    "mesh": list(target.chip.mesh)}}


def cam_cores(mapping, prog, tags: TagAssignment, members_of) -> tuple[list[CamCore], np.ndarray]:
    """Each core's CAM and SRAM from the program's synapses (``prog``: the legalized fixed-point
    network's), the mapping's base weights and ``tags``; and the host routes."""
    target, cam = mapping.target, mapping.target.cam
    n, t = prog.n, prog.synapses
    pre = np.repeat(np.arange(t.indptr.size - 1), np.diff(t.indptr))
    post, channel, w = t.target.astype(np.int64) % n, t.target.astype(np.int64) // n, t.weight.astype(np.int64)
    core_of, position = np.asarray(mapping.core_of), np.asarray(mapping.position)
    chip = position[core_of[post], 0]
    routes = tags.routes
    tag = tags.tag_of(pre, chip)
    lut = cam.group_table(int(channel.max(initial=0)) + 1)
    types = lut[channel, (w >= 0).astype(np.int64)] if w.size else np.zeros(0, dtype=np.int64)
    if np.any(types < 0):
        k = int(np.argmax(types < 0))
        raise UserError(f"neuron {int(post[k])}: no synapse type of {target.name} feeds channel {int(channel[k])} "
                        f"with weight {int(w[k])}'s sign")
    cores, n_cores = [], int(core_of.max()) + 1 if n else 0
    for c in range(n_cores):
        members = members_of(c)
        bases = mapping.cam_bases[c]
        words = np.zeros((members.size, cam.entries), dtype=CAM_DTYPE)
        words["type"] = EMPTY
        sel = np.flatnonzero(core_of[post] == c)
        sel = sel[np.lexsort((pre[sel], post[sel]))]
        local = np.searchsorted(members, post[sel])
        slot = np.arange(sel.size) - np.searchsorted(local, local)  # word index within its neuron
        if sel.size and int(slot.max()) >= cam.entries:
            raise UserError(f"core {c}: a neuron has more synapses than its {cam.entries} CAM words")
        words["tag"][local, slot], words["type"][local, slot] = tag[sel], types[sel]
        group = types[sel] if bases.shape[0] > 1 else np.zeros(sel.size, dtype=np.int64)
        for g in np.unique(group):
            at = group == g
            words["mask"][local[at], slot[at]] = _masks(np.abs(w[sel][at]), bases[g], c)
        cores.append(CamCore(bases, words, _sram(routes, members, position[c], target)))
    return cores, routes[routes["source"] >= n]


def _masks(magnitudes: np.ndarray, bases: np.ndarray, core: int) -> np.ndarray:
    sums = subset_sums(bases)
    order = np.lexsort((np.arange(sums.size), sums))
    at = np.clip(np.searchsorted(sums[order], magnitudes), 0, sums.size - 1)
    found = sums[order][at] == magnitudes
    if not np.all(found):
        raise UserError(f"core {core}: weight {int(magnitudes[~found][0])} is not a sum of the core's base weights "
                        f"{bases.tolist()}: compile the mapping with nmcompiler.compiler.compile_network")
    return order[at]


def _sram(routes: np.ndarray, members: np.ndarray, where: np.ndarray, target) -> np.ndarray:
    """The SRAM entries of the neurons ``members`` of the core at ``where`` (chip, row, column)."""
    cam = target.cam
    out = np.zeros((members.size, cam.destinations), dtype=SRAM_DTYPE)
    lo, hi = np.searchsorted(routes["source"], members), np.searchsorted(routes["source"], members, side="right")
    x0, y0 = chip_xy(np.array([where[0]]), target)
    for k in np.flatnonzero(hi > lo):
        mine = routes[lo[k]:hi[k]]
        if mine.size > cam.destinations:
            raise UserError(f"neuron {int(members[k])} sends to {mine.size} chips, it has {cam.destinations} SRAM "
                            "entries")
        x, y = chip_xy(mine["chip"], target)
        out[k, :mine.size]["tag"], out[k, :mine.size]["core_mask"] = mine["tag"], mine["core_mask"]
        out[k, :mine.size]["dx"], out[k, :mine.size]["dy"] = x - x0[0], y - y0[0]
        out[k, :mine.size]["valid"] = 1
    return out


def pack_host_routes(routes: np.ndarray) -> bytes:
    return struct.pack("<I", routes.size) + routes.astype(ROUTE_DTYPE).tobytes()


def unpack_host_routes(reader) -> np.ndarray:
    (count,) = reader.unpack("<I")
    out = reader.array(ROUTE_DTYPE, count)
    reader.done()
    return out


def cam_synapses(contents, n: int, n_pre: int) -> dict[int, tuple]:
    """Per core: (source, local neuron, channel, delay, weight) of every synapse the image's tags,
    SRAM entries and CAM words make (see the module docstring)."""
    meta = contents.meta["cam"]
    types = np.array(meta["synapse_types"], dtype=np.int64).reshape(-1, 2)
    tags, cols = int(meta["tags"]), int(meta["board_columns"])
    mesh_cols = int(meta["mesh"][1])
    core_at = {(int(c.position[0]), int(c.position[1]) * mesh_cols + int(c.position[2])): c.core
               for c in contents.cores}
    enter = [_host_entries(contents.host_routes, core_at, n, n_pre)]
    for c in contents.cores:
        ids = c.neurons["neuron"].astype(np.int64)
        k, e = np.nonzero(c.cam.sram["valid"])
        if not k.size:
            continue
        s = c.cam.sram[k, e]
        y, x = divmod(int(c.position[0]), cols)
        dest = (y + s["dy"].astype(np.int64)) * cols + (x + s["dx"].astype(np.int64))
        enter.append(_expand(ids[k], dest, s["tag"], s["core_mask"], core_at))
    src, core, tag = (np.concatenate([p[i] for p in enter]) for i in range(3))
    key = core * tags + tag
    order = np.argsort(key, kind="stable")
    src, key = src[order], key[order]
    out = {}
    for c in contents.cores:
        words = c.cam.words
        j, e = np.nonzero(words["type"] != EMPTY)
        wd = words[j, e]
        if np.any(wd["type"] >= len(types)) or np.any(wd["tag"] >= tags):
            raise UserError(f"core {c.core}: a CAM word names a synapse type or tag the chip does not have")
        lo = np.searchsorted(key, c.core * tags + wd["tag"].astype(np.int64))
        hi = np.searchsorted(key, c.core * tags + wd["tag"].astype(np.int64), side="right")
        reps = hi - lo
        which = np.repeat(np.arange(j.size), reps)
        first = np.repeat(lo - np.cumsum(reps) + reps, reps) + np.arange(which.size)
        kind = wd["type"][which].astype(np.int64)
        sign, channel = types[kind].T
        sets = c.cam.bases.shape[0]
        if sets not in (1, len(types)):
            raise UserError(f"core {c.core}: {sets} sets of base weights, the chip has {len(types)} synapse types")
        sums = np.stack([subset_sums(b) for b in c.cam.bases])
        weight = sign * sums[kind if sets > 1 else 0, wd["mask"][which].astype(np.int64)]
        out[c.core] = (src[first], j[which], channel, np.ones(which.size, dtype=np.int64), weight)
    return out


def _expand(source, chip, tag, mask, core_at):
    """(source, core, tag) for every core of ``chip`` that ``mask`` selects."""
    srcs, cores, tags = [], [], []
    for bit in range(16):
        on = (mask.astype(np.int64) >> bit) & 1 > 0
        if not on.any():
            continue
        where = [core_at.get((int(ch), bit), -1) for ch in chip[on]]
        if -1 in where:
            raise UserError(f"an SRAM entry enters core {bit} of chip {int(chip[on][where.index(-1)])}, "
                            "which the image does not hold")
        srcs.append(source[on])
        cores.append(np.array(where, dtype=np.int64))
        tags.append(tag[on].astype(np.int64))
    if not srcs:
        return (np.zeros(0, dtype=np.int64),) * 3
    return np.concatenate(srcs), np.concatenate(cores), np.concatenate(tags)


def _host_entries(routes, core_at, n: int, n_pre: int):
    src = routes["source"].astype(np.int64)
    if np.any((src < n) | (src >= n_pre)):
        raise UserError(f"a host route names source {int(src[(src < n) | (src >= n_pre)][0])}, the host sends "
                        f"channels {n}..{n_pre - 1}")
    return _expand(src, routes["chip"].astype(np.int64), routes["tag"], routes["core_mask"], core_at)
