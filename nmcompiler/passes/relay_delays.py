"""Legalization pass: delays beyond the target's range become chains of relay neurons.

A projection whose delays exceed ``max_delay`` is split: every presynaptic neuron gets a relay
neuron (an IF neuron, threshold 0.5, reset to 0) fed one-to-one with weight 1, and the original
synapses leave from the relays. A relay receives at most one spike per tick and fires in the
tick it arrives, so a chain of segments ``d_1 + d_2 + ... = d`` (each ``<= max_delay``) delivers
every spike exactly ``d`` ticks after it was sent: timing and weights are unchanged, in float
and in fixed point. Only the delays over the limit are routed through relays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..ir import IF, Connectivity, Network, Population, Projection

__all__ = ["RelayLongDelays"]


@dataclass(frozen=True, kw_only=True)
class RelayLongDelays:
    name: ClassVar[str] = "relay-long-delays"
    max_delay: int

    def run(self, net: Network) -> Network:
        out = net.copy()
        for proj in net.spiking_projections():
            c = proj.connectivity
            if not c.nnz or int(c.delays.max()) <= self.max_delay:
                continue
            self._relay(out, net, proj)
        return out.validate()

    def _relay(self, out: Network, net: Network, proj: Projection) -> None:
        c = proj.connectivity
        delays = c.synapse_delays().astype(np.int64)
        hops = np.maximum(0, np.ceil(delays / self.max_delay).astype(np.int64) - 1)  # relays each synapse needs
        pre_idx, post_idx, weights = c.pre_indices(), c.indices.astype(np.int64), c.synapse_weights()
        # rebuild the projection: keep direct synapses, hand the rest to the relay chain
        out.disconnect(proj.name)
        direct = hops == 0
        if direct.any():
            out.connect(Projection(name=proj.name, pre=proj.pre, post=proj.post, receptor=proj.receptor,
                                   connectivity=Connectivity.from_coo(c.n_pre, c.n_post, pre_idx[direct],
                                                                      post_idx[direct], weights[direct],
                                                                      delays[direct])))
        n_pre = c.n_pre
        relay_model = IF(v_threshold=0.5, v_reset=0.0)
        previous, remaining = proj.pre, delays.copy()
        for level in range(1, int(hops.max()) + 1):
            name = f"{proj.name}.relay{level}"
            out.add(Population(name=name, size=n_pre, model=relay_model))
            idx = np.arange(n_pre)
            out.connect(Projection(name=f"{name}.in", pre=previous, post=name,
                                   connectivity=Connectivity.from_coo(n_pre, n_pre, idx, idx, 1.0, self.max_delay)))
            remaining = remaining - self.max_delay
            leaves = hops == level  # synapses whose rest of the way now fits
            if not leaves.any():
                previous = name
                continue
            out.connect(Projection(name=f"{name}.out", pre=name, post=proj.post, receptor=proj.receptor,
                                   connectivity=Connectivity.from_coo(n_pre, c.n_post, pre_idx[leaves],
                                                                      post_idx[leaves], weights[leaves],
                                                                      remaining[leaves])))
            previous = name
