"""Graph IR -> NIR graph (the inverse of the importer's conventions).

* populations become LIF / LI (lif), CubaLIF / CubaLI (cuba_lif with one receptor), IF / I (if)
  and Threshold (threshold) nodes with per-neuron parameter arrays (shaped as the feature map a
  convolution structure gives them);
* a projection that keeps a convolution structure becomes its chain again: Conv1d / Conv2d,
  SumPool2d / AvgPool2d, Flatten + Linear / Affine for a dense stage, the bias on the last stage;
* spike sources become Input nodes; a projection becomes a Linear node (an Affine node when the
  target has a bias), dense ``(n_post, n_pre)``; delays above one step add a Delay node, and a
  projection with several delays is split into one Linear per delay;
* weights are divided by the importer's input scale so that re-importing gives the same IR;
* what NIR 1.0 cannot hold (reset by subtraction, refractory periods, lower bounds of v, initial state, the
  integration scheme, dt) travels in ``metadata`` under ``nmcompiler.*`` keys, which the
  importer reads back. Other tools ignore these keys.

Non-spiking threshold units (the importer's linear readouts) become Linear -> Output again.
"""

from __future__ import annotations

import numpy as np
import nir

from ...errors import UserError
from ...ir import IF, LIF, CubaLIF, CurrentSource, Network, Population, SpikeSource, ThresholdUnit
from ...ir.models import ResetMode
from .neurons import convert_neuron

__all__ = ["export_nir"]

_MAX_DENSE = 50_000_000  # entries of one dense Linear weight matrix


def _full(value, size) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).copy()


def exact_preimage(target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``x`` with ``x * scale == target`` bit for bit where such a float exists (else ``target / scale``)."""
    target, scale = np.asarray(target, dtype=np.float64), np.asarray(scale, dtype=np.float64)
    x = target / scale
    for _ in range(4):
        bad = x * scale != target
        if not np.any(bad):
            break
        up, down = np.nextafter(x, np.inf), np.nextafter(x, -np.inf)
        x = np.where(bad & (up * scale == target), up, np.where(bad & (down * scale == target), down, x))
        x = np.where(bad & (x * scale != target), np.where(x * scale < target, up, down), x)
    return x


def _neuron_node(pop: Population, dt: float, shape: tuple[int, ...] | None = None):
    node = _flat_neuron_node(pop, dt)
    if shape is None or len(shape) < 2:
        return node
    for attr in ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in", "threshold"):
        value = getattr(node, attr, None)
        if isinstance(value, np.ndarray) and value.size == pop.size:
            setattr(node, attr, value.reshape(shape))
    return node


def _flat_neuron_node(pop: Population, dt: float):
    m, n = pop.model, pop.size
    meta = {}
    if m.reset == ResetMode.SUBTRACT:
        meta["nmcompiler.reset"] = ResetMode.SUBTRACT
    if m.compare != ">":
        meta["nmcompiler.compare"] = m.compare
    if m.max_spikes != 1:
        meta["nmcompiler.max_spikes"] = int(m.max_spikes)
    if m.input_before_update:
        meta["nmcompiler.input_before_update"] = True
    if np.any(m.refractory != 0):
        meta["nmcompiler.refractory"] = _full(m.refractory, n)
    if m.bounded:
        meta["nmcompiler.v_min"] = _full(m.v_min, n)
    for var, value in pop.initial.items():
        meta[f"nmcompiler.initial.{var}"] = np.asarray(value, dtype=np.float64)
    common = {"r": _full(m.r, n)}
    if isinstance(m, ThresholdUnit):
        if np.any(m.r != 1) or np.any(m.bias != 0):
            raise UserError(f"population '{pop.name}': NIR's Threshold has no input scale or bias (needs r = 1, bias = 0)")
        return nir.Threshold(threshold=_full(m.v_threshold, n), metadata=meta)
    if isinstance(m, LIF):
        if not m.spiking:
            return nir.LI(tau=_full(m.tau_mem, n), v_leak=_full(m.v_leak, n), metadata=meta, **common)
        return nir.LIF(tau=_full(m.tau_mem, n), v_leak=_full(m.v_leak, n), v_threshold=_full(m.v_threshold, n),
                       v_reset=_full(m.v_reset, n), metadata=meta, **common)
    if isinstance(m, CubaLIF):
        if len(m.receptors) != 1:
            raise UserError(f"population '{pop.name}': NIR's CubaLIF has one synaptic current, this one has "
                            f"receptors {list(m.receptors)}")
        if np.any(m.bias != 0):
            raise UserError(f"population '{pop.name}': NIR's CubaLIF has no membrane bias; drive it through "
                            "a current source into its receptor instead")
        tau_syn = _full(m.tau_syn.reshape(-1) if m.tau_syn.size == n else m.tau_syn[0], n)
        kw = {"tau_syn": tau_syn, "tau_mem": _full(m.tau_mem, n), "v_leak": _full(m.v_leak, n), "w_in": np.ones(n)}
        if not m.spiking:
            return nir.CubaLI(metadata=meta, **kw, **common)
        return nir.CubaLIF(v_threshold=_full(m.v_threshold, n), v_reset=_full(m.v_reset, n), metadata=meta,
                           **kw, **common)
    if isinstance(m, IF):
        if not m.spiking:
            return nir.I(metadata=meta, **common)
        return nir.IF(v_threshold=_full(m.v_threshold, n), v_reset=_full(m.v_reset, n), metadata=meta, **common)
    raise UserError(f"population '{pop.name}': model '{m.kind}' has no NIR equivalent")


def export_nir(net: Network) -> nir.NIRGraph:
    """Export ``net`` (validated) as a NIR graph whose re-import reproduces it."""
    net.validate()
    for proj in net.projections:
        if proj.learning is not None:
            raise UserError(f"projection '{proj.name}' learns ({proj.learning.kind}): NIR has no plasticity, so NIR "
                            "export cannot keep it; export the learned weights (a network without 'learning')")
    integrations = {p.model.integration for p in net.populations if not isinstance(p.model, ThresholdUnit)}
    if len(integrations) > 1:
        raise UserError(f"NIR export needs one integration scheme for the whole network, found {sorted(integrations)}")
    integration = integrations.pop() if integrations else "euler"
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    readouts = {p.name for p in net.populations if isinstance(p.model, ThresholdUnit) and not p.model.spiking}
    scales = {}
    shapes = _map_shapes(net)
    for node in net.nodes:
        if isinstance(node, SpikeSource):
            nodes[node.name] = nir.Input(input_type={"input": np.array(shapes.get(node.name, [node.size]))})
        elif isinstance(node, Population) and node.name not in readouts:
            nodes[node.name] = _neuron_node(node, net.dt, shapes.get(node.name))
            scales[node.name] = convert_neuron(nodes[node.name], dt=net.dt, integration=integration,
                                               reset=node.model.reset, if_per_step=True)
        elif not isinstance(node, (Population, CurrentSource)):
            raise UserError(f"source '{node.name}': {node.kind} sources have no NIR equivalent (use a spike source)")
    biases = _biases(net, scales)
    for proj in net.spiking_projections():
        if not _structured(net, proj, nodes, edges, scales, biases, readouts, shapes):
            _projection(net, proj, nodes, edges, scales, biases, readouts)
    for name in readouts:
        nodes[name] = nir.Output(output_type={"output": np.array([net.node(name).size])})
    for pop in net.populations:  # every population is observable, as the importer's probes assume
        if pop.name not in readouts:
            nodes[f"{pop.name}.out"] = nir.Output(output_type={"output": np.array(shapes.get(pop.name, [pop.size]))})
            edges.append((pop.name, f"{pop.name}.out"))
    for name, (bias, _) in biases.items():
        if np.any(bias) and not any(b == name for _, b in edges):
            raise UserError(f"population '{name}': a bias with no incoming projection has no NIR form")
    meta = {"dt": net.dt, "nmcompiler.integration": integration}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def _biases(net: Network, scales) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Constant input per population: (in NIR units, as the IR holds it) for LIF/IF biases and
    current sources into CubaLIF."""
    out: dict[str, tuple] = {}
    for pop in net.populations:
        if pop.name in scales and not isinstance(pop.model, CubaLIF):
            ir = _full(pop.model.bias, pop.size)
            out[pop.name] = (exact_preimage(ir, scales[pop.name].bias_scale), ir)
    for proj in net.projections:
        src = net.node(proj.pre)
        if isinstance(src, CurrentSource):
            if src.start != 0 or np.isfinite(src.stop):
                raise UserError(f"source '{src.name}': a current switched on or off at set times has no NIR form")
            post = net.node(proj.post)
            if isinstance(post.model, CubaLIF) and proj.into_membrane(post):
                raise UserError(f"projection '{proj.name}': a current into a CUBA-LIF membrane has no NIR form "
                                "(NIR's CubaLIF takes input only through its synaptic current)")
            c = proj.connectivity
            amount = np.zeros(post.size)
            np.add.at(amount, c.indices, np.broadcast_to(src.amplitude, (src.size,))[c.pre_indices()] * c.synapse_weights())
            scale = scales[post.name].bias_scale if post.name in scales else 1.0
            nir_b, ir_b = out.get(post.name, (0.0, 0.0))
            out[post.name] = (nir_b + exact_preimage(amount, np.broadcast_to(scale, amount.shape)), ir_b + amount)
    return out


def _projection(net, proj, nodes, edges, scales, biases, readouts) -> None:
    c = proj.connectivity
    if c.n_pre * c.n_post > _MAX_DENSE:
        raise UserError(f"projection '{proj.name}': {c.n_pre} x {c.n_post} is too large for a dense NIR Linear")
    scale = np.ones(c.n_post) if proj.post in readouts else np.broadcast_to(scales[proj.post].input_scale, (c.n_post,))
    delays = c.synapse_delays()
    pre_idx = c.pre_indices()
    for d in np.unique(delays):
        sel = delays == d
        weight = np.zeros((c.n_post, c.n_pre))
        weight[c.indices[sel], pre_idx[sel]] = exact_preimage(c.synapse_weights()[sel], scale[c.indices[sel]])
        ir_weight = np.zeros((c.n_post, c.n_pre))  # the IR's own values: re-import is exact (see docs/nir.md)
        ir_weight[c.indices[sel], pre_idx[sel]] = c.synapse_weights()[sel]
        meta = {"nmcompiler.ir_weight": ir_weight}
        name = proj.name if len(np.unique(delays)) == 1 else f"{proj.name}.d{int(d)}"
        bias = biases.pop(proj.post, None)
        if bias is not None and np.any(bias[0]):
            meta["nmcompiler.ir_bias"] = np.asarray(bias[1], dtype=np.float64)
            nodes[name] = nir.Affine(weight=weight, bias=bias[0], metadata=meta)
        else:
            nodes[name] = nir.Linear(weight=weight, metadata=meta)
        edges.append((proj.pre, name))
        if d > 1:
            nodes[f"{name}.delay"] = nir.Delay(delay=np.full(c.n_post, (int(d) - 1) * net.dt))
            edges.append((name, f"{name}.delay"))
            name = f"{name}.delay"
        edges.append((name, proj.post))


def _map_shapes(net: Network) -> dict[str, tuple[int, ...]]:
    """The feature-map shape of every node a convolution structure reads or writes (the first
    one seen; a node seen with two shapes keeps the first, and the other projection is written
    as a dense Linear)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for proj in net.projections:
        if proj.structure is not None:
            shapes.setdefault(proj.pre, proj.structure.in_shape)
            shapes.setdefault(proj.post, proj.structure.out_shape)
    return shapes


def _structured(net, proj, nodes, edges, scales, biases, readouts, shapes) -> bool:
    """Write ``proj`` as its convolution chain; False (nothing written) when the chain cannot
    reproduce it: several delays, a gain other than the neurons' input scale, a bias that is
    not one value per output channel, or map shapes that disagree."""
    s, c = proj.structure, proj.connectivity
    if s is None or proj.post in readouts or shapes.get(proj.pre) != s.in_shape or shapes.get(proj.post) != s.out_shape:
        return False
    delays = np.unique(c.synapse_delays())
    if delays.size > 1 or not np.all(np.broadcast_to(scales[proj.post].input_scale, (c.n_post,)) == s.gain):
        return False
    bias = biases.get(proj.post)
    last = s.stages[-1]
    channel_bias = np.zeros(last.out_channels)
    if bias is not None and np.any(bias[0]):
        per_channel = np.asarray(bias[0], dtype=np.float64).reshape(last.out_channels, -1)
        if last.kind not in ("conv", "dense") or np.any(per_channel != per_channel[:, :1]):
            return False
        channel_bias = per_channel[:, 0]
    biases.pop(proj.post, None)
    prev = proj.pre
    for i, stage in enumerate(s.stages):
        name = proj.name if i == len(s.stages) - 1 else f"{proj.name}.{i}"
        for node_name, node in _stage_nodes(name, stage, channel_bias if i == len(s.stages) - 1 else None):
            nodes[node_name] = node
            edges.append((prev, node_name))
            prev = node_name
    if delays.size and delays[0] > 1:
        nodes[f"{proj.name}.delay"] = nir.Delay(delay=np.full(s.out_shape, (int(delays[0]) - 1) * net.dt))
        edges.append((prev, f"{proj.name}.delay"))
        prev = f"{proj.name}.delay"
    edges.append((prev, proj.post))
    return True


def _stage_nodes(name: str, stage, bias):
    """NIR nodes of one stage, in order (a dense stage over a map is a Flatten and a Linear)."""
    if stage.kind in ("sum_pool", "avg_pool"):
        kind = nir.SumPool2d if stage.kind == "sum_pool" else nir.AvgPool2d
        return [(name, kind(kernel_size=np.array(stage.kernel), stride=np.array(stage.stride),
                            padding=np.array(stage.padding)))]
    bias = np.zeros(stage.out_channels) if bias is None else bias
    if stage.kind == "dense":
        out = []
        if len(stage.in_shape) > 1:
            out.append((f"{name}.flatten", nir.Flatten(input_type={"input": np.array(stage.in_shape)}, start_dim=0,
                                                       end_dim=-1)))
        node = nir.Affine(weight=stage.weight, bias=bias) if np.any(bias) else nir.Linear(weight=stage.weight)
        return [*out, (name, node)]
    if stage.spatial == 1:
        return [(name, nir.Conv1d(input_shape=stage.in_shape[1], weight=stage.weight, stride=stage.stride[0],
                                  padding=stage.padding[0], dilation=stage.dilation[0], groups=stage.groups,
                                  bias=bias))]
    return [(name, nir.Conv2d(input_shape=tuple(stage.in_shape[1:]), weight=stage.weight, stride=stage.stride,
                              padding=stage.padding, dilation=stage.dilation, groups=stage.groups, bias=bias))]
