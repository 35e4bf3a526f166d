"""Partial-sum compartments: fan-in beyond a core's input axons, on targets with graded messages.

Presynaptic indices (neurons, then host sources, in the simulators' order) are cut into blocks of
``block_size <= input_axons`` consecutive indices. Compartment ``(b, k, i)`` holds every synapse
from block ``b`` onto channel ``k`` of neuron ``i``; it lives on a *dendrite core* that receives
block ``b`` only, so no dendrite core can exceed its input axons. Each tick a compartment adds the
weights that arrive (exactly) and, if any arrived, sends the sum as one graded message of
``partial_sum_bits`` to the core of neuron ``i`` (its *soma core*), where it is one input axon and
one synapse of weight 1 and delay 1. The soma adds its messages exactly and saturates once, as the
unmapped neuron adds its synapses.

* **Timing**: a synapse of delay ``d >= 2`` is stored with delay ``d - 1``, so its spike reaches
  the soma in the same tick as without compartments; a synapse of delay 1 arrives one tick late
  (counted in ``late_synapses`` and reported).
* **Exactness**: spikes are identical to the unmapped network's as long as no partial sum exceeds
  the payload; ``payload_overflow`` counts compartments whose positive or negative weights alone
  could exceed it (0 whenever the quantizer sized the accumulator for the worst case).
* **Packing**: blocks are balanced (``ceil(n_pre / ceil(n_pre / input_axons))`` indices), so a
  dendrite core keeps the axons its block does not need. Block by block, compartments in the
  order of their somas fill dendrite cores (compartments as neurons, synapse memory less a
  reserve for somas, destination cores as output axons); then each soma, in index order, goes to
  the first core holding one of its own compartments with a free neuron slot, one free axon and
  one synapse per compartment of its own, and the rest fill soma cores of their own. Populations stay contiguous, so a dendrite
  core feeds few soma cores.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit
from scipy import sparse

from ..arrays import distinct, values
from ..errors import UserError
from ..ir.fixed_point import FixedPointNetwork
from ..targets import Target
from .mapping import CoreUsage

__all__ = ["PartialSums", "PlanPartialSums", "projection_tables", "usage_and_traffic"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, eq=False)
class PartialSums:
    """The compartments of a partial-sum mapping. Cores ``first_core .. first_core + soma_cores - 1``
    hold neurons with compartments only, the next ones up to ``cores - 1`` compartments (and the
    neurons that found room there); cores below ``first_core`` hold the neurons without
    compartments (partitioned as usual)."""

    block_size: int  # presynaptic indices per block
    n: int  # neurons
    channels: int
    compartment: np.ndarray  # (blocks, channels * n) int32: compartment of (block, channel * n + neuron), -1: none
    target: np.ndarray  # (m,) int64: channel * n + neuron each compartment feeds
    core: np.ndarray  # (m,) int64: dendrite core of each compartment
    synapses: np.ndarray  # (m,) int64: synapses stored in each compartment
    soma_core: np.ndarray  # (n,) int64: core of each neuron with compartments, -1 for the others
    first_core: int
    soma_cores: int
    cores: int
    late_synapses: int  # delay-1 synapses, which reach the soma one tick late
    payload_overflow: int  # compartments whose one-signed weight sum exceeds the payload

    @property
    def compartments(self) -> int:
        return int(self.target.size)


@dataclass(frozen=True)
class _Table:
    """One projection's synapses as CSR with global numbering."""

    indptr: np.ndarray
    indices: np.ndarray  # int32, local post index
    pre_base: int  # global presynaptic index of row 0
    post_base: int  # channel * n + first neuron of the post population
    weights: np.ndarray  # mantissas (their own int dtype), (nnz,) or (1,)
    exponent: int
    delays: np.ndarray  # (nnz,) or ()


def projection_tables(fx: FixedPointNetwork, offsets: dict[str, int], n: int) -> list[_Table]:
    out = []
    for q in fx.projections.values():
        w = values(q.mantissa)  # its own dtype: no int64 copy per synapse, one value kept once
        out.append(_Table(indptr=np.asarray(q.indptr, dtype=np.int64), indices=np.asarray(q.indices, dtype=np.int32),
                          pre_base=offsets[q.pre], post_base=q.channel * n + offsets[q.post], weights=w,
                          exponent=int(q.exponent), delays=np.asarray(q.delays)))
    return out


@njit(cache=True)
def _count(indptr, indices, pre_base, post_base, neuron_base, mask, block, width, weights, exponent, delays,
           counts, pos, neg):
    """Synapses, positive and negative weight per (block, target); returns the delay-1 synapses."""
    shared = weights.size == 1
    one_delay = delays.size == 1
    late = 0
    for r in range(indptr.size - 1):
        row = ((pre_base + r) // block) * width + post_base
        for s in range(indptr[r], indptr[r + 1]):
            if not mask[neuron_base + indices[s]]:
                continue
            key = row + indices[s]
            counts[key] += 1
            if (delays[0] if one_delay else delays[s]) == 1:
                late += 1
            x = np.int64(weights[0] if shared else weights[s]) << exponent
            if x > 0:
                pos[key] += x
            else:
                neg[key] -= x
    return late


@njit(cache=True)
def _pack_somas(comps, cap_n, cap_axons, cap_bits, bits):
    core_of = np.empty(comps.size, dtype=np.int64)
    core, used_n, used_a = 0, 0, 0
    for i in range(comps.size):
        if used_n + 1 > cap_n or used_a + comps[i] > cap_axons or (used_a + comps[i]) * bits > cap_bits:
            if used_n == 0:
                return core_of, i  # one neuron alone does not fit
            core, used_n, used_a = core + 1, 0, 0
        core_of[i] = core
        used_n += 1
        used_a += comps[i]
    return core_of, -1


@njit(cache=True)
def _pack_compartments(block_of, soma_core, synapses, first_core, cap_n, block_bits, cap_out, bits):
    """``block_bits[b]``: synapse memory a dendrite core of block ``b`` may fill with compartments."""
    core = np.empty(block_of.size, dtype=np.int64)
    c, used_n, used_b, used_out, last_block, last_soma = first_core, 0, 0, 0, -1, -1
    for j in range(block_of.size):
        cap_bits = block_bits[block_of[j]]
        new_out = 1 if soma_core[j] != last_soma else 0
        if used_n and (block_of[j] != last_block or used_n + 1 > cap_n or (used_b + synapses[j]) * bits > cap_bits
                       or used_out + new_out > cap_out):
            c, used_n, used_b, used_out, new_out = c + 1, 0, 0, 0, 1
        if synapses[j] * bits > cap_bits:
            return core, j
        core[j] = c
        used_n += 1
        used_b += synapses[j]
        used_out += new_out
        last_block, last_soma = block_of[j], soma_core[j]
    return core, -1


@njit(cache=True)
def _host_somas(comps, ptr, candidates, free_n, free_axons, free_bits, bits):
    """Each soma (``comps``: its compartments) goes to the first of its own compartments' dendrite
    cores (``candidates[ptr[i]:ptr[i + 1]]``) with a free neuron slot, an axon and a synapse per
    compartment left (updated in place); -1 where none has room. Messages of that compartment then
    stay on the core, and the neighbours' somas land on the same few cores."""
    host = np.full(comps.size, -1, dtype=np.int64)
    for i in range(comps.size):
        for k in range(ptr[i], ptr[i + 1]):
            d = candidates[k]
            if free_n[d] >= 1 and free_axons[d] >= comps[i] and free_bits[d] >= comps[i] * bits:
                host[i] = d
                free_n[d] -= 1
                free_axons[d] -= comps[i]
                free_bits[d] -= comps[i] * bits
                break
    return host


@njit(cache=True)
def _mark(indptr, indices, pre_base, post_base, block, width, compartment, comp_core, first_dendrite, seen,
          rates, comp_rate):
    for r in range(indptr.size - 1):
        g = pre_base + r
        b = g // block
        for s in range(indptr[r], indptr[r + 1]):
            comp = compartment[b, post_base + indices[s]]
            if comp < 0:  # a neuron without compartments
                continue
            seen[comp_core[comp] - first_dendrite, g - b * block] = True
            comp_rate[comp] += rates[g]


@njit(cache=True)
def _spike_pairs(seen, block_of, block, n, core_of, rates, K):
    """(sending core, dendrite core, spikes per second) of the neurons' spikes into each dendrite
    core (``seen[d, j]``: input ``j`` of its block arrives), one per pair of cores, each sum
    taken in ascending input order."""
    first = np.full(K, -1, dtype=np.int64)  # the dendrite core that last touched a sending core
    pairs = 0
    for d in range(seen.shape[0]):
        for j in range(block):
            g = block_of[d] * block + j
            if seen[d, j] and g < n and first[core_of[g]] != d:
                first[core_of[g]] = d
                pairs += 1
    src = np.empty(pairs, dtype=np.int64)
    dst = np.empty(pairs, dtype=np.int64)
    w = np.empty(pairs)
    first[:] = -1
    at = np.zeros(K, dtype=np.int64)  # where a sending core's pair of the current dendrite core is
    k = 0
    for d in range(seen.shape[0]):
        for j in range(block):
            g = block_of[d] * block + j
            if not seen[d, j] or g >= n:
                continue
            c = core_of[g]
            if first[c] != d:
                first[c], at[c] = d, k
                src[k], dst[k], w[k] = c, d, 0.0
                k += 1
            w[at[c]] += rates[g]
    return src, dst, w


@dataclass(frozen=True, kw_only=True)
class PlanPartialSums:
    """Compartments for the neurons in ``neurons`` (all without it) and their packing onto cores
    numbered from ``first_core`` (see the module docstring). ``block_size`` defaults to the
    target's input axons."""

    name: ClassVar[str] = "partial-sums"
    block_size: int | None = None

    def run(self, fx: FixedPointNetwork, offsets: dict[str, int], n: int, n_pre: int, target: Target,
            neurons: np.ndarray | None = None, first_core: int = 0) -> PartialSums:
        """``offsets``: first global index of every population and spike source (sources after the
        ``n`` neurons); ``n_pre``: neurons plus source channels."""
        c = target.core
        if not c.partial_sum_bits:
            raise UserError(f"{target.name} has no graded messages (core.partial_sum_bits): partial sums need them")
        block = min(self.block_size or c.input_axons, c.input_axons)
        blocks = max(1, math.ceil(n_pre / block))
        block = max(1, math.ceil(n_pre / blocks))  # balanced: every dendrite core keeps some axons
        R = max(1, fx.format.receptors)
        width = R * n
        mask = np.ones(n, dtype=np.bool_) if neurons is None else np.asarray(neurons, dtype=np.bool_)
        tables = projection_tables(fx, offsets, n)
        counts = np.zeros(blocks * width, dtype=np.int64)
        pos, neg = np.zeros(blocks * width, dtype=np.int64), np.zeros(blocks * width, dtype=np.int64)
        late = 0
        for t in tables:
            base = t.post_base % n
            if not mask[base:base + int(t.indices.max(initial=-1)) + 1].any():
                continue
            late += _count(t.indptr, t.indices, t.pre_base, t.post_base, base, mask, block, width, t.weights,
                           t.exponent, np.ascontiguousarray(t.delays).reshape(-1), counts, pos, neg)
        keys = np.flatnonzero(counts)
        limit = (1 << (c.partial_sum_bits - 1)) - 1
        overflow = int(np.count_nonzero((pos[keys] > limit) | (neg[keys] > limit + 1)))
        del pos, neg
        m = keys.size
        compartment = np.full(blocks * width, -1, dtype=np.int32)
        compartment[keys] = np.arange(m, dtype=np.int32)
        block_of, tgt = np.divmod(keys, width)
        syn = counts[keys]
        bits = target.synapse_bits()
        comps_per_neuron = np.bincount(tgt % n, minlength=n) if n else np.zeros(0, np.int64)
        members = np.flatnonzero(mask)
        comps = comps_per_neuron[members]
        packed_somas, bad = _pack_somas(comps, c.neurons, c.input_axons, c.synapse_memory_bits, bits)
        if bad >= 0:
            raise UserError(f"neuron {members[bad]} needs {comps[bad]} partial sums, a {target.name} core has "
                            f"{c.input_axons} input axons: choose a target with more axons per core")
        soma_core = np.full(n, -1, dtype=np.int64)
        soma_core[members] = packed_somas
        # dendrite cores leave synapse memory for the somas their spare axons could take
        block_len = np.minimum(block, n_pre - np.arange(blocks) * block)
        dendrites_estimate = max(1, math.ceil(int(syn.sum()) * bits / c.synapse_memory_bits))
        per_core = math.ceil(int(comps.sum()) / dendrites_estimate)
        reserve = np.minimum(c.input_axons - block_len, per_core) * bits
        block_bits = c.synapse_memory_bits - reserve
        # within a block, compartments ordered by soma (then channel): consecutive ones share soma cores
        order = np.lexsort((tgt // n, tgt % n, block_of)) if R > 1 else np.arange(m)
        packed, bad = _pack_compartments(block_of[order], soma_core[tgt[order] % n], syn[order], 0, c.neurons,
                                         block_bits, c.output_axons, bits)
        if bad >= 0:
            j = order[bad]
            raise UserError(f"neuron {tgt[j] % n} receives {syn[j]} synapses from presynaptic indices "
                            f"{block_of[j] * block}..{(block_of[j] + 1) * block - 1}, more than a {target.name} "
                            f"core's synapse memory holds ({c.synapse_memory_bits} bits at {bits} bits per synapse)")
        comp_core = np.empty(m, dtype=np.int64)
        comp_core[order] = packed  # dendrite cores 0 .. D-1 for now
        dendrites = int(packed.max()) + 1 if m else 0
        d_block = np.zeros(dendrites, dtype=np.int64)
        d_block[comp_core] = block_of
        free_n = c.neurons - np.bincount(comp_core, minlength=dendrites)
        free_axons = c.input_axons - block_len[d_block]
        free_bits = c.synapse_memory_bits - np.bincount(comp_core, weights=syn, minlength=dendrites).astype(np.int64) * bits
        by_soma = np.argsort(tgt % n, kind="stable")  # compartments neuron by neuron, block order within
        ptr = np.searchsorted((tgt % n)[by_soma], np.concatenate([members, [n]]))
        host = _host_somas(comps, ptr, comp_core[by_soma], free_n, free_axons, free_bits, bits)
        rest = host < 0
        packed_somas, _ = _pack_somas(comps[rest], c.neurons, c.input_axons, c.synapse_memory_bits, bits)
        soma_cores = int(packed_somas.max()) + 1 if packed_somas.size else 0
        soma_core[members[rest]] = first_core + packed_somas
        soma_core[members[~rest]] = first_core + soma_cores + host[~rest]
        comp_core += first_core + soma_cores
        cores = first_core + soma_cores + dendrites
        log.info("partial sums: %d compartments in %d blocks, %d soma + %d dendrite cores", m, blocks, soma_cores,
                 cores - first_core - soma_cores)
        return PartialSums(block_size=block, n=n, channels=R, compartment=compartment.reshape(blocks, width),
                           target=tgt, core=comp_core, synapses=syn, soma_core=soma_core, first_core=first_core,
                           soma_cores=soma_cores, cores=cores, late_synapses=late, payload_overflow=overflow)


def usage_and_traffic(ps: PartialSums, fx: FixedPointNetwork, offsets: dict[str, int], n_pre: int, target: Target,
                      dt: float, core_of: np.ndarray, rates: np.ndarray | None = None,
                      direct: tuple[np.ndarray, np.ndarray] | None = None):
    """Exact per-core usage, and the directed core-to-core traffic per second: spikes (one per
    (neuron, destination core) pair) plus partial-sum messages (a compartment sends when at least
    one spike arrived in a tick: ``(1 - exp(-dt * sum of its input rates)) / dt``, inputs Poisson).
    ``core_of``: the core of every neuron; ``direct``: global (pre, post) of the synapses onto
    neurons without compartments. Without ``rates`` every neuron and source fires at 1 Hz.
    Returns (usage, traffic csr, spikes per second, messages per second between cores; the csr
    also holds, on its diagonal, the messages of compartments to a neuron on their own core)."""
    n, m, K = ps.n, ps.compartments, ps.cores
    first_dendrite = ps.first_core + ps.soma_cores
    dendrites = K - first_dendrite
    B = ps.block_size
    pre_rates = np.ones(n_pre) if rates is None else np.concatenate([rates, np.ones(n_pre - n)])
    seen = np.zeros((dendrites, B), dtype=np.bool_)
    comp_rate = np.zeros(m)
    for t in projection_tables(fx, offsets, n):
        _mark(t.indptr, t.indices, t.pre_base, t.post_base, B, ps.channels * n, ps.compartment, ps.core,
              first_dendrite, seen, pre_rates, comp_rate)
    block_of_dendrite = np.zeros(dendrites, dtype=np.int64)  # cores never mix blocks
    block_of_comp = np.repeat(np.arange(ps.compartment.shape[0]), np.count_nonzero(ps.compartment >= 0, axis=1))
    block_of_dendrite[ps.core - first_dendrite] = block_of_comp  # compartments are numbered block-major
    src, dst, w = _spike_pairs(seen, block_of_dendrite, B, n, core_of, pre_rates, K)
    dst += first_dendrite
    soma_of_comp = core_of[ps.target % n]
    messages = (1.0 - np.exp(-dt * comp_rate)) / dt
    bits = target.synapse_bits()
    neurons = np.bincount(core_of, minlength=K) + np.bincount(ps.core, minlength=K)
    comps_at_soma = np.bincount(soma_of_comp, minlength=K)
    synapse_bits = (comps_at_soma + np.bincount(ps.core, weights=ps.synapses, minlength=K).astype(np.int64)) * bits
    inputs = comps_at_soma.copy()
    inputs[first_dendrite:] += seen.sum(axis=1)
    senders, receivers, weights = [src], [dst], [w]
    if direct is not None and direct[0].size:
        pre, post = direct
        post_core = core_of[post]
        synapse_bits += np.bincount(post_core, minlength=K) * bits
        inputs += np.bincount(distinct(post_core * n_pre + pre) // n_pre, minlength=K)
        neuron = pre < n
        pairs = distinct(pre[neuron].astype(np.int64) * K + post_core[neuron])
        a, b = core_of[pairs // K], pairs % K
        crossing = a != b
        senders.append(a[crossing])
        receivers.append(b[crossing])
        weights.append(pre_rates[pairs[crossing] // K])
    src, dst, w = np.concatenate(senders), np.concatenate(receivers), np.concatenate(weights)
    spikes = float(w.sum())
    traffic = sparse.csr_matrix((np.concatenate([w, messages]), (np.concatenate([src, ps.core]),
                                                                 np.concatenate([dst, soma_of_comp]))), shape=(K, K))
    out_pairs = distinct(np.concatenate([src * K + dst, ps.core * K + soma_of_comp]))
    outputs = np.bincount(out_pairs // K, minlength=K)
    usage = CoreUsage(neurons=neurons, synapse_bits=synapse_bits, input_axons=inputs, output_axons=outputs)
    return usage, traffic, spikes, float(messages[ps.core != soma_of_comp].sum())  # messages between cores
