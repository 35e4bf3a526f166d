"""NIR graph -> graph IR.

Neuron nodes become populations, Input nodes become (empty) spike sources, and every chain or
DAG of linear operators between them (Affine, Linear, Scale, Conv1d/2d, SumPool2d, AvgPool2d,
Flatten, Delay) is composed into one sparse projection per (source, target, delay). Biases
become bias currents. All problems are collected and raised together with the NIR node names.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import networkx as nx
import nir
import numpy as np
import scipy.sparse as sp

from ...errors import Diagnostic, UserError, ValidationError
from ...ir import (Connectivity, Convolution, CurrentSource, Network, Population, Probe, Projection, SpikeSource,
                  ThresholdUnit)
from ...ir.models import Integration, ResetMode
from . import operators as op
from .graph import flatten, rnn_inputs_to_neurons
from .neurons import (NEURON_KINDS, ConvertedNeuron, convert_neuron, neuron_shape, parameter_problems,
                      time_step_from_metadata, time_step_from_r)
from .options import NirOptions
from .presets import detect, preset
from .prewalk import prewalk

__all__ = ["load_nir", "read_nir_file"]

log = logging.getLogger(__name__)

LINEAR_KINDS = (nir.Affine, nir.Linear, nir.Scale, nir.Conv1d, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d,
                nir.Flatten, nir.Delay)


def read_nir_file(path: Path) -> nir.NIRGraph:
    """Read a ``.nir`` file; graphs whose stored types fail nir's own check are read unchecked."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    prewalk(path)  # links, external data, sizes: refused before any data is read
    try:
        return nir.read(path)
    except ValueError as exc:
        if "type" not in str(exc).lower():
            raise UserError(f"{path}: not a readable NIR file ({exc})") from None
        log.warning("%s: nir's type check failed (%s); importing with nmcompiler's own shape checks", path, exc)
    except Exception as exc:  # h5py/KeyError/OSError on foreign or broken files
        raise UserError(f"{path}: not a readable NIR file ({type(exc).__name__}: {exc})") from None
    try:
        return nir.read(path, type_check=False)
    except Exception as exc:
        raise UserError(f"{path}: not a readable NIR file ({type(exc).__name__}: {exc})") from None


def _shape_of(node) -> tuple[int, ...] | None:
    for attr in ("input_type", "output_type"):
        types = getattr(node, attr, None) or {}
        for value in types.values():
            shape = tuple(int(v) for v in np.asarray(value).reshape(-1))
            if shape and all(v > 0 for v in shape):
                return shape
    return None


class _Importer:
    def __init__(self, graph: nir.NIRGraph, label: str, options: NirOptions):
        self.label = label
        self.opt = options
        self.flat = flatten(graph)
        if options.rnn_input_to_neuron and (moved := rnn_inputs_to_neurons(self.flat)):
            log.info("%s: the recurrent subgraph input of %s goes to the neuron, not through the recurrent weights "
                     "(as the exporter's framework computes it)", label, ", ".join(f"'{n}'" for n in moved))
        self.problems: list[Diagnostic] = []
        self.dt = self._time_step(graph)
        self.integration = options.integration_for(getattr(graph, "metadata", {}) or {})
        if self.integration not in Integration.ALL:
            raise UserError(f"{label}: integration '{self.integration}' in the graph's metadata is unknown")

    def problem(self, node: str, message: str) -> None:
        kind = type(self.flat.nodes[node]).__name__ if node in self.flat.nodes else "?"
        self.problems.append(Diagnostic(where=self.label, message=f"node '{node}' ({kind}): {message}"))

    def _time_step(self, graph) -> float:
        meta_dt = time_step_from_metadata(graph)
        if self.opt.dt is not None:
            if meta_dt is not None and not math.isclose(meta_dt, self.opt.dt):
                log.warning("%s: graph metadata says dt = %g s; using --dt %g s", self.label, meta_dt, self.opt.dt)
            return self.opt.dt
        if meta_dt is None and self.opt.dt_from_r:
            meta_dt = self._time_step_from_r()
        if meta_dt is None:
            raise UserError(f"{self.label}: no time step: NIR graphs are continuous-time; give --dt (e.g. --dt 1ms)")
        log.info("%s: using dt = %g s from the graph's metadata (override with --dt)", self.label, meta_dt)
        return meta_dt

    def _time_step_from_r(self) -> float | None:
        """The dt the exporter wrote into ``r`` of the first LIF or CubaLIF: Rockpool's ``r = tau
        exp(-dt/tau) / dt``, or Spyx's ``r = beta = 1 - dt / tau`` (no such node: its default 1)."""
        formula = {"rockpool": "r = tau exp(-dt/tau) / dt", "spyx": "r = 1 - dt / tau"}[self.opt.dt_from_r]
        for node in self.flat.nodes.values():
            tau = getattr(node, "tau_mem", getattr(node, "tau", None))
            if isinstance(node, (nir.LIF, nir.CubaLIF)) and tau is not None and getattr(node, "r", None) is not None:
                if self.opt.dt_from_r == "spyx":
                    dt = float(np.ravel(tau)[0]) * (1 - float(np.ravel(node.r)[0]))
                else:
                    dt = time_step_from_r(tau, node.r)
                if dt is not None and dt > 0:
                    rounded = float(f"{dt:.6g}")  # the exporter's dt, not the last digits of float32 or bisection
                    log.info("%s: dt = %g s from the exported %s", self.label, rounded, formula)
                    return rounded
        if self.opt.dt_from_r == "spyx":
            log.info("%s: no LIF or CubaLIF to read dt from: dt = 1 (Spyx's to_nir default)", self.label)
            return 1.0
        return None

    # -- checks ---------------------------------------------------------------------------
    def check(self) -> nx.DiGraph:
        self._edges = set(self.flat.edges)
        for node, msg in self.flat.problems:
            self.problem(node, msg)
        g = nx.DiGraph()
        g.add_nodes_from(self.flat.nodes)
        g.add_edges_from(self.flat.edges)
        for name, node in self.flat.nodes.items():
            if isinstance(node, NEURON_KINDS):
                for msg in parameter_problems(node):
                    self.problem(name, msg)
            elif isinstance(node, LINEAR_KINDS):
                for attr in ("weight", "bias", "scale", "delay"):
                    value = getattr(node, attr, None)
                    if value is not None and not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                        self.problem(name, f"parameter '{attr}' contains NaN or infinite values")
                if isinstance(node, nir.Delay) and np.any(np.asarray(node.delay) < 0):
                    self.problem(name, "delays must be >= 0")
            elif not isinstance(node, (nir.Input, nir.Output)):
                self.problem(name, f"unsupported NIR node kind '{type(node).__name__}' (supported: "
                                   f"{', '.join(sorted(k.__name__ for k in NEURON_KINDS + LINEAR_KINDS))}, Input, Output)")
        neurons = {n for n, v in self.flat.nodes.items() if isinstance(v, NEURON_KINDS)}
        for cycle in nx.simple_cycles(g.subgraph(n for n in g if n not in neurons)):
            loop = " -> ".join([*cycle, cycle[0]])
            has_delay = any(isinstance(self.flat.nodes[n], nir.Delay) for n in cycle)
            what = "a delay line without neurons, which has no IR form" if has_delay else "an algebraic loop"
            self.problem(cycle[0], f"loop {loop} has no neuron in it ({what})")
            break
        return g

    # -- composition ----------------------------------------------------------------------
    def _root_shape(self, name: str, node) -> tuple[int, ...] | None:
        if isinstance(node, NEURON_KINDS):
            return neuron_shape(node) or _shape_of(node)
        if isinstance(node, nir.Input):
            return _shape_of(node)
        return None

    def compose(self, g: nx.DiGraph):
        """Signal terms ``{(root, delay): matrix}``, bias and shape arriving at each sink."""
        roots = [n for n, v in self.flat.nodes.items() if isinstance(v, NEURON_KINDS + (nir.Input,))
                 and n not in self.flat.passthrough]
        shape = {r: self._root_shape(r, self.flat.nodes[r]) for r in roots}
        linear = [n for n in g if n not in roots]
        order = list(nx.topological_sort(g.subgraph(linear)))
        incoming: dict[str, tuple] = {}
        for _ in range(3):  # neuron shapes may depend on what feeds them: iterate to a fixed point
            terms, bias, out_shape, self.chains, self.chains_in = {}, {}, {}, {}, {}
            for r in roots:
                if shape[r] is not None:
                    n = math.prod(shape[r])
                    terms[r], bias[r], out_shape[r] = {(r, 0): sp.identity(n, format="csr")}, None, shape[r]
                    self.chains[r] = {(r, 0): ()}
            for name in order + roots:
                summed = self._sum_inputs(name, g, terms, bias, out_shape)
                if summed is None:
                    continue
                is_sink = isinstance(self.flat.nodes[name], nir.Output) and name not in self.flat.passthrough
                if name in roots or is_sink:
                    incoming[name] = summed
                    if name in roots and shape[name] is None:
                        shape[name] = summed[2]
                    continue
                result = self._apply(name, *summed)
                if result is not None:
                    terms[name], bias[name], out_shape[name] = result
            if all(shape[r] is not None for r in roots):
                break
        for r in roots:
            if shape[r] is None:
                self.problem(r, "cannot determine its size: give per-neuron parameters or an input_type")
        return roots, shape, incoming

    def _sum_inputs(self, name, g, terms, bias, out_shape):
        preds = list(g.predecessors(name))
        if not preds or any(p not in terms for p in preds):
            return None
        shapes = {out_shape[p] for p in preds}
        sizes = {math.prod(s) for s in shapes}
        if len(sizes) > 1:
            listing = ", ".join(f"'{p}' {out_shape[p]}" for p in preds)
            self.problem(name, f"inputs of different sizes are summed: {listing}")
            return None
        total: dict = {}
        chains: dict = {}
        for p in preds:
            for key, m in terms[p].items():
                total[key] = total[key] + m if key in total else m
                chains[key] = None if key in chains else self.chains[p].get(key)  # a sum has no one chain
        self.chains_in[name] = chains
        biases = [bias[p] for p in preds if bias[p] is not None]
        return total, (np.sum(biases, axis=0) if biases else None), out_shape[preds[0]]

    def _apply(self, name, terms, bias_in, in_shape):
        node = self.flat.nodes[name]
        self.chains[name] = chains = self.chains_in[name]
        stage = None  # a convolution or pooling: its structure
        try:
            if name in self.flat.passthrough:
                return terms, bias_in, in_shape
            if isinstance(node, nir.Delay):
                return self._delay(name, node, terms, bias_in, in_shape)  # may raise OperatorError
            if isinstance(node, (nir.Affine, nir.Linear)):
                m, b, shape = op.affine(node.weight, getattr(node, "bias", None), in_shape)
            elif isinstance(node, nir.Scale):
                m, b, shape = op.scale(node.scale, in_shape)
            elif isinstance(node, (nir.Conv1d, nir.Conv2d)):
                spatial = 1 if isinstance(node, nir.Conv1d) else 2
                m, b, shape, stage = op.conv(node.weight, node.bias, in_shape, stride=node.stride,
                                             padding=node.padding, dilation=node.dilation, groups=node.groups,
                                             spatial=spatial)
            elif isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
                m, b, shape, stage = op.pool(in_shape, kernel_size=node.kernel_size, stride=node.stride,
                                             padding=node.padding, average=isinstance(node, nir.AvgPool2d))
            elif isinstance(node, nir.Flatten):
                m, b, shape = None, None, op.flatten_shape(in_shape, int(node.start_dim), int(node.end_dim))
            else:
                return None
        except op.OperatorError as exc:
            self.problem(name, str(exc))
            return None
        if m is None:
            return terms, bias_in, shape
        self.chains[name] = {k: _extended(c, node, in_shape, shape, stage) for k, c in chains.items()}
        new_terms = {key: (m @ t).tocsr() for key, t in terms.items()}
        new_bias = m @ bias_in if bias_in is not None else None
        if b is not None:
            new_bias = b if new_bias is None else new_bias + b
        return new_terms, new_bias, shape

    def _delay(self, node_name, node, terms, bias_in, in_shape):
        delay = np.asarray(node.delay, dtype=np.float64)
        try:
            delay = np.broadcast_to(delay, in_shape).reshape(-1)
        except ValueError:
            raise op.OperatorError(f"delay of shape {delay.shape} does not fit its input {in_shape}") from None
        steps = np.rint(delay / self.dt)
        steps = steps.astype(np.int64)
        out: dict = {}
        chains, uniform = self.chains_in[node_name], len(np.unique(steps)) == 1
        self.chains[node_name] = {}
        for d in np.unique(steps):
            keep = sp.diags((steps == d).astype(np.float64), format="csr")
            for (root, delay), m in terms.items():
                key = (root, delay + int(d))
                part = (keep @ m).tocsr()
                self.chains[node_name][key] = chains[(root, delay)] if uniform and key not in out else None
                out[key] = out[key] + part if key in out else part
        return out, bias_in, in_shape

    # -- building the IR ------------------------------------------------------------------
    def build(self, name: str) -> Network:
        g = self.check()
        if self.problems:
            raise ValidationError(self.problems)
        roots, shape, incoming = self.compose(g)
        if self.problems:
            raise ValidationError(self.problems)
        net = Network(name, dt=self.dt)
        self.levels, self.recurrent = self._timing(roots, incoming) if self.opt.same_step else ({}, set())
        if self.opt.spike_lag:  # every membrane one step behind the framework's: biases from step 1
            self.levels = {r: 1 for r in roots if not isinstance(self.flat.nodes[r], nir.Input)}
        converted = {}
        for r in roots:
            node, size = self.flat.nodes[r], math.prod(shape[r])
            if isinstance(node, nir.Input):
                net.add(SpikeSource(name=r, size=size, ids=[], times=[]))
                continue
            meta = getattr(node, "metadata", {}) or {}
            delayed = self.opt.reset_delayed and type(node).__name__ not in self.opt.reset_at_spike
            conv = convert_neuron(node, dt=self.dt, integration=self.integration, reset=self.opt.reset_for(r, meta),
                                  if_per_step=self.opt.if_per_step, reset_delayed=delayed,
                                  tau_scale=1 / self.dt if self.opt.tau_times_dt else 1.0,
                                  current_input=self.opt.current_input,
                                  unit_current_gain=self.opt.unit_current_gain,
                                  compare=self.opt.compare or str(meta.get("nmcompiler.compare", ">")))
            if conv.model.reset not in ResetMode.ALL:
                self.problem(r, f"reset mode '{conv.model.reset}' in its metadata is unknown")
                continue
            model = conv.model
            spikes = int(meta.get("nmcompiler.max_spikes", self.opt.max_spikes or 1))
            if spikes != 1 and model.spiking and model.reset == ResetMode.SUBTRACT:
                model = dataclasses.replace(model, max_spikes=spikes)
            if bool(meta.get("nmcompiler.input_before_update", False)):
                model = dataclasses.replace(model, input_before_update=True)
            if "nmcompiler.refractory" in meta:
                model = dataclasses.replace(model, refractory=np.asarray(meta["nmcompiler.refractory"], dtype=np.float64))
            if "nmcompiler.v_min" in meta:
                model = dataclasses.replace(model, v_min=np.asarray(meta["nmcompiler.v_min"], dtype=np.float64))
            initial = {k.split(".")[-1]: np.asarray(v, dtype=np.float64) for k, v in meta.items()
                       if k.startswith("nmcompiler.initial.")}
            converted[r] = dataclasses.replace(conv, model=model)
            net.add(Population(name=r, size=size, model=model, initial=initial))
        for sink, (terms, bias, in_shape) in incoming.items():
            node = self.flat.nodes[sink]
            size = math.prod(in_shape)
            if isinstance(node, nir.Input):
                self.problem(sink, "an Input node cannot receive edges")
                continue
            if sink not in converted and not isinstance(node, nir.Output):
                continue  # its conversion failed and was reported
            if sink in shape and size != math.prod(shape[sink]):
                self.problem(sink, f"receives {size} values but has {math.prod(shape[sink])} neurons")
                continue
            if isinstance(node, nir.Output):
                self._output(net, sink, terms, bias, converted)
            else:
                self._connect(net, sink, terms, converted)
                if bias is not None and np.any(bias):
                    self._bias(net, sink, bias, converted[sink])
        for pop in net.populations:
            net.probe(Probe(target=pop.name, variable="spikes" if pop.model.spiking else "v"))
        if self.opt.spike_lag and net.populations:
            log.info("%s: spikes leave one step after the crossing, as the IR's connections deliver them: each "
                     "population's spikes at step t are the framework's, its membrane the framework's at t - 1; "
                     "biases start at step 1", self.label)
        if self.opt.same_step and net.populations:
            lags = ", ".join(f"'{p.name}' +{self.levels.get(p.name, 0)}" for p in net.populations)
            log.info("%s: same-step timing: each population repeats the framework's step t at step t + its level "
                     "(%s); biases start there", self.label, lags)
        if self.problems:
            raise ValidationError(self.problems)
        return net.validate()

    def _connect(self, net: Network, sink: str, terms: dict, converted) -> None:
        size = net.node(sink).size
        scale = np.broadcast_to(converted[sink].input_scale, (size,))
        multi = len({root for root, _ in terms}) < len(terms)
        for (root, delay), matrix in sorted(terms.items()):
            if root in converted and not converted[root].model.spiking:
                self.problem(root, f"does not spike, so its output cannot feed '{sink}': "
                                   "non-spiking nodes (LI, I, CubaLI) may only feed Output nodes")
                continue
            by_pre = matrix.T.tocsr()  # rows = presynaptic neurons: our CSR layout, no sort needed
            by_pre.eliminate_zeros()
            by_pre.sort_indices()
            weights = by_pre.data * scale[by_pre.indices]
            exact = self._exact(root, sink, matrix, "nmcompiler.ir_weight")
            structure = self._structure(sink, (root, delay), scale)
            if exact is not None:  # written by our exporter for these very weights: use the IR's own values
                rows = np.repeat(np.arange(by_pre.shape[0]), np.diff(by_pre.indptr))
                candidate = exact[by_pre.indices, rows]
                if np.allclose(candidate, weights, rtol=1e-12, atol=0):
                    weights, structure = candidate, None
            proj = f"{root}_to_{sink}" + (f"_d{delay}" if multi else "")
            steps = self._delay_steps(root, sink, delay)
            if steps < 1:
                self.problem(sink, f"the recurrent edge from '{root}' skips back over {1 - steps} level(s): a "
                                   "framework that evaluates every layer in one step cannot be reproduced with a "
                                   "delay of at least one step (import without the preset's same-step timing)")
                continue
            conn = Connectivity(n_pre=matrix.shape[1], n_post=size, indptr=by_pre.indptr, indices=by_pre.indices,
                                weights=weights, delays=np.int32(steps))
            receptor = "syn" if net.node(sink).model.receptors else None
            net.connect(Projection(name=proj, pre=root, post=sink, connectivity=conn, receptor=receptor,
                                   structure=structure))

    def _structure(self, sink: str, key, scale: np.ndarray) -> Convolution | None:
        """The convolution chain behind one term, if it is one (every operator on its path a
        convolution or pooling, no sum with another path) and the sink scales its inputs alike."""
        chain = self.chains_in.get(sink, {}).get(key)
        if not chain or not np.all(scale == scale[0]):
            return None
        if len(chain) == 1 and chain[0].kind == "dense" and len(chain[0].in_shape) == 1:
            return None  # a Linear between vectors: its synapses say all (Projection.kernel_structure)
        return Convolution(stages=chain, gain=float(scale[0]))

    def _exact(self, root: str, sink: str, matrix, key: str):
        """The IR values our exporter stored on the single Linear/Affine between ``root`` and ``sink``
        (directly, or through its Delay node), if that node's weights are exactly ``matrix``."""
        for name, node in self.flat.nodes.items():
            if not isinstance(node, (nir.Linear, nir.Affine)) or key not in (getattr(node, "metadata", {}) or {}):
                continue
            if (root, name) not in self._edges or not ((name, sink) in self._edges or (
                    (name, f"{name}.delay") in self._edges and (f"{name}.delay", sink) in self._edges)):
                continue
            weight = np.asarray(node.weight, dtype=np.float64)
            if key == "nmcompiler.ir_weight" and (weight.shape != matrix.shape
                                                  or (sp.csr_matrix(weight) != matrix).nnz):
                continue
            value = np.asarray(node.metadata[key], dtype=np.float64)
            return value if key == "nmcompiler.ir_bias" or value.shape == weight.shape else None
        return None

    def _bias(self, net: Network, sink: str, bias: np.ndarray, conv) -> None:
        pop = net.node(sink)
        amount = bias * np.broadcast_to(conv.bias_scale, bias.shape)
        for root in {e[0] for e in self._edges}:
            exact = self._exact(root, sink, None, "nmcompiler.ir_bias")
            if exact is not None and exact.shape == amount.shape and np.allclose(exact, amount, rtol=1e-12, atol=0):
                amount = exact
                break
        onset = self.levels.get(sink, 0) if pop.model.kind != "threshold" else 0  # memoryless: no history
        if conv.bias_into_receptor or onset:  # constant input every step (from the population's level on)
            src = CurrentSource(name=f"{sink}.bias", size=pop.size, amplitude=amount, start=onset * self.dt)
            net.add(src)
            idx = np.arange(pop.size)
            net.connect(Projection(name=f"{sink}.bias_to_{sink}", pre=src.name, post=sink,
                                   receptor="syn" if conv.bias_into_receptor else None,
                                   connectivity=Connectivity.from_coo(pop.size, pop.size, idx, idx, 1.0)))
        else:
            net.replace(dataclasses.replace(pop, model=dataclasses.replace(pop.model, bias=pop.model.bias + amount)))

    # -- same-step timing -----------------------------------------------------------------
    def _timing(self, roots, incoming) -> tuple[dict[str, int], set[tuple[str, str]]]:
        """Levels (longest path from the sources over non-recurrent edges) and the recurrent edges
        (those closing a cycle in a depth-first walk from the inputs, names in sorted order): the
        framework delays those by one step, every other edge by none."""
        succ: dict[str, set[str]] = {r: set() for r in roots}
        for sink, (terms, _, _) in incoming.items():
            succ.setdefault(sink, set())
            for root, _ in terms:
                succ.setdefault(root, set()).add(sink)
        inputs = sorted(n for n in succ if isinstance(self.flat.nodes.get(n), nir.Input))
        recurrent, done = set(), set()
        for start in inputs + sorted(succ):
            if start in done:
                continue
            stack, on_path = [(start, iter(sorted(succ[start])))], {start}
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    on_path.discard(node)
                    done.add(node)
                elif child in on_path:
                    recurrent.add((node, child))
                elif child not in done:
                    on_path.add(child)
                    stack.append((child, iter(sorted(succ[child]))))
        dag = nx.DiGraph()
        dag.add_nodes_from(succ)
        dag.add_edges_from((u, v) for u, vs in succ.items() for v in vs if (u, v) not in recurrent)
        levels: dict[str, int] = {}
        for node in nx.lexicographical_topological_sort(dag):
            levels[node] = max((levels[u] + 1 for u in dag.predecessors(node)), default=0)
        return levels, recurrent

    def _delay_steps(self, root: str, sink: str, delay: int) -> int:
        """IR delay of a connection whose Delay nodes add ``delay`` steps: one step more, or with
        same-step timing the levels it spans (one more for a recurrent edge)."""
        if not self.opt.same_step:
            return delay + 1
        span = self.levels[sink] - self.levels[root]
        return delay + span + (1 if (root, sink) in self.recurrent else 0)

    def _output(self, net: Network, sink: str, terms: dict, bias, converted) -> None:
        """An Output fed straight by a neuron records it; anything else gets a linear readout unit."""
        if len(terms) == 1 and bias is None:
            (root, delay), matrix = next(iter(terms.items()))
            if delay == 0 and matrix.shape[0] == matrix.shape[1] and (matrix != sp.identity(matrix.shape[0])).nnz == 0:
                return  # recorded by the population probes
        size = next(iter(terms.values())).shape[0] if terms else 0
        if size == 0:
            return
        readout = Population(name=sink, size=size, model=ThresholdUnit(spiking=False, v_threshold=0.0))
        net.add(readout)
        converted[sink] = ConvertedNeuron(readout.model, np.asarray(1.0), np.asarray(1.0), False)
        self._connect(net, sink, terms, converted)
        if bias is not None:
            net.replace(dataclasses.replace(readout, model=dataclasses.replace(readout.model, bias=bias)))


def _extended(chain: tuple | None, node, in_shape, out_shape, stage):
    """A convolution chain after ``node``: with its stage (a dense one for a Linear over the whole,
    flattened map), or None (no chain: a Scale, a Linear per position, or already none)."""
    if chain is None:
        return None
    if isinstance(node, nir.Scale) or (isinstance(node, (nir.Affine, nir.Linear)) and len(out_shape) != 1):
        return None
    if isinstance(node, (nir.Affine, nir.Linear)):
        return (*chain, op.dense_stage(node.weight, chain[-1].out_shape if chain else in_shape))
    return (*chain, stage)


def load_nir(source: str | Path | nir.NIRGraph, options: NirOptions | None = None, *, name: str | None = None) -> Network:
    """Import a NIR graph (a ``.nir`` file or an in-memory ``nir.NIRGraph``) into the IR."""
    options = options or NirOptions()
    options.check()
    if isinstance(source, nir.NIRGraph):
        graph, label = source, name or "nir graph"
    else:
        path = Path(source)
        graph, label = read_nir_file(path), str(path)
        name = name or path.stem
    problems = value_problems(flatten(graph), label)  # before anything reads a value
    if problems:
        raise ValidationError(problems)
    if options.preset == "auto":
        options = _detected(graph, label, options)
    elif options.preset is None and (found := detect(flatten(graph))) is not None:
        log.info("%s: looks like a %s export (%s): --from %s reproduces %s's own simulation", label, found[0],
                 found[1], found[0], found[0])
    return _Importer(graph, label, options).build(name or "nir")


MAX_DIMENSION = 2**31 - 1  # one extent of a shape


def value_problems(flat, label: str) -> list[Diagnostic]:
    """Values no importer step may meet: parameters that are not real numbers (strings, bytes,
    structured or complex arrays), shapes that are not positive integers below 2^31."""
    out = []
    for name, node in flat.nodes.items():
        kind = type(node).__name__
        for attr, value in vars(node).items():
            if attr == "metadata" or value is None or isinstance(value, (bool, int, float, nir.NIRGraph)) or (
                    attr == "padding" and isinstance(value, str)):  # a convolution's "same" or "valid"
                continue
            why = _shape_problem(value) if isinstance(value, dict) else _number_problem(value)
            if why:
                out.append(Diagnostic(where=label, message=f"node '{name}' ({kind}): {attr}: {why}"))
    return out


def _number_problem(value) -> str:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return "not an array of numbers"
    return "" if arr.dtype.kind in "biuf" else f"{arr.dtype} values, expected real numbers"


def _shape_problem(types: dict) -> str:
    for port, value in types.items():
        if value is None:  # not known: shapes come from the parameters
            continue
        why = _number_problem(value)
        arr = np.asarray(value) if not why else None
        if why or arr.ndim > 1 or (arr.size and not (np.all(np.isfinite(arr.astype(np.float64)))
                                                   and np.all(arr == np.round(arr)) and arr.min() >= 1
                                                   and arr.max() <= MAX_DIMENSION)):
            return f"port '{port}': a shape is positive integers up to {MAX_DIMENSION}, not {str(value)[:60]}"
    return ""


def _detected(graph, label: str, options: NirOptions) -> NirOptions:
    found = detect(flatten(graph))  # nested graphs' nodes too
    if found is None:
        raise UserError(f"{label}: cannot tell which framework exported it (no exporter's signature fits): "
                        "give --from snntorch, norse, rockpool, sinabs or spyx, or --dt, --integration and --reset")
    framework, evidence = found
    chosen = NirOptions.from_preset(framework, dt=options.dt, reset=options.reset, max_spikes=options.max_spikes)
    log.info("%s: exported by %s, judging by %s; %s", label, framework, evidence, preset(framework).describe())
    return chosen
