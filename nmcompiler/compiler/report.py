"""The compile report and the mapping, read off the final state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..drc import Rule
from ..mapping.conv_assign import LayerPart
from ..mapping.mapping import Mapping
from ..targets.convolution import ConvCore
from ..mapping.place import slot_positions
from ..mapping.place_large import pair_hops
from .legalize import resolved_note
from .state import CompileState
from .summaries import PartialSumSummary, PartitioningSummary, PlacementSummary

__all__ = ["CompileReport", "LayerUse", "build_mapping", "build_report"]


@dataclass(frozen=True, kw_only=True)
class LayerUse:
    """A layer part on a convolution core and that core's memories (None: not placed)."""

    part: LayerPart
    limit: ConvCore | None

    def to_json(self) -> dict:
        return self.part.to_json() | {f"{m}_limit": None if self.limit is None else getattr(self.limit, m)
                                      for m in ("kernel_words", "neuron_words", "bias_words")}


@dataclass(frozen=True, kw_only=True)
class CompileReport:
    network: str
    target: str
    fits: bool
    cores_used: int
    cores_lower_bound: int
    partitioner: str
    inter_core_spikes: float  # per second (1 Hz per neuron unless rates were measured)
    inter_core_spikes_index_order: float | None  # None: too large, or a structural mapping (layers, ports, CAM)
    average_hops: float  # per synapse between neurons, with the refined placement
    average_hops_index_order: float  # the same partition placed in index order
    max_link_load: float | None  # spikes per second on the busiest link (dimension-order routing)
    total_link_load: float | None  # sum over links: spikes per second x hops
    rates_measured: bool  # traffic figures use simulated rates (else 1 Hz per neuron)
    routing_table_entries: tuple[int, int] | None  # keyed routing: most entries on a chip, before/after compression
    misfits: list[str]  # why it does not fit (empty when it fits)
    passes: dict[str, float]
    utilization: dict[str, dict[str, float]]
    placement: PlacementSummary
    notes: list[str] = field(default_factory=list)
    partial_sums: PartialSumSummary | None = None  # compartments, soma/dendrite cores, messages/s, late synapses
    partitioning: PartitioningSummary | None = None  # CP-SAT partitioning: start, result, bound, status
    # convolution targets: each layer part, its chip core (-1: not placed) and its memories against the core's
    layers: tuple[LayerUse, ...] | None = None

    def to_json(self) -> dict:
        out = dict(vars(self))
        if out["layers"] is None:  # not a convolution target: the report as before it existed
            del out["layers"]
        else:
            out["layers"] = [use.to_json() for use in self.layers]
        return out | {"placement": self.placement.to_json(),
                                   "partial_sums": None if self.partial_sums is None else self.partial_sums.to_json(),
                                   "partitioning": {} if self.partitioning is None else self.partitioning.to_json()}


def build_mapping(state: CompileState) -> Mapping:
    part = state.partition
    return Mapping(target=state.target, core_of=part.core_of, position=state.placement.position, usage=state.usage,
                   offsets=dict(state.index.offsets), axon_types=state.axon_types, partial_sums=part.partial_sums,
                   routes=state.routes, layer_parts=() if state.assignment is None else state.assignment.parts,
                   cam_bases=state.cam_bases)


def build_report(state: CompileState, passes: dict[str, float]) -> CompileReport:
    part, target, routes = state.partition, state.target, state.routes
    ps = part.partial_sums
    hops, hops_index_order = _hops(state)
    resolved = _resolved_rules(state)
    notes = [resolved_note(v) for v in state.violations if v.rule in resolved] + list(state.legalized) + list(state.notes)
    if ps is not None:
        notes += _partial_sum_notes(state)
    notes += [f"population '{pop}': {w}" for pop, r in state.fixed_point.report.items() for w in r.warnings]
    util = {kind: _stats(share) for kind, share in state.usage.utilization(target.core).items()}
    return CompileReport(
        network=state.network.name, target=target.name, fits=not state.misfits, cores_used=part.cores,
        cores_lower_bound=state.bound, partitioner=part.name, inter_core_spikes=state.inter_core_spikes,
        inter_core_spikes_index_order=part.index_order_traffic, average_hops=hops,
        average_hops_index_order=hops_index_order,
        max_link_load=routes.max_link_load, total_link_load=routes.total_link_load,
        rates_measured=state.rates is not None,
        routing_table_entries=None if routes.tables is None or part.cores <= 1
        else (routes.tables.max_entries_before, routes.tables.max_entries), misfits=list(state.misfits),
        passes={k: round(v, 4) for k, v in passes.items()}, utilization=util, notes=notes,
        placement=state.placement.summary, partial_sums=None if ps is None else _partial_sum_summary(state),
        partitioning=part.partitioning if ps is None else None, layers=_layers(state))


def _layers(state: CompileState) -> tuple[LayerUse, ...] | None:
    if state.assignment is None:
        return None
    cores = state.target.convolution.cores
    return tuple(LayerUse(part=p, limit=cores[p.core] if p.core >= 0 else None) for p in state.assignment.parts)


def _resolved_rules(state: CompileState) -> set[str]:
    """The rules whose violations the flow resolved after quantization (reported as notes)."""
    rules = {Rule.POPULATION_SIZE, Rule.FAN_OUT_SPLITTERS, Rule.CAM_BASE_WEIGHTS}
    if state.partition.partial_sums is not None:
        rules |= {Rule.NEURON_FAN_IN, Rule.NEURON_SYNAPSE_MEMORY}
    return rules


def _hops(state: CompileState) -> tuple[float, float]:
    """Mean hops per synapse between neurons (or per unit of traffic, with partial sums), placed and
    in index order."""
    part, target, placement = state.partition, state.target, state.placement
    k, position = part.cores, placement.position
    if k <= 1:
        return 0.0, 0.0
    if part.partial_sums is not None:
        coo = part.traffic.tocoo()
        off = coo.row != coo.col
        w, a, b = coo.data[off], coo.row[off], coo.col[off]
    elif placement.pairs is not None:  # the synapses of each core pair
        a, b = np.nonzero(placement.pairs.synapses)
        w = placement.pairs.synapses[a, b]
    else:
        is_neuron = part.pre < state.index.n
        a, b = part.core_of[part.pre[is_neuron]], part.core_of[part.post[is_neuron]]
        if not a.size:
            return 0.0, 0.0
        return (float(np.mean(pair_hops(position, a, b, target))),
                float(np.mean(pair_hops(slot_positions(k, target), a, b, target))))
    total = float(w.sum())
    if not total:
        return 0.0, 0.0
    return (float((w * pair_hops(position, a, b, target)).sum() / total),
            float((w * pair_hops(slot_positions(k, target), a, b, target)).sum() / total))


def _partial_sum_notes(state: CompileState) -> list[str]:
    ps, bits = state.partition.partial_sums, state.target.core.partial_sum_bits
    notes = []
    if ps.late_synapses:
        notes.append(f"partial sums: {ps.late_synapses} synapses of delay 1 reach their neuron one tick late "
                     "(longer delays are stored one tick shorter in the compartments)")
    if ps.payload_overflow:
        notes.append(f"partial sums: {ps.payload_overflow} compartments could exceed the {bits}-bit message payload; "
                     "their messages saturate and the output may differ from the unmapped network's")
    return notes


def _partial_sum_summary(state: CompileState) -> PartialSumSummary:
    ps = state.partition.partial_sums
    return PartialSumSummary(
        compartments=ps.compartments, blocks=int(ps.compartment.shape[0]), block_size=ps.block_size,
        plain_cores=ps.first_core, soma_cores=ps.soma_cores, dendrite_cores=ps.cores - ps.first_core - ps.soma_cores,
        neurons_on_dendrite_cores=int(np.count_nonzero(ps.soma_core >= ps.first_core + ps.soma_cores)),
        messages_per_second=state.messages_per_second, late_synapses=ps.late_synapses,
        payload_overflow=ps.payload_overflow, payload_bits=state.target.core.partial_sum_bits)


def _stats(x: np.ndarray) -> dict[str, float]:
    return {"max": float(x.max()) if x.size else 0.0, "mean": float(x.mean()) if x.size else 0.0}
