"""Every synapse of a mapped network in its core's terms, a batch of cores at a time.

:func:`synapse_batches` reads the fixed-point projections directly (no global synapse table),
finds each synapse's core once (one ``int32`` per synapse) and then yields the synapses of
consecutive cores in batches of about ``batch_synapses``, so building the image of 0.3 billion
synapses never holds more than one batch in ``int64`` arrays. Per synapse a batch holds:

* ``pre``: presynaptic index (neurons, then source channels; ``presynaptic + k`` for the
  message row of partial-sum compartment ``k``);
* ``key``: its row group, ``pre * channels * populations + channel * populations + population``
  of the neuron it finally feeds (a row then comes from one projection and shares its exponent);
* ``core``, ``slot``: the core and local slot that stores it (a neuron, or for a synapse through
  a compartment the compartment's slot after the core's neurons);
* ``field``: the channel written into the entry (0 onto a compartment);
* ``delay``: stored delay (``max(d - 1, 1)`` into a compartment, 1 for a message row);
* ``weight``: integer weight (1 for a message row).

Within a batch, synapses come projection by projection in CSR order, then the message rows,
which is the order of the simulators' synapse table restricted to the batch, so a stable sort of
a batch gives the same bytes as sorting everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..arrays import BITMAP_LIMIT, distinct
from ..ir.fixed_point import FixedPointNetwork

__all__ = ["SynapseBatch", "synapse_batches", "BATCH_SYNAPSES"]

BATCH_SYNAPSES = 1 << 24
FIELDS = ("pre", "key", "core", "slot", "field", "delay", "weight")


@dataclass(frozen=True, kw_only=True, eq=False)
class SynapseBatch:
    cores: range  # the cores whose synapses this batch holds (all of them)
    arrays: dict[str, np.ndarray]  # FIELDS, int64


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
    by_core: np.ndarray  # int32 (nnz,): synapse indices core by core, CSR order within a core
    core_start: np.ndarray  # (K + 1,): where each core's synapses start in by_core


@dataclass(frozen=True, kw_only=True, eq=False)
class _Context:
    n: int
    n_pre: int
    row_groups: int  # channels * populations
    core_of: np.ndarray
    local: np.ndarray
    compartment: np.ndarray  # (blocks, channels * n) int32, or (0, 0) without compartments
    block: int
    comp_slot: np.ndarray  # slot of each compartment
    comp_core: np.ndarray


@njit(cache=True, nogil=True)
def _cores(indptr, indices, pre_base, post_base, channel, n, core_of, compartment, block, comp_core, out, pairs, K):
    """The core of every synapse of one projection; marks (sending core, receiving core) of the
    neurons' spikes in the bitmap ``pairs`` (``K x K`` bits; empty: not marked)."""
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
            if mark and g < n:
                key = core_of[g] * K + c
                pairs[key >> 6] |= np.uint64(1) << np.uint64(key & 63)


@njit(cache=True, nogil=True)
def _counting_sort(core, start):
    """Synapse indices grouped by core (``start``: each core's first position), stable."""
    out = np.empty(core.size, dtype=np.int32)
    pos = start[:-1].copy()
    for s in range(core.size):
        out[pos[core[s]]] = s
        pos[core[s]] += 1
    return out


@njit(cache=True, nogil=True)
def _fill(indptr, indices, pre_base, post_base, channel, key_base, row_groups, mantissa, exponent, delays, core,
          which, n, local, compartment, block, comp_slot, o_pre, o_key, o_core, o_slot, o_field, o_delay, o_weight,
          pos):
    """Append the synapses ``which`` (indices, ascending within each core) of one projection at ``pos``."""
    use_comp = compartment.shape[0] > 0
    shared_w, shared_d = mantissa.size == 1, delays.size == 1
    r = 0  # row of the previous synapse: ``which`` ascends within a core, so rows mostly advance a little
    for i in range(which.size):
        s = which[i]
        if s < indptr[r] or s >= indptr[r + 1]:
            if s >= indptr[r + 1] and s < indptr[min(r + 2, indptr.size - 1)]:
                r += 1
            else:
                r = np.searchsorted(indptr, s, side="right") - 1
        g = pre_base + r
        c = core[s]
        post = post_base + indices[s]
        d = delays[0] if shared_d else delays[s]
        slot, field = local[post], channel
        if use_comp:
            k = compartment[g // block, channel * n + post]
            if k >= 0:
                slot, field, d = comp_slot[k], 0, max(d - 1, 1)
        o_pre[pos], o_key[pos], o_core[pos] = g, g * row_groups + key_base, c
        o_slot[pos], o_field[pos], o_delay[pos] = slot, field, d
        o_weight[pos] = np.int64(mantissa[0] if shared_w else mantissa[s]) << exponent
        pos += 1
    return pos


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
    pair_bits = np.zeros((K * K + 63) // 64 if bitmap else 0, dtype=np.uint64)
    projections, pairs = [], []
    for q in fx.projections.values():
        indptr = np.asarray(q.indptr, dtype=np.int64)
        indices = np.asarray(q.indices)  # int32 stays int32: no 8-byte copy per synapse
        pre_base, post_base = offsets[q.pre], offsets[q.post]
        core = np.empty(indices.size, dtype=np.int32)
        _cores(indptr, indices, pre_base, post_base, int(q.channel), n, core_of, compartment, block, comp_core, core,
               pair_bits, K)
        if not bitmap:
            pre = pre_base + np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
            spikes = pre < n
            pairs.append(distinct(core_of[pre[spikes]] * width + core[spikes]))
        pop = int(np.searchsorted(pop_starts, post_base, side="right")) - 1
        core_start = np.zeros(K + 1, dtype=np.int64)
        np.cumsum(np.bincount(core, minlength=K), out=core_start[1:])
        projections.append(_Projection(pre_base=pre_base, post_base=post_base, channel=int(q.channel),
                                       group=int(q.channel) * P + pop, indptr=indptr, indices=indices,
                                       mantissa=np.ascontiguousarray(q.mantissa).reshape(-1),
                                       exponent=int(q.exponent), delays=np.ascontiguousarray(q.delays).reshape(-1),
                                       core=core, by_core=_counting_sort(core, core_start), core_start=core_start))
    if bitmap:
        bits = np.unpackbits(pair_bits.view(np.uint8), bitorder="little")[:K * K]
        pairs.append(np.flatnonzero(bits).astype(np.int64))
        del bits
    per_core = sum((np.diff(p.core_start) for p in projections), np.zeros(K, dtype=np.int64))
    if comps:
        soma_core = core_of[comps["soma"]]
        per_core += np.bincount(soma_core, minlength=K)
        pairs.append(comp_core * width + soma_core)
    dest_pairs = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.int64)
    ctx = _Context(n=n, n_pre=n_pre, row_groups=R * P, core_of=core_of, local=local, compartment=compartment,
                   block=block, comp_slot=comp_slot, comp_core=comp_core)
    return _batches(projections, per_core, batch_synapses, ctx, comps, pop_starts), dest_pairs, comps


def _batches(projections, per_core, batch_synapses, ctx: _Context, comps: dict, pop_starts):
    K = per_core.size
    c0 = 0
    while c0 < K:
        c1, total = c0 + 1, int(per_core[c0])
        while c1 < K and total + per_core[c1] <= batch_synapses:
            total += int(per_core[c1])
            c1 += 1
        yield SynapseBatch(cores=range(c0, c1), arrays=_gather(projections, c0, c1, total, ctx, comps, pop_starts))
        c0 = c1


def _gather(projections, c0, c1, total, ctx: _Context, comps: dict, pop_starts) -> dict[str, np.ndarray]:
    out = {key: np.empty(total, dtype=np.int64) for key in FIELDS}
    pos = 0
    for p in projections:
        which = p.by_core[p.core_start[c0]:p.core_start[c1]]
        pos = _fill(p.indptr, p.indices, p.pre_base, p.post_base, p.channel, p.group, ctx.row_groups, p.mantissa,
                    p.exponent, p.delays, p.core, which, ctx.n, ctx.local, ctx.compartment, ctx.block, ctx.comp_slot,
                    *(out[key] for key in FIELDS), pos)
    if comps:  # message rows of the compartments whose neuron lives in the batch
        soma, channel = comps["soma"], comps["channel"]
        soma_core = ctx.core_of[soma]
        k = np.flatnonzero((soma_core >= c0) & (soma_core < c1))
        pre = ctx.n_pre + k
        pop = np.searchsorted(pop_starts, soma[k], side="right") - 1
        rows = {"pre": pre, "key": pre * ctx.row_groups + channel[k] * max(1, pop_starts.size) + pop,
                "core": soma_core[k], "slot": ctx.local[soma[k]], "field": channel[k], "delay": 1, "weight": 1}
        for key in FIELDS:
            out[key][pos:pos + k.size] = rows[key]
        pos += k.size
    if pos != total:
        raise AssertionError(f"synapse batch of cores {c0}..{c1 - 1}: {pos} synapses placed, {total} counted")
    return out
