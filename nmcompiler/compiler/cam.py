"""The compile stages of CAM targets (a ``cam`` section: DYNAP-SE2).

    design_rules -> legalize_delays -> check_legalized -> target -> bias_onsets -> quantize -> [rates]
    -> partition -> legalize_cam_weights -> usage -> place -> route -> assign_tags -> check_fit

A core's neurons share one parameter set and one set of base weights, so ``partition`` gives
every population whole cores of its own (in network order, its neurons in order; Rockpool's
DYNAP-SE2 mapper makes a cluster per layer the same way); the fewest cores that can hold the
network so. ``legalize_cam_weights`` fits each core's base weights
(:mod:`nmcompiler.passes.cam_weights`); ``assign_tags`` gives every source its tags and checks
the SRAM entries and hops (:mod:`nmcompiler.mapping.tags`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..drc import Rule
from ..mapping.tags import assign_tags
from ..mapping.usage import synapse_arrays
from ..passes.cam_weights import CamBaseWeights
from ..targets import Target
from .after_partition import Usage
from .legalize import (BiasOnsets, DesignRules, MeasureRates, MultiCompartments, QuantizeStage, RefuseIllegal,
                       RelayDelays)
from .pipeline import Callback, Pipeline, Stage, StageContext
from .place_route import CheckFit, Place, Route
from .state import CompileOptions, CompileState, Partition

__all__ = ["AssignTags", "CamWeightsStage", "PopulationCores", "cam_pipeline"]


def population_cores(sizes: Sequence[int], per_core: int) -> np.ndarray:
    """Core of every neuron when each population (of ``sizes``, in order) takes whole cores."""
    out, first = [], 0
    for size in sizes:
        out.append(first + np.arange(size) // per_core)
        first += -(-size // per_core)
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class PopulationCores(Stage):
    """Every population on whole cores of its own (a core is one parameter group)."""

    name: ClassVar[str] = "partition"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        index = state.index  # populations first, in network order
        core_of = population_cores([p.size for p in state.network.populations], state.target.core.neurons)
        pre, post = synapse_arrays(state.network, dict(index.offsets), index.n)
        cores = int(core_of.max()) + 1 if core_of.size else 0
        part = Partition(core_of=core_of, cores=cores, name="population cores (one parameter set per core)",
                         index_order_traffic=None, pre=pre, post=post)
        return dataclasses.replace(state, partition=part, bound=cores)


@dataclass(frozen=True)
class CamWeightsStage(Stage):
    """Every weight a signed sum of its core's base weights (:class:`CamBaseWeights`)."""

    name: ClassVar[str] = "legalize_cam_weights"
    fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.CAM_BASE_WEIGHTS})

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        part, cam = state.partition, state.target.cam
        types = cam.group_table(state.target.format.receptors) if cam.groups > 1 else None
        fitted = CamBaseWeights(count=cam.base_weights, types=types).run(state.fixed_point, part.core_of, part.cores)
        notes = tuple(f"core {c}{'' if cam.groups == 1 else f' ({cam.synapse_types[g].name})'}: weights as sums of "
                      f"base weights {fitted.bases[c, g].tolist()}: {e.summary()}"
                      for (c, g), e in fitted.changes.items() if e.changed)
        return dataclasses.replace(state, fixed_point=fitted.fixed_point, cam_bases=fitted.bases,
                                   legalized=state.legalized + notes)


@dataclass(frozen=True)
class AssignTags(Stage):
    """Tags for every source, chip by chip; SRAM entries and hops checked (:func:`assign_tags`)."""

    name: ClassVar[str] = "assign_tags"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        part = state.partition
        tags = assign_tags(part.pre, part.post, part.core_of, state.placement.position, state.index.n, state.target)
        chips = int(state.placement.position[:, 0].max()) + 1 if part.cores else 0
        note = (f"tags: {tags.routes.size} SRAM routes (source, chip) over {chips} chip(s), "
                f"tags 0..{tags.tags_used() - 1}" if tags.routes.size else "tags: no synapses")
        return dataclasses.replace(state, misfits=state.misfits + tags.problems, notes=state.notes + (note,))


def cam_pipeline(target: Target, options: CompileOptions, callbacks: Sequence[Callback] = ()) -> Pipeline:
    """The stages that compile onto a CAM target."""
    early = RelayDelays.fixes
    later = CamWeightsStage.fixes
    stages: list[Stage] = [DesignRules(legalizable=early, later=later), RelayDelays(),
                           RefuseIllegal(legalizable=early, later=later, implemented=early),
                           MultiCompartments(), BiasOnsets(), QuantizeStage()]
    if options.rates is not None:
        stages.append(MeasureRates())
    stages += [PopulationCores(), CamWeightsStage(), Usage(), Place(), Route(), AssignTags(), CheckFit()]
    return Pipeline(tuple(stages), tuple(callbacks))
