"""Legalization pass: a bias switched on at step ``L`` becomes a constant bias and an initial
membrane that cancels it, for datapaths whose biases are constant.

Frameworks evaluate every layer within one step; the NIR importer's same-step retiming
(:mod:`nmcompiler.frontends.nir.presets`) makes a population at level ``L`` repeat the
framework's step ``t`` at step ``t + L`` and therefore switches its bias on at step ``L`` (a
:class:`CurrentSource` with ``start = L dt``). A chip holds biases from step 0. With one step
``v' = a v + b + c (I_bias + B)`` (the population's propagator), starting from

    v0' = v0 - c B (1 + a + ... + a^(L-1)) / a^L

under the bias ``B`` from step 0 gives the same membrane at step ``L - 1`` as starting from ``v0``
with the bias off until then, so every later step is the same. This is exact when nothing
reaches the population before step ``L`` and it cannot spike before then; the pass checks both
(the earliest arrival over every incoming projection, iterated over the populations it
compensates; the membrane's path to step ``L - 1`` against the threshold) and leaves the current
source in place otherwise (the quantizer then warns that the datapath holds it from step 0).
LIF and IF populations without receptors only: a synaptic current would need its own start value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..ir import CurrentSource, Network, Population

__all__ = ["CompensateBiasOnsets", "Compensated"]


@dataclass(frozen=True, kw_only=True)
class Compensated:
    network: Network
    onsets: dict[str, int]  # population -> the onset step now compensated by its initial membrane
    kept: dict[str, str]  # population -> why its onset stays a switched current source


@dataclass(frozen=True)
class _Onset:
    projections: tuple[str, ...]
    step: int
    amount: np.ndarray  # B per neuron


@dataclass(frozen=True, kw_only=True)
class CompensateBiasOnsets:
    name: ClassVar[str] = "compensate-bias-onsets"

    def run(self, net: Network) -> Compensated:
        onsets, kept = self._candidates(net)
        initial = {}
        for name, onset in list(onsets.items()):
            v0, why = _initial_membrane(net.node(name), onset, net.dt)
            if why:
                kept[name] = why
                del onsets[name]
            else:
                initial[name] = v0
        while True:  # an input arriving before the onset would meet a different membrane
            early = {p: why for p in onsets if (why := _early_input(net, p, onsets))}
            if not early:
                break
            for p, why in early.items():
                kept[p] = why
                del onsets[p]
        out = net.copy()
        for name, onset in onsets.items():
            pop = net.node(name)
            model = dataclasses.replace(pop.model, bias=pop.model.bias + onset.amount)
            out.replace(dataclasses.replace(pop, model=model, initial=pop.initial | {"v": initial[name]}))
            for proj in onset.projections:
                out.disconnect(proj)
        return Compensated(network=out.validate(), onsets={p: o.step for p, o in onsets.items()}, kept=kept)

    @staticmethod
    def _candidates(net: Network) -> tuple[dict[str, _Onset], dict[str, str]]:
        found: dict[str, list] = {}
        for proj in net.projections:
            src = net.node(proj.pre)
            if isinstance(src, CurrentSource) and (src.start > 0 or np.isfinite(src.stop)):
                found.setdefault(proj.post, []).append((proj, src))
        onsets, kept = {}, {}
        for name, items in found.items():
            pop = net.node(name)
            steps = {int(round(src.start / net.dt)) for _, src in items}
            if pop.model.receptors or pop.model.kind not in ("lif", "if"):
                kept[name] = f"model '{pop.model.kind}'" + (" with receptors" if pop.model.receptors else "")
            elif any(np.isfinite(src.stop) for _, src in items) or len(steps) != 1:
                kept[name] = "switched off again, or on at several steps"
            else:
                amount = np.zeros(pop.size)
                for proj, src in items:
                    c = proj.connectivity
                    np.add.at(amount, c.indices, np.broadcast_to(src.amplitude, (src.size,))[c.pre_indices()]
                              * c.synapse_weights())
                onsets[name] = _Onset(tuple(p.name for p, _ in items), steps.pop(), amount)
        return onsets, kept


def _initial_membrane(pop: Population, onset: _Onset, dt: float) -> tuple[np.ndarray | None, str]:
    """``v0'`` and "" when the compensated membrane cannot spike before the onset, else why not."""
    prop = pop.model.propagator(dt, pop.size)
    a, c, b = prop.decay_v, prop.current_to_v, prop.leak_v
    if np.any(a <= 0):
        return None, "its membrane keeps nothing from step to step"
    L = onset.step
    total = sum(a ** k for k in range(L))
    v0 = pop.initial_state()["v"] - c * onset.amount * total / a ** L
    v, bias = v0.copy(), np.broadcast_to(pop.model.bias, (pop.size,)) + onset.amount
    for _ in range(L):
        v = a * v + b + c * bias
        if pop.model.spiking and np.any(v > pop.model.v_threshold):
            return None, "its compensated membrane would cross the threshold before the onset"
    return v0, ""


def _early_input(net: Network, name: str, onsets: dict[str, _Onset]) -> str:
    """Why a spike could reach ``name`` before its onset ("" if none can): a compensated
    population spikes from its onset on, anything else from step 0."""
    step = onsets[name].step
    for proj in net.spiking_projections(post=name):
        start = onsets[proj.pre].step if proj.pre in onsets else 0
        arrival = start + int(np.min(proj.connectivity.delays, initial=step))
        if arrival < step:
            return f"'{proj.pre}' can reach it at step {arrival}, before its bias onset at step {step}"
    return ""
