"""Brian2 objects into the graph IR: groups, synapses, inputs and monitors.

Brian2's schedule per step is: state update, threshold, synaptic effects, reset. A synaptic
effect of step ``n`` is therefore first integrated in step ``n + 1``; the IR expresses that with
``input_before_update`` on every converted model and one step more on every delay (a Brian2
delay of ``d`` steps becomes ``d + 1``), which reproduces Brian2's run spike for spike. Synapses
that learn map when they are pair-based STDP in the form of :mod:`.plasticity`.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import sympy

from ...errors import UserError
from ...ir import STDP, Connectivity, Network, PoissonSource, Population, Probe, Projection, SpikeSource
from ..drives import add_poisson_drive
from .equations import GroupModel, Resolver, compact, group_model
from .plasticity import is_plastic, stdp_of

__all__ = ["convert"]

_STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*?)(_post)?\s*(\+=|-=)\s*(.+?)\s*$")


class _Converter:
    def __init__(self, objects, namespace: dict, names: dict, duration: float | None):
        from brian2 import NeuronGroup, PoissonGroup, PoissonInput, SpikeGeneratorGroup, SpikeMonitor, \
            StateMonitor, Synapses

        self.kinds = (NeuronGroup, PoissonGroup, SpikeGeneratorGroup, Synapses, PoissonInput, SpikeMonitor,
                      StateMonitor)
        self.objects, self.namespace, self.names = list(objects), namespace, names
        self.models: dict[int, GroupModel] = {}
        self.by_name = {o.name: o for o in self.objects}
        dts = sorted({float(o.clock.dt_) for o in self.objects if hasattr(o, "clock")})
        if len(dts) > 1:
            raise UserError(f"Brian2 objects run on clocks of different dt ({dts}): one time step maps")
        self.dt = dts[0] if dts else 1e-4
        self.net = Network("brian2", dt=self.dt, duration=duration)

    def name(self, obj) -> str:
        return self.names.get(id(obj), obj.name)

    def where(self, obj) -> str:
        return f"{type(obj).__name__} '{self.name(obj)}'"

    def run(self) -> Network:
        neuron, poisson, generator, synapses, p_input, s_mon, v_mon = self.kinds
        for obj in self.objects:
            if isinstance(obj, neuron):
                gm = group_model(obj, self.namespace, self.where(obj))
                self.models[id(obj)] = gm
                self.net.add(Population(name=self.name(obj), size=int(obj.N), model=gm.model, initial=gm.initial))
            elif isinstance(obj, poisson):
                self.net.add(PoissonSource(name=self.name(obj), size=int(obj.N), rate=self._rates(obj)))
            elif isinstance(obj, generator):
                self.net.add(self._generator(obj))
        for obj in self.objects:
            if isinstance(obj, synapses):
                self._synapses(obj)
            elif isinstance(obj, p_input):
                self._poisson_input(obj)
            elif isinstance(obj, (s_mon, v_mon)):
                self._monitor(obj, isinstance(obj, s_mon))
            elif not isinstance(obj, (neuron, poisson, generator)):
                self._unsupported(obj)
        return self.net.validate()

    def _unsupported(self, obj) -> None:
        from brian2 import PopulationRateMonitor

        if isinstance(obj, PopulationRateMonitor):
            return  # rates are computed from the spikes
        raise UserError(f"{self.where(obj)}: a {type(obj).__name__} has no counterpart in the IR "
                        "(NeuronGroup, Synapses, PoissonGroup, PoissonInput, SpikeGeneratorGroup and monitors map)")

    # -- sources -----------------------------------------------------------------------------
    def _rates(self, group) -> np.ndarray:
        from brian2.equations.equations import SUBEXPRESSION

        eq = group.equations.get("rates") if hasattr(group, "equations") else None
        if eq is not None and eq.type == SUBEXPRESSION:
            raise UserError(f"{self.where(group)}: rates given as the expression '{eq.expr.code}'; only constant "
                            "rates map (a PoissonSource)")
        return np.asarray(group.variables["rates"].get_value(), dtype=np.float64).copy()

    def _generator(self, group) -> SpikeSource:
        ids = np.asarray(group.variables["neuron_index"].get_value(), dtype=np.int64)
        times = np.asarray(group.variables["spike_time"].get_value(), dtype=np.float64)
        period = float(np.asarray(group.variables["period"].get_value()).reshape(-1)[0])
        if period > 0:
            if self.net.duration is None:
                raise UserError(f"{self.where(group)}: a periodic SpikeGeneratorGroup needs the run's duration")
            repeats = int(np.ceil(self.net.duration / period))
            times = np.concatenate([times + k * period for k in range(repeats)])
            ids = np.tile(ids, repeats)
            keep = times < self.net.duration
            ids, times = ids[keep], times[keep]
        # Brian2 places a spike in the step whose start is nearest (round(t / dt)), as the IR does
        return SpikeSource(name=self.name(group), size=int(group.N), ids=ids, times=times)

    # -- synapses ----------------------------------------------------------------------------
    def _endpoint(self, group) -> tuple[object, int]:
        from brian2.groups.subgroup import Subgroup

        if isinstance(group, Subgroup):  # its source is a weak proxy: find the group itself
            return self.by_name.get(group.source.name, group.source), int(group.start)
        return self.by_name.get(group.name, group), 0

    def _target(self, target, var: str, where: str):
        post, _ = self._endpoint(target)
        gm = self.models.get(id(post))
        if gm is None:
            raise UserError(f"{where}: the target '{self.name(post)}' is not a NeuronGroup")
        if var == gm.membrane:
            if gm.scales:
                raise UserError(f"{where}: increments '{var}' of a group with synaptic variables "
                                f"{list(gm.scales)}; the IR's CubaLIF takes input through its currents only")
            return post, gm, None, None
        if var not in gm.scales:
            raise UserError(f"{where}: '{var}' is neither the membrane '{gm.membrane}' nor a synaptic variable "
                            f"of '{self.name(post)}' ({', '.join(gm.scales) or 'none'})")
        return post, gm, var, gm.scales[var]

    def _statement(self, syn, where: str) -> tuple[str, str, float, STDP | None]:
        """``(target variable, weight expression, sign, learning rule or None)`` of the on_pre code."""
        rule = None
        if is_plastic(syn):
            delivery, rule, weight = stdp_of(syn, Resolver(syn, self.namespace, where), where)
            lines = [delivery]
        else:
            lines = [s.strip() for s in syn.pre.code.replace(";", "\n").splitlines() if s.strip()]
        match = _STATEMENT.match(lines[0]) if len(lines) == 1 else None
        if match is None:
            raise UserError(f"{where}: on_pre '{syn.pre.code}' is not one increment 'x += expression' "
                            "or 'x -= expression' of a target variable")
        var, _, op, expr = match.groups()
        if rule is not None and (op != "+=" or expr.strip() != weight):
            raise UserError(f"{where}: a learning synapse must deliver its weight as it is ('{var} += {weight}'), "
                            f"not '{lines[0]}'")
        return var, expr, (1.0 if op == "+=" else -1.0), rule

    def _weights(self, syn, expr: str, pre: np.ndarray, post: np.ndarray, where: str) -> np.ndarray:
        from brian2.parsing.sympytools import str_to_sympy

        sym = str_to_sympy(expr)
        resolve = Resolver(syn, self.namespace, where)
        values, symbols = [], sorted(sym.free_symbols, key=str)
        for name in map(str, symbols):
            if name.endswith("_pre") or name.endswith("_post"):
                raise UserError(f"{where}: the weight '{expr}' reads the neuron variable '{name}'; "
                                "only synaptic parameters and constants map")
            values.append(resolve.value(name, expr))
        fn = sympy.lambdify(symbols, sym, modules="numpy")
        return np.broadcast_to(np.asarray(fn(*values) if symbols else float(sym), dtype=np.float64), pre.shape)

    def _delays(self, syn, n: int) -> np.ndarray:
        raw = np.asarray(syn.pre._delays.get_value(), dtype=np.float64)
        steps = np.rint(raw / self.dt).astype(np.int64).reshape(-1) + 1  # effects act after the threshold
        if steps.size == 0 or np.all(steps == steps[0]):
            return np.asarray(steps[0] if steps.size else 1)  # one shared delay
        return steps

    def _synapses(self, syn) -> None:
        where = self.where(syn)
        var, expr, sign, rule = self._statement(syn, where)
        post, gm, receptor, scale = self._target(syn.target, var, where)
        source, _ = self._endpoint(syn.source)
        if not (id(source) in self.models or self.name(source) in self.net.graph):
            raise UserError(f"{where}: the source '{self.name(source)}' is not a converted group")
        pre = np.asarray(syn.variables["_synaptic_pre"].get_value(), dtype=np.int64)
        tgt = np.asarray(syn.variables["_synaptic_post"].get_value(), dtype=np.int64)
        w = sign * self._weights(syn, expr, pre, tgt, where)
        if scale is not None:
            w = w * scale[tgt]
        if rule is not None:
            rule = self._scaled(rule, scale, tgt, where)
        # _synaptic_pre/_synaptic_post count from the start of the parent groups, not of subgroups
        conn = Connectivity.from_coo(int(source.N), int(post.N), pre, tgt, w, self._delays(syn, pre.size))
        self.net.connect(Projection(name=self.name(syn), pre=self.name(source), post=self.name(post),
                                    connectivity=conn, receptor=receptor, learning=rule))

    @staticmethod
    def _scaled(rule: STDP, scale, tgt: np.ndarray, where: str) -> STDP:
        """The rule in the IR's weight units: amplitudes and bounds scale like the weights."""
        if scale is None:
            return rule
        k = np.unique(np.asarray(scale)[tgt])
        if k.size > 1 or k.size == 0 or not k[0] > 0:
            raise UserError(f"{where}: learning onto neurons whose synaptic scales differ (or are not positive); the "
                            "IR's rule has one amplitude per projection")
        f = float(k[0])
        return dataclasses.replace(rule, A_plus=rule.A_plus * f, A_minus=rule.A_minus * f, w_min=rule.w_min * f,
                                   w_max=rule.w_max * f)

    def _poisson_input(self, obj) -> None:
        """``PoissonInput(target, var, N, rate, weight)``: ``N`` inputs at ``rate`` into every target
        neuron, split into channels as frontends.drives says (``k = N``, exact, for small groups)."""
        from brian2.parsing.sympytools import str_to_sympy

        where = self.where(obj)
        _, start = self._endpoint(obj._group)
        post, gm, receptor, scale = self._target(obj._group, obj._target_var, where)
        weight = obj._weight
        if isinstance(weight, str):
            weight = Resolver(obj._group, self.namespace, where).evaluate(str_to_sympy(weight), weight)
        size = int(obj._group.N)
        w = np.broadcast_to(np.asarray(weight, dtype=np.float64), (size,))
        if scale is not None:
            w = w * scale[start:start + size]
        add_poisson_drive(self.net, self.name(obj), self.name(post), int(obj._N), float(obj._rate), compact(w),
                          size=size, offset=start, receptor=receptor, meta={"brian2": "PoissonInput"})

    # -- monitors ----------------------------------------------------------------------------
    def _monitor(self, mon, spikes: bool) -> None:
        group, start = self._endpoint(mon.source)
        if id(group) not in self.models:
            return  # monitors of sources: their spikes are the input
        if spikes:
            self.net.probe(Probe(target=self.name(group), variable="spikes"))
            return
        gm = self.models[id(group)]
        record = np.asarray(mon.record, dtype=np.int64) + start if not isinstance(mon.record, bool) else None
        for var in mon.record_variables:
            variable = "v" if var == gm.membrane else ("i" if var in gm.scales else None)
            if variable is None:
                raise UserError(f"{self.where(mon)}: records '{var}', which has no counterpart in the IR")
            self.net.probe(Probe(target=self.name(group), variable=variable, neurons=record))


def convert(objects, namespace: dict, names: dict | None = None, duration: float | None = None) -> Network:
    """The IR network of Brian2 ``objects`` (identifiers resolved in ``namespace``)."""
    return _Converter(objects, namespace, names or {}, duration).run()
