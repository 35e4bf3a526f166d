"""The compile flow as the list of its stages: :func:`compile_pipeline` chooses them for a target,
:func:`compile_network` and :func:`compile_sized` run them.

    design_rules -> legalize_delays -> legalize_weights -> check_legalized -> target -> quantize
    -> rates -> bound -> partition -> legalize_fan_out -> legalize_axon_types -> usage -> place
    -> route -> routing_tables -> check_fit

Sizing (``--size``) adds ``size_core`` first and ``sized_mesh`` after partitioning. Stages that
need a kind of core the target does not have are left out of its pipeline (``nmc compile
--stages`` prints it); stages with nothing to do are skipped at run time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..drc import Rule
from ..drc.rules import target_for
from ..ir import Network
from ..ir.fixed_point import FixedPointNetwork
from ..mapping.mapping import Mapping
from ..mapping.passlog import PassLog
from ..mapping.sizing import Sizing, grown, settled
from ..targets import Target
from .after_partition import AssignAxonTypesStage, SplitFanOutStage, Usage
from .cam import cam_pipeline
from .conv import conv_pipeline
from .ports import ports_pipeline
from .legalize import (BiasOnsets, Bound, ClusterWeightsStage, DesignRules, MeasureRates, MultiCompartments,
                       QuantizeStage, RefuseIllegal, RelayDelays, SizeCore)
from .partition import PartitionNeurons
from .pipeline import Callback, Pipeline, Stage, StageContext
from .place_route import CheckFit, Place, Route, RoutingTablesStage
from .report import CompileReport, build_mapping, build_report
from .state import CompileOptions, CompileState

__all__ = ["SizedMesh", "compile_network", "compile_pipeline", "compile_sized"]

PARTIAL_SUM_FIXES = frozenset({Rule.NEURON_FAN_IN, Rule.NEURON_SYNAPSE_MEMORY})  # by partial-sum compartments


@dataclass(frozen=True)
class SizedMesh(Stage):
    """Sized targets: a partitioner other than auto may need more cores than sizing counted; the
    sized chip's mesh then grows to hold them."""

    name: ClassVar[str] = "sized_mesh"
    base: Target

    def applies(self, state: CompileState) -> bool:
        return state.sizing is not None and state.partition.cores > state.target.max_cores

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        sizing = grown(state.sizing, state.partition.cores, self.base)
        return dataclasses.replace(state, sizing=sizing, target=target_for(state.network, sizing.target))


def compile_pipeline(target: Target, options: CompileOptions, *, size_cost: Callable | None = None,
                     sized_name: str | None = None, callbacks: Sequence[Callback] = ()) -> Pipeline:
    """The stages that compile onto ``target`` with ``options`` (with ``size_cost``: sized first)."""
    if target.convolution is not None:
        return conv_pipeline(target, options, callbacks)
    if target.ports is not None:
        return ports_pipeline(target, options, callbacks)
    if target.cam is not None:
        return cam_pipeline(target, options, callbacks)
    core = target.core
    legalizing: list[Stage] = [RelayDelays()]
    if core.axon_types:
        legalizing.append(ClusterWeightsStage())
    after: list[Stage] = [PartitionNeurons()]
    if size_cost is not None:
        after.append(SizedMesh(base=target))
    if core.fan_out_per_neuron is not None:
        after.append(SplitFanOutStage())
    if not target.storage.weights_per_synapse:
        after.append(AssignAxonTypesStage())
    early = frozenset().union(*(s.fixes for s in legalizing))
    later = frozenset().union(*(s.fixes for s in after)) | (PARTIAL_SUM_FIXES if options.graded(target)
                                                           else frozenset())
    stages: list[Stage] = [SizeCore(cost=size_cost, sized_name=sized_name)] if size_cost is not None else []
    stages += [DesignRules(legalizable=early, later=later), *legalizing,
               RefuseIllegal(legalizable=early, later=later, implemented=early | PARTIAL_SUM_FIXES),
               MultiCompartments(), BiasOnsets(), QuantizeStage()]
    if options.rates is not None:
        stages.append(MeasureRates())
    stages += [Bound(), *after, Usage(), Place(), Route()]
    if target.routing.table_entries:
        stages.append(RoutingTablesStage())
    stages.append(CheckFit())
    return Pipeline(tuple(stages), tuple(callbacks))


def _run(pipeline: Pipeline, net: Network, target: Target, options: CompileOptions,
         progress: Callable[[str], None] | None, again: Callable[[CompileOptions], Pipeline] | None = None
         ) -> tuple[CompileState, PassLog]:
    """Run ``pipeline``; when weight planes were made and the result does not fit (their copies
    and axons did not partition), run ``again(options)`` with one axon per source (clustered
    weights) and say so."""
    ctx = StageContext(passes=PassLog(progress))
    state = pipeline.run(CompileState(network=net, target=target, options=options), ctx)
    if not (state.misfits and state.axon_hints and again is not None):
        return state, ctx.passes
    plain = dataclasses.replace(options, crossbar_weights="cluster")
    ctx = StageContext(passes=PassLog(progress))
    retry = again(plain).run(CompileState(network=net, target=target, options=plain), ctx)
    note = (f"weight planes did not fit ({'; '.join(state.misfits)}): compiled with one axon per source and "
            "clustered weights instead")
    return dataclasses.replace(retry, notes=retry.notes + (note,)), ctx.passes


def compile_network(net: Network, target: Target, *, progress: Callable[[str], None] | None = None,
                    callbacks: Sequence[Callback] = (), **options) -> tuple[Mapping, FixedPointNetwork, CompileReport]:
    """Map ``net`` onto ``target`` (``options``: the fields of :class:`CompileOptions`). The
    returned fixed-point network is the legalized one (with its relay populations), i.e. what
    the mapping's ``core_of`` indexes. ``progress(name)`` is called as each stage and sub-step
    begins (names as in the report's ``passes``)."""
    opts = CompileOptions(**options)
    opts.check(target)
    state, passes = _run(compile_pipeline(target, opts, callbacks=callbacks), net, target, opts, progress,
                         lambda o: compile_pipeline(target, o, callbacks=callbacks))
    return build_mapping(state), state.fixed_point, build_report(state, passes)


def compile_sized(net: Network, target: Target, cost: Callable[[Target, int], int], *, name: str | None = None,
                  progress: Callable[[str], None] | None = None, callbacks: Sequence[Callback] = (),
                  **options) -> tuple[Sizing, Mapping, FixedPointNetwork, CompileReport]:
    """Size ``target`` to ``net`` (:class:`nmcompiler.mapping.sizing.SizeTarget`; ``cost(target,
    cores)``: the generated chip's memory bits) and compile onto the sized target, in one pipeline.
    Returns ``(sizing, mapping, fixed-point network, report)``; the sizing's target and document
    are what was compiled for."""
    opts = CompileOptions(**options)
    opts.check(target)
    pipeline = compile_pipeline(target, opts, size_cost=cost, sized_name=name, callbacks=callbacks)
    state, passes = _run(pipeline, net, target, opts, progress,
                         lambda o: compile_pipeline(target, o, size_cost=cost, sized_name=name, callbacks=callbacks))
    report = build_report(state, passes)
    sizing = state.sizing
    if report.fits and report.cores_used < sizing.chosen.cores:  # Mt-KaHyPar cut to fewer cores
        sizing = settled(sizing, report.cores_used, cost)
    return sizing, build_mapping(state), state.fixed_point, report
