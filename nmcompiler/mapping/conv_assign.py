"""Layers onto convolution cores: which core runs each layer, split by output channels when no
core's memories hold a layer whole.

An exact CP-SAT model (one worker, fixed seed: the same network gives the same answer). Each
layer picks how many parts it is split into (the channels spread evenly, the first parts one
more) and each part one core whose kernel, neuron and bias memories hold it; a core runs at most
one part; a layer's parts send to every part of each destination layer, so the parts of its
destinations count against the core's ``destinations``.

Objective, in order: the fewest cores; then the smallest memories among the cores used (the sum
of their kernel and neuron words, so the large cores stay free for the layers that need them);
then the lowest core numbers. When every core is alike the fewest cores is each layer in its
fewest parts, placed in layer order without a solver. Sinabs' DynapcnnNetwork finds *a* matching (a maximum flow) of
whole layers instead; ``tests/test_conv_sinabs.py`` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..drc.conv import ConvLayer, ConvLayers, part_channels
from ..targets.convolution import ConvCore, ConvolutionSpec
from .cpsat import solve_deterministic

__all__ = ["LayerAssignment", "LayerPart", "assign_layers"]


@dataclass(frozen=True, kw_only=True)
class LayerPart:
    layer: str
    channels: tuple[int, int]  # [start, stop) output channels
    core: int  # the chip's core number
    memory: ConvCore  # words it uses in each memory

    def to_json(self) -> dict:
        return {"layer": self.layer, "channels": list(self.channels), "core": self.core,
                "kernel_words": self.memory.kernel_words, "neuron_words": self.memory.neuron_words,
                "bias_words": self.memory.bias_words}


@dataclass(frozen=True, kw_only=True)
class LayerAssignment:
    parts: tuple[LayerPart, ...]  # layer order, then channel order; empty when nothing fits
    status: str  # the solver's
    misfits: tuple[str, ...] = ()


def _fits(need: ConvCore, core: ConvCore) -> bool:
    return (need.kernel_words <= core.kernel_words and need.neuron_words <= core.neuron_words
            and need.bias_words <= core.bias_words)


def _splits(layer: ConvLayer, spec: ConvolutionSpec) -> dict[int, list[tuple[tuple[int, int], ConvCore, list[int]]]]:
    """Per number of parts: each part's channels, memory and the cores that hold it (only splits
    whose every part fits some core; whole layers first)."""
    out = {}
    kinds: dict[ConvCore, list[int]] = {}  # cores by their memories (a chip of alike cores: one kind)
    for c, core in enumerate(spec.cores):
        kinds.setdefault(core, []).append(c)
    for s in range(1, min(len(spec.cores), layer.channels) + 1):
        parts = []
        for lo, hi in part_channels(layer.channels, s):
            need = layer.memory(spec, hi - lo)
            parts.append(((lo, hi), need, sorted(c for kind, cs in kinds.items() if _fits(need, kind) for c in cs)))
        if all(p[2] for p in parts):
            out[s] = parts
    return out


def _why_not(layers: ConvLayers, spec: ConvolutionSpec, name: str) -> str:
    """A short reason no assignment exists: too many layers, or a set of layers that only fit
    fewer cores than they are (whole)."""
    if len(layers.layers) > len(spec.cores):
        return f"{len(layers.layers)} layers, {name} has {len(spec.cores)} cores (one layer per core)"
    fits = {layer.name: frozenset(c for c, core in enumerate(spec.cores) if _fits(layer.memory(spec), core))
            for layer in layers.layers}
    for cores in sorted(set(fits.values()), key=len):
        crowd = sorted(n for n, f in fits.items() if f <= cores)
        if len(crowd) > len(cores):
            where = f"cores {', '.join(map(str, sorted(cores)))}" if cores else "no core"
            return (f"layers {', '.join(repr(n) for n in crowd)} fit only {where} whole, and splitting by output "
                    f"channels takes more cores or destinations than {name} has")
    return f"the layers, split by output channels where needed, need more cores or destinations than {name} has"


def _alike(layers: ConvLayers, splits: dict, spec: ConvolutionSpec, name: str) -> LayerAssignment | None:
    """Cores alike: the fewest cores is each layer in its fewest parts, on cores in layer order
    (exact for that objective; the model's other terms are equal for every choice). None when
    the destinations then exceed a core's, so the full model decides."""
    fewest = {n: min(options) for n, options in splits.items()}
    for src, dests in layers.destinations.items():
        if src in fewest and sum(fewest[d] for d in dests if d in fewest) > spec.destinations:
            return None
    total = sum(fewest.values())
    if total > len(spec.cores):
        return LayerAssignment(parts=(), status="infeasible", misfits=(
            f"the layers need {total} cores split as finely as their memories demand; {name} has "
            f"{len(spec.cores)}",))
    out, core = [], 0
    for layer in layers.layers:
        for channels, need, _ in splits[layer.name][fewest[layer.name]]:
            out.append(LayerPart(layer=layer.name, channels=channels, core=core, memory=need))
            core += 1
    return LayerAssignment(parts=tuple(out), status="optimal")


def _model(layers: ConvLayers, splits: dict, spec: ConvolutionSpec):
    """The CP-SAT model: ``y[layer, s]`` (split ``s`` ways), ``x[layer, s, part, core]``."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    size = [(c.kernel_words + c.neuron_words + 1023) // 1024 for c in spec.cores]  # KiWords, for the objective
    per_part = len(spec.cores) * (max(size) * 100 + len(spec.cores)) + 1  # one core more outweighs any other term
    y, x, on_core, cost = {}, {}, {c: [] for c in range(len(spec.cores))}, []
    for n, options in splits.items():
        for s, parts in options.items():
            y[n, s] = m.new_bool_var(f"y_{n}_{s}")
            cost.append(per_part * s * y[n, s])
            for j, (_, _, cores) in enumerate(parts):
                row = []
                for c in cores:
                    x[n, s, j, c] = v = m.new_bool_var(f"x_{n}_{s}_{j}_{c}")
                    on_core[c].append(v)
                    row.append(v)
                    cost.append((size[c] * 100 + c) * v)
                m.add(sum(row) == y[n, s])
        m.add_exactly_one(y[n, s] for s in options)
    for vs in on_core.values():
        m.add_at_most_one(vs)
    parts_of = {n: sum(s * y[n, s] for s in options) for n, options in splits.items()}
    for src, dests in layers.destinations.items():
        if src in splits:
            m.add(sum(parts_of[d] for d in dests if d in parts_of) <= spec.destinations)
    m.minimize(sum(cost))
    return m, y, x


def assign_layers(layers: ConvLayers, spec: ConvolutionSpec, *, name: str, seed: int = 0) -> LayerAssignment:
    """The layer-to-core assignment of this module's model (see its docstring)."""
    splits = {layer.name: _splits(layer, spec) for layer in layers.layers}
    unplaceable = [n for n, s in splits.items() if not s]
    if unplaceable:
        return LayerAssignment(parts=(), status="infeasible", misfits=tuple(
            f"layer '{n}' fits no core even split by output channels" for n in unplaceable))
    if spec.identical:
        done = _alike(layers, splits, spec, name)
        if done is not None:
            return done
    m, y, x = _model(layers, splits, spec)
    solver, _, status, found = solve_deterministic(m, 10.0, seed)
    if not found:
        return LayerAssignment(parts=(), status=status.lower(), misfits=(_why_not(layers, spec, name),))
    out = []
    for layer in layers.layers:
        (s,) = [s for s in splits[layer.name] if solver.value(y[layer.name, s])]
        for j, (channels, need, cores) in enumerate(splits[layer.name][s]):
            (core,) = [c for c in cores if solver.value(x[layer.name, s, j, c])]
            out.append(LayerPart(layer=layer.name, channels=channels, core=core, memory=need))
    return LayerAssignment(parts=tuple(out), status=status.lower())
