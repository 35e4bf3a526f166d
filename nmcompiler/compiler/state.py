"""The one typed state the compile stages pass along, and the options that choose the stages.

A stage takes a :class:`CompileState` and returns a new one (``dataclasses.replace``); it never
mutates the state it was given. Fields are filled in flow order: the (legalized) network and
its violations, the effective target (computed once, by :class:`.legalize.MultiCompartments`),
the fixed-point network and its index space, rates and the core bound, the partition (plain or
with partial-sum compartments), placement, routes, usage, misfits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..drc import Violation
from ..drc.conv import ConvLayers
from ..drc.ports import PortRoles
from ..errors import UserError
from ..ir import Network
from ..ir.fixed_point import FixedPointNetwork
from ..lowered import NeuronIndex
from ..mapping.choose import PARTITIONERS
from ..mapping.conv_assign import LayerAssignment
from ..mapping.mapping import CoreUsage, Routes
from ..mapping.partial_sums import PartialSums
from ..mapping.sizing import Sizing
from ..targets import Target
from .summaries import PartitioningSummary, PlacementSummary

__all__ = ["CompileOptions", "CompileState", "Partition", "Placement", "Routes", "RateSource"]

#: firing rates (spikes per second) of every neuron of a network, in index order (``nmcompiler.flow.float_rates``)
RateSource = Callable[[Network], np.ndarray]

PLACERS = ("auto", "swap", "cp-sat")
FAN_IN = ("auto", "partial-sums", "none")
CROSSBAR_WEIGHTS = ("planes", "cluster")


@dataclass(frozen=True, kw_only=True)
class CompileOptions:
    """``placer``: "swap" (pairwise swap search), "cp-sat" (then CP-SAT over every position of the
    chips used), "auto" (CP-SAT with a small budget on the smallest chips). ``fan_in``:
    "partial-sums" (always), "none" (never), "auto". ``rates``: a rate source whose rates weight
    partitioning, placement and the traffic figures (else every neuron counts as 1 Hz).
    ``learning_epoch``: ticks between trace decays of the target's learning engine.
    ``crossbar_weights``: on cores with axon types, "planes" (several typed axons per source where
    a core's axons allow, else clustering) or "cluster" (one axon per source, clustered weights).
    Quantization: ``clip`` "max" (the largest |w| fits the mantissa) or a percentile of |w| in
    (0, 100] (larger weights clip); ``headroom`` bits kept free above the larger of |threshold| and
    |reset| (:class:`nmcompiler.passes.quantize.Quantize`)."""

    seed: int = 0
    partitioner: str = "auto"
    placer: str = "auto"
    fan_in: str = "auto"
    rates: RateSource | None = None
    learning_epoch: int = 1  # plastic projections: ticks between the learning engine's trace decays
    crossbar_weights: str = "planes"
    clip: float | str = "max"
    headroom: int = 2

    def check(self, target: Target) -> None:
        """Raise :class:`UserError` for an unknown option or one the target cannot honour."""
        if self.placer not in PLACERS:
            raise UserError(f"unknown placer '{self.placer}' (use auto, swap or cp-sat)")
        if self.partitioner not in PARTITIONERS:
            raise UserError(f"unknown partitioner '{self.partitioner}' (use {', '.join(PARTITIONERS)})")
        if self.fan_in not in FAN_IN:
            raise UserError(f"unknown fan-in option '{self.fan_in}' (use auto, partial-sums or none)")
        if self.crossbar_weights not in CROSSBAR_WEIGHTS:
            raise UserError(f"unknown crossbar weights option '{self.crossbar_weights}' (use planes or cluster)")
        if self.clip != "max" and (isinstance(self.clip, (str, bool)) or not 0 < float(self.clip) <= 100):
            raise UserError(f"clip must be 'max' or a percentile of |w| in (0, 100], not {self.clip!r}")
        if isinstance(self.headroom, bool) or not isinstance(self.headroom, int) or not 0 <= self.headroom <= 16:
            raise UserError(f"headroom must be a whole number of bits in [0, 16], not {self.headroom!r}")
        if self.fan_in == "partial-sums" and not target.core.partial_sum_bits:
            raise UserError(f"{target.name} sends spikes only (no core.partial_sum_bits): partial sums need graded "
                            "messages")

    def graded(self, target: Target) -> bool:
        """Whether fan-in beyond a core's axons may go through partial-sum compartments."""
        return bool(target.core.partial_sum_bits) and self.fan_in != "none"


@dataclass(frozen=True, kw_only=True, eq=False)
class Partition:
    """Which core runs each neuron, and how that was decided."""

    core_of: np.ndarray  # neuron (index order of the fixed-point network) -> core
    cores: int
    name: str  # the partitioner (or partitioners) that decided
    index_order_traffic: float | None  # inter-core spikes per second of the index-order baseline
    partitioning: PartitioningSummary | None = None  # CP-SAT partitioning: start, result, bound, status
    # plain partitions: every synapse as (pre, post) presynaptic/neuron indices; with partial sums,
    # those of the populations without compartments (None: every population has them)
    pre: np.ndarray | None = None
    post: np.ndarray | None = None
    partial_sums: PartialSums | None = None
    traffic: object | None = None  # partial sums: the core traffic matrix (sparse), from the usage stage
    # inter-core spikes per second of ``core_of`` when the partitioner measured them (a stage that
    # changes ``core_of`` sets None): the usage stage then need not count them again
    inter_core_spikes: float | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Placement:
    position: np.ndarray  # core -> (chip, row, column)
    summary: PlacementSummary  # method, cost (traffic x hops) and the alternatives' costs
    traffic: object  # the core traffic matrix placed (dense ndarray or scipy sparse)
    pairs: object | None = None  # plain partitions: .usage.CorePairs (None when too many cores)


@dataclass(frozen=True, kw_only=True, eq=False)
class CompileState:
    network: Network  # the network as legalized so far
    target: Target  # the effective target (sized, with multi-compartment neurons) once known
    options: CompileOptions
    violations: tuple[Violation, ...] = ()
    legalizing: bool = False  # no violation blocks: the legalization stages run
    legalized: tuple[str, ...] = ()  # what the legalization stages did, as notes
    axon_hints: dict[str, int] = field(default_factory=dict)  # crossbar: sending node -> axon type to try first
    notes: tuple[str, ...] = ()
    sizing: Sizing | None = None
    fixed_point: FixedPointNetwork | None = None
    index: NeuronIndex | None = None
    rates: np.ndarray | None = None
    bound: int = 0
    partition: Partition | None = None
    axon_types: dict = field(default_factory=dict)  # crossbar: core -> (sorted axon keys, type of each)
    usage: CoreUsage | None = None
    messages_per_second: float | None = None  # partial sums: graded messages between cores
    inter_core_spikes: float | None = None
    placement: Placement | None = None
    routes: Routes = field(default_factory=Routes)
    misfits: tuple[str, ...] = ()
    layers: ConvLayers | None = None  # convolution targets: the populations as layers
    assignment: LayerAssignment | None = None  # convolution targets: layer parts onto the chip's cores
    ports: PortRoles | None = None  # port-structured targets: the port each population takes
    cam_bases: np.ndarray | None = None  # CAM targets: (cores, base weights) each core's base weights
