"""The legalizations that need a partition: splitter neurons (neurons that reach too many axons)
and consistent axon types (crossbar cores); then per-core usage."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..drc import Rule
from ..lowered import neuron_index
from ..mapping.partial_sums import usage_and_traffic
from ..mapping.usage import (axons_per_neuron, core_usage, crossbar_input_axons, signed_input_rows, synapse_arrays,
                             traffic)
from ..passes import Quantize
from ..passes.axon_types import AssignAxonTypes
from ..passes.split_fan_out import SplitFanOut
from .pipeline import Stage, StageContext
from .state import CompileState

__all__ = ["AssignAxonTypesStage", "SplitFanOutStage", "Usage"]


@dataclass(frozen=True)
class SplitFanOutStage(Stage):
    """Splitter neurons for neurons whose synapses reach more input axons than one neuron may
    (:class:`nmcompiler.passes.split_fan_out.SplitFanOut`), on new cores."""

    name: ClassVar[str] = "legalize_fan_out"
    fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.FAN_OUT_SPLITTERS})

    def applies(self, state: CompileState) -> bool:
        per, part = state.target.core.fan_out_per_neuron, state.partition
        return (per is not None and part.partial_sums is None and state.index.n > 0
                and int(axons_per_neuron(state.fixed_point, part.core_of).max()) > per)

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        target, part = state.target, state.partition
        per = target.core.fan_out_per_neuron
        splitting = SplitFanOut(per_neuron=per, neurons_per_core=target.core.neurons,
                                axons_per_core=target.core.input_axons, delay_max=target.format.delay_max)
        old_n = state.index.n
        split = splitting.run(state.network, part.core_of)
        net, core_of = split.network, split.core_of
        # the splitters' scale; other populations keep theirs
        o = state.options
        fx = Quantize(fmt=target.format, clip=o.clip, headroom=o.headroom, learning=target.learning,
                      learning_epoch=o.learning_epoch).run(net)
        index = neuron_index(net)
        pre, post = synapse_arrays(net, index.offsets, index.n)
        rates = state.rates
        if rates is not None:  # a splitter fires with its source
            rates = np.concatenate([rates, rates[split.owners]])
        note = (f"splitter neurons: {split.split_neurons} neurons reach more than {per} axon(s); "
                f"{split.splitters} splitters on {int(core_of.max()) + 1 - (int(core_of[:old_n].max()) + 1)} "
                f"new cores; {split.late_synapses} synapses of delay 1 arrive one tick late")
        part = dataclasses.replace(part, core_of=core_of, cores=int(core_of.max()) + 1, pre=pre, post=post,
                                   inter_core_spikes=None)
        return dataclasses.replace(state, network=net, fixed_point=fx, index=index, rates=rates, partition=part,
                                   legalized=state.legalized + (note,))


@dataclass(frozen=True)
class AssignAxonTypesStage(Stage):
    """One axon type per input axon, consistent across each crossbar core's neurons
    (:class:`nmcompiler.passes.axon_types.AssignAxonTypes`)."""

    name: ClassVar[str] = "legalize_axon_types"

    def applies(self, state: CompileState) -> bool:
        return not state.target.storage.weights_per_synapse and state.index.n > 0

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        typed = AssignAxonTypes(types=state.target.core.axon_types or 1, hints=state.axon_hints).run(
            state.fixed_point, state.partition.core_of)
        notes = tuple(f"core {c}: axon types made consistent across the core's neurons: {e.summary()}"
                      for c, e in typed.changes.items() if e.changed)
        return dataclasses.replace(state, fixed_point=typed.fixed_point, axon_types=typed.assignment,
                                   legalized=state.legalized + notes)


@dataclass(frozen=True)
class Usage(Stage):
    """What each core uses, and the inter-core traffic: exact, from the synapses."""

    name: ClassVar[str] = "usage"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        part, target, index = state.partition, state.target, state.index
        if part.partial_sums is not None:
            direct = None if part.pre is None else (part.pre, part.post)
            usage, matrix, spikes, messages = usage_and_traffic(part.partial_sums, state.fixed_point,
                                                                dict(index.offsets), index.n_pre, target,
                                                                state.network.dt, part.core_of, state.rates, direct)
            return dataclasses.replace(state, usage=usage, inter_core_spikes=spikes, messages_per_second=messages,
                                       partition=dataclasses.replace(part, traffic=matrix))
        usage = core_usage(part.core_of, part.cores, part.pre, part.post, target)
        if target.storage.axon_per_delay and index.n:  # an axon per (source, delay): partitioners counted sources
            usage = dataclasses.replace(usage, input_axons=crossbar_input_axons(state.fixed_point, part.core_of,
                                                                                part.cores))
        elif target.core.signed_rows and index.n:  # a row per (source, sign): partitioners counted sources
            usage = dataclasses.replace(usage, input_axons=signed_input_rows(state.fixed_point, part.core_of,
                                                                             part.cores))
        spikes = part.inter_core_spikes
        if spikes is None:
            spikes = traffic(part.core_of, part.pre, part.post, state.rates)
        return dataclasses.replace(state, usage=usage, inter_core_spikes=spikes)
