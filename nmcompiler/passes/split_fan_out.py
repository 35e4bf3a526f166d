"""Legalization for targets whose neurons reach one input axon (TrueNorth-like): splitter neurons.

After partitioning, a neuron ``u`` whose synapses need ``K > fan_out_per_neuron`` input axons
(distinct destination core and delay ``(k, d)``) gets ``K`` splitter neurons on a new core: ``u``
sends to one axon of that core (delay 1), which feeds its splitters (IF neurons, threshold 0.5,
weight 1: each fires in the tick the spike arrives), and splitter ``(u, k, d)`` carries ``u``'s
original synapses onto core ``k`` with delay ``d - 1``. A spike of ``u`` at tick ``t`` still
arrives at ``t + d`` when ``d >= 2``; synapses with ``d = 1`` arrive one tick late (counted in
``Split.late_synapses``). Splitter populations are added after all others, so every existing
neuron keeps its index; their cores are filled with whole groups (one group per ``u``) within the
core's neurons and input axons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..arrays import distinct
from ..ir import IF, Connectivity, Network, Population, Projection
from ..lowered import neuron_index
from ..targets.encoding import axon_keys

__all__ = ["Split", "SplitFanOut"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Split:
    network: Network  # with the splitter populations after all others
    core_of: np.ndarray  # the core of every neuron, splitters on new cores
    owners: np.ndarray  # global index of each splitter's source neuron
    split_neurons: int
    splitters: int
    late_synapses: int  # synapses of delay 1, which arrive one tick late


@dataclass(frozen=True, kw_only=True)
class SplitFanOut:
    name: ClassVar[str] = "split-fan-out"
    per_neuron: int  # input axons one neuron may reach
    neurons_per_core: int
    axons_per_core: int
    delay_max: int  # the format's delay range, which sizes the axon keys

    def run(self, net: Network, core_of: np.ndarray) -> Split:
        """The network with splitters, and the core of every neuron (splitters on new cores)."""
        layout = neuron_index(net)
        out = net.copy()
        next_core = int(core_of.max()) + 1 if core_of.size else 0
        new_cores: list[np.ndarray] = []
        late = split_neurons = 0
        owners: list[np.ndarray] = []
        for pop in list(net.populations):
            projs = [p for p in net.spiking_projections() if p.pre == pop.name]
            if not projs:
                continue
            data = []  # per projection: pre (local), post (local), weight, delay, group key
            for p in projs:
                c = p.connectivity
                pre, post = c.pre_indices().astype(np.int64), c.indices.astype(np.int64)
                delay = c.synapse_delays().astype(np.int64)
                dest = core_of[post + layout.offsets[p.post]]
                data.append((p, pre, post, c.synapse_weights(), delay, pre * (1 << 40) + axon_keys(dest, delay, self.delay_max)))
            keys = distinct(np.concatenate([d[5] for d in data]))
            owner = keys >> 40
            groups = np.bincount(owner, minlength=pop.size)
            split = groups > self.per_neuron
            if not split.any():
                continue
            chosen = keys[split[owner]]  # one splitter per (u, core, delay) of a split neuron
            name = f"{pop.name}.split"
            out.add(Population(name=name, size=int(chosen.size), model=IF(v_threshold=0.5, v_reset=0.0)))
            s_owner = chosen >> 40
            owners.append(s_owner + layout.offsets[pop.name])
            out.connect(Projection(name=f"{name}.in", pre=pop.name, post=name, connectivity=Connectivity.from_coo(
                pop.size, chosen.size, s_owner, np.arange(chosen.size), 1.0, 1)))
            for p, pre, post, w, delay, key in data:
                moved = split[pre]
                out.disconnect(p.name)
                c = p.connectivity
                if (~moved).any():
                    out.connect(Projection(name=p.name, pre=p.pre, post=p.post, receptor=p.receptor,
                                           connectivity=Connectivity.from_coo(c.n_pre, c.n_post, pre[~moved],
                                                                              post[~moved], w[~moved], delay[~moved])))
                if moved.any():
                    s = np.searchsorted(chosen, key[moved])
                    d = delay[moved]
                    late += int(np.count_nonzero(d == 1))
                    out.connect(Projection(name=f"{p.name}.split", pre=name, post=p.post, receptor=p.receptor,
                                           connectivity=Connectivity.from_coo(chosen.size, c.n_post, s, post[moved],
                                                                              w[moved], np.maximum(d - 1, 1))))
            # cores for the splitters: whole groups, within neurons and input axons (one per owner)
            sizes = np.bincount(np.searchsorted(np.unique(s_owner), s_owner))
            cores = np.empty(chosen.size, dtype=np.int64)
            at = fill = held = 0
            for size in sizes:
                if fill + size > self.neurons_per_core or held + 1 > self.axons_per_core:
                    next_core, fill, held = next_core + 1, 0, 0
                cores[at:at + size] = next_core
                at, fill, held = at + size, fill + size, held + 1
            next_core += 1
            new_cores.append(cores)
            split_neurons += int(np.count_nonzero(split))
        return Split(network=out.validate(), core_of=np.concatenate([core_of] + new_cores) if new_cores else core_of,
                     owners=np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64),
                     split_neurons=split_neurons, splitters=int(sum(c.size for c in new_cores)), late_synapses=late)
