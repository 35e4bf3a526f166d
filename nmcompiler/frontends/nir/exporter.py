"""Graph IR -> NIR graph (the inverse of the importer's conventions).

* populations become LIF / LI (lif), CubaLIF / CubaLI (cuba_lif with one receptor), IF / I (if)
  and Threshold (threshold) nodes with per-neuron parameter arrays;
* spike sources become Input nodes; a projection becomes a Linear node (an Affine node when the
  target has a bias), dense ``(n_post, n_pre)``; delays above one step add a Delay node, and a
  projection with several delays is split into one Linear per delay;
* weights are divided by the importer's input scale so that re-importing gives the same IR;
* what NIR 1.0 cannot hold (reset by subtraction, refractory periods, initial state, the
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


def _neuron_node(pop: Population, dt: float):
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
    for node in net.nodes:
        if isinstance(node, SpikeSource):
            nodes[node.name] = nir.Input(input_type={"input": np.array([node.size])})
        elif isinstance(node, Population) and node.name not in readouts:
            nodes[node.name] = _neuron_node(node, net.dt)
            scales[node.name] = convert_neuron(nodes[node.name], dt=net.dt, integration=integration,
                                               reset=node.model.reset, if_per_step=True)
        elif not isinstance(node, (Population, CurrentSource)):
            raise UserError(f"source '{node.name}': {node.kind} sources have no NIR equivalent (use a spike source)")
    biases = _biases(net, scales)
    for proj in net.spiking_projections():
        _projection(net, proj, nodes, edges, scales, biases, readouts)
    for name in readouts:
        nodes[name] = nir.Output(output_type={"output": np.array([net.node(name).size])})
    for pop in net.populations:  # every population is observable, as the importer's probes assume
        if pop.name not in readouts:
            nodes[f"{pop.name}.out"] = nir.Output(output_type={"output": np.array([pop.size])})
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
