"""Flatten a network into global arrays for the simulators.

All populations share one neuron index space (in graph order); spike sources follow the
neurons in the *presynaptic* index space. Synapses of all projections form one CSR table
keyed by presynaptic index; each synapse targets ``channel * N + post`` of the input buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..ir import CurrentSource, Network, Propagator
from ..ir.models import ResetMode

__all__ = ["Layout", "SynapseTable", "build_layout", "build_synapses", "incoming_weight", "synapse_table",
           "spikes_by_population"]


@dataclass(frozen=True, kw_only=True)
class SynapseTable:
    indptr: np.ndarray  # (n_pre_total + 1,) int64
    target: np.ndarray  # (nnz,) int (int64 here, int32 from fixed point and images): channel * N + post
    weight: np.ndarray  # (nnz,) float64 here, int from fixed point and images
    delay: np.ndarray  # (nnz,) int steps, or () when all delays are equal
    max_delay: int

    @property
    def nnz(self) -> int:
        return int(self.target.size)


@dataclass(frozen=True, kw_only=True)
class Layout:
    n: int  # neurons
    channels: int  # input channels per neuron (max over populations)
    offsets: dict[str, int]  # first global index of each population / source
    sizes: dict[str, int]
    prop: Propagator  # concatenated over populations, channel axis padded to ``channels``
    v_threshold: np.ndarray
    v_reset: np.ndarray
    subtract: np.ndarray  # bool: reset by subtraction
    refractory_steps: np.ndarray
    bias: np.ndarray
    spiking: np.ndarray  # bool: False for non-spiking integrators

    def slice(self, name: str) -> slice:
        return slice(self.offsets[name], self.offsets[name] + self.sizes[name])


def _pad(rows: np.ndarray, channels: int) -> np.ndarray:
    return np.vstack([rows, np.zeros((channels - rows.shape[0], rows.shape[1]))]) if rows.shape[0] < channels else rows


def build_layout(net: Network) -> Layout:
    pops = net.populations
    channels = max((p.model.n_channels() for p in pops), default=1)
    offsets, sizes, start = {}, {}, 0
    for node in pops + [s for s in net.sources if not isinstance(s, CurrentSource)]:
        offsets[node.name], sizes[node.name] = start, node.size
        start += node.size
    for node in net.sources:
        if isinstance(node, CurrentSource):
            offsets[node.name], sizes[node.name] = -1, node.size
    props = [p.model.propagator(net.dt, p.size) for p in pops]

    def cat(get, per_channel=False):
        parts = [get(p, q) for p, q in zip(pops, props)]
        if per_channel:
            return np.hstack([_pad(x, channels) for x in parts]) if parts else np.zeros((channels, 0))
        return np.concatenate([np.broadcast_to(x, (p.size,)) for x, p in zip(parts, pops)]) if parts else np.zeros(0)

    prop = Propagator(
        decay_v=cat(lambda p, q: q.decay_v), leak_v=cat(lambda p, q: q.leak_v),
        current_to_v=cat(lambda p, q: q.current_to_v),
        syn_to_v=cat(lambda p, q: q.syn_to_v, True), decay_syn=cat(lambda p, q: q.decay_syn, True),
        input_to_syn=cat(lambda p, q: q.input_to_syn, True), input_to_v=cat(lambda p, q: q.input_to_v, True),
    )
    return Layout(
        n=sum(p.size for p in pops), channels=channels, offsets=offsets, sizes=sizes, prop=prop,
        v_threshold=cat(lambda p, q: p.model.v_threshold), v_reset=cat(lambda p, q: p.model.v_reset),
        subtract=cat(lambda p, q: np.array(p.model.reset == ResetMode.SUBTRACT)),
        refractory_steps=cat(lambda p, q: p.model.refractory_steps(net.dt, p.size)),
        bias=cat(lambda p, q: p.model.bias),
        spiking=cat(lambda p, q: np.array(p.model.spiking)),
    )


def build_synapses(net: Network, layout: Layout) -> SynapseTable:
    """One CSR table over all spiking projections (current-source projections excluded)."""
    pres, targets, weights, delays = [], [], [], []
    for proj in net.spiking_projections():
        c = proj.connectivity
        post = net.node(proj.post)  # a Population: Network.validate() checked it
        channel = post.model.channel_of(proj.receptor)
        pres.append(c.pre_indices() + layout.offsets[proj.pre])
        targets.append(channel * layout.n + layout.offsets[proj.post] + c.indices.astype(np.int64))
        weights.append(c.synapse_weights().astype(np.float64))
        delays.append(c.synapse_delays().astype(np.int64))
    return synapse_table(presynaptic_count(net, layout), pres, targets, weights, delays)


def presynaptic_count(net: Network, layout: Layout) -> int:
    """Size of the presynaptic index space: neurons, then spike-source channels."""
    return layout.n + sum(s.size for s in net.sources if not isinstance(s, CurrentSource))


@njit(cache=True, nogil=True)
def _place(pre, cursor, target, weight, delay, out_target, out_weight, out_delay, with_delay):
    """Counting sort's second pass for one piece: synapse ``s`` goes to ``cursor[pre[s]]``."""
    for s in range(pre.size):
        r = pre[s]
        at = cursor[r]
        cursor[r] = at + 1
        out_target[at] = target[s]
        out_weight[at] = weight[s]
        if with_delay:
            out_delay[at] = delay[s]


@njit(cache=True, nogil=True)
def incoming_weight(target, weight, lo, hi):
    """Total absolute (integer) weight of the synapses onto each target in ``[lo, hi)``, exactly
    in int64: it bounds every sum those targets can receive in a tick from single spikes."""
    total = np.zeros(hi - lo, dtype=np.int64)
    for s in range(target.size):
        k = target[s] - lo
        if 0 <= k < hi - lo:
            total[k] += abs(np.int64(weight[s]))
    return total


def synapse_table(n_pre_total: int, pres, targets, weights, delays) -> SynapseTable:
    """CSR by presynaptic index from per-piece lists of synapse arrays, in the order of a stable
    sort (within a presynaptic index, pieces in order, synapses in order). A counting sort: no
    order array. The lists are emptied as their pieces are placed, so a piece's memory can go
    back as soon as it is in the table. Targets, weights and delays keep their pieces' common
    dtype; delays become one number when all are equal."""
    if not pres:
        empty = np.zeros(0, dtype=np.int64)
        return SynapseTable(indptr=np.zeros(n_pre_total + 1, dtype=np.int64), target=empty,
                            weight=np.zeros(0), delay=np.array(1), max_delay=1)
    counts = np.zeros(n_pre_total, dtype=np.int64)
    lo, hi = None, None
    for pre, d in zip(pres, delays):
        counts += np.bincount(pre, minlength=n_pre_total)
        if np.size(pre):
            d = np.asarray(d)
            lo = int(d.min()) if lo is None else min(lo, int(d.min()))
            hi = int(d.max()) if hi is None else max(hi, int(d.max()))
    indptr = np.zeros(n_pre_total + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    uniform = lo is None or lo == hi
    d_type = np.result_type(*delays)
    out_target = np.empty(nnz, dtype=np.result_type(*targets))
    out_weight = np.empty(nnz, dtype=np.result_type(*weights))
    out_delay = np.empty(0 if uniform else nnz, dtype=d_type)
    cursor = indptr[:-1].copy()
    for k in range(len(pres)):
        pre, t, w, d = pres[k], targets[k], weights[k], delays[k]
        pres[k] = targets[k] = weights[k] = delays[k] = None  # each piece's memory goes as the table fills
        if not np.size(pre):
            continue
        d = np.zeros(1, dtype=d_type) if uniform else np.ascontiguousarray(np.broadcast_to(d, np.shape(pre)), d_type)
        _place(np.ascontiguousarray(pre), cursor, np.ascontiguousarray(t, out_target.dtype),
               np.ascontiguousarray(w, out_weight.dtype), d, out_target, out_weight, out_delay, not uniform)
        del pre, t, w, d
    return SynapseTable(indptr=indptr, target=out_target, weight=out_weight,
                        delay=np.array(lo if lo is not None else 1) if uniform else out_delay,
                        max_delay=hi if hi is not None else 1)


def spikes_by_population(net: Network, layout: Layout, ids: np.ndarray, at: np.ndarray):
    """Split global spike ids and steps into per-population arrays for the probed populations.

    Returns ``(spike_steps, spike_ids, sizes)`` keyed by population name.
    """
    probed = {p.target for p in net.effective_probes() if p.variable == "spikes"}
    spike_steps, spike_ids, sizes = {}, {}, {}
    for pop in net.populations:
        sl = layout.slice(pop.name)
        sizes[pop.name] = pop.size
        if pop.name in probed:
            mask = (ids >= sl.start) & (ids < sl.stop)
            spike_steps[pop.name], spike_ids[pop.name] = at[mask], ids[mask] - sl.start
    return spike_steps, spike_ids, sizes
