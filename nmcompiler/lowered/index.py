"""The index spaces of the lowered form: neurons of all populations in graph order, then the
channels of the spike sources (the *presynaptic* index space). Current sources have no index."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import CurrentSource, Network

__all__ = ["NeuronIndex", "neuron_index"]


@dataclass(frozen=True, kw_only=True)
class NeuronIndex:
    n: int  # neurons
    n_pre: int  # presynaptic indices: neurons, then spike-source channels
    offsets: dict[str, int]  # first index of each population and spike source (current sources: -1, no index)
    sizes: dict[str, int]

    def slice(self, name: str) -> slice:
        return slice(self.offsets[name], self.offsets[name] + self.sizes[name])


def neuron_index(net: Network) -> NeuronIndex:
    """Where each population's neurons and each spike source's channels sit."""
    offsets, sizes, start = {}, {}, 0
    nodes = net.populations + [s for s in net.sources if not isinstance(s, CurrentSource)]
    n = sum(p.size for p in net.populations)
    for node in nodes:
        offsets[node.name], sizes[node.name] = start, node.size
        start += node.size
    for node in net.sources:
        if isinstance(node, CurrentSource):
            offsets[node.name], sizes[node.name] = -1, node.size
    return NeuronIndex(n=n, n_pre=start, offsets=offsets, sizes=sizes)
