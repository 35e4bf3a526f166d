"""A ``nengo.Network`` as an nmcompiler network, through Nengo's own builder.

Nengo builds the model (gains, biases, encoders, evaluation points, initial voltages: its seeds,
its values); the decoders are solved for the stepped neurons nmcompiler runs
(:mod:`.neurons`). Then:

* each ensemble becomes a CUBA-LIF population with one receptor per synaptic time constant of
  its inputs, Nengo's biases and initial voltages, threshold 1, reset by subtracting it. ``LIF``:
  ``exp_euler``, ``v' = e^(-dt/tau_rc) v + (1 - e^(-dt/tau_rc)) J`` (Nengo's own update),
  ``round(tau_ref/dt)`` refractory steps, ``v_min`` Nengo's ``min_voltage``.
  ``SpikingRectifiedLinear``: ``v' = v + J dt`` (a membrane of ``NO_LEAK_TAU``: no decay on any
  chip), spikes at ``v >= 1`` and ``v_min = 0``, as Nengo-Loihi runs it on Loihi (Nengo's own
  neuron ignores negative input, ``v += max(J, 0) dt``; the rates, ``max(J, 0)``, are equal);
* each connection into an ensemble becomes a weight matrix ``scaled_encoders x transform x
  decoders`` (as Nengo-Loihi builds them), passthrough nodes folded in; a ``Lowpass(tau)``
  synapse is the receptor's current ``I' = e^(-dt/tau) I + (1 - e^(-dt/tau)) u`` (Nengo's
  discretized filter), so a spike, Nengo's ``1/dt`` impulse, weighs ``(1 - e^(-dt/tau))/dt``;
* an input node (no input, its output a constant, an array, a function of time or a process) is
  evaluated over the run and sent as spikes: per dimension ``channels`` spike trains per sign
  whose counts per step follow ``channels * u / max|u|`` (a sigma-delta code), each spike
  weighing ``max|u| / channels`` of ``u`` (as Nengo-Loihi feeds nodes to the chip as spikes);
* probes on ensembles become the network's readouts (:class:`nmcompiler.ir.Readout`): their
  decoders (solved like a connection's) and synapse, applied to the population's spikes.

What does not map is refused naming the object: neuron types other than LIF and
SpikingRectifiedLinear, neuron amplitudes other than 1, learning rules, synapses other than Lowpass, nodes that compute in the
loop (an input and an output function), non-dense transforms, two filters in series through a
passthrough node.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ...errors import UserError
from ...ir import Connectivity, CubaLIF, Network, Population, Projection, Readout, SpikeSource
from ...ir.nodes import decode_readouts, lowpass
from .neurons import stepped_neuron_type

__all__ = ["NengoModel", "from_nengo", "lowpass"]

log = logging.getLogger("nmcompiler")
NO_SYNAPSE_TAU = 1e-9  # a receptor for unfiltered connections: its current lasts one step
NO_LEAK_TAU = 1e9  # s: a membrane that keeps its charge (decay 1 - 1e-12 per ms step in float, none on chips)


@dataclass(frozen=True, kw_only=True, eq=False)
class NengoModel:
    """The converted network (its probes on ensembles as the network's readouts) and the input
    nodes' values (by name: (steps, dims), what was encoded as spikes)."""

    network: Network
    inputs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def readouts(self) -> dict[str, Readout]:
        return {r.name: r for r in self.network.readouts}

    def decode(self, result) -> dict[str, np.ndarray]:
        """Every readout's decoded value from a run (a ``SimResult``: its spikes per population)."""
        return decode_readouts(self.network.readouts, result)


@dataclass(frozen=True)
class _Term:
    """A linear contribution to an input: ``matrix`` (input dims, origin dims) from ``origin``
    (an ensemble's neurons or an input node's output), through a synapse (None: unfiltered)."""

    origin: object
    matrix: np.ndarray
    tau: float | None


def from_nengo(network, *, duration: float, dt: float = 0.001, name: str = "nengo", channels: int = 16) -> NengoModel:
    """Convert ``network`` (a ``nengo.Network``; give it a seed for values equal to
    ``nengo.Simulator``'s) for a run of ``duration`` seconds (the length of its input nodes'
    spike trains); ``channels``: spike trains per input dimension and sign."""
    import nengo

    if not isinstance(network, nengo.Network):
        raise UserError(f"expected a nengo.Network, not {type(network).__name__}")
    steps = max(1, int(round(duration / dt)))
    _check(network)
    stepped = network.copy()
    for ens in stepped.all_ensembles:
        ens.neuron_type = stepped_neuron_type(ens.neuron_type, dt)
    model = nengo.builder.Model(dt=dt)
    model.build(stepped)
    conv = _Converter(stepped, model, dt, steps, channels, name)
    return conv.run()


def _label(obj) -> str:
    return obj.label or type(obj).__name__.lower()


def _check(network) -> None:
    import nengo

    for ens in network.all_ensembles:
        if type(ens.neuron_type) not in (nengo.LIF, nengo.SpikingRectifiedLinear):
            raise UserError(f"ensemble '{_label(ens)}': neuron type {type(ens.neuron_type).__name__} has no "
                            "equivalent on the chips (use nengo.LIF or nengo.SpikingRectifiedLinear)")
        if ens.neuron_type.amplitude != 1:
            raise UserError(f"ensemble '{_label(ens)}': neuron amplitude {ens.neuron_type.amplitude:g}; a chip's "
                            "spike has one size (scale the outgoing transforms instead)")
    for node in network.all_nodes:
        if node.output is not None and node.size_in > 0:
            raise UserError(f"node '{_label(node)}': it computes a function of its input in the loop, which "
                            "runs on the host, not on a chip (make it an ensemble's decoded function)")
    for conn in network.all_connections:
        if conn.learning_rule is not None:
            raise UserError(f"connection '{conn}': learning rule {type(conn.learning_rule_type).__name__} is not "
                            "supported (nmcompiler's learning rules are STDP and reward-modulated STDP)")
        if conn.synapse is not None and type(conn.synapse) is not nengo.Lowpass:
            raise UserError(f"connection '{conn}': synapse {type(conn.synapse).__name__} is not supported "
                            "(a chip's synaptic current is one exponential: nengo.Lowpass)")
        if not isinstance(conn.transform, (nengo.transforms.Dense, nengo.transforms.NoTransform)):
            raise UserError(f"connection '{conn}': {type(conn.transform).__name__} transforms are not supported "
                            "(dense transforms only)")
        if conn.solver.weights:
            raise UserError(f"connection '{conn}': weight solvers are not supported (use a decoder solver)")
    for probe in network.all_probes:
        neurons = isinstance(probe.target, nengo.ensemble.Neurons) and probe.attr == "output"
        if not neurons and (not isinstance(probe.target, (nengo.Ensemble, nengo.Node)) or (
                isinstance(probe.target, nengo.Ensemble) and probe.attr != "decoded_output")):
            raise UserError(f"probe '{probe}': only decoded outputs of ensembles, neurons' spikes and node outputs "
                            "are read out")
        if probe.synapse is not None and type(probe.synapse) is not nengo.Lowpass:
            raise UserError(f"probe '{probe}': synapse {type(probe.synapse).__name__} (use nengo.Lowpass or None)")


class _Converter:
    def __init__(self, network, model, dt: float, steps: int, channels: int, name: str):
        self.network, self.model, self.dt, self.steps, self.channels = network, model, dt, steps, channels
        self.net = Network(name=name, dt=dt, duration=steps * dt)
        self.names: dict[object, str] = {}
        self.inputs: dict[str, np.ndarray] = {}

    def run(self) -> NengoModel:
        import nengo

        terms = self._terms()
        for ens in self.network.all_ensembles:
            self.names[ens] = self._unique(_label(ens))
        for node in self.network.all_nodes:
            if node.output is not None:
                self.names[node] = self._unique(_label(node))
                self.inputs[self.names[node]] = self._node_values(node)
        for ens in self.network.all_ensembles:
            self.net.add(self._population(ens, terms.get(ens, [])))
        for node in self.network.all_nodes:
            if node.output is not None and any(t.origin is node for ts in terms.values() for t in ts):
                self.net.add(self._source(node))
        for ens in self.network.all_ensembles:
            self._projections(ens, terms.get(ens, []))
        taken: set[str] = set()
        for probe in self.network.all_probes:
            if isinstance(probe.target, nengo.Ensemble):
                self.net.readout(self._readout(probe, taken))
        return NengoModel(network=self.net.validate(), inputs=self.inputs)

    # -- the linear map from every origin to every ensemble's (or its neurons') input ----------

    def _terms(self) -> dict:
        """Ensemble -> the terms of its neurons' input currents (neurons x origin dims)."""
        import nengo

        passthrough = {n for n in self.network.all_nodes if n.output is None}
        into: dict[object, list[_Term]] = defaultdict(list)
        pending = list(self.network.all_connections)
        while pending:
            waiting = [c for c in pending if c.pre_obj in passthrough and any(
                d.post_obj is c.pre_obj for d in pending)]
            ready = [c for c in pending if c not in waiting]
            if not ready:
                raise UserError(f"passthrough node '{_label(waiting[0].pre_obj)}' is in a loop of passthrough nodes")
            for conn in ready:
                for term in self._sources_of(conn, into, passthrough):
                    self._place(conn, term, into, nengo)
            pending = waiting
        return {ens: terms for ens, terms in into.items() if isinstance(ens, nengo.Ensemble)}

    def _weights(self, conn) -> np.ndarray:
        """(size_out, size of the sliced input): decoders and transform as Nengo built them."""
        w = self.model.params[conn].weights
        if w is None:  # NoTransform: the (sliced) input as it is
            return np.eye(conn.size_out)
        w = np.asarray(w, dtype=np.float64)
        if w.ndim == 0:
            return w * np.eye(conn.size_out)
        return np.diag(w) if w.ndim == 1 else w

    def _sources_of(self, conn, into, passthrough) -> list[_Term]:
        """The connection's output (its size_out) as terms over origins."""
        import nengo

        w, pre = self._weights(conn), conn.pre_obj
        tau = None if conn.synapse is None else conn.synapse.tau
        if isinstance(pre, nengo.Ensemble):  # decoded: the weights hold the decoders
            return [_Term(origin=pre, matrix=w, tau=tau)]
        if isinstance(pre, nengo.ensemble.Neurons):
            full = np.zeros((conn.size_out, pre.ensemble.n_neurons))
            full[:, conn.pre_slice] = w
            return [_Term(origin=pre.ensemble, matrix=full, tau=tau)]
        if pre in passthrough:
            out = []
            for t in into.get(pre, []):
                if t.tau is not None and tau is not None:
                    raise UserError(f"passthrough node '{_label(pre)}': two synapses in series ({t.tau:g} s and "
                                    f"{tau:g} s); a chip's synapse filters once")
                out.append(_Term(origin=t.origin, matrix=w @ t.matrix[conn.pre_slice], tau=t.tau if tau is None else tau))
            return out
        full = np.zeros((conn.size_out, pre.size_out))
        full[:, conn.pre_slice] = w
        return [_Term(origin=pre, matrix=full, tau=tau)]

    def _place(self, conn, term: _Term, into, nengo) -> None:
        post = conn.post_obj
        if isinstance(post, nengo.Ensemble):
            m = np.zeros((post.dimensions, term.matrix.shape[1]))
            m[conn.post_slice] += term.matrix
            enc = self.model.params[post].scaled_encoders  # (neurons, dims): gain / radius rolled in
            into[post].append(_Term(origin=term.origin, matrix=enc @ m, tau=term.tau))
        elif isinstance(post, nengo.ensemble.Neurons):
            m = np.zeros((post.ensemble.n_neurons, term.matrix.shape[1]))
            gain = self.model.params[post.ensemble].gain
            m[conn.post_slice] += gain[conn.post_slice, None] * term.matrix
            into[post.ensemble].append(_Term(origin=term.origin, matrix=m, tau=term.tau))
        elif isinstance(post, nengo.Node) and post.output is None:
            m = np.zeros((post.size_in, term.matrix.shape[1]))
            m[conn.post_slice] += term.matrix
            into[post].append(_Term(origin=term.origin, matrix=m, tau=term.tau))
        # connections into probes or output-less sinks carry nothing on chip

    # -- IR nodes ------------------------------------------------------------------------------

    def _unique(self, label: str) -> str:
        base = "".join(c if c.isalnum() or c in "_-" else "_" for c in label) or "obj"
        name, k = base, 1
        while name in self.names.values() or name in self.inputs:
            k += 1
            name = f"{base}_{k}"
        return name

    def _receptors(self, terms: list[_Term]) -> list[float | None]:
        return sorted({t.tau for t in terms}, key=lambda t: -1.0 if t is None else t) or [None]

    def _population(self, ens, terms: list[_Term]) -> Population:
        import nengo

        params, dt = self.model.params[ens], self.dt
        taus = self._receptors(terms)
        tau_syn = np.array([NO_SYNAPSE_TAU if t is None else t for t in taus])
        receptors = tuple(_receptor_name(t) for t in taus)
        nt = ens.neuron_type
        common = dict(reset="subtract", tau_syn=tau_syn, receptor_names=receptors, bias=params.bias, v_threshold=1.0,
                      v_reset=0.0, integration="exp_euler")
        if isinstance(nt, nengo.LIF):
            step = dt / nt.tau_rc
            model = CubaLIF(tau_mem=nt.tau_rc, r=-np.expm1(-step) / step, refractory=np.rint(nt.tau_ref / dt) * dt,
                            v_min=nt.min_voltage, **common)
        else:  # SpikingRectifiedLinear: v += J dt, spikes at v >= 1, never below 0 (Nengo-Loihi's vmin = 0)
            model = CubaLIF(tau_mem=NO_LEAK_TAU, r=NO_LEAK_TAU, v_min=0.0, compare=">=", **common)
        v0 = np.asarray(self.model.sig[ens.neurons]["voltage"].initial_value, dtype=np.float64)
        return Population(name=self.names[ens], size=ens.n_neurons, model=model, initial={"v": v0})

    def _node_values(self, node) -> np.ndarray:
        import nengo

        out, n, dt = node.output, node.size_out, self.dt
        if isinstance(out, nengo.Process):
            if out.seed is None:  # nengo.Simulator draws it from a stream shared by every operator
                log.warning("input node '%s': its %s has no seed, so its values are not nengo.Simulator's (give the "
                            "process a seed to get Nengo's values exactly)", _label(node), type(out).__name__)
            rng = np.random.RandomState(self.model.seeds[node])
            return np.asarray(out.run_steps(self.steps, d=n, dt=dt, rng=rng), dtype=np.float64).reshape(self.steps, n)
        if callable(out):
            return np.array([np.broadcast_to(np.asarray(out((k + 1) * dt), dtype=np.float64), (n,))
                             for k in range(self.steps)]).reshape(self.steps, n)
        return np.broadcast_to(np.asarray(out, dtype=np.float64).reshape(-1), (self.steps, n)).copy()

    def _source(self, node) -> SpikeSource:
        """The node's values as spikes: ``channels`` trains per dimension and sign (sigma-delta)."""
        u, K = self.inputs[self.names[node]], self.channels
        scale = np.abs(u).max(axis=0)
        spikes = np.zeros((self.steps, 2 * K * u.shape[1]), dtype=np.uint8)
        for i in range(u.shape[1]):
            for s, sign in enumerate((1.0, -1.0)):
                drive = np.maximum(sign * u[:, i], 0) * (K / scale[i] if scale[i] > 0 else 0.0)
                counts = _sigma_delta(drive, K)
                base = (2 * i + s) * K
                for c in range(K):
                    spikes[:, base + c] = counts > c
        steps, ids = np.nonzero(spikes)
        return SpikeSource(name=self.names[node], size=spikes.shape[1], ids=ids, times=steps * self.dt)

    def _projections(self, ens, terms: list[_Term]) -> None:
        """One projection per origin and receptor into ``ens``, the terms of both summed."""
        groups: dict[tuple, np.ndarray] = {}
        for t in terms:
            key = (id(t.origin), t.tau)
            groups[key] = groups.get(key, 0) + t.matrix
        origins = {id(t.origin): t.origin for t in terms}
        for (oid, tau), matrix in groups.items():
            origin = origins[oid]
            a = 0.0 if tau is None else np.exp(-self.dt / tau)
            if self.names[origin] in self.inputs:  # an input node: spikes of the sigma-delta code
                weights = self._input_weights(origin, matrix) * (1 - a)
            else:
                weights = matrix * (1 - a) / self.dt  # a spike is Nengo's 1/dt impulse
            name = f"{self.names[origin]}_to_{self.names[ens]}" + ("" if len(self._receptors(terms)) == 1
                                                                    else f"_{_receptor_name(tau)}")
            self.net.connect(Projection(name=name, pre=self.names[origin], post=self.names[ens],
                                        receptor=_receptor_name(tau),
                                        connectivity=Connectivity.from_dense(weights.T)))

    def _input_weights(self, node, matrix: np.ndarray) -> np.ndarray:
        """(neurons, 2 K dims): each channel's spike as ``max|u| / K`` of ``u``, positive or negative."""
        u, K = self.inputs[self.names[node]], self.channels
        scale = np.abs(u).max(axis=0) / K
        cols = [sign * scale[i] * matrix[:, i] for i in range(u.shape[1]) for sign in (1.0, -1.0) for _ in range(K)]
        return np.stack(cols, axis=1)

    def _readout(self, probe, taken: set[str]) -> Readout:
        import nengo

        name, k = probe.label or _label(probe.target), 1
        while name in taken:
            k += 1
            name = f"{probe.label or _label(probe.target)}_{k}"
        taken.add(name)
        conn = next(c for c in self.model.params if isinstance(c, nengo.Connection) and c.post_obj is probe)
        decoders = np.asarray(self.model.params[conn].weights, dtype=np.float64).reshape(-1, probe.target.n_neurons)
        return Readout(name=name, target=self.names[probe.target], decoders=decoders,
                       tau=None if probe.synapse is None else probe.synapse.tau)


def _receptor_name(tau: float | None) -> str:
    return "unfiltered" if tau is None else f"tau_{tau * 1e3:g}ms".replace(".", "p")


def _sigma_delta(drive: np.ndarray, most: int) -> np.ndarray:
    """Spike counts per step whose running sum follows the running sum of ``drive`` (<= ``most``)."""
    acc, out = 0.0, np.zeros(len(drive), dtype=np.int64)
    for k, d in enumerate(drive):
        acc += d
        n = min(int(np.floor(acc + 1e-12)), most)
        out[k] = n
        acc -= n
    return out
