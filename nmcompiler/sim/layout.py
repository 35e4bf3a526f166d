"""Flatten a network into global float arrays for the float simulator.

All populations share one neuron index space (in graph order); spike sources follow the
neurons in the *presynaptic* index space. Synapses of all projections form one CSR table
keyed by presynaptic index; each synapse targets ``channel * N + post`` of the input buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import CurrentSource, Network, Propagator
from ..ir.models import Compare, ResetMode
from ..lowered.table import SynapseTable, synapse_table

__all__ = ["Layout", "build_layout", "build_synapses", "spikes_by_population"]


@dataclass(frozen=True, kw_only=True)
class Layout:
    n: int  # neurons
    channels: int  # input channels per neuron (max over populations)
    offsets: dict[str, int]  # first global index of each population / source
    sizes: dict[str, int]
    prop: Propagator  # concatenated over populations, channel axis padded to ``channels``
    v_threshold: np.ndarray
    v_compare: np.ndarray  # spike when v > v_compare: v_threshold, or the float below it for v >= v_threshold
    v_reset: np.ndarray
    v_min: np.ndarray  # lower bound of v after integration (-inf: none)
    subtract: np.ndarray  # bool: reset by subtraction
    refractory_steps: np.ndarray
    bias: np.ndarray
    spiking: np.ndarray  # bool: False for non-spiking integrators
    max_spikes: np.ndarray  # int64: most spikes per step (> 1: compare-and-subtract repeats)

    @property
    def bounded(self) -> bool:
        """Whether some neuron has a finite lower bound ``v_min``."""
        return bool(np.any(np.isfinite(self.v_min)))

    def slice(self, name: str) -> slice:
        return slice(self.offsets[name], self.offsets[name] + self.sizes[name])


def _compare_at(model) -> np.ndarray:
    """``v >= t`` is exactly ``v > nextafter(t, -inf)`` for finite floats."""
    t = np.asarray(model.v_threshold, dtype=np.float64)
    return np.nextafter(t, -np.inf) if model.compare == Compare.GE else t


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
        v_compare=cat(lambda p, q: _compare_at(p.model)), v_min=cat(lambda p, q: p.model.v_min),
        subtract=cat(lambda p, q: np.array(p.model.reset == ResetMode.SUBTRACT)),
        refractory_steps=cat(lambda p, q: p.model.refractory_steps(net.dt, p.size)),
        bias=cat(lambda p, q: p.model.bias),
        spiking=cat(lambda p, q: np.array(p.model.spiking)),
        max_spikes=cat(lambda p, q: np.array(p.model.max_spikes, dtype=np.int64)).astype(np.int64),
    )


def build_synapses(net: Network, layout: Layout) -> SynapseTable:
    """One CSR table over the fixed-weight spiking projections (current-source projections, and
    plastic ones, which :mod:`.plasticity` delivers, excluded)."""
    pres, targets, weights, delays = [], [], [], []
    for proj in net.spiking_projections():
        if proj.learning is not None:
            continue
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
