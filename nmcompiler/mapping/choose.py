"""Choosing a partition of neurons onto cores: the candidates, the tie-break, the exact polish.

``auto`` runs index order, RCM order and METIS, keeps the fewest cores and then the least traffic,
and lets CP-SAT improve small cases; a named partitioner is used as it is. Mt-KaHyPar, which
minimizes the traffic itself, refines the best of these in ``auto`` (its nodes pairs of
consecutive neurons in RCM order); when the best needs more cores than the lower bound, it first
cuts the bound's blocks anew (one neuron per node) and refines only if that needs no fewer cores
(the NIR CNN on a sized fpga-lif core: 9 cores, the bound, instead of 10). It runs when the
network has locality to exploit (RCM order's traffic at most ``KAHYPAR_LOCALITY`` of index
order's: convolutions, chains, clusters; on random connectivity it finds nothing and is slow) and
its hypergraph has at most ``KAHYPAR_AUTO_PINS`` pins. A caller may offer an alternative (partial
sums) after the cheap candidates: METIS and Mt-KaHyPar are then skipped when the alternative
needs at most half their cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..arrays import distinct
from ..errors import UserError
from ..targets import Target
from .partial_sums import PartialSums
from .fill import fill_by_groups, incoming
from .partition import IndexOrder, Metis, RcmOrder, cores_in_order
from .partition_cpsat import CpSatPartition, PartitionResult
from .partition_kahypar import KaHyPar
from .passlog import PassLog
from .usage import traffic, traffics

__all__ = ["PARTITIONERS", "Choice", "choose_partition", "cores_of", "splitter_cores"]

PARTITIONERS = ("auto", IndexOrder.name, RcmOrder.name, Metis.name, KaHyPar.name, CpSatPartition.name)
KAHYPAR_LOCALITY = 0.8  # auto runs Mt-KaHyPar when RCM order's traffic is at most this x index order's
KAHYPAR_AUTO_PINS = 1 << 21  # and the spike hypergraph has at most this many pins (the NIR CNN: 0.93 M)
KAHYPAR_AUTO_RUN = 2  # auto: its nodes are pairs of consecutive neurons in RCM order (2-3x faster)
GROUPS = "population-order"  # auto, on fan-out-limited targets: whole populations per core where they fit


def cores_of(core_of: np.ndarray) -> int:
    return int(core_of.max()) + 1 if core_of.size else 0


@dataclass
class Choice:
    core_of: np.ndarray
    name: str
    index_order: np.ndarray  # the baseline partition
    index_order_traffic: float
    alternative: PartialSums | None = None  # what ``offer`` returned, if it beats every partition here
    partitioning: PartitionResult | None = None  # CP-SAT, from ``start`` (the heuristic's partition)
    start: str | None = None
    notes: list[str] = field(default_factory=list)
    traffic: float | None = None  # inter-core spikes per second of ``core_of`` (None: not measured)


class _Found(dict):
    """The partitions found, by name; their traffic is measured when first asked for, for every
    partition not yet measured at once (:func:`traffics`: one read of the synapses)."""

    def __init__(self, pre: np.ndarray, post: np.ndarray, rates: np.ndarray | None):
        super().__init__()
        self._synapses, self._rates, self._traffic = (pre, post), rates, {}

    def __setitem__(self, name: str, core_of: np.ndarray) -> None:
        self._traffic.pop(name, None)
        super().__setitem__(name, core_of)

    def traffic(self, name: str) -> float:
        if name not in self._traffic:
            todo = [k for k in self if k not in self._traffic]
            self._traffic.update(zip(todo, traffics([self[k] for k in todo], *self._synapses, self._rates)))
        return self._traffic[name]


def splitter_cores(core_of: np.ndarray, n: int, pre: np.ndarray, post: np.ndarray, target: Target) -> int:
    """Cores the splitter neurons of a partition will take on a target whose neurons reach at most
    ``fan_out_per_neuron`` cores (one splitter per core a neuron reaches beyond it; 0 elsewhere)."""
    per = target.core.fan_out_per_neuron
    if per is None or not n:
        return 0
    k = cores_of(core_of)
    mine = pre < n
    pairs = distinct(pre[mine].astype(np.int64) * k + core_of[post[mine]])
    reach = np.bincount(pairs // k, minlength=n)
    return -(-int(reach[reach > per].sum()) // target.core.neurons)


def choose_partition(n: int, pre: np.ndarray, post: np.ndarray, target: Target, bound: int, *,
                     partitioner: str = "auto", seed: int = 0, rates: np.ndarray | None = None,
                     passes: PassLog | None = None,
                     offer: Callable[[int], tuple[object, int] | None] | None = None,
                     groups: np.ndarray | None = None) -> Choice:
    """Partition ``n`` neurons (synapses ``pre`` -> ``post``; ``pre >= n`` are sources without a
    core). ``offer(best_cores)`` may return (alternative, its cores); it wins if it needs fewer
    cores than every partition found. On targets whose neurons reach few cores, ``auto`` also fills
    whole ``groups`` (the first neuron of each population) and counts the splitters' cores."""
    if partitioner not in PARTITIONERS:
        raise UserError(f"unknown partitioner '{partitioner}' (use {', '.join(PARTITIONERS)})")
    passes = PassLog() if passes is None else passes
    searching = partitioner in ("auto", CpSatPartition.name)
    rcm_order, entries = None, None
    if (searching or partitioner == RcmOrder.name) and n:  # before the CSR: not both graphs at once
        passes.start("partition_rcm_order")
        t = time.perf_counter()
        rcm_order, entries = RcmOrder.order_and_entries(n, pre, post)  # METIS's graph size, counted on the way
        passes["partition_rcm_order"] = time.perf_counter() - t  # and its fill, below
    passes.start("partition_index_order")
    t = time.perf_counter()
    csr = incoming(n, pre, post)  # shared by every fill below
    fan = np.diff(csr[0])  # fan-in: counted for the CSR already
    baseline = IndexOrder().run(n, pre, post, target, csr=csr, fan=fan)
    passes["partition_index_order"] = time.perf_counter() - t
    choice = Choice(core_of=baseline, name=IndexOrder.name, index_order=baseline, index_order_traffic=0.0)
    found = _Found(pre, post, rates)  # insertion order breaks ties
    found[IndexOrder.name] = baseline
    if rcm_order is not None:
        t = time.perf_counter()
        found[RcmOrder.name] = cores_in_order(rcm_order, n, pre, post, target, csr=csr, fan=fan)
        passes["partition_rcm_order"] += time.perf_counter() - t
    fan_out = target.core.fan_out_per_neuron is not None
    if searching and fan_out and groups is not None and n:
        passes.start("partition_population_order")
        t = time.perf_counter()
        found[GROUPS] = cores_in_order(np.arange(n), n, pre, post, target, fan=fan,
                                       filled=fill_by_groups(groups, n, pre, post, target))
        passes["partition_population_order"] = time.perf_counter() - t

    def rank(name: str) -> tuple[int, float]:
        """Fewest cores (with the splitters' on fan-out-limited targets), then the least traffic."""
        core_of = found[name]
        splitters = splitter_cores(core_of, n, pre, post, target) if fan_out else 0
        return cores_of(core_of) + splitters, found.traffic(name)

    best_cores = min(cores_of(c) for c in found.values())
    offered = offer(best_cores) if offer is not None and partitioner == "auto" and n else None
    # METIS runs unless the alternative already needs at most half the cores; with a partition at
    # the lower bound already, it gets one attempt (it can only lower the traffic)
    if partitioner == Metis.name or (searching and n and (offered is None or 2 * offered[1] > best_cores)):
        passes.start("partition_metis")
        t = time.perf_counter()
        try:
            budget = 0.0 if best_cores <= bound and partitioner == "auto" else Metis.time_budget
            cutter = Metis(seed=seed, time_budget=budget, max_parts=best_cores if partitioner == "auto" else None)
            metis = cutter.run(n, pre, post, target, bound, rates, csr=csr, fan=fan, entries=entries)
            found[Metis.name] = metis
            if runs := cutter.report.get("runs"):
                choice.notes.append(f"METIS cut {runs} runs of {cutter.report['neurons_per_run']:.1f} "
                                    f"consecutive neurons into {cutter.report['parts']} parts (the neuron "
                                    f"graph is over {cutter.max_entries} adjacency entries); cores filled part "
                                    "by part")
        except UserError as exc:
            if partitioner == Metis.name:
                raise
            choice.notes.append(f"METIS was not used: {exc}")
        passes["partition_metis"] = time.perf_counter() - t
    choice.index_order_traffic = found.traffic(IndexOrder.name)  # the candidates' traffic in one pass
    locality = RcmOrder.name in found and found.traffic(RcmOrder.name) <= KAHYPAR_LOCALITY * choice.index_order_traffic
    small = pre.size + n <= KAHYPAR_AUTO_PINS  # pins: distinct (neuron, target) pairs + senders
    if partitioner == KaHyPar.name or (searching and n and locality and small
                                       and (offered is None or 2 * offered[1] > best_cores)):
        passes.start("partition_kahypar")
        t = time.perf_counter()
        best = found[min(found, key=rank)]
        khp = None
        if partitioner == KaHyPar.name or cores_of(best) > bound:  # anew into the bound's blocks, per neuron
            khp = KaHyPar(seed=seed).run(n, pre, post, target, bound, rates)
        if khp is None or (partitioner != KaHyPar.name and cores_of(khp) >= cores_of(best)):
            # refine the best so far, on pairs of neurons: within a few seconds on the NIR CNN
            refined = KaHyPar(seed=seed, run_length=KAHYPAR_AUTO_RUN).run(n, pre, post, target, bound, rates,
                                                                            start=best, order=rcm_order)
            if khp is None or (cores_of(refined), traffic(refined, pre, post, rates)) < (
                    cores_of(khp), traffic(khp, pre, post, rates)):
                khp = refined
        found[KaHyPar.name] = khp
        passes["partition_kahypar"] = time.perf_counter() - t
    elif searching and n and locality:
        choice.notes.append(f"Mt-KaHyPar was not used: the spike hypergraph has over {KAHYPAR_AUTO_PINS} pins")
    name = min(found, key=rank) if searching else partitioner
    choice.core_of, choice.name, choice.traffic = found[name], name, found.traffic(name)
    if offered is not None and offered[1] < cores_of(choice.core_of):
        choice.alternative = offered[0]
        choice.notes.append(f"partial sums: {offered[1]} cores against {cores_of(choice.core_of)} without them")
    elif searching:
        _polish(choice, choice.traffic, n, pre, post, target, partitioner, seed, rates, passes)
    return choice


def _polish(choice: Choice, start_traffic: float, n, pre, post, target, partitioner, seed, rates, passes) -> None:
    """CP-SAT from the chosen partition, on networks small enough."""
    exact = CpSatPartition(seed=seed) if partitioner == CpSatPartition.name else CpSatPartition(
        seed=seed, deterministic_time=1.0)
    pairs = distinct(pre.astype(np.int64) * n + post).size if n <= exact.max_neurons else 0
    k = cores_of(choice.core_of)
    if exact.applicable(n, pairs, k, target) and start_traffic > 0:
        passes.start("partition_cp_sat")
        t = time.perf_counter()
        res = exact.run(n, pre, post, target, choice.core_of, rates)
        passes["partition_cp_sat"] = time.perf_counter() - t
        choice.partitioning, choice.start = res, choice.name
        if (res.cores, res.traffic) < (k, start_traffic):
            choice.core_of, choice.name, choice.traffic = res.core_of, CpSatPartition.name, None
    elif partitioner == CpSatPartition.name:
        choice.notes.append(f"CP-SAT partitioning skipped: {n} neurons, {pairs} synapse pairs on {k} cores (it runs "
                            f"up to {exact.max_neurons} neurons and {exact.max_terms} pair-cores, on targets without "
                            "crossbars)")
