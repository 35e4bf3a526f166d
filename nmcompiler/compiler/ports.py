"""The compile stages of port-structured targets (a ``ports`` section: Xylo).

    design_rules -> check_legalized -> target -> bias_onsets -> ports -> quantize -> [rates]
    -> assign_ports -> usage -> check_fit

Nothing is legalized: every port rule (drc/ports.py), the ports' sizes among them, blocks with its
population, resource and limit before anything is mapped. ``ports`` decides which port each population takes (the quantizer then gives each
population its port's spikes per tick); ``assign_ports`` puts the hidden neurons on logical core
0 and the readout neurons on core 1, in population order (a population's neurons keep their
order: hidden neuron ids are the hidden populations' neurons one after the other, as Rockpool's
mapper numbers them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..drc.ports import port_roles
from ..mapping.usage import synapse_arrays, traffic
from ..targets import Target
from ..targets.ports import PortsSpec
from .after_partition import Usage
from .legalize import BiasOnsets, DesignRules, MeasureRates, MultiCompartments, QuantizeStage, RefuseIllegal
from .pipeline import Callback, Pipeline, Stage, StageContext
from .place_route import CheckFit
from .state import CompileOptions, CompileState, Partition, Placement
from .summaries import PlacementSummary

__all__ = ["AssignPorts", "PortRolesStage", "ports_pipeline"]


@dataclass(frozen=True)
class PortRolesStage(Stage):
    """The port each population takes (:func:`nmcompiler.drc.ports.port_roles`)."""

    name: ClassVar[str] = "ports"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        return dataclasses.replace(state, ports=port_roles(state.network), bound=2)


@dataclass(frozen=True)
class AssignPorts(Stage):
    """Hidden neurons on logical core 0, readout neurons on core 1 (the chip's two arrays)."""

    name: ClassVar[str] = "assign_ports"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        net, index = state.fixed_point.network, state.index
        core_of = np.full(index.n, PortsSpec.HIDDEN_CORE, dtype=np.int64)
        for name in state.ports.outputs:
            core_of[index.offsets[name]: index.offsets[name] + net.node(name).size] = PortsSpec.OUTPUT_CORE
        pre, post = synapse_arrays(net, dict(index.offsets), index.n)
        part = Partition(core_of=core_of, cores=2, name="ports (hidden, readout)", index_order_traffic=None,
                         pre=pre, post=post)
        position = np.array([(0, 0, PortsSpec.HIDDEN_CORE), (0, 0, PortsSpec.OUTPUT_CORE)], dtype=np.int64)
        placement = Placement(position=position, traffic=None,
                              summary=PlacementSummary(method="port arrays", cost=0.0))
        return dataclasses.replace(state, partition=part, placement=placement,
                                   inter_core_spikes=traffic(core_of, pre, post, state.rates))


def ports_pipeline(target: Target, options: CompileOptions, callbacks: Sequence[Callback] = ()) -> Pipeline:
    """The stages that compile onto a port-structured target."""
    none = frozenset()
    stages: list[Stage] = [DesignRules(legalizable=none, later=none),
                           RefuseIllegal(legalizable=none, later=none, implemented=none),
                           MultiCompartments(), BiasOnsets(), PortRolesStage(), QuantizeStage()]
    if options.rates is not None:
        stages.append(MeasureRates())
    stages += [AssignPorts(), Usage(), CheckFit()]
    return Pipeline(tuple(stages), tuple(callbacks))
