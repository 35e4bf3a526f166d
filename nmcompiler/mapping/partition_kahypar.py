"""Hypergraph partitioning with Mt-KaHyPar: the objective is the inter-core traffic itself.

A neuron's spike is sent once to every other core that holds one of its targets. With one
hyperedge per neuron, holding the neuron and its targets (weighted by its rate), the connectivity
metric ``sum_e w_e (lambda_e - 1)`` (``km1``: blocks a hyperedge touches, minus one) is exactly
:func:`.usage.traffic` of the partition. METIS minimizes the synapses cut, a proxy that counts a
neuron's spike once per target on another core.

Mt-KaHyPar balances one weight: the resource that sets the lower bound (synapse memory or
neurons), with no block over one core's capacity of it. It refines a start partition (in ``auto``,
the best of index order, RCM order and METIS: one V-cycle, with as many blocks) or cuts
``lower_bound`` blocks anew. When every block fits a core (neurons, memory and axons, checked
exactly), the blocks are the cores; otherwise neurons fill cores block by block
(:func:`.partition.cores_in_order`), which enforces every limit but moves block boundaries. The
``DETERMINISTIC`` preset with a fixed seed and thread count gives the same partition on every run.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..arrays import distinct
from ..errors import UserError
from ..targets import Target
from .fill import fan_in
from .partition import cores_in_order, fits, renumber_cores
from .usage import core_usage

__all__ = ["KaHyPar", "spike_hypergraph"]

THREADS = 2  # fixed, so the deterministic preset gives the same partition on every machine
RATE_SCALE = 1000  # rates become integer hyperedge weights with the busiest neuron at this


@functools.cache
def _initializer():
    """Mt-KaHyPar's process-wide thread pool (it may be initialized only once per process)."""
    import mtkahypar

    return mtkahypar.initialize(THREADS, False)


def spike_hypergraph(n: int, pre: np.ndarray, post: np.ndarray, rates: np.ndarray | None = None,
                     node: np.ndarray | None = None) -> tuple[list[list[int]], list[int], int]:
    """``(hyperedges, weights, pins)``: for every neuron with a target on another node, the neuron's
    node and the distinct nodes of its targets (ascending, its own first), weighted by its rate
    scaled to integers (at least 1), else 1. ``node``: each neuron's node (default: itself; runs of
    neurons coarsen the hypergraph, and a partition of the nodes keeps its km1 as the neurons'
    traffic). Host sources (``pre >= n``) have no core and no hyperedge."""
    node = np.arange(n, dtype=np.int64) if node is None else np.asarray(node, dtype=np.int64)
    m = int(node.max(initial=-1)) + 1
    keep = pre < n
    keys = distinct(pre[keep].astype(np.int64) * m + node[post[keep]])  # sorted (neuron, target node) pairs
    src, dst = keys // m, keys % m
    other = node[src] != dst
    src, dst = src[other], dst[other]
    senders, first = np.unique(src, return_index=True)
    flat = np.empty(src.size + senders.size, dtype=np.int64)  # each hyperedge: own node, then the targets'
    at = first + np.arange(senders.size)
    flat[at] = node[senders]
    mask = np.ones(flat.size, dtype=bool)
    mask[at] = False
    flat[mask] = dst
    edges = [e.tolist() for e in np.split(flat, at[1:])] if senders.size else []
    if rates is None:
        weights = [1] * senders.size
    else:
        r = np.maximum(np.asarray(rates, dtype=np.float64)[senders], 0.0)
        top = float(r.max(initial=0.0))
        weights = (np.maximum(1, np.rint(r / top * RATE_SCALE)) if top > 0 else np.ones(r.size)).astype(int).tolist()
    return edges, weights, int(flat.size)


@dataclass(frozen=True, kw_only=True)
class KaHyPar:
    name: ClassVar[str] = "kahypar"
    seed: int = 0
    cycles: int = 1  # V-cycles when refining a start partition
    run_length: int = 1  # > 1: nodes are runs of this many consecutive neurons of the given order
    max_pins: int = 1 << 24  # beyond: refused (the hypergraph is built as Python lists)

    def run(self, n: int, pre: np.ndarray, post: np.ndarray, target: Target, lower_bound: int,
            rates: np.ndarray | None = None, start: np.ndarray | None = None,
            order: np.ndarray | None = None) -> np.ndarray:
        """Core of every neuron. With ``start`` (a partition within every limit), Mt-KaHyPar refines
        it with as many blocks; without, it partitions anew into ``lower_bound`` blocks. The blocks
        are balanced by the resource that sets the bound (synapse memory or neurons), each at most
        one core's capacity of it. When every block fits a core, the blocks are the cores;
        otherwise neurons fill cores block by block. With ``order`` (RCM order, which numbers
        connected neurons close together) and ``run_length`` > 1, the nodes are runs of that many
        consecutive neurons of it (the CNN on loihi-like: runs of 2 refine in 1.6 s instead of
        4.7 s, with 3 % less traffic); a run starts in its first neuron's core."""
        import mtkahypar

        parts = int(start.max()) + 1 if start is not None and start.size else max(1, lower_bound)
        if parts == 1 or n <= 1:
            return cores_in_order(np.arange(n), n, pre, post, target)
        if pre.size + n > self.max_pins:
            raise UserError(f"the spike hypergraph has over {self.max_pins} pins: choose another partitioner")
        if order is None or self.run_length <= 1:
            order, length = np.arange(n, dtype=np.int64), 1
        else:
            length = self.run_length
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        node = rank // length
        m = int(node.max()) + 1
        edges, weights, _ = spike_hypergraph(n, pre, post, rates, node)
        neuron_weights, capacity = _balance(n, post, target)
        node_weights = np.bincount(node, weights=neuron_weights, minlength=m).astype(np.int64)
        total = int(node_weights.sum())
        init = _initializer()
        mtkahypar.set_seed(self.seed)
        context = init.context_from_preset(mtkahypar.PresetType.DETERMINISTIC)
        epsilon = max(0.0, capacity * parts / total - 1)  # no block over one core's capacity
        context.set_partitioning_parameters(parts, epsilon, mtkahypar.Objective.KM1)
        graph = init.create_hypergraph(context, m, len(edges), edges, node_weights.tolist(), weights)
        if start is None:
            partitioned = graph.partition(context)
        else:
            first = start[order[np.arange(m) * length]]  # a run starts in its first neuron's core
            partitioned = graph.create_partitioned_hypergraph(context, parts, first.tolist())  # (context, k, blocks)
            partitioned.improve_partition(context, self.cycles)
        block = renumber_cores(np.asarray(partitioned.get_partition(), dtype=np.int64)[node])
        k = int(block.max()) + 1
        if fits(core_usage(block, k, pre, post, target), target).all():
            return block
        return cores_in_order(np.argsort(block, kind="stable"), n, pre, post, target)  # block by block


def _balance(n: int, post: np.ndarray, target: Target) -> tuple[np.ndarray, int]:
    """Node weights and one core's capacity of the resource that sets the lower bound: synapse bits
    when the synapse memory does (sparse and word storage), else neurons."""
    c = target.core
    bits = target.synapse_bits()  # 0 for crossbars: the memory is fixed per core
    if bits:
        memory = fan_in(n, post) * bits
        if -(-int(memory.sum()) // c.synapse_memory_bits) > -(-n // c.neurons):
            return np.maximum(memory, 1), c.synapse_memory_bits  # a neuron without synapses weighs 1 bit
    return np.ones(n, dtype=np.int64), c.neurons
