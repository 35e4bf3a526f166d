"""The stages before partitioning: design rules, the legalizations they call for, the effective
target, quantization, rates and the core bound.

Which rules are left to later stages is data: the pipeline hands :class:`DesignRules` and
:class:`RefuseIllegal` the rules its legalization stages fix before quantization and the rules
its later stages fix (partitioning, splitters, partial sums).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..drc import Rule, Violation, check, cores_lower_bound
from ..drc.rules import target_for
from ..errors import Diagnostic, ValidationError
from ..lowered import neuron_index
from ..mapping.sizing import SizeTarget
from ..ir import CurrentSource
from ..passes import ClusterWeights, Quantize, RelayLongDelays
from ..passes.axon_planes import AxonPlanes
from ..passes.bias_onsets import CompensateBiasOnsets
from .pipeline import Stage, StageContext
from .state import CompileState

__all__ = ["BiasOnsets", "Bound", "ClusterWeightsStage", "DesignRules", "MeasureRates", "MultiCompartments",
           "QuantizeStage", "RefuseIllegal", "RelayDelays", "SizeCore"]


@dataclass(frozen=True)
class SizeCore(Stage):
    """Targets generated to fit (``--size``): choose the core and mesh with the fewest memory bits
    (:class:`nmcompiler.mapping.sizing.SizeTarget`); the sized target is the target from here on."""

    name: ClassVar[str] = "size_core"
    cost: object  # (target, cores) -> memory bits of the generated chip
    sized_name: str | None = None

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        sizing = SizeTarget(cost=self.cost, name=self.sized_name).run(state.network, state.target)
        return dataclasses.replace(state, target=sizing.target, sizing=sizing)


def _blocks(v: Violation, fixable: frozenset[Rule]) -> bool:
    """Whether a violation stops the compile: no stage fixes its rule, or this case is beyond
    what the fixing stage can do (a relay chain too long to build)."""
    return v.rule not in fixable or not v.legalizable


@dataclass(frozen=True)
class DesignRules(Stage):
    """Every design rule on the network; the legalization stages run when nothing else blocks."""

    name: ClassVar[str] = "design_rules"
    legalizable: frozenset[Rule]  # fixed by legalization stages before quantization
    later: frozenset[Rule]  # fixed by stages after it (partitioning, splitters, partial sums)

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        violations = tuple(check(state.network, state.target))
        legalizing = not any(_blocks(v, self.later | self.legalizable) for v in violations)
        return dataclasses.replace(state, violations=violations, legalizing=legalizing)


class _Legalization(Stage):
    """A legalization before quantization: it runs when a rule it fixes is violated and nothing
    else blocks the compile."""

    def applies(self, state: CompileState) -> bool:
        return state.legalizing and any(v.rule in self.fixes for v in state.violations)


@dataclass(frozen=True)
class RelayDelays(_Legalization):
    """Delays beyond the format's range become relay chains (:class:`RelayLongDelays`)."""

    name: ClassVar[str] = "legalize_delays"
    fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.DELAY_RANGE})

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        net = RelayLongDelays(max_delay=state.target.format.delay_max).run(state.network)
        notes = tuple(f"relayed: {v}" for v in state.violations if v.rule in self.fixes)
        return dataclasses.replace(state, network=net, legalized=state.legalized + notes)


@dataclass(frozen=True)
class ClusterWeightsStage(_Legalization):
    """Weights that axon types can hold: bit planes where the core's axons allow
    (:class:`AxonPlanes`, unless ``crossbar_weights`` is "cluster"), then each remaining neuron's
    weights into as many values as the core has axon types (:class:`ClusterWeights`)."""

    name: ClassVar[str] = "legalize_weights"
    fixes: ClassVar[frozenset[Rule]] = frozenset({Rule.AXON_TYPE_WEIGHTS})

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        levels = state.target.core.axon_types
        net, notes, hints = state.network, (), {}
        if state.options.crossbar_weights == "planes" and levels >= 2:
            core = state.target.core
            planes = AxonPlanes(types=levels, axons=core.input_axons, activity=self._activity(state),
                                fan_out=core.fan_out_per_neuron).run(net)
            net, hints, notes = planes.network, planes.hints, planes_notes(planes, levels)
            if not planes.left:
                return dataclasses.replace(state, network=net, legalized=state.legalized + notes, axon_hints=hints)
        clustered = ClusterWeights(levels=levels).run(net)
        notes += tuple(f"clustered weights of population '{p}' into {levels} values: RMS error "
                       f"{e.rms_error:.3g} (RMS weight {e.rms_weight:.3g}), largest {e.max_error:.3g}"
                       for p, e in clustered.changes.items() if e.changed)
        return dataclasses.replace(state, network=clustered.network, legalized=state.legalized + notes,
                                   axon_hints=hints)

    @staticmethod
    def _activity(state: CompileState) -> dict[str, np.ndarray]:
        """Each population's firing rates from the options' rate source (none without one)."""
        if state.options.rates is None:
            return {}
        rates = np.asarray(state.options.rates(state.network), dtype=np.float64)
        index = neuron_index(state.network)
        return {p.name: rates[index.slice(p.name)] for p in state.network.populations}


def planes_notes(planes, levels: int) -> tuple[str, ...]:
    """What :class:`AxonPlanes` did, as compile notes."""
    notes = []
    for p, d in planes.populations.items():
        bits = ", ".join(f"{n} with {b}" for b, n in sorted(d.bits.items(), reverse=True))
        e = d.change
        hint = "" if d.by_rate or set(d.bits) == {levels} else (
            "; without rates every source counted alike: --data or --rates gives the planes to the sources that fire")
        notes.append(f"weights of population '{p}' as bit planes over {levels} axon types: {d.sources} sources on "
                     f"{sum(b * n for b, n in d.bits.items())} axons ({bits} planes), RMS error {e.rms_error:.3g} "
                     f"(RMS weight {e.rms_weight:.3g}), largest {e.max_error:.3g}{hint}")
    for node, ks in planes.copies.items():
        notes.append(f"'{node}' sends {len(ks) + 1} planes: {len(ks)} cop{'y' if len(ks) == 1 else 'ies'} "
                     f"({', '.join(f'{node}.plane{k}' for k in ks)}) that fire with it")
    notes += [f"population '{p}': weights not split into planes ({why})" for p, why in planes.left.items()]
    return tuple(notes)


@dataclass(frozen=True)
class RefuseIllegal(Stage):
    """Re-check after the legalizations; refuse, listing every violation, what no stage fixes."""

    name: ClassVar[str] = "check_legalized"
    legalizable: frozenset[Rule]
    later: frozenset[Rule]
    implemented: frozenset[Rule]  # rules some stage of the flow can fix (else: "not implemented yet")

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        violations, pending = state.violations, self.legalizable
        if state.legalizing:  # nothing an earlier stage fixed may come back
            violations, pending = tuple(check(state.network, state.target)), frozenset()
        blocking = [v for v in violations if _blocks(v, self.later | pending)]
        if blocking:
            raise ValidationError([Diagnostic(where="", message=v.message + (
                " (legalization passes are not implemented yet)" if v.legalizable and v.rule not in self.implemented
                else "")) for v in blocking])
        return dataclasses.replace(state, violations=violations)


@dataclass(frozen=True)
class MultiCompartments(Stage):
    """The effective target, computed once: with multi-compartment neurons when the network has
    more receptors than the format's channels (:func:`nmcompiler.drc.rules.target_for`)."""

    name: ClassVar[str] = "target"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        target = target_for(state.network, state.target)
        if target is state.target:
            return state
        note = (f"multi-compartment neurons: {target.format.receptors} current channels per neuron in "
                f"{target.core.compartments_per_neuron} compartments, {target.core.neurons} neurons per core")
        return dataclasses.replace(state, target=target, legalized=state.legalized + (note,))


@dataclass(frozen=True)
class BiasOnsets(Stage):
    """Biases switched on late (the NIR importer's same-step retiming) become constant biases with
    a compensating initial membrane (:class:`CompensateBiasOnsets`): the chip's biases are constant."""

    name: ClassVar[str] = "bias_onsets"

    def applies(self, state: CompileState) -> bool:
        return any(isinstance(s, CurrentSource) and (s.start > 0 or np.isfinite(s.stop))
                   for s in state.network.sources)

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        done = CompensateBiasOnsets().run(state.network)
        top = (state.target.core.axon_types or 1) - 1
        copy = {name for name, t in state.axon_hints.items() if t < top}  # weight planes' copies: said once
        notes = tuple(f"population '{p}': its bias, switched on at step {k}, is constant from step 0 with an "
                      "initial membrane that cancels the first steps (same membrane from then on)"
                      for p, k in done.onsets.items() if p not in copy)
        notes += tuple(f"population '{p}': bias onset not compensated ({why})" for p, why in done.kept.items()
                       if p not in copy)
        return dataclasses.replace(state, network=done.network, legalized=state.legalized + notes)


@dataclass(frozen=True)
class QuantizeStage(Stage):
    name: ClassVar[str] = "quantize"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        spikes = None if state.ports is None else state.ports.spikes_per_step(state.target)
        o = state.options
        fx = Quantize(fmt=state.target.format, clip=o.clip, headroom=o.headroom, learning=state.target.learning,
                      learning_epoch=o.learning_epoch, spikes_per_step=spikes).run(state.network)
        return dataclasses.replace(state, fixed_point=fx, index=neuron_index(state.network))


@dataclass(frozen=True)
class MeasureRates(Stage):
    """Firing rates from the options' rate source (a float simulation: ``nmcompiler.flow``)."""

    name: ClassVar[str] = "rates"

    def applies(self, state: CompileState) -> bool:
        return state.options.rates is not None

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        rates = np.asarray(state.options.rates(state.network), dtype=np.float64)
        return dataclasses.replace(state, rates=rates)


@dataclass(frozen=True)
class Bound(Stage):
    """The lower bound on cores (:func:`nmcompiler.drc.cores_lower_bound`)."""

    name: ClassVar[str] = "bound"

    def run(self, state: CompileState, ctx: StageContext) -> CompileState:
        return dataclasses.replace(state, bound=cores_lower_bound(state.network, state.target))


def resolved_note(v: Violation) -> str:
    """A violation the compile flow resolved, as a note (the checker's fix is for ``nmc check``)."""
    if v.rule == Rule.POPULATION_SIZE:
        return f"{v.subject} has {v.amount} {v.resource}, core limit {v.limit}: split across cores"
    return str(v)
