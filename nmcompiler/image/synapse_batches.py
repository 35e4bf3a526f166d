"""Every synapse of a mapped network in its core's terms, a batch of cores at a time.

:func:`synapse_batches` reads the fixed-point projections directly (no global synapse table),
finds each synapse's core once (one ``int32`` per synapse) and then yields the synapses of
consecutive cores in batches of about ``batch_synapses``, so building the image of 0.3 billion
synapses never holds more than two batches (the one in use and the next, being filled). Per
synapse a batch holds:

* ``pre``: presynaptic index (neurons, then source channels; ``presynaptic + k`` for the
  message row of partial-sum compartment ``k``);
* ``key``: its row group, ``pre * channels * populations + channel * populations + population``
  of the neuron it finally feeds (a row then comes from one projection and shares its exponent);
* ``slot``: the local slot that stores it on its core (a neuron, or for a synapse through a
  compartment the compartment's slot after the core's neurons);
* ``field``: the channel written into the entry (0 onto a compartment);
* ``delay``: stored delay (``max(d - 1, 1)`` into a compartment, 1 for a message row);
* ``weight``: integer weight (1 for a message row).

Each is an ``int32`` array when its values fit, else ``int64`` (``weight`` always ``int64``);
``bounds`` says where each core's synapses begin. The fill scatters its writes over a batch's
cores: at 28 bytes a synapse rather than 56 it takes half the time and half the memory.

A batch is filled by scanning each projection in CSR order and appending every synapse of its
cores at its core's cursor: core by core, and within a core projection by projection in CSR
order, then the core's message rows. Restricted to one core this is the order of the
simulators' synapse table, so a stable sort by core first gives the same bytes as sorting
everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit

from ..arrays import BITMAP_LIMIT, distinct, values
from ..ir.fixed_point import FixedPointNetwork

__all__ = ["SynapseBatch", "synapse_batches", "BATCH_SYNAPSES"]

BATCH_SYNAPSES = 1 << 24
FIELDS = ("pre", "key", "slot", "field", "delay", "weight")


@dataclass(frozen=True, kw_only=True, eq=False)
class SynapseBatch:
    cores: range  # the cores whose synapses this batch holds (all of them)
    arrays: dict[str, np.ndarray]  # FIELDS, int32 or int64
    bounds: np.ndarray  # (cores + 1,): where each core's synapses begin in the arrays


@dataclass(frozen=True, kw_only=True, eq=False)
class _Projection:
    pre_base: int
    post_base: int  # first global neuron of the post population
    channel: int
    group: int  # channel * populations + population of post
    indptr: np.ndarray
    indices: np.ndarray
    mantissa: np.ndarray  # int64 (nnz,) or (1,)
    exponent: int
    delays: np.ndarray  # int64 (nnz,) or (1,)
    core: np.ndarray  # int32 (nnz,): core storing each synapse
    core_start: np.ndarray  # (K + 1,): synapses on the cores before each core


@dataclass(frozen=True, kw_only=True, eq=False)
class _Context:
    n: int
    n_pre: int
    row_groups: int  # channels * populations
    core_of: np.ndarray
    local: np.ndarray
    block: int
    slot_of: np.ndarray  # (blocks, channels * n) int32: slot of the compartment per (block, target), or -1;
    # (0, 0) without compartments
    comp_core: np.ndarray
    delay_max: int  # the largest a delay's type holds


@njit(cache=True, nogil=True)
def _cores(indptr, indices, pre_base, post_base, channel, n, core_of, compartment, block, comp_core, out, pairs, K,
           counts):
    """The core of every synapse of one projection, and the synapses per core (into ``counts``);
    marks (sending core, receiving core) of the neurons' spikes in the bitmap ``pairs`` (``K x K``
    bits; empty: not marked)."""
    use_comp = compartment.shape[0] > 0
    mark = pairs.size > 0
    for r in range(indptr.size - 1):
        g = pre_base + r
        for s in range(indptr[r], indptr[r + 1]):
            post = post_base + indices[s]
            c = core_of[post]
            if use_comp:
                k = compartment[g // block, channel * n + post]
                if k >= 0:
                    c = comp_core[k]
            out[s] = c
            counts[c] += 1
            if mark and g < n:
                key = core_of[g] * K + c
                pairs[key >> 6] |= np.uint64(1) << np.uint64(key & 63)


@njit(cache=True, nogil=True)
def _fill(indptr, indices, pre_base, post_base, channel, key_base, row_groups, mantissa, exponent, delays, core,
          c0, c1, n, local, slot_of, block, o_pre, o_key, o_slot, o_field, o_delay, o_weight, cursor):
    """Scatter the synapses of one projection stored on cores ``c0..c1 - 1``, read in CSR order,
    each to its core's next position (``cursor[c - c0]``, advanced)."""
    use_comp = slot_of.shape[0] > 0
    shared_w, shared_d = mantissa.size == 1, delays.size == 1
    for r in range(indptr.size - 1):
        g = pre_base + r
        for s in range(indptr[r], indptr[r + 1]):
            c = core[s]
            if c < c0 or c >= c1:
                continue
            post = post_base + indices[s]
            d = delays[0] if shared_d else delays[s]
            slot, field = local[post], channel
            if use_comp:
                k = slot_of[g // block, channel * n + post]
                if k >= 0:
                    slot, field, d = k, 0, max(d - 1, 1)
            pos = cursor[c - c0]
            cursor[c - c0] = pos + 1
            o_pre[pos], o_key[pos] = g, g * row_groups + key_base
            o_slot[pos], o_field[pos], o_delay[pos] = slot, field, d
            o_weight[pos] = np.int64(mantissa[0] if shared_w else mantissa[s]) << exponent


@njit(cache=True, nogil=True)
def _place_messages(ids, soma_core, c0, cursor, out):
    """Each compartment ``ids[i]`` (ascending) at its soma core's next position."""
    for i in range(ids.size):
        j = soma_core[ids[i]] - c0
        out[i] = cursor[j]
        cursor[j] += 1


def synapse_batches(fx: FixedPointNetwork, offsets: dict[str, int], pop_starts: np.ndarray, n: int, n_pre: int,
                    core_of: np.ndarray, local: np.ndarray, neurons_on: np.ndarray, ps=None,
                    batch_synapses: int = BATCH_SYNAPSES) -> tuple[Iterator[SynapseBatch], np.ndarray, dict]:
    """``(batches, destination pairs, compartments)``: the batches (an iterator), the distinct
    ``sending core * K + receiving core`` pairs of spikes and messages, and for partial sums the
    compartments' ``slot``, ``by_core`` (ids core by core), ``first`` (where each core's start
    in ``by_core``), ``core``, ``soma`` and ``channel`` (empty without compartments)."""
    K = int(neurons_on.size)
    width = max(K, 1)
    R = max(1, fx.format.receptors)
    P = max(1, pop_starts.size)
    comps: dict = {}
    compartment, block = np.zeros((0, 0), dtype=np.int32), 1
    comp_slot = comp_core = np.zeros(0, dtype=np.int64)
    if ps is not None and ps.compartments:
        comp_core = np.asarray(ps.core, dtype=np.int64)
        by_core = np.argsort(comp_core, kind="stable")  # compartments core by core, ascending id
        first = np.searchsorted(comp_core[by_core], np.arange(K + 1))
        comp_slot = np.empty(ps.compartments, dtype=np.int64)  # after the core's neurons
        comp_slot[by_core] = np.arange(ps.compartments) - first[comp_core[by_core]] + neurons_on[comp_core[by_core]]
        target = np.asarray(ps.target, dtype=np.int64)
        comps = {"slot": comp_slot, "by_core": by_core, "first": first, "core": comp_core, "soma": target % n,
                 "channel": target // n}
        compartment, block = np.ascontiguousarray(ps.compartment, dtype=np.int32), int(ps.block_size)
    bitmap = K * K <= BITMAP_LIMIT
    qs = list(fx.projections.values())
    threads = max(1, min(numba.get_num_threads(), len(qs)))
    bitmaps = [np.zeros((K * K + 63) // 64 if bitmap else 0, dtype=np.uint64) for _ in range(threads)]
    located: list = [None] * len(qs)
    by_size = np.argsort([-np.asarray(q.indices).size for q in qs], kind="stable").tolist()

    def locate(j: int) -> None:  # a share of the projections, largest first, with a bitmap of its own
        for k in by_size[j::threads]:
            located[k] = _locate(qs[k], offsets, pop_starts, P, n, K, core_of, compartment, block, comp_core,
                                 bitmaps[j], None if bitmap else width)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nmc-image") as pool:
        list(pool.map(locate, range(threads)))
    projections = [p for p, _ in located]
    pairs = [q for _, q in located if q is not None]
    if bitmap:
        bits = np.unpackbits(np.bitwise_or.reduce(bitmaps).view(np.uint8), bitorder="little")[:K * K]
        pairs.append(np.flatnonzero(bits).astype(np.int64))
        del bits
    per_core = sum((np.diff(p.core_start) for p in projections), np.zeros(K, dtype=np.int64))
    if comps:
        soma_core = core_of[comps["soma"]]
        per_core += np.bincount(soma_core, minlength=K)
        comps["soma_core"] = soma_core
        pairs.append(comp_core * width + soma_core)
    dest_pairs = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.int64)
    slot_of = np.where(compartment >= 0, comp_slot[np.maximum(compartment, 0)], -1).astype(np.int32) if comps \
        else compartment  # one lookup per synapse rather than two
    ctx = _Context(n=n, n_pre=n_pre, row_groups=R * P, core_of=core_of, local=local, block=block, slot_of=slot_of,
                   comp_core=comp_core, delay_max=max((int(np.iinfo(p.delays.dtype).max) for p in projections),
                                                      default=1))
    return _batches(projections, per_core, batch_synapses, ctx, comps, pop_starts), dest_pairs, comps


def _locate(q, offsets, pop_starts, P: int, n: int, K: int, core_of, compartment, block: int, comp_core, pair_bits,
            width: int | None) -> tuple[_Projection, np.ndarray | None]:
    """Projection ``q`` with the core (of ``K``) of each of its synapses, and (``width``: without a
    bitmap) its distinct ``sending core * width + receiving core`` pairs; else marked in ``pair_bits``."""
    indptr = np.asarray(q.indptr, dtype=np.int64)
    indices = np.asarray(q.indices)  # int32 stays int32: no 8-byte copy per synapse
    pre_base, post_base = offsets[q.pre], offsets[q.post]
    core = np.empty(indices.size, dtype=np.int32)
    core_start = np.zeros(K + 1, dtype=np.int64)
    _cores(indptr, indices, pre_base, post_base, int(q.channel), n, core_of, compartment, block, comp_core, core,
           pair_bits, K, core_start[1:])
    np.cumsum(core_start, out=core_start)
    pairs = None
    if width is not None:
        pre = pre_base + np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
        spikes = pre < n
        pairs = distinct(core_of[pre[spikes]] * width + core[spikes])
    pop = int(np.searchsorted(pop_starts, post_base, side="right")) - 1
    return _Projection(pre_base=pre_base, post_base=post_base, channel=int(q.channel), group=int(q.channel) * P + pop,
                       indptr=indptr, indices=indices, mantissa=values(q.mantissa), exponent=int(q.exponent),
                       delays=np.ascontiguousarray(q.delays).reshape(-1), core=core, core_start=core_start), pairs


def _batches(projections, per_core, batch_synapses, ctx: _Context, comps: dict, pop_starts):
    """The batches one after another, each filled on the pool's threads while the caller works on
    the one before (the image's rows and entries are made core by core on one thread, the fill
    scatters on the others). Two buffers take turns, so pages are touched once rather than once per
    batch; a batch's arrays hold until the next batch is drawn."""
    K = per_core.size
    ranges, c0 = [], 0
    while c0 < K:
        c1, total = c0 + 1, int(per_core[c0])
        while c1 < K and total + per_core[c1] <= batch_synapses:
            total += int(per_core[c1])
            c1 += 1
        ranges.append((c0, c1, total))
        c0 = c1
    size = max((t for _, _, t in ranges), default=0)
    types = _field_types(ctx, comps)
    buffers = [{key: np.empty(size, dtype=types[key]) for key in FIELDS} for _ in range(min(2, len(ranges)))]
    threads = max(1, min(numba.get_num_threads(), len(projections)))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nmc-image") as pool:

        def start(b: int):
            c0, c1, total = ranges[b]
            out = {key: a[:total] for key, a in buffers[b % 2].items()}
            fill = _Fill(projections, c0, c1, per_core, ctx, out, pool, threads)
            return SynapseBatch(cores=range(c0, c1), arrays=out, bounds=fill.start), fill

        pending = start(0) if ranges else None
        for b in range(len(ranges)):
            batch, fill = pending
            fill.finish(comps, pop_starts)
            pending = start(b + 1) if b + 1 < len(ranges) else None  # into the buffer the caller is done with
            yield batch


def _field_types(ctx: _Context, comps: dict) -> dict[str, type]:
    """Each field's integer type: ``int32`` when its largest value fits (every one of them on the
    microcircuit), else ``int64``."""
    def fitting(largest: int) -> type:
        return np.int32 if largest < 2**31 else np.int64

    pre = ctx.n_pre + comps["slot"].size if comps else ctx.n_pre  # message rows follow the sources
    slots = max(int(ctx.local.max(initial=0)), int(comps["slot"].max(initial=0)) if comps else 0)
    return {"pre": fitting(pre), "key": fitting((pre + 1) * ctx.row_groups), "slot": fitting(slots),
            "field": fitting(ctx.row_groups), "delay": fitting(ctx.delay_max), "weight": np.int64}


class _Fill:
    """The batch of cores ``c0..c1 - 1`` being written into ``out``, core by core; within a core
    projection by projection in CSR order, then its compartments' message rows. Each projection
    starts at its own offset in each core, so projections are filled by ``threads`` threads at once."""

    def __init__(self, projections, c0: int, c1: int, per_core, ctx: _Context, out, pool, threads: int):
        self.c0, self.c1, self.ctx, self.out = c0, c1, ctx, out
        counts = np.array([np.diff(p.core_start[c0:c1 + 1]) for p in projections]).reshape(len(projections), c1 - c0)
        self.start = np.zeros(c1 - c0 + 1, dtype=np.int64)
        np.cumsum(per_core[c0:c1], out=self.start[1:])
        first = self.start[:-1] + np.cumsum(counts, axis=0) - counts  # (projection, core): its first position
        self.cursors, self.end = first.copy(), first + counts
        self.any = bool(projections)
        work = counts.sum(axis=1)
        busy = [int(k) for k in np.argsort(-work, kind="stable") if work[k]]  # dealt round robin, largest first
        cursors = self.cursors

        def fill(share):
            for k in share:
                p = projections[k]
                _fill(p.indptr, p.indices, p.pre_base, p.post_base, p.channel, p.group, ctx.row_groups, p.mantissa,
                      p.exponent, p.delays, p.core, c0, c1, ctx.n, ctx.local, ctx.slot_of, ctx.block,
                      *(out[key] for key in FIELDS), cursors[k])

        self.futures = [pool.submit(fill, busy[j::threads]) for j in range(threads)]

    def finish(self, comps: dict, pop_starts) -> None:
        """Wait for the threads, then place the message rows and check every count."""
        c0, c1, ctx, out = self.c0, self.c1, self.ctx, self.out
        for f in self.futures:
            f.result()
        if not np.array_equal(self.cursors, self.end):
            raise AssertionError(f"synapse batch of cores {c0}..{c1 - 1}: a projection placed other synapses "
                                 "than counted")
        placed = self.cursors[-1] if self.any else self.start[:-1].copy()
        if comps:  # message rows of the compartments whose neuron lives in the batch
            soma, channel, soma_core = comps["soma"], comps["channel"], comps["soma_core"]
            k = np.flatnonzero((soma_core >= c0) & (soma_core < c1))
            at = np.empty(k.size, dtype=np.int64)
            _place_messages(k, soma_core, c0, placed, at)
            pre = ctx.n_pre + k
            pop = np.searchsorted(pop_starts, soma[k], side="right") - 1
            rows = {"pre": pre, "key": pre * ctx.row_groups + channel[k] * max(1, pop_starts.size) + pop,
                    "slot": ctx.local[soma[k]], "field": channel[k], "delay": 1, "weight": 1}
            for key in FIELDS:
                out[key][at] = rows[key]
        if not np.array_equal(placed, self.start[1:]):
            raise AssertionError(f"synapse batch of cores {c0}..{c1 - 1}: placed synapses differ from the counted ones")
