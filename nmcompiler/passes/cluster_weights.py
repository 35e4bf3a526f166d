"""Legalization pass for crossbar cores: each neuron's incoming weights take at most ``levels`` values.

TrueNorth-like cores select a weight per (neuron, axon type) from a few values. This pass
clusters every neuron's incoming weights (all projections into it) into at most ``levels``
values with 1-D k-means (Lloyd's algorithm from quantile seeds, deterministic) and replaces each
weight by its cluster centre. It changes the network's meaning by design: ``report`` gives the
per-population RMS and largest weight error so the cost is visible (and ``nmc compare`` shows it
in spikes). Assigning presynaptic axons to types consistently across the neurons of a core is
the mapper's follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..ir import Connectivity, Network, Projection
from .results import WeightChange, weight_change

__all__ = ["ClusterWeights", "Clustered"]


def _kmeans_1d(values: np.ndarray, k: int, iterations: int = 30) -> np.ndarray:
    """Cluster centre of every value (at most ``k`` distinct centres)."""
    distinct = np.unique(values)
    if distinct.size <= k:
        return values.copy()
    centres = np.quantile(values, (np.arange(k) + 0.5) / k)
    for _ in range(iterations):
        label = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
        new = np.array([values[label == j].mean() if np.any(label == j) else centres[j] for j in range(k)])
        if np.array_equal(new, centres):
            break
        centres = new
    label = np.argmin(np.abs(values[:, None] - centres[None, :]), axis=1)
    return centres[label]


@dataclass(frozen=True, kw_only=True)
class Clustered:
    network: Network
    changes: dict[str, WeightChange]  # population -> how its incoming weights changed


@dataclass(frozen=True, kw_only=True)
class ClusterWeights:
    name: ClassVar[str] = "cluster-weights"
    levels: int

    def run(self, net: Network) -> Clustered:
        out = net.copy()
        changes = {}
        for pop in net.populations:
            incoming = net.spiking_projections(pop.name)
            if not incoming:
                continue
            weights = [p.connectivity.synapse_weights().astype(np.float64) for p in incoming]
            posts = [p.connectivity.indices for p in incoming]
            flat_w, flat_post = np.concatenate(weights), np.concatenate(posts)
            new = flat_w.copy()
            order = np.argsort(flat_post, kind="stable")
            bounds = np.searchsorted(flat_post[order], np.arange(pop.size + 1))
            for j in range(pop.size):
                sel = order[bounds[j]:bounds[j + 1]]
                if sel.size:
                    new[sel] = _kmeans_1d(flat_w[sel], self.levels)
            changes[pop.name] = weight_change(flat_w, new)
            start = 0
            for proj, w in zip(incoming, weights):
                c = proj.connectivity
                chunk = new[start:start + w.size]
                start += w.size
                out.disconnect(proj.name)
                out.connect(Projection(name=proj.name, pre=proj.pre, post=proj.post, receptor=proj.receptor, meta=proj.meta,
                                       connectivity=Connectivity(n_pre=c.n_pre, n_post=c.n_post, indptr=c.indptr,
                                                                 indices=c.indices, weights=chunk, delays=c.delays)))
        return Clustered(network=out.validate(), changes=changes)
