"""Compact synapse rows for the compiled simulators: the table cut into blocks of target entries.

The ring buffer's entries (``channel * n + neuron``) are cut into blocks (windows) of at most
``BLOCK_ENTRIES``: the entries of each neuron chunk (the range a thread updates) are covered on
their own, so that a block belongs to one chunk. Each chunk has a row per (presynaptic index,
block of the chunk), in that order: row ``n_pre * b0 + pre * nb + (b - b0)`` (the chunk's blocks
are ``b0 .. b0 + nb``) holds the synapses of ``pre`` onto block ``b`` in their table order. A
chunk's table is one stretch that its thread reads alone, and a spike's rows in it lie side by
side. A synapse stores only its target's 16-bit offset in the block; a row's synapses that all
have one weight (one delay) keep it once, in ``row_weight`` (``row_delay``): when every row
shares its weight, no weight is stored per synapse at all. Where most rows hold one synapse or
none (Poisson drives: one channel, one target), each row also has a head word (``head``) that
says so and packs what the one synapse needs (offset, delay and, for integer weights, the
weight): such a row costs one random read instead of four (pointers, delay, weight, target).

Delivery (:func:`deliver`) goes spike by spike, each onto all the chunk's blocks, or, where a
chunk's entries far exceed the cache (``BY_BLOCK_ABOVE``), block by block, all spikes onto one
block (whose ring entries, 256 KiB at most, then stay in the core's cache). Either way a ring
entry receives its additions in the order of the plain table: the integer sums are the same and so
are the float ones (the same additions, in the same order).

A row lies at a random place in a table of up to gigabytes: while one spike's rows are added, the
rows of the spike ``META_AHEAD`` places later and the synapses of the one ``DATA_AHEAD`` places later
are prefetched (:mod:`.prefetch`), so that their cache misses overlap the additions (1M x 1000:
39 -> 34.7 s per biological second, with the ring of ``max_delay`` slots in ``bit_sim``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..lowered import SynapsePieces, SynapseTable, pieces_of
from .prefetch import prefetch

__all__ = ["Rows", "BLOCK_ENTRIES", "block_bases", "compact_rows", "deliver", "row_events", "block_entries",
           "HEAD_UNIT", "HEAD_EMPTY", "BY_BLOCK_ABOVE"]

BLOCK_ENTRIES = 1 << 16  # a 16-bit offset addresses a block
CACHE_BYTES = 1 << 18  # a block's entries of one ring slot fit in this much of the core's L2 cache
# Deliver block by block only when a chunk's entries of one slot exceed this many blocks (16 MiB of
# int32, half the L3 cache here): with the rows prefetched, 1M x 1000 (4 MiB a chunk) delivers row
# by row in 35.0 s per biological second against 38.0 s block by block (three runs each)
BY_BLOCK_ABOVE = 64
# A row's head word: bits 0-15 the offset of its one synapse, 16-29 the delay, bit 30 "no
# synapse", bit 31 "one synapse with its delay", 32-63 the weight (integer tables); 0: read the row
HEAD_UNIT, HEAD_EMPTY, HEAD_DELAY_MAX = 1 << 31, 1 << 30, (1 << 14) - 1


class Rows(NamedTuple):
    """The compact table. Compiled code reads it by position, so that a plain tuple of its fields
    works too (numba's parallel loops cannot take a NamedTuple made outside them)."""

    ptr: np.ndarray  # int64 (n_pre * blocks + 1): row q has synapses ptr[q]:ptr[q + 1]
    target: np.ndarray  # uint16: offset of each synapse's target in its block
    weight: np.ndarray  # per synapse; empty when every row shares one weight (row_weight)
    row_weight: np.ndarray  # per row: the weight its synapses share (read when ``weight`` is empty)
    delay: np.ndarray  # per synapse (int16, or int32 if a delay needs it), read for rows with mixed delays;
    # empty when there are none
    row_delay: np.ndarray  # int32 per row: the delay its synapses share, -1 if they differ
    base: np.ndarray  # int64 per block: ring index (within a slot) of its offset 0
    chunk_blocks: np.ndarray  # int64: chunk c's blocks are chunk_blocks[c]:chunk_blocks[c + 1]
    by_block: bool  # deliver block by block (a chunk's ring entries exceed the cache), else row by row
    n_pre: int
    head: np.ndarray  # int64 per row (HEAD_UNIT, HEAD_EMPTY), or empty when few rows are that short

    @property
    def blocks(self) -> int:
        return self.base.size

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self if isinstance(a, np.ndarray))


def block_entries(itemsize: int) -> int:
    """Entries per block for a ring of ``itemsize``-byte entries (at most 2^16)."""
    return min(BLOCK_ENTRIES, CACHE_BYTES // itemsize)


def block_bases(bounds: np.ndarray, n: int, channels: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks (windows of ``size`` ring entries) covering each chunk's entries: chunk ``c`` owns the
    entries of neurons ``bounds[c]:bounds[c+1]`` in every channel; a window starts at the first of
    them not yet covered, so one window may take several channels' ranges (and span entries of
    other chunks, which none of its synapses address). Returns ``(base, chunk_blocks)``: each
    window's first ring index, ascending within a chunk, and chunk ``c``'s blocks
    ``chunk_blocks[c]:chunk_blocks[c + 1]``."""
    base, chunk_blocks = [], [0]
    for c in range(bounds.size - 1):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        end = None  # the current window's end
        for k in range(channels if hi > lo else 0):
            pos = k * n + lo
            while pos < k * n + hi:
                if end is None or pos >= end:
                    base.append(pos)
                    end = pos + size
                pos = min(k * n + hi, end)
        chunk_blocks.append(len(base))
    return np.array(base, dtype=np.int64), np.array(chunk_blocks, dtype=np.int64)


def compact_rows(table: SynapseTable | SynapsePieces, n: int, channels: int, bounds: np.ndarray, size: int,
                 comp_target: np.ndarray | None = None, weight_type=None) -> Rows:
    """The compact table of ``table`` (plain, or as the pieces it is made of: the same rows) for
    ring entries ``channels * n`` cut at chunk ``bounds``, blocks of at most ``size`` (<= 2^16)
    entries. With ``comp_target``, a target ``t >= channels * n`` is partial-sum compartment
    ``t - channels * n``: its synapse goes to ``comp_target[t - channels * n]``, one tick later
    (exact when :func:`nmcompiler.lowered.cannot_saturate`). Weights are stored as
    ``weight_type`` (it must hold them exactly; default: the plain table's weight type, which
    for pieces means building the plain table: give it, e.g. from :func:`~nmcompiler.lowered.weight_range`)."""
    if not 0 < size <= BLOCK_ENTRIES:
        raise ValueError(f"block size {size} outside 1..{BLOCK_ENTRIES}")
    base, chunk_blocks = block_bases(bounds, n, channels, size)
    first = np.repeat(chunk_blocks[:-1], np.diff(chunk_blocks))  # per block: its chunk's first block
    nb = np.repeat(np.diff(chunk_blocks), np.diff(chunk_blocks))  # per block: its chunk's block count
    n_pre = int(table.indptr.size - 1)
    # per block: row(pre, b) = row0[b] + pre * nb[b]; a target's block from a small table (_cells)
    where = _cells(_block_of(bounds, base, chunk_blocks, n, channels)) + (
        base, int(channels * n), n_pre * first + (np.arange(base.size) - first), nb)
    pieces = [p.first_values() + (p,) for p in pieces_of(table)]
    comp = np.zeros(0, np.int64) if comp_target is None else np.asarray(comp_target, dtype=np.int64)
    wt = np.dtype(weight_type or table.weight.dtype)
    rows = n_pre * base.size
    row_weight = np.zeros(rows, dtype=wt)
    ptr = np.zeros(rows + 1, dtype=np.int64)
    row_delay = np.full(rows, -1, dtype=np.int32)
    mixed_w = mixed_d = False
    for m, m_one, d, d_one, p in pieces:
        w, dd = _count(p.indptr, p.indices, p.offset, p.pre, m, m_one, p.exponent, d, d_one, comp, where, ptr,
                       row_weight, row_delay)
        mixed_w, mixed_d = mixed_w or w, mixed_d or dd
    np.cumsum(ptr, out=ptr)
    longest = max((int(d.max(initial=0)) for _, _, d, _, _ in pieces), default=0)
    out_t = np.empty(int(ptr[-1]), dtype=np.uint16)
    out_w = np.empty(out_t.size if mixed_w else 0, dtype=wt)
    out_d = np.empty(out_t.size if mixed_d else 0, dtype=np.int16 if longest < 2**15 - 1 else np.int32)
    fill = ptr[:-1].copy()
    for m, m_one, d, d_one, p in pieces:
        _fill(p.indptr, p.indices, p.offset, p.pre, m, m_one, p.exponent, d, d_one, comp, where, fill, out_t, out_w,
              out_d)
    del fill
    widest = channels * int(np.max(np.diff(bounds), initial=0))  # a chunk's entries in one ring slot
    return Rows(ptr, out_t, out_w, row_weight, out_d, row_delay, base, chunk_blocks, widest > BY_BLOCK_ABOVE * size,
                n_pre, _heads(ptr, out_t, row_weight, row_delay))


def _heads(ptr: np.ndarray, target: np.ndarray, row_weight: np.ndarray, row_delay: np.ndarray) -> np.ndarray:
    """The rows' head words when at least half the rows hold one synapse (with a delay that fits)
    or none; else an empty array (8 bytes a row buy nothing)."""
    length = np.diff(ptr)
    unit = (length == 1) & (row_delay >= 0) & (row_delay <= HEAD_DELAY_MAX)
    integer = row_weight.dtype.kind in "iu"
    if integer and row_weight.size:
        unit &= (row_weight >= -(1 << 31)) & (row_weight < (1 << 31))
    empty = length == 0
    if 2 * int(np.count_nonzero(unit | empty)) < length.size:
        return np.zeros(0, dtype=np.int64)
    head = np.where(empty, np.int64(HEAD_EMPTY), np.int64(0))
    at = np.flatnonzero(unit)
    word = target[ptr[at]].astype(np.int64) | (row_delay[at].astype(np.int64) << 16) | HEAD_UNIT
    if integer:
        word |= row_weight[at].astype(np.int64) << 32
    head[at] = word
    return head


def _block_of(bounds: np.ndarray, base: np.ndarray, chunk_blocks: np.ndarray, n: int, channels: int) -> np.ndarray:
    """For every ring entry (``channel * n + neuron``), the block that covers it: its chunk's
    last block starting at or before it."""
    out = np.zeros(channels * n, dtype=np.int32)
    for c in range(bounds.size - 1):
        lo, hi = int(bounds[c]), int(bounds[c + 1])
        starts = base[chunk_blocks[c]:chunk_blocks[c + 1]]
        for k in range(channels if hi > lo else 0):
            entries = np.arange(k * n + lo, k * n + hi)
            out[entries] = chunk_blocks[c] + np.searchsorted(starts, entries, side="right") - 1
    return out


def _cells(block_of: np.ndarray, widest: int = 12) -> tuple:
    """``block_of`` (a block per ring entry) as cells of ``2^shift`` entries, each with at most one
    change of block: ``(shift, first, change, after)``, entry ``t`` of cell ``c = t >> shift`` is
    in block ``after[c]`` from entry ``change[c]`` on, else in ``first[c]``. The cells are as wide
    as the closest changes allow (at most ``2^widest`` entries): 1M x 1000 looks up 24 KiB that
    stay in cache instead of 8 MiB at random (2.7 against 6.6 ns per synapse, the lookup alone)."""
    at = np.flatnonzero(np.diff(block_of)) + 1  # the entries where the block changes
    gap = int(np.diff(np.concatenate([[0], at])).min(initial=1 << widest))
    shift = min(widest, max(0, gap.bit_length() - 1))  # 2^shift <= gap: one change per cell at most
    cells = -(-block_of.size // (1 << shift))
    first = block_of[::1 << shift].astype(np.int32)
    change = np.full(cells, np.iinfo(np.int64).max, dtype=np.int64)
    change[at >> shift] = at
    after = first.copy()
    after[at >> shift] = block_of[at]
    return shift, first, change, after


def _scaled(m, exponent):
    """A synapse's weight ``m << exponent`` (integer weights; a float weight is itself)."""
    raise NotImplementedError


@overload(_scaled)
def _scaled_impl(m, exponent):
    if isinstance(m, types.Integer):
        return lambda m, exponent: np.int64(m) << exponent
    return lambda m, exponent: m


@njit(cache=True)
def _count(indptr, indices, offset, pre0, m, m_one, exponent, d, d_one, comp, where, ptr, row_weight, row_delay):
    """Pass 1, one piece: synapses per row (into ``ptr[q + 1]``), each row's first weight (into
    ``row_weight``) and its delay (-1 if mixed). Returns whether some row mixes weights, delays.
    A row's consecutive synapses onto one block (a run: sorted targets make long ones) touch the
    row's entries once, at the run's end."""
    # written out here and in _fill, not as a helper: an array passed to a compiled helper cost
    # ~22 ns per call in reference counting, inlined or not (26 against 3.6 ns per synapse)
    shift, first, change, after, base, entries, row0, nb = where
    mixed_w = mixed_d = False
    for r in range(indptr.size - 1):
        q0 = -1
        count = w0 = d0 = 0
        run_w = run_d = False
        for s in range(indptr[r], indptr[r + 1] + 1):  # one step past the row: its last run ends
            q = -1
            w = dd = 0
            if s < indptr[r + 1]:
                t, dd = np.int64(indices[s]) + offset, np.int64(d[0] if d_one else d[s])
                if comp.size > 0 and t >= entries:  # a compartment: its neuron, one tick later
                    t, dd = comp[t - entries], dd + 1
                c = t >> shift  # the target's block (_cells)
                b = after[c] if t >= change[c] else first[c]
                q = row0[b] + (pre0 + r) * nb[b]  # the row of (pre, b): its chunk's rows by pre, then block
                w = _scaled(m[0] if m_one else m[s], exponent)
            if q != q0:
                if q0 >= 0:  # a run of row q0 ends: its count, and the row's first weight and delay
                    if ptr[q0 + 1] == 0:
                        row_weight[q0] = w0
                        row_delay[q0] = -1 if run_d else d0
                    else:
                        run_w = run_w or w0 != row_weight[q0]
                        if row_delay[q0] >= 0 and (run_d or d0 != row_delay[q0]):
                            row_delay[q0] = -1
                            run_d = True
                    ptr[q0 + 1] += count
                    mixed_w, mixed_d = mixed_w or run_w, mixed_d or run_d
                q0, count, w0, d0, run_w, run_d = q, 0, w, dd, False, False
            else:
                run_w = run_w or w != w0
                run_d = run_d or dd != d0
            count += 1
    return mixed_w, mixed_d


@njit(cache=True)
def _fill(indptr, indices, offset, pre0, m, m_one, exponent, d, d_one, comp, where, fill, out_t, out_w, out_d):
    """Pass 2, one piece: a counting sort by (chunk, pre, block), stable within a row (pieces in
    order, as in the plain table); a run of synapses onto one block reads and writes its row's
    cursor once."""
    shift, first, change, after, base, entries, row0, nb = where
    for r in range(indptr.size - 1):
        q0 = -1
        at = 0
        for s in range(indptr[r], indptr[r + 1]):
            t, dd = np.int64(indices[s]) + offset, np.int64(d[0] if d_one else d[s])
            if comp.size > 0 and t >= entries:
                t, dd = comp[t - entries], dd + 1
            c = t >> shift
            b = after[c] if t >= change[c] else first[c]
            q = row0[b] + (pre0 + r) * nb[b]
            if q != q0:
                if q0 >= 0:
                    fill[q0] = at
                q0 = q
                at = fill[q]
            out_t[at] = t - base[b]
            if out_w.size:
                out_w[at] = _scaled(m[0] if m_one else m[s], exponent)
            if out_d.size:
                out_d[at] = dd
            at += 1
        if q0 >= 0:
            fill[q0] = at


def _head_weight(u, row_weight, q):
    """The weight of a head word's synapse (used inside compiled code only)."""
    raise NotImplementedError


@overload(_head_weight)
def _head_weight_impl(u, row_weight, q):
    if isinstance(row_weight.dtype, types.Integer):  # packed in the word's high half
        return lambda u, row_weight, q: u >> 32
    return lambda u, row_weight, q: row_weight[q]


# Prefetch distances in spikes: the rows' pointers, delays and weights of the spike this far ahead;
# the synapses of the spike this far ahead, whose pointers were prefetched before. Not in a table
# with head words: its rows are mostly so short that the pointers have not arrived two spikes later
# and reading them stalls, and even prefetching only the head words measured slower (Brunel float
# 2.7 -> 7.2 s per biological second, compiled afresh). Prefetching the ring entries the synapses
# add into as well (one prefetch per synapse) showed no clear gain on the delivery alone (row by
# row, ring slot in memory: 6.8-7.4 against 6.7-7.7 ns per synapse) and is not done.
META_AHEAD, DATA_AHEAD = 4, 2


@njit(cache=True, inline="always")
def _prefetch_span(a, lo, hi):
    """Prefetch the lines of ``a[lo:hi + 1]`` (its first and last element and every line between)."""
    step = max(1, 64 // a.itemsize)
    for x in range(lo, hi, step):
        prefetch(a, x)
    prefetch(a, hi)


@njit(cache=True, inline="always")
def _prefetch_rows(rows, qa, qb, per_synapse):
    """Prefetch what rows ``[qa, qb)`` hold in their per-row arrays (pointers, delay, weight)."""
    ptr, row_weight, row_delay = rows[0], rows[3], rows[5]
    _prefetch_span(ptr, qa, qb)
    _prefetch_span(row_delay, qa, qb - 1)
    if not per_synapse:
        _prefetch_span(row_weight, qa, qb - 1)


@njit(cache=True, inline="always")
def _prefetch_synapses(rows, qa, qb, per_synapse):
    """Prefetch the synapses of rows ``[qa, qb)`` (their pointers should be in cache by now)."""
    ptr, target, weight, delay = rows[0], rows[1], rows[2], rows[4]
    first, last = ptr[qa], ptr[qb]
    if last > first:
        _prefetch_span(target, first, last - 1)
        if per_synapse:
            _prefetch_span(weight, first, last - 1)
        if delay.size and rows[5][qa] < 0:  # mixed delays, read per synapse
            _prefetch_span(delay, first, last - 1)


@njit(cache=True, inline="always")
def _group(pres, p, r0, nb, o, by_block, one_block):
    """The rows ``[qa, qb)`` of spike ``pres[p]`` that the delivery loop reads in one go: its row onto
    block ``o`` (block by block), else all its rows in the chunk (side by side)."""
    if one_block:
        return pres[p], pres[p] + 1
    if by_block:
        q = r0 + pres[p] * nb + o
        return q, q + 1
    return r0 + pres[p] * nb, r0 + (pres[p] + 1) * nb


def _deliver_with(per_synapse: bool, one_block: bool):
    """:func:`deliver` for tables with (``per_synapse``) or without per-synapse weights, of one
    block or several: both are constants in the compiled loop (each, as a branch or a product per
    row, cost about 10 % on Brunel's one-synapse input rows)."""

    def body(ring, rows, pres, sent, n_slots, stride, chunk):
        ptr, target, weight, row_weight, delay, row_delay, base, chunk_blocks, by_block, n_pre, head = rows
        by_block = by_block and not one_block  # one block: row by row
        b0 = chunk_blocks[chunk]
        nb = chunk_blocks[chunk + 1] - b0
        r0 = n_pre * b0
        events = 0
        heads = head.size > 0
        n_outer = nb if by_block else pres.size
        n_inner = pres.size if by_block else nb
        for o in range(n_outer):
            for i in range(n_inner):
                g = i if by_block else o  # the spike whose rows come next
                if not heads and (by_block or i == 0):  # prefetch the rows, then the synapses, to come
                    if g + META_AHEAD < pres.size:
                        qa, qb = _group(pres, g + META_AHEAD, r0, nb, o, by_block, one_block)
                        _prefetch_rows(rows, qa, qb, per_synapse)
                    if g + DATA_AHEAD < pres.size:
                        qa, qb = _group(pres, g + DATA_AHEAD, r0, nb, o, by_block, one_block)
                        _prefetch_synapses(rows, qa, qb, per_synapse)
                if one_block:  # block 0 at ring index 0, row q = pre
                    b = 0
                    q = pres[o]
                elif by_block:
                    b = b0 + o
                    q = r0 + pres[i] * nb + o
                else:
                    b = b0 + i
                    q = r0 + pres[o] * nb + i
                if heads:  # a row of one synapse or none: its head word says all
                    u = head[q]
                    if u & HEAD_UNIT:
                        slot = sent + ((u >> 16) & HEAD_DELAY_MAX)
                        if slot >= n_slots:
                            slot -= n_slots
                        at = slot * stride + (0 if one_block else base[b]) + (u & 0xFFFF)
                        ring[at] += _head_weight(u, row_weight, q)
                        events += 1
                        continue
                    if u & HEAD_EMPTY:
                        continue
                first, last = ptr[q], ptr[q + 1]
                dq = row_delay[q]
                if dq >= 0:
                    slot = sent + dq
                    if slot >= n_slots:
                        slot -= n_slots
                    off = slot * stride + (0 if one_block else base[b])
                    if per_synapse:
                        for s in range(first, last):
                            ring[off + target[s]] += weight[s]
                    else:
                        w = row_weight[q]
                        for s in range(first, last):
                            ring[off + target[s]] += w
                else:  # mixed delays (an empty row too: nothing to add)
                    for s in range(first, last):
                        slot = sent + delay[s]
                        if slot >= n_slots:
                            slot -= n_slots
                        at = slot * stride + (0 if one_block else base[b])
                        ring[at + target[s]] += weight[s] if per_synapse else row_weight[q]
                events += last - first
        return events

    return njit(cache=True)(body)


def _deliver_heads_with(per_synapse: bool):
    """:func:`deliver` for a table of one block with head words (Brunel's drive: a spike's one
    synapse in one word): one flat loop over the spikes, no prefetching. The general body's loop
    nest cost 7.7 ns per head-word spike, this loop 3.9 (a bare loop of the same work 2.3-3.2;
    Brunel's drive: 2.5e8 spikes per biological second). Rows without a head word are added as there, in the same order."""

    def body(ring, rows, pres, sent, n_slots, stride, chunk):
        ptr, target, weight, row_weight, delay, row_delay, base, chunk_blocks, by_block, n_pre, head = rows
        events = 0
        for o in range(pres.size):
            q = pres[o]
            u = head[q]
            if u & HEAD_UNIT:
                slot = sent + ((u >> 16) & HEAD_DELAY_MAX)
                if slot >= n_slots:
                    slot -= n_slots
                ring[slot * stride + (u & 0xFFFF)] += _head_weight(u, row_weight, q)
                events += 1
            elif not u & HEAD_EMPTY:
                first, last = ptr[q], ptr[q + 1]
                dq = row_delay[q]
                if dq >= 0:
                    slot = sent + dq
                    if slot >= n_slots:
                        slot -= n_slots
                    off = slot * stride
                    if per_synapse:
                        for s in range(first, last):
                            ring[off + target[s]] += weight[s]
                    else:
                        w = row_weight[q]
                        for s in range(first, last):
                            ring[off + target[s]] += w
                else:
                    for s in range(first, last):
                        slot = sent + delay[s]
                        if slot >= n_slots:
                            slot -= n_slots
                        ring[slot * stride + target[s]] += weight[s] if per_synapse else row_weight[q]
                events += last - first
        return events

    return njit(cache=True)(body)


_DELIVER = {(each, one): _deliver_with(each, one) for each in (True, False) for one in (True, False)}
_each_one, _each_many = _DELIVER[True, True], _DELIVER[True, False]
_shared_one, _shared_many = _DELIVER[False, True], _DELIVER[False, False]
_each_heads, _shared_heads = _deliver_heads_with(True), _deliver_heads_with(False)


@njit(cache=True)
def deliver(ring, rows, pres, sent, n_slots, stride, chunk):
    """Add the synapses of presynaptic rows ``pres`` (in that order) onto the blocks of ``chunk``
    into the ring slots of their arrival steps, ``sent`` being the slot of the sending step
    (delays lie in ``[1, n_slots]``: a slot is read before the deliveries of its tick); returns the
    number of synapses. Block by block when ``rows.by_block`` (each block's entries stay in
    cache), else spike by spike, each onto all the chunk's blocks (its rows lie side by side);
    every ring entry gets its additions in the same order either way. The row body is written
    once (as a helper called per row, LLVM's code for it was 2-4x slower)."""
    one = rows[6].size == 1  # base: one block
    if one and rows[10].size > 0:  # head words
        if rows[2].size > 0:
            return _each_heads(ring, rows, pres, sent, n_slots, stride, chunk)
        return _shared_heads(ring, rows, pres, sent, n_slots, stride, chunk)
    if rows[2].size > 0:  # weights per synapse
        if one:
            return _each_one(ring, rows, pres, sent, n_slots, stride, chunk)
        return _each_many(ring, rows, pres, sent, n_slots, stride, chunk)
    if one:
        return _shared_one(ring, rows, pres, sent, n_slots, stride, chunk)
    return _shared_many(ring, rows, pres, sent, n_slots, stride, chunk)


@njit(cache=True)
def row_events(rows, pres):
    """Synapses of the rows ``pres`` over all blocks (what delivering them would count)."""
    ptr, cb, n_pre = rows[0], rows[7], rows[9]
    total = 0
    for c in range(cb.size - 1):
        r0, nb = n_pre * cb[c], cb[c + 1] - cb[c]
        for k in range(pres.size):
            total += ptr[r0 + (pres[k] + 1) * nb] - ptr[r0 + pres[k] * nb]
    return total
