"""The partition stage: neurons onto cores, plain or through partial-sum compartments.

Fan-in beyond a core's axons goes through partial-sum compartments
(:mod:`nmcompiler.mapping.partial_sums`) on targets with graded messages; ``fan_in="auto"`` uses
them when some neuron needs them, or when the index-order partition needs more than
``AUTO_BOUND_RATIO`` times the lower bound and the compartments need fewer cores than the
per-neuron partitions (METIS is skipped when they need at most half of index order's cores).
Dense populations (mean fan-in above ``DENSE_FAN_IN`` of the axons) beside ones that need
compartments get them too unless index or RCM order maps them within ``AUTO_BOUND_RATIO`` of
their bound (neighbours of a convolution share their inputs; random fan-in does not).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from ..drc import Rule
from ..drc.rules import fan_in_per_neuron
from ..ir import Network
from ..mapping.choose import choose_partition, cores_of
from ..mapping.fill import fill_in_order, incoming
from ..mapping.partial_sums import PlanPartialSums, projection_tables
from ..mapping.partition import RcmOrder, cores_in_order
from ..mapping.usage import index_order_traffic, signed_input_rows, synapse_arrays
from ..targets import Target
from .pipeline import Stage, StageContext
from .state import CompileState, Partition
from .summaries import PartitioningSummary

__all__ = ["AUTO_BOUND_RATIO", "DENSE_FAN_IN", "PartitionNeurons", "trial_cores"]

AUTO_BOUND_RATIO = 1.1  # fan_in "auto": index order above this x the bound tries partial sums
DENSE_FAN_IN = 0.125  # with compartments anyway, also for populations with a mean fan-in above this x the axons


@dataclass(frozen=True)
class PartitionNeurons(Stage):
    name: ClassVar[str] = "partition"
    fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.POPULATION_SIZE})

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        net, target, opts = state.network, state.target, state.options
        graded = opts.graded(target)
        must, dense = needing_compartments(net, target) if graded and opts.fan_in == "auto" else ([], [])
        needs = [p.name for p in net.populations] if opts.fan_in == "partial-sums" else must
        if needs and state.index.n:
            return _with_compartments(state, ctx, needs, dense)
        index = state.index
        n = index.n
        pre, post = synapse_arrays(net, dict(index.offsets), n)
        plan = PlanPartialSums()

        def offer(best_cores: int):  # all neurons through compartments, if index and RCM order are far off
            if not (graded and opts.fan_in == "auto" and best_cores > AUTO_BOUND_RATIO * state.bound):
                return None
            with ctx.step("partition_partial_sums"):
                ps = plan.run(state.fixed_point, dict(index.offsets), n, index.n_pre, target)
            return ps, ps.cores

        groups = np.array(sorted({index.offsets[p.name] for p in net.populations if p.size}), dtype=np.int64)

        def choose(on: Target):
            return choose_partition(n, pre, post, on, state.bound, partitioner=opts.partitioner, seed=opts.seed,
                                    rates=state.rates, passes=ctx.passes, offer=offer, groups=groups)

        choice, rows_note = (_signed_rows(choose, target, state, pre, post) if target.core.signed_rows
                             else (choose(target), ()))
        notes = state.notes + tuple(choice.notes) + rows_note
        if choice.alternative is not None:
            ps = choice.alternative
            part = Partition(core_of=ps.soma_core, cores=ps.cores, name=PlanPartialSums.name,
                             index_order_traffic=choice.index_order_traffic, partial_sums=ps)
            return dataclasses.replace(state, partition=part, notes=notes)
        part = Partition(core_of=choice.core_of, cores=cores_of(choice.core_of), name=choice.name,
                         index_order_traffic=choice.index_order_traffic, partitioning=_partitioning(choice),
                         pre=pre, post=post, inter_core_spikes=choice.traffic)
        return dataclasses.replace(state, partition=part, notes=notes)


SIGNED_ROW_TRIES = 4  # partitions tried with fewer sources per core until the single-signed rows fit


def _signed_rows(choose, target: Target, state: CompileState, pre: np.ndarray, post: np.ndarray):
    """Single-signed rows (``core.signed_rows``): the partitioners count sources, a mixed-sign
    source takes a row per sign. While a core needs more rows than it has, partition again with
    the sources per core scaled down by the worst core's rows over its limit (never below the
    sources of one neuron: a core holds at least one)."""
    n = state.index.n
    pairs = np.unique(pre.astype(np.int64) * max(n, 1) + post)
    floor = int(np.bincount(pairs % max(n, 1), minlength=n).max(initial=0))
    limit, choice = target.core.input_axons, choose(target)
    for _ in range(SIGNED_ROW_TRIES):
        if choice.alternative is not None:
            return choice, ()
        rows = signed_input_rows(state.fixed_point, choice.core_of, cores_of(choice.core_of))
        if int(rows.max(initial=0)) <= target.core.input_axons:
            return choice, () if limit == target.core.input_axons else (
                f"rows hold one sign: partitioned with at most {limit} sources per core so that each core's "
                f"(source, sign) rows fit its {target.core.input_axons}",)
        tighter = max(floor, min(limit - 1, limit * target.core.input_axons // int(rows.max())))
        if tighter >= limit:
            break
        limit = tighter
        choice = choose(dataclasses.replace(target, core=dataclasses.replace(target.core, input_axons=limit)))
    return choice, ()  # still over: check_fit names the core


def _partitioning(choice) -> PartitioningSummary | None:
    res = choice.partitioning
    if res is None:
        return None
    return PartitioningSummary(start=choice.start, start_cores=res.start_cores, start_traffic=res.start_traffic,
                               cores=res.cores, traffic=res.traffic, traffic_lower_bound=res.traffic_lower_bound,
                               optimal=res.optimal, solver_status=res.status)


def needing_compartments(net: Network, target: Target) -> tuple[list[str], list[str]]:
    """Populations with a neuron whose inputs exceed a core's input axons or synapse memory and,
    when there are any, those whose mean fan-in exceeds ``DENSE_FAN_IN`` of the input axons (a
    core would hold only a few of their neurons unless they share inputs, as a convolution's
    neighbours do: they are tried per neuron first)."""
    c, bits = target.core, target.synapse_bits()
    must, dense = [], []
    for p in net.populations:
        fan = fan_in_per_neuron(net, p)
        worst = int(fan.max()) if fan.size else 0
        if worst > c.input_axons or worst * bits > c.synapse_memory_bits:
            must.append(p.name)
        elif fan.size and float(fan.mean()) > DENSE_FAN_IN * c.input_axons:
            dense.append(p.name)
    return (must, dense) if must else ([], [])


def _with_compartments(state: CompileState, ctx: StageContext, needs: list[str], dense: list[str]) -> CompileState:
    """Neurons of the populations ``needs`` get compartments; the others are partitioned as usual
    onto the first cores, with their own synapses. The ``dense`` among the others get
    compartments too unless index or RCM order maps them within ``AUTO_BOUND_RATIO`` of their bound."""
    net, target, index, opts = state.network, state.target, state.index, state.options
    n, offsets = index.n, dict(index.offsets)
    notes = list(state.notes)
    while True:
        mask = np.zeros(n, dtype=bool)
        for name in needs:
            mask[index.slice(name)] = True
        core_of = np.full(n, -1, dtype=np.int64)
        pre = post = None
        name, first = PlanPartialSums.name, 0
        if mask.all():
            break
        plain_pops = {p.name for p in net.populations} - set(needs)
        pre, post = synapse_arrays(net, offsets, n, onto=plain_pops)
        plain = np.flatnonzero(~mask)
        sub_pre, sub_post = _plain_subgraph(plain, pre, post, index.n_pre)
        c = target.core
        sub_bound = max(-(-plain.size // c.neurons), -(-post.size * target.synapse_bits() // c.synapse_memory_bits))
        if dense:
            with ctx.step("partition_per_neuron_trial"):
                trial = trial_cores(plain.size, sub_pre, sub_post, target, math.floor(AUTO_BOUND_RATIO * sub_bound))
            if trial > AUTO_BOUND_RATIO * sub_bound:
                del pre, post, sub_pre, sub_post
                notes.append(f"populations {', '.join(dense)}: index and RCM order need {trial} cores or more for the "
                             f"populations without compartments, against a bound of {sub_bound}: they get "
                             "partial-sum compartments too")
                needs, dense = [*needs, *dense], []
                continue
            notes.append(f"populations {', '.join(dense)}: mapped per neuron (index or RCM order: {trial} cores, "
                         f"bound {sub_bound}) rather than through compartments")
        choice = choose_partition(plain.size, sub_pre, sub_post, target, sub_bound, partitioner=opts.partitioner,
                                  seed=opts.seed, rates=None if state.rates is None else state.rates[plain],
                                  passes=ctx.passes)
        notes += choice.notes
        core_of[plain] = choice.core_of
        first, name = cores_of(choice.core_of), f"{choice.name}+{PlanPartialSums.name}"
        break
    with ctx.step("partition_partial_sums"):
        ps = PlanPartialSums().run(state.fixed_point, offsets, n, index.n_pre, target, neurons=mask, first_core=first)
    core_of[mask] = ps.soma_core[mask]
    if not mask.all():
        notes.append(f"partial-sum compartments for {', '.join(needs)}; the other populations on {first} cores "
                     "of their own")
    with ctx.step("index_order_baseline"):
        base = index_order_traffic(projection_tables(state.fixed_point, offsets, n), n, target, state.rates)
    notes.append("index-order traffic: neurons fill cores in index order by neurons and synapse memory, "
                 "axon limits ignored (no legal index-order mapping exists)")
    part = Partition(core_of=core_of, cores=ps.cores, name=name, index_order_traffic=base, pre=pre, post=post,
                     partial_sums=ps)
    return dataclasses.replace(state, partition=part, notes=tuple(notes))


def _plain_subgraph(plain: np.ndarray, pre: np.ndarray, post: np.ndarray, n_pre: int):
    """The synapses onto the neurons ``plain``, renumbered: those neurons first, then every other
    presynaptic index (neurons with compartments, sources) as an input without a core here."""
    local = np.full(n_pre, -1, dtype=np.int64)
    local[plain] = np.arange(plain.size)
    return _renumber(local, np.asarray(pre), np.asarray(post), plain.size)


@njit(cache=True, nogil=True)
def _renumber(local, pre, post, first):
    """``local[p]`` of each presynaptic index ``p``, the ones without (``-1``) numbered from
    ``first`` in ascending ``p``; and ``local`` of each postsynaptic index (one pass: numpy's
    gather by int32 indices took 2.3 s on the full-scale microcircuit)."""
    outside = np.zeros(local.size + 1, dtype=np.int64)
    for p in pre:
        if local[p] < 0:
            outside[p + 1] = 1
    for p in range(local.size):
        outside[p + 1] += outside[p]
    out = np.empty(pre.size, dtype=np.int64)
    out_post = np.empty(post.size, dtype=np.int64)
    for s in range(pre.size):
        p = pre[s]
        out[s] = local[p] if local[p] >= 0 else first + outside[p]
        out_post[s] = local[post[s]]
    return out, out_post


def trial_cores(n: int, pre: np.ndarray, post: np.ndarray, target: Target, limit: int) -> int:
    """The fewer cores of index and RCM order (:func:`nmcompiler.mapping.partition.cores_in_order`),
    exact when at most ``limit``; above it, the fill's cores, a lower bound (splitting cores over
    their output axons only adds cores), which spares the exact usage pass of a partition that is
    rejected anyway (the full-scale microcircuit: 8.5 s)."""
    orders = (np.arange(n, dtype=np.int64), RcmOrder.order(n, pre, post))  # before the CSR: not both at once
    csr = incoming(n, pre, post)
    fan = np.diff(csr[0])  # fan-in: counted for the CSR already
    fewest = None
    for order in orders:
        filled = fill_in_order(order, n, pre, post, target, csr)
        k = int(filled[-1]) + 1 if n else 0
        if k <= limit:
            k = cores_of(cores_in_order(order, n, pre, post, target, csr=csr, fan=fan, filled=filled))
        fewest = k if fewest is None else min(fewest, k)
    return fewest
