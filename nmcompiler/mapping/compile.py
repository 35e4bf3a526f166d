"""The compile flow: check -> legalize -> quantize -> partition -> place -> route, with per-pass
timings and a report.

Fan-in beyond a core's axons goes through partial-sum compartments (:mod:`.partial_sums`) on
targets with graded messages; ``fan_in="auto"`` uses them when some neuron needs them, or when
the index-order partition needs more than ``AUTO_BOUND_RATIO`` times the lower bound and the
compartments need fewer cores than the per-neuron partitions (METIS is skipped when they need
at most half of index order's cores). Networks that cannot be legalized are rejected with every
violated limit listed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from ..drc import check, cores_lower_bound
from ..drc.rules import Violation, fan_in_per_neuron, target_for
from ..errors import Diagnostic, UserError, ValidationError
from ..ir import CurrentSource, Network
from ..ir.fixed_point import FixedPointNetwork
from ..passes import ClusterWeights, Quantize, RelayLongDelays
from ..passes.axon_types import AssignAxonTypes
from ..passes.split_fan_out import SplitFanOut
from ..lowered import neuron_index
from ..targets import Target
from .mapping import Mapping
from .passlog import PassLog
from .partial_sums import PlanPartialSums, projection_tables, usage_and_traffic
from .choose import PARTITIONERS, choose_partition, cores_of
from .fill import fan_in, fill_in_order, incoming
from .partition import RcmOrder, cores_in_order, over_limits
from .place import SwapRefinement, core_traffic, slot_positions
from .place_cpsat import CpSatPlacement, placement_cost
from .place_refine import SparseSwapRefinement
from .place_large import SnakePlacement, bisection_positions, pair_hops, placement_cost_sparse, sparse_core_traffic
from .route import route_dimension_order
from .tables import build_tables
from .usage import axons_per_neuron, core_pairs, crossbar_input_axons, core_usage, index_order_traffic, synapse_arrays, traffic

__all__ = ["CompileReport", "RateSource", "compile_network"]

_PARTITIONING_FIXES = {"population_size", "fan_out_splitters"}  # resolved by / after partitioning
_LEGALIZED = {"delay_range", "axon_type_weights"}  # what the legalization passes below resolve
_PARTIAL_SUM_FIXES = {"neuron_fan_in", "neuron_synapse_memory"}  # resolved by partial-sum compartments
AUTO_CP_SAT_SLOTS = 6  # placer "auto": CP-SAT after the swap search when the chips used have at most this many
AUTO_CP_SAT_TIME = 0.5  # positions (it proves small meshes optimal in milliseconds), with this budget (deterministic s)
AUTO_BOUND_RATIO = 1.1  # fan_in "auto": index order above this x the bound tries partial sums
DENSE_FAN_IN = 0.125  # with compartments anyway, also for populations with a mean fan-in above this x the axons


@dataclass(frozen=True, kw_only=True)
class CompileReport:
    network: str
    target: str
    fits: bool
    cores_used: int
    cores_lower_bound: int
    partitioner: str
    inter_core_spikes: float  # per second (1 Hz per neuron unless rates were measured)
    inter_core_spikes_index_order: float | None  # None: too large to compute
    average_hops: float  # per synapse between neurons, with the refined placement
    average_hops_index_order: float  # the same partition placed in index order
    max_link_load: float | None  # spikes per second on the busiest link (dimension-order routing)
    total_link_load: float | None  # sum over links: spikes per second x hops
    rates_measured: bool  # traffic figures use simulated rates (else 1 Hz per neuron)
    routing_table_entries: tuple[int, int] | None  # keyed routing: most entries on a chip, before/after compression
    misfits: list[str]  # why it does not fit (empty when it fits)
    passes: dict[str, float]
    utilization: dict[str, dict[str, float]]
    notes: list[str] = field(default_factory=list)
    placement: dict = field(default_factory=dict)  # method, cost (traffic x hops), CP-SAT bound and status
    partial_sums: dict | None = None  # compartments, soma/dendrite cores, messages/s, late synapses
    partitioning: dict = field(default_factory=dict)  # CP-SAT partitioning: start, result, bound, status

    def to_json(self) -> dict:
        return dict(vars(self))


#: firing rates (spikes per second) of every neuron of a network, in index order (``nmcompiler.flow.float_rates``)
RateSource = Callable[[Network], np.ndarray]


def compile_network(net: Network, target: Target, *, seed: int = 0, rates: RateSource | None = None,
                    partitioner: str = "auto", placer: str = "auto",
                    fan_in: str = "auto", progress: Callable[[str], None] | None = None,
                    ) -> tuple[Mapping, FixedPointNetwork, CompileReport]:
    """Map ``net`` onto ``target``. The returned fixed-point network is the legalized one (with its
    relay populations), i.e. what the mapping's ``core_of`` indexes. ``rates``, called with that
    network, gives the firing rates that weight partitioning, placement and the traffic figures
    (otherwise every neuron counts as 1 Hz). ``placer``: "swap" (pairwise swap
    search, see ``place``), "cp-sat" (then CP-SAT over every position of the chips used, up to
    ``CpSatPlacement.max_cores`` cores), "auto" (CP-SAT with a small budget when the chips used
    have at most ``AUTO_CP_SAT_SLOTS`` positions). ``fan_in``: "partial-sums" (always), "none" (never), "auto".
    ``progress(name)`` is called as each pass begins (names as in the report's ``passes``)."""
    if placer not in ("auto", "swap", "cp-sat"):
        raise UserError(f"unknown placer '{placer}' (use auto, swap or cp-sat)")
    if partitioner not in PARTITIONERS:
        raise UserError(f"unknown partitioner '{partitioner}' (use {', '.join(PARTITIONERS)})")
    if fan_in not in ("auto", "partial-sums", "none"):
        raise UserError(f"unknown fan-in option '{fan_in}' (use auto, partial-sums or none)")
    graded = bool(target.core.partial_sum_bits) and fan_in != "none"
    if fan_in == "partial-sums" and not graded:
        raise UserError(f"{target.name} sends spikes only (no core.partial_sum_bits): partial sums need graded "
                        "messages")
    passes = PassLog(progress)
    passes.start("design_rules")
    t = time.perf_counter()
    violations = check(net, target)
    passes["design_rules"] = time.perf_counter() - t
    resolved = _PARTITIONING_FIXES | (_PARTIAL_SUM_FIXES if graded else set())
    legalized = []
    pending = set(_LEGALIZED)  # legalized below unless something else blocks: then not listed as errors
    if not any(v.rule not in resolved | _LEGALIZED for v in violations):
        pending = set()
        if any(v.rule == "delay_range" for v in violations):
            passes.start("legalize_delays")
            t = time.perf_counter()
            net = RelayLongDelays(max_delay=target.format.delay_max).run(net)
            passes["legalize_delays"] = time.perf_counter() - t
            legalized += [f"relayed: {v}" for v in violations if v.rule == "delay_range"]
        if any(v.rule == "axon_type_weights" for v in violations):
            passes.start("legalize_weights")
            t = time.perf_counter()
            clustering = ClusterWeights(levels=target.core.axon_types)
            net = clustering.run(net)
            passes["legalize_weights"] = time.perf_counter() - t
            legalized += [f"clustered weights of population '{p}' into {clustering.levels} values: RMS error "
                          f"{e['rms_error']:.3g} (RMS weight {e['rms_weight']:.3g}), largest {e['max_error']:.3g}"
                          for p, e in clustering.report.items()]
        violations = check(net, target)  # nothing an earlier pass fixed may come back
    blocking = [v for v in violations if v.rule not in resolved | pending]
    if blocking:
        implemented = _LEGALIZED | _PARTIAL_SUM_FIXES  # rules with a legalization in this flow
        raise ValidationError([Diagnostic(where="", message=v.message + (
            " (legalization passes are not implemented yet)" if v.legalizable and v.rule not in implemented else ""))
            for v in blocking])
    if (chained := target_for(net, target)) is not target:  # what check() and the bound counted with
        target = chained
        legalized.append(f"multi-compartment neurons: {target.format.receptors} current channels per neuron in "
                         f"{target.core.compartments_per_neuron} compartments, {target.core.neurons} neurons per core")
    passes.start("quantize")
    t = time.perf_counter()
    fx = Quantize(fmt=target.format).run(net)
    passes["quantize"] = time.perf_counter() - t
    layout = neuron_index(net)
    n = layout.n
    offsets = dict(layout.offsets)
    n_pre = n + sum(s.size for s in net.sources if not isinstance(s, CurrentSource))
    rate_source, rates = rates, None
    if rate_source is not None:
        passes.start("rates")
        t = time.perf_counter()
        rates = np.asarray(rate_source(net), dtype=np.float64)
        passes["rates"] = time.perf_counter() - t
    bound = cores_lower_bound(net, target)
    notes: list[str] = []
    plan = PlanPartialSums()
    must, dense = _needing_compartments(net, target) if graded and fan_in == "auto" else ([], [])
    needs = [p.name for p in net.populations] if fan_in == "partial-sums" else must
    if needs and n:
        return _compile_with_compartments(net, fx, target, needs, layout, n_pre, rates, bound, partitioner, placer,
                                          seed, passes, violations, legalized, notes, dense=dense)
    pre, post = synapse_arrays(net, offsets, n)

    def offer(best_cores: int):  # all neurons through compartments, if index and RCM order are far off
        if not (graded and fan_in == "auto" and best_cores > AUTO_BOUND_RATIO * bound):
            return None
        passes.start("partition_partial_sums")
        t = time.perf_counter()
        ps = plan.run(fx, offsets, n, n_pre, target)
        passes["partition_partial_sums"] = time.perf_counter() - t
        return ps, ps.cores

    choice = choose_partition(n, pre, post, target, bound, partitioner=partitioner, seed=seed, rates=rates,
                              passes=passes, offer=offer)
    notes += choice.notes
    if choice.alternative is not None:
        ps = choice.alternative
        return _finish_partial_sums(net, fx, target, ps, ps.soma_core, None, PlanPartialSums.name, layout, n_pre,
                                    rates, bound, choice.index_order_traffic, placer, seed, passes, violations,
                                    legalized, notes)
    chosen, name, partitioning = choice.core_of, choice.name, choice.partitioning
    base_traffic = choice.index_order_traffic
    per = target.core.fan_out_per_neuron
    if per is not None and n and int(axons_per_neuron(fx, chosen).max()) > per:
        passes.start("legalize_fan_out")
        t = time.perf_counter()
        splitting = SplitFanOut(per_neuron=per, neurons_per_core=target.core.neurons,
                                axons_per_core=target.core.input_axons, delay_max=target.format.delay_max)
        old_n = n
        net, chosen = splitting.run(net, chosen)
        fx = Quantize(fmt=target.format).run(net)  # the splitters' scale; other populations keep theirs
        layout = neuron_index(net)
        n = layout.n
        pre, post = synapse_arrays(net, layout.offsets, n)
        if rates is not None:  # a splitter fires with its source
            rates = np.concatenate([rates, rates[splitting.owners]])
        passes["legalize_fan_out"] = time.perf_counter() - t
        r = splitting.report
        legalized.append(f"splitter neurons: {r['split_neurons']} neurons reach more than {per} axon(s); "
                         f"{r['splitters']} splitters on {int(chosen.max()) + 1 - (int(chosen[:old_n].max()) + 1)} "
                         f"new cores; {r['late_synapses']} synapses of delay 1 arrive one tick late")
    n_cores = int(chosen.max()) + 1 if n else 0
    axon_types: dict = {}
    if target.core.synapse_storage == "crossbar" and n:
        passes.start("legalize_axon_types")
        t = time.perf_counter()
        assign = AssignAxonTypes(types=target.core.axon_types or 1)
        fx = assign.run(fx, chosen)
        axon_types = assign.assignment
        passes["legalize_axon_types"] = time.perf_counter() - t
        legalized += [f"core {c}: axon types made consistent across the core's neurons: {e['changed']} of "
                      f"{e['synapses']} synapses changed, RMS error {e['rms_error']:.3g} (RMS weight "
                      f"{e['rms_weight']:.3g}), largest {e['max_error']:.3g} (integer units)"
                      for c, e in assign.report.items() if e["changed"]]
    passes.start("place")
    t = time.perf_counter()
    pairs = core_pairs(chosen, n_cores, pre, post, rates)  # None: too many cores for dense matrices
    if pairs is not None:
        matrix = pairs.spikes if n_cores <= SwapRefinement.max_cores else sparse.csr_matrix(pairs.spikes)
    else:
        matrix = (core_traffic(chosen, n_cores, pre, post, rates) if n_cores <= SwapRefinement.max_cores
                  else sparse_core_traffic(chosen, n_cores, pre, post, rates))
    position, placement = _place(matrix, n_cores, target, placer, seed, notes)
    passes["place"] = time.perf_counter() - t
    misfits: list[str] = []
    max_link, total_link, table_entries = _route(matrix, position, n_cores, target, passes, misfits)
    usage = core_usage(chosen, n_cores, pre, post, target)
    if target.storage.axon_per_delay and n:  # an axon per (source, delay): the partitioners counted sources
        usage = dataclasses.replace(usage, input_axons=crossbar_input_axons(fx, chosen, n_cores))
    if n_cores > target.max_cores:
        misfits.append(f"{n_cores} cores, the largest {target.name} machine has {target.max_cores}"
                       + (": run with --size" if target.sizing is not None else ""))
    if per is not None and n:
        over = np.flatnonzero(axons_per_neuron(fx, chosen) > per)
        if over.size:
            pop = next(p for p, off in sorted(layout.offsets.items(), key=lambda x: -x[1]) if off <= over[0])
            misfits.append(f"{over.size} neurons (first: '{pop}'[{int(over[0] - layout.offsets[pop])}]) send to more "
                           f"than {per} axon(s) (distinct destination core and delay) even after splitter neurons; "
                           f"{target.name} neurons reach {per}")
    misfits += over_limits(usage, target)  # partitioners guarantee none; re-checked before anything is written
    ok = not misfits
    mapping = Mapping(target=target, core_of=chosen, position=position, usage=usage, offsets=dict(layout.offsets),
                      axon_types=axon_types)
    hops = hops_index_order = 0.0
    if n_cores > 1 and pairs is not None:  # mean over synapses between neurons, from the core pairs
        a, b = np.nonzero(pairs.synapses)
        w = pairs.synapses[a, b]
        if w.size:
            hops = float((w * pair_hops(position, a, b, target)).sum() / w.sum())
            hops_index_order = float((w * pair_hops(slot_positions(n_cores, target), a, b, target)).sum() / w.sum())
    elif n_cores > 1:
        is_neuron = pre < n
        a, b = chosen[pre[is_neuron]], chosen[post[is_neuron]]
        if a.size:
            hops = float(np.mean(pair_hops(position, a, b, target)))
            hops_index_order = float(np.mean(pair_hops(slot_positions(n_cores, target), a, b, target)))
    c = target.core
    util = {
        "neurons": _stats(usage.neurons / c.neurons),
        "synapse_memory": _stats(usage.synapse_bits / c.synapse_memory_bits),
        "input_axons": _stats(usage.input_axons / c.input_axons),
        "output_axons": _stats(usage.output_axons / c.output_axons),
    }
    notes = [_resolved(v) for v in violations if v.rule in _PARTITIONING_FIXES] + legalized + notes
    report = CompileReport(network=net.name, target=target.name, fits=ok, cores_used=n_cores, cores_lower_bound=bound,
                           partitioner=name, inter_core_spikes=traffic(chosen, pre, post, rates),
                           inter_core_spikes_index_order=base_traffic, average_hops=hops,
                           average_hops_index_order=hops_index_order, max_link_load=max_link,
                           total_link_load=total_link, rates_measured=rates is not None,
                           routing_table_entries=table_entries, misfits=misfits,
                           passes={k: round(v, 4) for k, v in passes.items()}, utilization=util, notes=notes,
                           placement=placement, partitioning=partitioning)
    return mapping, fx, report


def _needing_compartments(net: Network, target: Target) -> tuple[list[str], list[str]]:
    """Populations with a neuron whose inputs exceed a core's input axons or synapse memory and,
    when there are any, those whose mean fan-in exceeds ``DENSE_FAN_IN`` of the input axons (a
    core would hold only a few of their neurons unless they share inputs, as a convolution's
    neighbours do: :func:`_compile_with_compartments` tries them per neuron first)."""
    c, bits = target.core, target.synapse_bits()
    must, dense = [], []
    for p in net.populations:
        fan_in = fan_in_per_neuron(net, p)
        worst = int(fan_in.max()) if fan_in.size else 0
        if worst > c.input_axons or worst * bits > c.synapse_memory_bits:
            must.append(p.name)
        elif fan_in.size and float(fan_in.mean()) > DENSE_FAN_IN * c.input_axons:
            dense.append(p.name)
    return (must, dense) if must else ([], [])


def _compile_with_compartments(net, fx, target, needs, layout, n_pre, rates, bound, partitioner, placer, seed,
                               passes, violations, legalized, notes, dense=()):
    """Neurons of the populations ``needs`` get compartments; the others are partitioned as usual
    onto the first cores, with their own synapses. The ``dense`` populations among the others
    get compartments too unless index or RCM order maps them within ``AUTO_BOUND_RATIO`` of
    their bound (neighbours of a convolution share their inputs; random fan-in does not)."""
    n = layout.n
    offsets = dict(layout.offsets)
    mask = np.zeros(n, dtype=bool)
    for name in needs:
        mask[layout.slice(name)] = True
    core_of = np.full(n, -1, dtype=np.int64)
    direct, name, first = None, PlanPartialSums.name, 0
    if not mask.all():
        plain_pops = {p.name for p in net.populations} - set(needs)
        pre, post = synapse_arrays(net, offsets, n, onto=plain_pops)
        plain = np.flatnonzero(~mask)
        local = np.full(n_pre, -1, dtype=np.int64)
        local[plain] = np.arange(plain.size)
        outside = local[pre] < 0  # neurons with compartments and sources: inputs without a core here
        _, rank = np.unique(pre[outside], return_inverse=True)
        sub_pre = local[pre]
        sub_pre[outside] = plain.size + rank
        sub_post = local[post]
        c = target.core
        sub_bound = max(-(-plain.size // c.neurons), -(-post.size * target.synapse_bits() // c.synapse_memory_bits))
        if dense:
            passes.start("partition_per_neuron_trial")
            t = time.perf_counter()
            trial = _trial_cores(plain.size, sub_pre, sub_post, target, math.floor(AUTO_BOUND_RATIO * sub_bound))
            passes["partition_per_neuron_trial"] = time.perf_counter() - t
            if trial > AUTO_BOUND_RATIO * sub_bound:
                del pre, post, sub_pre, sub_post, local, outside, rank
                notes.append(f"populations {', '.join(dense)}: index and RCM order need {trial} cores or more for the "
                             f"populations without compartments, against a bound of {sub_bound}: they get "
                             "partial-sum compartments too")
                return _compile_with_compartments(net, fx, target, [*needs, *dense], layout, n_pre, rates, bound,
                                                  partitioner, placer, seed, passes, violations, legalized, notes)
            notes.append(f"populations {', '.join(dense)}: mapped per neuron (index or RCM order: {trial} cores, "
                         f"bound {sub_bound}) rather than through compartments")
        choice = choose_partition(plain.size, sub_pre, sub_post, target, sub_bound, partitioner=partitioner,
                                  seed=seed, rates=None if rates is None else rates[plain], passes=passes)
        notes += choice.notes
        core_of[plain] = choice.core_of
        first, name, direct = cores_of(choice.core_of), f"{choice.name}+{PlanPartialSums.name}", (pre, post)
    passes.start("partition_partial_sums")
    t = time.perf_counter()
    ps = PlanPartialSums().run(fx, offsets, n, n_pre, target, neurons=mask, first_core=first)
    passes["partition_partial_sums"] = time.perf_counter() - t
    core_of[mask] = ps.soma_core[mask]
    if not mask.all():
        notes.append(f"partial-sum compartments for {', '.join(needs)}; the other populations on {first} cores "
                     "of their own")
    passes.start("index_order_baseline")
    t = time.perf_counter()
    base_traffic = index_order_traffic(projection_tables(fx, offsets, n), n, target, rates)
    passes["index_order_baseline"] = time.perf_counter() - t
    notes.append("index-order traffic: neurons fill cores in index order by neurons and synapse memory, "
                 "axon limits ignored (no legal index-order mapping exists)")
    return _finish_partial_sums(net, fx, target, ps, core_of, direct, name, layout, n_pre, rates, bound, base_traffic,
                                placer, seed, passes, violations, legalized, notes)


def _finish_partial_sums(net, fx, target, ps, core_of, direct, name, layout, n_pre, rates, bound, base_traffic,
                         placer, seed, passes, violations, legalized, notes):
    """Place, route, check and report a mapping with partial-sum compartments."""
    passes.start("usage_traffic")
    t = time.perf_counter()
    usage, matrix, spikes, messages = usage_and_traffic(ps, fx, dict(layout.offsets), n_pre, target, net.dt,
                                                        core_of, rates, direct)
    passes["usage_traffic"] = time.perf_counter() - t
    k = ps.cores
    passes.start("place")
    t = time.perf_counter()
    dense = matrix.toarray() if k <= SwapRefinement.max_cores else matrix
    if k <= SwapRefinement.max_cores:
        np.fill_diagonal(dense, 0.0)
    position, placement = _place(dense, k, target, placer, seed, notes)
    passes["place"] = time.perf_counter() - t
    misfits: list[str] = []
    max_link, total_link, table_entries = _route(dense, position, k, target, passes, misfits)
    if k > target.max_cores:
        misfits.append(f"{k} cores, the largest {target.name} machine has {target.max_cores}"
                       + (": run with --size" if target.sizing is not None else ""))
    misfits += over_limits(usage, target)  # the packing guarantees none; re-checked before anything is written
    coo = matrix.tocoo()
    off = coo.row != coo.col
    w, a, b = coo.data[off], coo.row[off], coo.col[off]
    total = float(w.sum())
    hops = float((w * pair_hops(position, a, b, target)).sum() / total) if total else 0.0
    hops_index_order = float((w * pair_hops(slot_positions(k, target), a, b, target)).sum() / total) if total else 0.0
    if ps.late_synapses:
        notes.append(f"partial sums: {ps.late_synapses} synapses of delay 1 reach their neuron one tick late "
                     "(longer delays are stored one tick shorter in the compartments)")
    if ps.payload_overflow:
        notes.append(f"partial sums: {ps.payload_overflow} compartments could exceed the {target.core.partial_sum_bits}"
                     "-bit message payload; their messages saturate and the output may differ from the unmapped "
                     "network's")
    c = target.core
    util = {"neurons": _stats(usage.neurons / c.neurons),
            "synapse_memory": _stats(usage.synapse_bits / c.synapse_memory_bits),
            "input_axons": _stats(usage.input_axons / c.input_axons),
            "output_axons": _stats(usage.output_axons / c.output_axons)}
    mapping = Mapping(target=target, core_of=core_of, position=position, usage=usage,
                      offsets=dict(layout.offsets), partial_sums=ps)
    summary = {"compartments": ps.compartments, "blocks": int(ps.compartment.shape[0]), "block_size": ps.block_size,
               "plain_cores": ps.first_core, "soma_cores": ps.soma_cores,
               "dendrite_cores": ps.cores - ps.first_core - ps.soma_cores,
               "neurons_on_dendrite_cores": int(np.count_nonzero(ps.soma_core >= ps.first_core + ps.soma_cores)),
               "messages_per_second": messages, "late_synapses": ps.late_synapses,
               "payload_overflow": ps.payload_overflow, "payload_bits": c.partial_sum_bits}
    notes = [_resolved(v) for v in violations if v.rule in _PARTITIONING_FIXES | _PARTIAL_SUM_FIXES] + legalized + notes
    report = CompileReport(network=net.name, target=target.name, fits=not misfits, cores_used=k,
                           cores_lower_bound=bound, partitioner=name, inter_core_spikes=spikes,
                           inter_core_spikes_index_order=base_traffic,
                           average_hops=hops, average_hops_index_order=hops_index_order, max_link_load=max_link,
                           total_link_load=total_link, rates_measured=rates is not None,
                           routing_table_entries=table_entries, misfits=misfits,
                           passes={key: round(v, 4) for key, v in passes.items()}, utilization=util, notes=notes,
                           placement=placement, partial_sums=summary)
    return mapping, fx, report


def _place(matrix, n_cores: int, target: Target, placer: str, seed: int, notes: list[str]):
    """Positions for a dense (small) or sparse (large) core traffic matrix, and what was done."""
    placement: dict = {"method": "index-order"}
    if not hasattr(matrix, "tocsr"):
        position = SwapRefinement(seed=seed).run(matrix, target)
        placement = {"method": SwapRefinement.name, "cost": placement_cost(matrix, position, target),
                     "index_order_cost": placement_cost(matrix, slot_positions(n_cores, target), target)}
        exact = placer == "cp-sat" and n_cores <= CpSatPlacement.max_cores
        slots = -(-n_cores // target.chip.cores_per_chip) * target.chip.cores_per_chip
        if exact or (placer == "auto" and n_cores >= 3 and slots <= AUTO_CP_SAT_SLOTS):
            solver = CpSatPlacement(seed=seed) if exact else CpSatPlacement(seed=seed, deterministic_time=AUTO_CP_SAT_TIME)
            res = solver.run(matrix, target, position)
            position = res.position
            placement |= {"method": f"{SwapRefinement.name}+{CpSatPlacement.name}", "cost": res.cost,
                          "swap_cost": res.start_cost, "lower_bound": res.lower_bound, "optimal": res.optimal,
                          "solver_status": res.status}
        elif placer == "cp-sat":
            notes.append(f"CP-SAT placement skipped: {n_cores} cores (it runs up to {CpSatPlacement.max_cores})")
        return position, placement
    candidates = {"index-order": slot_positions(n_cores, target),  # the first one wins ties
                  SnakePlacement.name: SnakePlacement().run(matrix, target),
                  "bisection": bisection_positions(matrix, target, seed)}
    costs = {k: placement_cost_sparse(matrix, p, target) for k, p in candidates.items()}
    best = min(costs, key=lambda k: costs[k])
    position = SparseSwapRefinement().run(matrix, candidates[best], target)
    cost = placement_cost_sparse(matrix, position, target)
    placement = {"method": f"{best}+{SparseSwapRefinement.name}", "cost": cost,
                 "unrefined_cost": costs[best]} | {f"{k}_cost": v for k, v in costs.items()}
    return position, placement


def _route(matrix, position: np.ndarray, n_cores: int, target: Target, passes: dict, misfits: list[str]):
    """Link loads and routing tables; (max link load, total link load, table entries before/after)."""
    if n_cores <= 1:
        return None, None, None
    passes.start("route")
    t = time.perf_counter()
    loads = route_dimension_order(position, matrix, target)
    table_entries = None
    if target.routing.table_entries:
        tables = build_tables(matrix, position, target)
        table_entries = (tables.max_entries_before, tables.max_entries)
        if tables.max_entries > target.routing.table_entries:
            misfits.append(f"a chip needs {tables.max_entries} routing-table entries after compression, "
                           f"{target.name} chips hold {target.routing.table_entries}")
    passes["route"] = time.perf_counter() - t
    return loads.max, loads.total, table_entries


def _trial_cores(n: int, pre: np.ndarray, post: np.ndarray, target: Target, limit: int) -> int:
    """The fewer cores of index and RCM order (:func:`.partition.cores_in_order`), exact when at
    most ``limit``; above it, the fill's cores, a lower bound (splitting cores over their output
    axons only adds cores), which spares the exact usage pass of a partition that is rejected
    anyway (the full-scale microcircuit: 8.5 s)."""
    orders = (np.arange(n, dtype=np.int64), RcmOrder.order(n, pre, post))  # before the CSR: not both at once
    csr, fan = incoming(n, pre, post), fan_in(n, post)
    fewest = None
    for order in orders:
        filled = fill_in_order(order, n, pre, post, target, csr)
        k = int(filled[-1]) + 1 if n else 0
        if k <= limit:
            k = cores_of(cores_in_order(order, n, pre, post, target, csr=csr, fan=fan, filled=filled))
        fewest = k if fewest is None else min(fewest, k)
    return fewest


def _resolved(v: Violation) -> str:
    """A violation the compile flow resolved, as a note (the checker's fix is for ``nmc check``)."""
    if v.rule == "population_size":
        return f"{v.subject} has {v.amount} {v.resource}, core limit {v.limit}: split across cores"
    return str(v)


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"max": float(x.max()) if x.size else 0.0, "mean": float(x.mean()) if x.size else 0.0}
