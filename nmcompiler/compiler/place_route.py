"""Placement of cores on the mesh, routes and routing tables, and the final check of the limits."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import sparse

from ..mapping.place import SwapRefinement, core_traffic, slot_positions
from ..mapping.place_cpsat import CpSatPlacement, placement_cost
from ..mapping.place_large import (SnakePlacement, bisection_positions, placement_cost_sparse,
                                   sparse_core_traffic)
from ..mapping.place_refine import SparseSwapRefinement
from ..mapping.partial_sums import usage_and_traffic
from ..mapping.partition import over_limits
from ..mapping.route import route_dimension_order
from ..mapping.tables import build_tables
from ..mapping.usage import axons_per_neuron, core_pairs
from ..targets import Target
from .pipeline import Stage, StageContext
from .state import CompileState, Placement
from .summaries import PlacementSummary

__all__ = ["AUTO_CP_SAT_SLOTS", "AUTO_CP_SAT_TIME", "CheckFit", "Place", "Route", "RoutingTablesStage"]

AUTO_CP_SAT_SLOTS = 6  # placer "auto": CP-SAT after the swap search when the chips used have at most this many
AUTO_CP_SAT_TIME = 0.5  # positions (it proves small meshes optimal in milliseconds), with this budget (deterministic s)


@dataclass(frozen=True)
class Place(Stage):
    """Positions for the cores: an iterated swap search (CP-SAT on the smallest chips or on request)
    for up to ``SwapRefinement.max_cores`` cores, else the best of index order, a snake and
    bisection, refined by sparse swaps."""

    name: ClassVar[str] = "place"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        part, target, opts = state.partition, state.target, state.options
        k = part.cores
        pairs = None
        if part.partial_sums is not None:
            matrix = part.traffic.toarray() if k <= SwapRefinement.max_cores else part.traffic
            if k <= SwapRefinement.max_cores:
                np.fill_diagonal(matrix, 0.0)
        else:
            pairs = core_pairs(part.core_of, k, part.pre, part.post, state.rates)  # None: too many cores
            if pairs is not None:
                matrix = pairs.spikes if k <= SwapRefinement.max_cores else sparse.csr_matrix(pairs.spikes)
            else:
                matrix = (core_traffic(part.core_of, k, part.pre, part.post, state.rates)
                          if k <= SwapRefinement.max_cores
                          else sparse_core_traffic(part.core_of, k, part.pre, part.post, state.rates))
        notes: list[str] = []
        position, summary = place(matrix, k, target, opts.placer, opts.seed, notes)
        placement = Placement(position=position, summary=summary, traffic=matrix, pairs=pairs)
        return dataclasses.replace(state, placement=placement, notes=state.notes + tuple(notes))


def place(matrix, n_cores: int, target: Target, placer: str, seed: int, notes: list[str]):
    """Positions for a dense (small) or sparse (large) core traffic matrix, and what was done."""
    if not hasattr(matrix, "tocsr"):
        position = SwapRefinement(seed=seed).run(matrix, target)
        summary = PlacementSummary(method=SwapRefinement.name, cost=placement_cost(matrix, position, target),
                                   index_order_cost=placement_cost(matrix, slot_positions(n_cores, target), target))
        exact = placer == "cp-sat" and n_cores <= CpSatPlacement.max_cores
        slots = -(-n_cores // target.chip.cores_per_chip) * target.chip.cores_per_chip
        if exact or (placer == "auto" and n_cores >= 3 and slots <= AUTO_CP_SAT_SLOTS):
            solver = CpSatPlacement(seed=seed) if exact else CpSatPlacement(seed=seed, deterministic_time=AUTO_CP_SAT_TIME)
            res = solver.run(matrix, target, position)
            position = res.position
            summary = dataclasses.replace(summary, method=f"{SwapRefinement.name}+{CpSatPlacement.name}",
                                          cost=res.cost, cp_sat=True, swap_cost=res.start_cost,
                                          lower_bound=res.lower_bound,
                                          optimal=res.optimal, solver_status=res.status)
        elif placer == "cp-sat":
            notes.append(f"CP-SAT placement skipped: {n_cores} cores (it runs up to {CpSatPlacement.max_cores})")
        return position, summary
    candidates = {"index-order": slot_positions(n_cores, target),  # the first one wins ties
                  SnakePlacement.name: SnakePlacement().run(matrix, target),
                  "bisection": bisection_positions(matrix, target, seed)}
    costs = {k: placement_cost_sparse(matrix, p, target) for k, p in candidates.items()}
    best = min(costs, key=lambda k: costs[k])
    position = SparseSwapRefinement().run(matrix, candidates[best], target)
    return position, PlacementSummary(method=f"{best}+{SparseSwapRefinement.name}",
                                      cost=placement_cost_sparse(matrix, position, target),
                                      unrefined_cost=costs[best], candidate_costs=costs)


@dataclass(frozen=True)
class Route(Stage):
    """Dimension-order routes and the load they put on every link."""

    name: ClassVar[str] = "route"

    def applies(self, state: CompileState) -> bool:
        return state.partition.cores > 1

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        links = route_dimension_order(state.placement.position, state.placement.traffic, state.target)
        return dataclasses.replace(state, routes=dataclasses.replace(state.routes, links=links))


@dataclass(frozen=True)
class RoutingTablesStage(Stage):
    """Keyed targets: every chip's routing table, from the connectivity between cores (a route for
    every pair of cores a synapse joins, at any rate), checked against ``routing.table_entries``."""

    name: ClassVar[str] = "routing_tables"

    def applies(self, state: CompileState) -> bool:
        return bool(state.target.routing.table_entries) and state.partition.cores > 0

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        target = state.target
        tables = build_tables(_connectivity(state), state.placement.position, target)
        misfits = ()
        if tables.max_entries > target.routing.table_entries:
            misfits = (f"a chip needs {tables.max_entries} routing-table entries after compression, "
                       f"{target.name} chips hold {target.routing.table_entries}",)
        return dataclasses.replace(state, routes=dataclasses.replace(state.routes, tables=tables),
                                   misfits=state.misfits + misfits)


def _connectivity(state: CompileState):
    """Core-to-core traffic whose non-zero pattern is the connectivity: the placed traffic when
    every neuron counts as 1 Hz, else the same at 1 Hz (a silent neuron still needs its routes)."""
    part, k = state.partition, state.partition.cores
    if state.rates is None:
        return state.placement.traffic
    if part.partial_sums is not None:
        index = state.index
        return usage_and_traffic(part.partial_sums, state.fixed_point, dict(index.offsets), index.n_pre,
                                 state.target, state.network.dt, part.core_of, None,
                                 None if part.pre is None else (part.pre, part.post))[1]
    return (core_traffic(part.core_of, k, part.pre, part.post, None) if k <= SwapRefinement.max_cores
            else sparse_core_traffic(part.core_of, k, part.pre, part.post, None))


@dataclass(frozen=True)
class CheckFit(Stage):
    """Every limit, checked on the result before anything is written: cores, each core's limits,
    and (crossbar targets) the axons each neuron reaches after splitter neurons."""

    name: ClassVar[str] = "check_fit"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        target, part, index = state.target, state.partition, state.index
        misfits = list(state.misfits)
        if part.cores > target.max_cores:
            misfits.append(f"{part.cores} cores, the largest {target.name} machine has {target.max_cores}"
                           + (": run with --size" if target.sizing is not None else ""))
        per = target.core.fan_out_per_neuron
        if per is not None and part.partial_sums is None and index.n:
            over = np.flatnonzero(axons_per_neuron(state.fixed_point, part.core_of) > per)
            if over.size:
                pop = next(p for p, off in sorted(index.offsets.items(), key=lambda x: -x[1]) if off <= over[0])
                misfits.append(f"{over.size} neurons (first: '{pop}'[{int(over[0] - index.offsets[pop])}]) send to "
                               f"more than {per} axon(s) (distinct destination core and delay) even after splitter "
                               f"neurons; {target.name} neurons reach {per}")
        misfits += over_limits(state.usage, target)  # the partitioners guarantee none; re-checked here
        return dataclasses.replace(state, misfits=tuple(misfits))
