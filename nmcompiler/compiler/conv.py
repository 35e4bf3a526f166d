"""The compile stages of convolution targets (a ``convolution`` section: one layer per core).

    design_rules -> check_legalized -> target -> bias_onsets -> quantize -> [rates] -> layers
    -> assign_layers -> check_fit

Nothing is legalized: every convolution rule (drc/conv.py) blocks with its layer, resource and
limit. ``layers`` reads each population's kernel off the quantized network; ``assign_layers``
puts the layers (split by output channels where a core's memories are too small) on the chip's
cores (:mod:`nmcompiler.mapping.conv_assign`) and fills the partition, placement and usage the
report and the image read: neurons go to their part's core, a logical core sits at its chip core.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..drc.conv import conv_layers
from ..mapping.conv_assign import LayerAssignment, LayerPart, assign_layers
from ..mapping.mapping import CoreUsage
from ..mapping.usage import synapse_arrays, traffic
from ..targets import Target
from .legalize import BiasOnsets, DesignRules, MeasureRates, MultiCompartments, QuantizeStage, RefuseIllegal
from .pipeline import Callback, Pipeline, Stage, StageContext
from .place_route import CheckFit
from .state import CompileOptions, CompileState, Partition, Placement
from .summaries import PlacementSummary

__all__ = ["AssignLayers", "ConvLayersStage", "conv_pipeline"]


@dataclass(frozen=True)
class ConvLayersStage(Stage):
    """Each population as a layer of a convolution core (:func:`nmcompiler.drc.conv.conv_layers`)."""

    name: ClassVar[str] = "layers"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        layers = conv_layers(state.fixed_point.network, state.target)
        return dataclasses.replace(state, layers=layers, bound=len(layers.layers))


def _part_core_of(state: CompileState, assignment: LayerAssignment) -> np.ndarray:
    """Neuron -> logical core (the index of its layer part); channels are the slowest axis of a
    population's C-order map, so a part is a contiguous block of its neurons."""
    core_of = np.zeros(state.index.n, dtype=np.int64)
    sizes = {p.name: p.size for p in state.fixed_point.network.populations}
    for k, part in enumerate(assignment.parts):
        base, per_channel = state.index.offsets[part.layer], sizes[part.layer] // _channels(state, part.layer)
        core_of[base + part.channels[0] * per_channel: base + part.channels[1] * per_channel] = k
    return core_of


def _channels(state: CompileState, name: str) -> int:
    return next(layer.channels for layer in state.layers.layers if layer.name == name)


def _usage(state: CompileState, assignment: LayerAssignment, core_of: np.ndarray) -> CoreUsage:
    by_name = {layer.name: layer for layer in state.layers.layers}
    parts = assignment.parts
    n_parts = {name: sum(1 for p in parts if p.layer == name) for name in by_name}
    outputs = [sum(n_parts[d] for d in state.layers.destinations.get(p.layer, ())) for p in parts]
    return CoreUsage(neurons=np.bincount(core_of, minlength=len(parts)),
                     synapse_bits=np.array([p.memory.kernel_words * state.target.format.weight_bits for p in parts],
                                           dtype=np.int64),
                     input_axons=np.array([_inputs(by_name[p.layer], state.target) for p in parts], dtype=np.int64),
                     output_axons=np.array(outputs, dtype=np.int64))


def _inputs(layer, target: Target) -> int:
    """What ``core.input_axons`` counts: input positions when the cores bound them
    (``convolution.input_axons``), else input channels (speck-like)."""
    if target.convolution.input_axons is None:
        return layer.in_shape[0]
    return len(layer.sources) * int(np.prod(layer.in_shape))


@dataclass(frozen=True)
class AssignLayers(Stage):
    """Layers onto cores (:func:`nmcompiler.mapping.conv_assign.assign_layers`), and what the
    report and the image read off the result."""

    name: ClassVar[str] = "assign_layers"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        target = state.target
        assignment = assign_layers(state.layers, target.convolution, name=target.name, seed=state.options.seed)
        if assignment.misfits:  # reported on whole layers, each on a core of its own (not placed)
            state = dataclasses.replace(state, misfits=state.misfits + assignment.misfits)
            assignment = dataclasses.replace(assignment, parts=tuple(
                LayerPart(layer=layer.name, channels=(0, layer.channels), core=-1,
                          memory=layer.memory(target.convolution)) for layer in state.layers.layers))
        core_of = _part_core_of(state, assignment)
        net, n = state.fixed_point.network, state.index.n
        pre, post = synapse_arrays(net, dict(state.index.offsets), n)
        cols = target.chip.mesh[1]
        position = np.array([(0, max(p.core, 0) // cols, max(p.core, 0) % cols) for p in assignment.parts],
                            dtype=np.int64).reshape(-1, 3)
        part = Partition(core_of=core_of, cores=len(assignment.parts), name=f"layers ({assignment.status})",
                         index_order_traffic=None, pre=pre, post=post)
        placement = Placement(position=position, traffic=None,
                              summary=PlacementSummary(method="layer assignment", cost=0.0))
        return dataclasses.replace(state, assignment=assignment, partition=part, placement=placement,
                                   usage=_usage(state, assignment, core_of),
                                   inter_core_spikes=traffic(core_of, pre, post, state.rates))


def conv_pipeline(target: Target, options: CompileOptions, callbacks: Sequence[Callback] = ()) -> Pipeline:
    """The stages that compile onto a convolution target."""
    none = frozenset()
    stages: list[Stage] = [DesignRules(legalizable=none, later=none),
                           RefuseIllegal(legalizable=none, later=none, implemented=none),
                           MultiCompartments(), BiasOnsets(), QuantizeStage()]
    if options.rates is not None:
        stages.append(MeasureRates())
    stages += [ConvLayersStage(), AssignLayers(), CheckFit()]
    return Pipeline(tuple(stages), tuple(callbacks))

