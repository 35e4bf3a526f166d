"""Partitioners: assign neurons to cores within every per-core capacity.

* :class:`IndexOrder`: fill cores with neurons in index order (the baseline other tools use);
  a core is closed when the next neuron would exceed its neurons, synapse memory or input axons
  (:mod:`.fill`), and any core over its output axons is split until it fits.
* :class:`RcmOrder`: the same filling, in the order of the reverse Cuthill-McKee permutation of
  the (symmetrized) synapse graph (:func:`.graph.reverse_cuthill_mckee`), which numbers connected neurons close together:
  neighbourhoods of convolutions stay on one core (all channels of a spatial patch rather than
  one channel's whole map), and the axon limits are met by the same filling and splitting.
* :class:`Metis`: a multilevel graph partitioner (METIS, through pymetis) minimizing the
  synapses cut between cores; the number of parts starts at the lower bound. METIS balances only
  approximately, so neurons over a core's capacity move to cores with room; if the result still
  breaks a limit (axons), the number of parts grows. Deterministic for a seed. On graphs beyond
  ``Metis.max_entries`` adjacency entries (the microcircuit has 0.57 billion), METIS cuts runs of
  consecutive neurons instead, into parts of at least ``Metis.runs_per_part`` runs, and cores are
  filled part by part; RCM order then orders those runs too (``RcmOrder.max_entries``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import UserError
from ..targets import Target
from .fill import fan_in, fill_in_order
from .graph import SynapseGraph, dense_graph, edge_entries, merge_pairs, reverse_cuthill_mckee, synapse_graph
from .usage import core_usage

__all__ = ["IndexOrder", "Metis", "RcmOrder", "cores_in_order", "fits", "over_limits", "renumber_cores"]

log = logging.getLogger(__name__)


def fits(usage, target: Target) -> np.ndarray:
    """Per core: does it respect neurons, synapse memory, input and output axons?"""
    c = target.core
    return ((usage.neurons <= c.neurons) & (usage.synapse_bits <= c.synapse_memory_bits)
            & (usage.input_axons <= c.input_axons) & (usage.output_axons <= c.output_axons))


def over_limits(usage, target: Target) -> list[str]:
    """Each per-core limit some core exceeds: how many cores, the first one, its amount and the limit."""
    c = target.core
    axons = "input axons (distinct source and delay)" if target.storage.axon_per_delay else "input axons"
    out = []
    for name, used, limit in (("neurons", usage.neurons, c.neurons),
                              ("synapse memory bits", usage.synapse_bits, c.synapse_memory_bits),
                              (axons, usage.input_axons, c.input_axons),
                              ("output axons", usage.output_axons, c.output_axons)):
        over = np.flatnonzero(used > limit)
        if over.size:
            out.append(f"{over.size} cores exceed {limit} {name} (core {int(over[0])}: {int(used[over[0]])})")
    return out


def _synapse_bits_per_neuron(n: int, post: np.ndarray, target: Target) -> np.ndarray:
    return fan_in(n, post) * target.synapse_bits()


@dataclass(frozen=True, kw_only=True)
class IndexOrder:
    name: ClassVar[str] = "index-order"

    def run(self, n: int, pre: np.ndarray, post: np.ndarray, target: Target, csr=None, fan=None) -> np.ndarray:
        return cores_in_order(np.arange(n), n, pre, post, target, csr=csr, fan=fan)


@dataclass(frozen=True, kw_only=True)
class RcmOrder:
    name: ClassVar[str] = "rcm-order"
    # beyond these adjacency entries (2 per synapse; the microcircuit has 0.57 billion), the order
    # is that of runs of consecutive neurons (as METIS cuts them there): the neuron graph took
    # 10-11 s to build and order for the microcircuit, its run graph about 1 s
    max_entries: ClassVar[int] = 1 << 26
    max_runs: ClassVar[int] = 4096

    def run(self, n: int, pre: np.ndarray, post: np.ndarray, target: Target) -> np.ndarray:
        return cores_in_order(self.order(n, pre, post), n, pre, post, target)

    @staticmethod
    def order(n: int, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        """The reverse Cuthill-McKee order of the synapse graph (it does not depend on the target)."""
        return RcmOrder.order_and_entries(n, pre, post)[0]

    @staticmethod
    def order_and_entries(n: int, pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, int]:
        """:meth:`order` and the graph's adjacency entries before merging (:func:`.graph.edge_entries`).
        Beyond ``max_entries``, the runs of consecutive neurons (``max_runs`` of them) are ordered
        and each run keeps its neurons in index order."""
        entries = edge_entries(n, pre, post)
        if entries > RcmOrder.max_entries:
            return RcmOrder._run_order(n, pre, post), entries
        g = synapse_graph(n, pre, post, weighted=False)
        return reverse_cuthill_mckee(g.xadj, g.adjncy), entries

    @staticmethod
    def _run_order(n: int, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        from scipy import sparse

        runs = min(n, RcmOrder.max_runs)
        group = np.arange(n, dtype=np.int64) * runs // n  # consecutive runs, lengths within one
        pattern = sparse.csr_matrix(dense_graph(n, pre, post, group, runs) != 0)
        run_order = reverse_cuthill_mckee(pattern.indptr, pattern.indices)
        starts = np.searchsorted(group, np.arange(runs + 1))
        lengths = np.diff(starts)[run_order]
        # each run's neurons, runs in RCM order: a run's start plus 0 .. length - 1
        return np.repeat(starts[run_order] - np.cumsum(lengths) + lengths, lengths) + np.arange(n, dtype=np.int64)


def cores_in_order(order: np.ndarray, n: int, pre, post, target: Target, csr=None, fan: np.ndarray | None = None,
                   filled: np.ndarray | None = None) -> np.ndarray:
    """Neurons in ``order`` fill cores up to their neurons, synapse memory and input axons
    (:mod:`.fill`); cores over their output axons are then split (in that order) until every
    core fits. ``csr`` (:func:`.fill.incoming`) and ``fan`` (:func:`.fill.fan_in`) of the same
    synapses save recomputing them when the caller fills more than once; ``filled``, the fill
    itself (:func:`.fill.fill_in_order` of ``order``) when the caller has it."""
    core_in_order = fill_in_order(order, n, pre, post, target, csr) if filled is None else filled
    core_of = np.empty(n, dtype=np.int64)
    core_of[order] = core_in_order
    n_cores = int(core_in_order[-1]) + 1 if n else 0
    if _fits_as_filled(n_cores, fan if fan is not None else fan_in(n, post), target):
        return core_of  # numbered in ``order`` already
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return _split_until_fit(core_of, pre, post, target, rank)


def _fits_as_filled(n_cores: int, fan: np.ndarray, target: Target) -> bool:
    """Whether a fill's cores fit without the exact usage check: the fill closes cores at their
    neurons, memory and input axons unless one neuron alone exceeds them (it has at most ``fan``
    distinct sources), and a core sends to at most ``n_cores`` cores."""
    c = target.core
    worst = int(fan.max(initial=0))
    bits = target.synapse_bits()  # 0 for crossbars: the memory is fixed per core
    return c.output_axons >= n_cores and worst <= c.input_axons and worst * bits <= c.synapse_memory_bits


def _split_until_fit(core_of: np.ndarray, pre, post, target: Target, rank: np.ndarray | None = None) -> np.ndarray:
    """Split every core that exceeds its axons into as many consecutive pieces (in ``rank`` order,
    index order without it) as it overshoots its worst axon limit (at least two), until all fit."""
    c = target.core
    for _ in range(64):
        n_cores = int(core_of.max()) + 1 if core_of.size else 0
        usage = core_usage(core_of, n_cores, pre, post, target)
        ok = fits(usage, target)
        if ok.all():
            return renumber_cores(core_of, rank)
        order = np.argsort(core_of, kind="stable") if rank is None else np.lexsort((rank, core_of))
        bounds = np.searchsorted(core_of[order], np.arange(n_cores + 1))
        for core in np.flatnonzero(~ok):
            members = order[bounds[core]:bounds[core + 1]]
            if members.size <= 1:
                if usage.output_axons[core] > c.output_axons:
                    raise UserError(f"a single neuron (global index {members[0]}) sends to {usage.output_axons[core]} "
                                    f"cores, over a {target.name} core's {c.output_axons} output axons: choose a "
                                    "target with more output axons or larger cores")
                raise UserError(f"a single neuron (global index {members[0]}) receives from {usage.input_axons[core]} "
                                f"sources, over a {target.name} core's {c.input_axons} input axons: it needs partial "
                                "sums (a target with graded messages)")
            over = max(usage.input_axons[core] / c.input_axons, usage.output_axons[core] / c.output_axons)
            pieces = min(members.size, max(2, math.ceil(over)))
            piece = np.arange(members.size) * pieces // members.size  # consecutive, sizes within one
            core_of[members[piece > 0]] = n_cores + piece[piece > 0] - 1
            n_cores += pieces - 1
    raise UserError("could not split cores to fit the axon limits")


def renumber_cores(core_of: np.ndarray, rank: np.ndarray | None = None) -> np.ndarray:
    _, inverse = np.unique(core_of, return_inverse=True)
    # keep the order of first appearance, so core ids follow neuron order (or ``rank``)
    first = np.full(inverse.max() + 1 if inverse.size else 0, core_of.size, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(core_of.size) if rank is None else rank)
    rank = np.argsort(np.argsort(first))
    return rank[inverse]


def _rebalance(core_of: np.ndarray, parts: int, bits: np.ndarray, target: Target) -> np.ndarray | None:
    """Move neurons out of cores over their neuron or synapse-memory capacity (METIS balances only
    approximately) into cores with room, first fit; None if the room does not suffice."""
    cap_n, cap_b = target.core.neurons, target.core.synapse_memory_bits
    core_of = core_of.copy()
    k = max(parts, int(core_of.max()) + 1)
    order = np.argsort(core_of, kind="stable")
    bounds = np.searchsorted(core_of[order], np.arange(k + 1))
    counts = np.diff(bounds)
    memory = np.bincount(core_of, weights=bits, minlength=k)
    evicted = []
    for c in np.flatnonzero((counts > cap_n) | (memory > cap_b)):
        members = order[bounds[c]:bounds[c + 1]]
        keep_n, keep_b = counts[c], memory[c]
        for m in members[::-1]:  # evict from the end of the core's neuron list
            if keep_n <= cap_n and keep_b <= cap_b:
                break
            evicted.append(m)
            keep_n, keep_b = keep_n - 1, keep_b - bits[m]
        counts[c], memory[c] = keep_n, keep_b
    room = iter(np.flatnonzero((counts < cap_n) & (memory < cap_b)))
    core = next(room, None)
    for m in evicted:
        while core is not None and (counts[core] + 1 > cap_n or memory[core] + bits[m] > cap_b):
            core = next(room, None)
        if core is None:
            return None
        core_of[m] = core
        counts[core] += 1
        memory[core] += bits[m]
    return core_of


@dataclass(frozen=True, kw_only=True)
class Metis:
    name: ClassVar[str] = "metis"
    seed: int = 0
    max_tries: int = 12
    time_budget: float = 30.0  # seconds; no new attempt starts after this
    max_entries: int = 1 << 24  # adjacency entries (2 per synapse) up to which METIS cuts single neurons
    max_nodes: int = 4096  # beyond: at most this many runs of consecutive neurons
    max_run_entries: int = 1 << 23  # adjacency entries of the run graph (neighbouring runs merge beyond)
    # runs per part at least: a part is a stretch that cores are then filled along, so it may span
    # several cores; with two runs a part (the microcircuit onto spinnaker-like: 2048 runs, 1087
    # parts) METIS took 10.2 s for 1136 cores and 69.4 M spikes/s between cores, with eight
    # (256 parts) 3.8 s for 1126 cores and 68.7 M (index order: 1108 and 67.0 M)
    runs_per_part: int = 8
    max_parts: int | None = None  # no attempt with more parts (auto: the fewest cores another order found)
    report: dict = field(default_factory=dict, compare=False)  # filled by run: "runs", "neurons_per_run", "parts"

    def run(self, n: int, pre: np.ndarray, post: np.ndarray, target: Target, lower_bound: int,
            rates: np.ndarray | None = None, csr=None, fan=None, entries: int | None = None) -> np.ndarray:
        """``rates`` (spikes/s per neuron, optional) weight each synapse by its presynaptic rate;
        ``csr`` and ``fan`` as :func:`cores_in_order` takes them; ``entries``, the synapses'
        :func:`.graph.edge_entries` when the caller has it.
        Beyond ``max_entries``, METIS cuts the graph of ``max_nodes`` runs of consecutive neurons
        (populations are contiguous, so a run rarely mixes two) into ``lower_bound`` parts balanced
        by neurons and synapses, and neurons fill cores part by part (:mod:`.fill`)."""
        import pymetis

        self.report.clear()
        rates = None if rates is None else np.maximum(rates, 0.0)
        if (edge_entries(n, pre, post) if entries is None else entries) > self.max_entries:
            return self._runs(n, pre, post, target, lower_bound, rates, csr, fan)
        graph = synapse_graph(n, pre, post, rates=rates)
        adjacency = _metis_adjacency(graph)
        w = _metis_weights(graph, rates)
        del graph
        opts = pymetis.Options(seed=self.seed)
        parts = max(1, lower_bound)
        started = time.perf_counter()
        for attempt in range(self.max_tries):
            if self.max_parts is not None and parts > self.max_parts:
                raise UserError(f"METIS needs more than {self.max_parts} parts to fit {target.name}'s core limits, "
                                f"the fewest cores found otherwise ({attempt} tries)")
            if attempt and time.perf_counter() - started > self.time_budget:
                raise UserError(f"METIS found no partition within {target.name}'s core limits in "
                                f"{self.time_budget:g} s ({attempt} tries, last {parts} parts)")
            if parts == 1:
                core_of = np.zeros(n, dtype=np.int64)
            else:
                _, membership = pymetis.part_graph(parts, adjacency=adjacency, eweights=w, options=opts)
                core_of = np.asarray(membership, dtype=np.int64)
            core_of = renumber_cores(core_of)
            usage = core_usage(core_of, int(core_of.max()) + 1, pre, post, target)
            if fits(usage, target).all():
                return core_of
            repaired = _rebalance(core_of, parts, _synapse_bits_per_neuron(n, post, target), target)
            if repaired is not None:
                usage = core_usage(repaired, int(repaired.max()) + 1, pre, post, target)
                if fits(usage, target).all():
                    return renumber_cores(repaired)
            # grow by what the worst core overshoots its axon limits (at least 8 %)
            over = max(float(np.max(usage.input_axons)) / target.core.input_axons,
                       float(np.max(usage.output_axons)) / target.core.output_axons, 1.08)
            parts = max(parts + 1, math.ceil(parts * over))
        raise UserError(f"METIS found no partition within {target.name}'s core limits after {self.max_tries} tries")

    def _runs(self, n, pre, post, target: Target, lower_bound: int, rates, csr=None, fan=None) -> np.ndarray:
        import pymetis

        parts = max(1, lower_bound)
        nodes = min(n, self.max_nodes)
        group = np.arange(n, dtype=np.int64) * nodes // n  # consecutive runs, lengths within one
        matrix = dense_graph(n, pre, post, group, nodes, rates)
        # METIS's time grows faster than a dense run graph's entries (every population reaching
        # every other; microcircuit: 1M entries 0.8 s, 4.2M 4.2 s, 16.5M 32-168 s):
        # merge neighbouring runs while there are too many entries and at least one run per part
        while np.count_nonzero(matrix) > self.max_run_entries and (matrix.shape[0] + 1) // 2 >= parts:
            matrix, group = merge_pairs(matrix), group // 2
        nodes = matrix.shape[0]
        self.report.update(runs=nodes, neurons_per_run=n / nodes)
        graph = SynapseGraph.from_dense(matrix)
        del matrix
        synapses = np.bincount(group, weights=fan_in(n, post) if fan is None else fan, minlength=nodes).astype(np.int64)
        vweights = np.stack([np.bincount(group, minlength=nodes), synapses + 1], axis=1).reshape(-1)
        parts = max(1, min(parts, nodes // self.runs_per_part))
        self.report.update(parts=parts)
        if parts > 1:
            _, membership = pymetis.part_graph(parts, adjacency=_metis_adjacency(graph), vweights=vweights,
                                               eweights=_metis_weights(graph, rates),
                                               options=pymetis.Options(seed=self.seed))
            part = np.asarray(membership, dtype=np.int64)[group]
        else:
            part = np.zeros(n, dtype=np.int64)
        order = np.argsort(part, kind="stable")  # part by part, index order inside
        return cores_in_order(order, n, pre, post, target, csr=csr, fan=fan)


def _metis_adjacency(graph: SynapseGraph):
    import pymetis

    # METIS's idx_t is 64-bit here: int64 arrays go in without another copy
    return pymetis.CSRAdjacency(adj_starts=graph.xadj, adjacent=graph.adjncy.astype(np.int64))


def _metis_weights(graph: SynapseGraph, rates) -> np.ndarray:
    # METIS wants positive integer weights: rates to 0.1 spikes/s, at least 1
    return np.maximum(1, np.rint(graph.weight * (1 if rates is None else 10))).astype(np.int64)
