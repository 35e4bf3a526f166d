"""Layers of a network on convolution cores (targets with a ``convolution`` section), and the
design rules they must meet.

Each population is one layer: the kernel of its incoming projections (one kernel: several
projections may feed a layer, as a chip merges input events, if they share it), the pooling its
sources apply to the spikes they send it, its input and output feature maps. A convolution over
``(C, L)`` is one over ``(C, 1, L)``; a dense stage is a convolution whose kernel covers its input
map (Sinabs runs ``Linear`` layers so), giving ``(n, 1, 1)``. Rules name the layer, the resource,
the amount and the limit, and say how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import Network, Population, SpikeSource
from ..ir.convolution import ConvStage
from ..targets import Target
from ..targets.convolution import ConvCore, ConvolutionSpec
from .rules import Rule, Violation

__all__ = ["ConvLayer", "ConvLayers", "conv_layers", "conv_rules", "part_channels"]


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvLayer:
    """One population as a layer of a convolution core (shapes as ``(C, H, W)``)."""

    name: str
    kind: str  # "conv" or "dense"
    projections: tuple[str, ...]  # the projections that feed it (one kernel)
    sources: tuple[str, ...]  # their presynaptic nodes
    pooling: tuple[int, ...]  # per source: the square sum-pooling window on the spikes it sends
    in_shape: tuple[int, int, int]  # the map the kernel reads (after pooling)
    out_shape: tuple[int, int, int]  # the neurons' map
    kernel: tuple[int, int]
    c_per_group: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    bias: bool  # a bias per output channel

    @property
    def channels(self) -> int:
        return self.out_shape[0]

    def memory(self, spec: ConvolutionSpec, channels: int | None = None) -> ConvCore:
        """Words the layer (or a part with ``channels`` output channels) takes in each memory."""
        f = self.channels if channels is None else channels
        return ConvCore(kernel_words=spec.kernel_words(self.c_per_group, self.kernel, f),
                        neuron_words=spec.neuron_words(f, self.out_shape[1:]), bias_words=f if self.bias else 0)

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvLayers:
    layers: tuple[ConvLayer, ...]
    destinations: dict[str, tuple[str, ...]]  # layer or input -> the layers it sends to
    violations: tuple[Violation, ...]


def part_channels(channels: int, parts: int) -> list[tuple[int, int]]:
    """``[start, stop)`` output channels of each part when a layer is split ``parts`` ways (the
    first ``channels % parts`` parts take one channel more)."""
    base, extra = divmod(channels, parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + base + (k < extra)
        out.append((start, stop))
        start = stop
    return out


def _v(rule: Rule, layer: str, resource: str, amount: int, limit: int, message: str) -> Violation:
    return Violation(rule=rule, subject=f"layer '{layer}'", resource=resource, amount=int(amount), limit=int(limit),
                     message=f"layer '{layer}': {message}", legalizable=False)


def _pool_window(stages: tuple[ConvStage, ...], layer: str, target: Target, out: list) -> int | None:
    """The one square window of the pooling stages before the kernel (their product), or None
    after reporting why the chip cannot pool so."""
    spec, window = target.convolution, 1
    for s in stages:
        k = s.kernel if len(s.kernel) == 2 else (1, *s.kernel)
        if s.kind not in ("sum_pool", "avg_pool") or k[0] != k[1] or s.stride != s.kernel or any(s.padding):
            out.append(_v(Rule.CONV_POOLING, layer, "pooling", max(k), 0,
                          f"{s.kind} with kernel {s.kernel}, stride {s.stride}, padding {s.padding} before its kernel: "
                          f"{target.name} cores sum-pool square windows of {', '.join(map(str, spec.pooling))} with "
                          "stride = window and no padding; pool so, or remove the pooling"))
            return None
        window *= k[0]
    if window not in spec.pooling:
        out.append(_v(Rule.CONV_POOLING, layer, "pooling", window, max(spec.pooling),
                       f"pools {window}x{window}; {target.name} cores pool {', '.join(map(str, spec.pooling))}"))
        return None
    return window


def _kernel_rules(layer: str, st: ConvStage, g, target: Target, out: list) -> None:
    spec = target.convolution
    k = g.kernel
    if max(k) > spec.kernel_max or (spec.square_kernel and k[0] != k[1]):
        shape = "square kernels" if spec.square_kernel else "kernels"
        out.append(_v(Rule.CONV_KERNEL, layer, "kernel size", max(k), spec.kernel_max,
                      f"kernel {k[0]}x{k[1]}; {target.name} cores take {shape} up to {spec.kernel_max}x{spec.kernel_max}"))
    if st.kind == "conv":
        if any(s not in spec.strides for s in g.stride):
            out.append(_v(Rule.CONV_KERNEL, layer, "stride", max(g.stride), max(spec.strides),
                          f"stride {g.stride}; {target.name} cores step {', '.join(map(str, spec.strides))}"))
        if max(g.padding) > spec.padding_max:
            out.append(_v(Rule.CONV_KERNEL, layer, "padding", max(g.padding), spec.padding_max,
                          f"padding {st.padding}; {target.name} cores pad at most {spec.padding_max}"))
        if max(g.dilation) > 1 and not spec.dilation:
            out.append(_v(Rule.CONV_KERNEL, layer, "dilation", max(g.dilation), 1,
                          f"dilation {st.dilation}; {target.name} cores have no dilated kernels"))
        if st.groups > 1 and not spec.groups:
            out.append(_v(Rule.CONV_KERNEL, layer, "groups", st.groups, 1,
                          f"{st.groups} groups; {target.name} cores have no grouped convolution"))
    for what, shape, limit in (("input", g.in_shape, spec.input_max), ("output", g.out_shape, spec.output_max)):
        if shape[0] > spec.channels_max:
            out.append(_v(Rule.CONV_MAP, layer, f"{what} channels", shape[0], spec.channels_max,
                          f"{shape[0]} {what} channels; {target.name} layers have at most {spec.channels_max}"))
        if shape[1] > limit[0] or shape[2] > limit[1]:
            out.append(_v(Rule.CONV_MAP, layer, f"{what} map", shape[1] * shape[2], limit[0] * limit[1],
                          f"{what} map {shape[1]}x{shape[2]}; {target.name} layers take at most {limit[0]}x{limit[1]}"))


def _kernel_input(net: Network, pop: Population, target: Target, out: list):
    """The projections into ``pop`` and their structures (:meth:`Projection.kernel_structure`),
    which share one kernel (their last stage); or None after reporting why the layer has none."""
    incoming = net.spiking_projections(pop.name)
    if len(pop.model.receptors) > 1:
        out.append(_v(Rule.CONV_STRUCTURE, pop.name, "current channels", len(pop.model.receptors), 1,
                      f"has {len(pop.model.receptors)} current channels; a {target.name} layer has one"))
        return None
    others = [p for p in net.projections if p.post == pop.name and p not in incoming]
    if others or not incoming:
        what = f"is driven by '{others[0].pre}' (a current or Poisson source)" if others else "has no input"
        out.append(_v(Rule.CONV_STRUCTURE, pop.name, "input", 0, 0,
                      f"{what}; {target.name} layers take spikes through one convolution kernel"))
        return None
    structures = [p.kernel_structure() for p in incoming]
    plain = [p.name for p, s in zip(incoming, structures) if s is None]
    if plain:
        out.append(_v(Rule.CONV_STRUCTURE, pop.name, "kernel", len(plain), 0,
                      f"projection(s) {', '.join(plain)} are synapse lists that no kernel holds (over 16 Mi dense "
                      f"weights, or two synapses on one pair); {target.name} cores store kernels: import the network "
                      "from NIR (Conv2d, Linear)"))
        return None
    finals = [s.stages[-1] for s in structures]
    if any(s.kind not in ("conv", "dense") for s in finals) or any(f != finals[0] for f in finals[1:]):
        out.append(_v(Rule.CONV_STRUCTURE, pop.name, "kernel", len(finals), 1,
                      f"is fed through {len(finals)} different kernels or a pooling alone "
                      f"({', '.join(p.name for p in incoming)}); a {target.name} core stores one kernel per layer"))
        return None
    return incoming, structures


def _layer(net: Network, pop: Population, target: Target, out: list) -> ConvLayer | None:
    found = _kernel_input(net, pop, target, out)
    if found is None:
        return None
    incoming, structures = found
    st = structures[0].stages[-1]
    windows = [_pool_window(s.stages[:-1], pop.name, target, out) for s in structures]
    delays = {int(d) for p in incoming for d in np.unique(p.connectivity.delays)}
    if delays - {1}:
        out.append(_v(Rule.DELAY_RANGE, pop.name, "delay", max(delays), 1,
                      f"input delays of {sorted(delays)} ticks; {target.name} layers pass spikes on in the next "
                      "tick (delay 1) and have no synaptic delays"))
    g = st.planar()
    _kernel_rules(pop.name, st, g, target, out)
    # an input axon per position of the (pooled) map the kernel reads: pooled neurons share one
    axons, limit = len(incoming) * math.prod(g.in_shape), target.convolution.input_axons
    if limit is not None and axons > limit:
        out.append(_v(Rule.CONV_MAP, pop.name, "input axons", axons, limit,
                      f"reads {axons} input positions; a {target.name} core has {limit} input axons"))
    bias = np.broadcast_to(getattr(pop.model, "bias", 0.0), (pop.size,)).reshape(g.out_shape[0], -1)
    if np.any(bias != bias[:, :1]):
        out.append(_v(Rule.CONV_STRUCTURE, pop.name, "bias", 0, 0,
                      f"its bias differs within an output channel; {target.name} cores hold one bias per channel"))
    if None in windows:
        return None
    return ConvLayer(name=pop.name, kind=st.kind, projections=tuple(p.name for p in incoming),
                     sources=tuple(p.pre for p in incoming), pooling=tuple(windows), in_shape=g.in_shape,
                     out_shape=g.out_shape, kernel=g.kernel, c_per_group=int(st.kernel_weights().shape[1]),
                     stride=g.stride, padding=g.padding, dilation=g.dilation, groups=st.groups,
                     bias=bool(np.any(bias)))


def _memory_rules(layer: ConvLayer, target: Target, out: list) -> None:
    """A single output channel must fit the largest core (a layer splits by output channels)."""
    spec = target.convolution
    one, big = layer.memory(spec, 1), spec.largest
    for memory in ("kernel_words", "neuron_words", "bias_words"):
        if getattr(one, memory) > getattr(big, memory):
            out.append(_v(Rule.CONV_MEMORY, layer.name, memory.replace("_", " "), getattr(one, memory),
                          getattr(big, memory),
                          f"one output channel takes {getattr(one, memory)} {memory.replace('_', ' ')}, more than "
                          f"any {target.name} core holds ({getattr(big, memory)}): use a smaller kernel, fewer input "
                          "channels or a smaller map"))


def conv_layers(net: Network, target: Target) -> ConvLayers:
    """The layers of ``net`` on ``target``'s convolution cores, their destinations, and what breaks
    the target's rules."""
    out: list[Violation] = []
    layers = []
    for pop in net.populations:
        layer = _layer(net, pop, target, out)
        if layer is not None:
            _memory_rules(layer, target, out)
            layers.append(layer)
    destinations: dict[str, list[str]] = {}
    for layer in layers:
        for src in layer.sources:
            destinations.setdefault(src, []).append(layer.name)
    for src, dests in destinations.items():
        if not isinstance(net.node(src), SpikeSource) and len(set(dests)) > target.convolution.destinations:
            out.append(_v(Rule.CONV_DESTINATIONS, src, "destination layers", len(set(dests)),
                          target.convolution.destinations,
                          f"sends to {len(set(dests))} layers ({', '.join(sorted(set(dests)))}); a {target.name} core "
                          f"sends to at most {target.convolution.destinations}"))
    return ConvLayers(layers=tuple(layers), destinations={k: tuple(dict.fromkeys(v)) for k, v in destinations.items()},
                      violations=tuple(out))


def conv_rules(net: Network, target: Target) -> list[Violation]:
    """The design rules of convolution cores (for :func:`.rules.check`)."""
    if target.convolution is None:
        return []
    return list(conv_layers(net, target).violations)

