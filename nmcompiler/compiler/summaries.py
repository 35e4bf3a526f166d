"""Typed parts of the compile report: how the placement, the CP-SAT partitioning and the
partial-sum compartments came out. Each writes the JSON the report has always held."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PartialSumSummary", "PartitioningSummary", "PlacementSummary"]


@dataclass(frozen=True, kw_only=True)
class PlacementSummary:
    method: str  # e.g. swap-refinement, swap-refinement+cp-sat, index-order+sparse-swap
    cost: float  # traffic x hops of the placement
    index_order_cost: float | None = None  # dense placements: the cores in index order
    cp_sat: bool = False  # CP-SAT ran after the swap search:
    swap_cost: float | None = None  # its hint, the swap search's result
    lower_bound: float | None = None
    optimal: bool | None = None
    solver_status: str | None = None
    candidate_costs: dict[str, float] = field(default_factory=dict)  # sparse placements: each candidate
    unrefined_cost: float | None = None  # sparse placements: the best candidate before refinement

    def to_json(self) -> dict:
        out = {"method": self.method, "cost": self.cost}
        if self.candidate_costs:
            return out | {"unrefined_cost": self.unrefined_cost} | {f"{k}_cost": v for k, v in
                                                                    self.candidate_costs.items()}
        out["index_order_cost"] = self.index_order_cost
        if self.cp_sat:
            out |= {"swap_cost": self.swap_cost, "lower_bound": self.lower_bound, "optimal": self.optimal,
                    "solver_status": self.solver_status}
        return out


@dataclass(frozen=True, kw_only=True)
class PartitioningSummary:
    """CP-SAT partitioning from a heuristic's partition (its hint)."""

    start: str
    start_cores: int
    start_traffic: float
    cores: int
    traffic: float
    traffic_lower_bound: float
    optimal: bool
    solver_status: str

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True, kw_only=True)
class PartialSumSummary:
    compartments: int
    blocks: int
    block_size: int
    plain_cores: int  # cores of the populations without compartments
    soma_cores: int
    dendrite_cores: int
    neurons_on_dendrite_cores: int
    messages_per_second: float
    late_synapses: int  # delay-1 synapses that reach their neuron one tick late
    payload_overflow: int  # compartments whose sum could exceed the payload
    payload_bits: int

    def to_json(self) -> dict:
        return dict(vars(self))
