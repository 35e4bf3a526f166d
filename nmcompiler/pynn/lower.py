"""PyNN's network (``simulator.state``) as an IR :class:`Network`, and its simulation.

Units: PyNN's ms, mV, nF, nA and Hz become s, V, A and Hz; r = tau_m / cm. A spike recorded
in step ``k`` (the step that ends at (k + 1) dt) is reported at time (k + 1) dt, NEST's
convention; a SpikeSourceArray time t is emitted in the step that ends at t, so with delay d
its effect arrives as in NEST. Delays are rounded to whole steps (at least one).
"""

from __future__ import annotations

import re

import numpy as np

from ..ir import (
    LIF, MEMBRANE, Connectivity, CubaLIF, CurrentSource, Network, PoissonSource, Population, Probe, Projection,
    SpikeSource,
)
from ..ir.models import Compare
from .errors import refuse

__all__ = ["build_network", "simulate", "spikes_of", "trace_of"]

MS, MV, NA = 1e-3, 1e-3, 1e-9
OHM_PER_MS_NF = 1e6  # tau_m [ms] / cm [nF] in ohm


def node_names(populations) -> dict[int, str]:
    """A unique IR name per PyNN population, from its label."""
    names, used = {}, set()
    for pop in populations:
        names[id(pop)] = _unique(re.sub(r"\W+", "_", pop.label or "population").strip("_") or "population", used)
    return names


def _param(pop, name) -> np.ndarray:
    return _shared(np.asarray(pop._parameters[name], dtype=np.float64))


def _shared(values: np.ndarray) -> np.ndarray:
    """A value every cell shares stays one value (per row for per-receptor arrays)."""
    if values.shape[-1:] and values.size and np.all(values == values[..., :1]):
        return values[..., 0].copy()
    return values


def _uniform(pop, name) -> float:
    values = _param(pop, name)
    if values.size and np.ptp(values) > 0:
        refuse(f"population {pop.label!r}: {name} differs between cells; a source needs one value")
    return float(values.flat[0]) if values.size else 0.0


def _neurons(pop, name: str, dt_ms: float):
    kind = type(pop.celltype).__name__
    r = _param(pop, "tau_m") / _param(pop, "cm") * OHM_PER_MS_NF
    common = dict(tau_mem=_param(pop, "tau_m") * MS, v_leak=_param(pop, "v_rest") * MV,
                  v_threshold=_param(pop, "v_thresh") * MV, v_reset=_param(pop, "v_reset") * MV,
                  refractory=_param(pop, "tau_refrac") * MS, r=r, bias=_param(pop, "i_offset") * NA,
                  compare=Compare.GE)
    initial = {"v": _shared(np.asarray(pop._initial.get("v", np.full(pop.size, -65.0)))) * MV}
    if kind == "IF_curr_exp":
        tau_syn = np.stack([np.asarray(pop._parameters[k], dtype=np.float64) for k in ("tau_syn_E", "tau_syn_I")])
        model = CubaLIF(tau_syn=_shared(tau_syn) * MS,
                        receptor_names=("excitatory", "inhibitory"), **common)
        initial["i"] = _shared(np.stack([pop._initial.get("isyn_exc", np.zeros(pop.size)),
                                         pop._initial.get("isyn_inh", np.zeros(pop.size))])) * NA
    else:
        model = LIF(**common)
    return Population(name=name, size=pop.size, model=model, initial=initial)


def _node(pop, name: str, dt_ms: float):
    kind = type(pop.celltype).__name__
    if kind in ("IF_curr_exp", "IF_curr_delta"):
        return _neurons(pop, name, dt_ms)
    if kind == "SpikeSourcePoisson":
        start = _uniform(pop, "start")
        return PoissonSource(name=name, size=pop.size, rate=_param(pop, "rate"), start=start * MS,
                             stop=(start + _uniform(pop, "duration")) * MS)
    if kind == "SpikeSourceArray":
        ids, times = source_spikes(pop, dt_ms)
        steps = np.rint(times / dt_ms)
        if times.size and steps.min() < 1:
            refuse(f"population {pop.label!r}: a spike time before the first step ends ({dt_ms} ms)")
        return SpikeSource(name=name, size=pop.size, ids=ids, times=(steps - 1) * dt_ms * MS)
    refuse(f"cell type {kind} cannot be mapped")


def source_spikes(pop, dt_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """(cell, time in ms on the grid) of a SpikeSourceArray: what it emitted before its spike
    times were last set after a run, then its current spike times from that moment on."""
    trains = [np.asarray(getattr(seq, "value", seq), dtype=np.float64).reshape(-1)
              for seq in pop._parameters["spike_times"]]
    ids = np.concatenate([np.full(t.size, i, np.int64) for i, t in enumerate(trains)] or [np.zeros(0, np.int64)])
    times = np.rint(np.concatenate(trains or [np.zeros(0)]) / dt_ms) * dt_ms
    later = times > pop._valid_from + 1e-9
    parts = [*pop._past_spikes, (ids[later], times[later])]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _projections(state, names, nodes, dt_ms: float):
    by_group: dict[tuple, list] = {}
    for k, prj in enumerate(state.projections):
        pre_ids = np.asarray(prj.pre.all_cells, dtype=np.int64)[prj._pre]
        post_ids = np.asarray(prj.post.all_cells, dtype=np.int64)[prj._post]
        pre_pop, pre_local = state.locate(pre_ids)
        post_pop, post_local = state.locate(post_ids)
        steps = np.maximum(1, np.rint(prj._delay / dt_ms)).astype(np.int64)
        for a, b in sorted(set(zip(pre_pop.tolist(), post_pop.tolist()))):
            sel = (pre_pop == a) & (post_pop == b)
            by_group.setdefault((k, a, b), []).append((pre_local[sel], post_local[sel], prj._weight[sel], steps[sel]))
    out, used = [], set()
    spans = {k: sum(1 for key in by_group if key[0] == k) for k, _, _ in by_group}
    for (k, a, b), parts in by_group.items():
        prj, src, dst = state.projections[k], names[id(state.populations[a])], names[id(state.populations[b])]
        pre, post, w, d = (np.concatenate(x) for x in zip(*parts))
        target = nodes[dst]
        if isinstance(target.model, CubaLIF):
            weight, receptor = w * NA, prj.receptor_type
        else:  # a jump of v by w mV: the IR adds r w
            weight, receptor = w * MV / np.broadcast_to(target.model.r, (target.size,))[post], None
        base = re.sub(r"\W+", "_", prj.label or "projection").strip("_") or "projection"
        name = _unique(base + (f"_{src}_{dst}" if spans[k] > 1 else ""), used)
        out.append(Projection(name=name, pre=src, post=dst, receptor=receptor,
                              connectivity=Connectivity.from_coo(nodes[src].size, target.size, pre, post, weight, d)))
    return out


def _currents(state, net: Network, names, nodes) -> None:
    """Each constant piece of each injected current: a one-channel CurrentSource whose
    projections feed the cells' membranes (r I, as i_offset)."""
    used = set(nodes)
    for k, source in enumerate(state.current_sources):
        if not source.cell_ids:
            continue
        which, local = state.locate(np.asarray(source.cell_ids, dtype=np.int64))
        for start, stop, amplitude in source.pieces():
            name = _unique(f"{type(source).__name__}_{k}", used)
            net.add(CurrentSource(name=name, size=1, amplitude=np.array([amplitude * NA]),
                                  start=start * MS, stop=stop * MS))
            for a in np.unique(which).tolist():
                dst = names[id(state.populations[a])]
                cells = local[which == a]
                net.connect(Projection(name=f"{name}_{dst}", pre=name, post=dst, receptor=MEMBRANE,
                                       connectivity=Connectivity.from_coo(1, nodes[dst].size, np.zeros_like(cells),
                                                                          cells, np.ones(cells.size), np.ones_like(cells))))


def _unique(base: str, used: set) -> str:
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def build_network(state) -> Network:
    """The IR network of everything created since setup()."""
    dt_ms = state.dt
    net = Network("pynn", dt=dt_ms * MS, seed=state.seed + max(0, state.segment_counter))
    names = node_names(state.populations)
    nodes = {}
    for pop in state.populations:
        nodes[names[id(pop)]] = net.add(_node(pop, names[id(pop)], dt_ms))
    for projection in _projections(state, names, nodes, dt_ms):
        net.connect(projection)
    _currents(state, net, names, nodes)
    traced = [pop for pop in state.populations if any(v.name != "spikes" for v in pop.recorder.recorded)]
    for pop in state.populations if traced else []:  # with a trace probe, spikes need probes too
        if isinstance(nodes[names[id(pop)]], Population):
            net.probe(Probe(target=names[id(pop)]))
    for pop in traced:
        recorded = [v for v in pop.recorder.recorded if v.name != "spikes"]
        for variable in recorded:
            if variable.name != "v":
                refuse(f"recording {variable.name!r} of {pop.label!r}: only spikes and v")
            ids = np.sort(np.asarray([int(i) for i in pop.recorder.recorded[variable]], np.int64)) - int(pop.first_id)
            net.probe(Probe(target=names[id(pop)], variable="v", neurons=ids))
    return net


def simulate(state):
    """Run the network from t = 0 to now: float, or the image of ``state.target`` bit accurately."""
    net = build_network(state)
    if state.target is None:
        from ..sim.float_sim import FloatSimulator

        return net, FloatSimulator(net).run(state.steps)
    if net.probes and any(p.variable != "spikes" for p in net.probes):
        refuse(f"recording v on target {state.target!r}: the image is run bit accurately and reports spikes only")
    from ..flow.api import compile_model

    return net, compile_model(net, state.target).simulate(steps=state.steps, seed=net.seed)


def spikes_of(state, pop) -> tuple[np.ndarray, np.ndarray]:
    """(local index, time in ms) of every spike of base population ``pop`` so far."""
    kind = type(pop.celltype).__name__
    if kind == "SpikeSourceArray":
        ids, times = source_spikes(pop, state.dt)
        keep = times <= state.t + 1e-9
        return ids[keep], times[keep]
    if kind == "SpikeSourcePoisson":
        refuse(f"recording the spikes of SpikeSourcePoisson {pop.label!r}: the simulator draws them "
               "internally; use a SpikeSourceArray with drawn times to know them")
    if state.steps == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    net, result = state.result()
    name = node_names(state.populations)[id(pop)]
    return result.spike_ids[name].astype(np.int64), (result.spike_steps[name] + 1) * state.dt


def trace_of(state, pop, variable: str, local: np.ndarray) -> np.ndarray:
    """``variable`` of cells ``local`` of ``pop`` at t = 0, dt, ..., now, in PyNN units."""
    initial = pop._initial.get(variable, np.zeros(pop.size))[local]
    if state.steps == 0:
        return initial[None, :]
    net, result = state.result()
    trace = result.traces[f"{node_names(state.populations)[id(pop)]}.{variable}"]
    cols = np.searchsorted(trace.neurons, local)
    return np.vstack([initial[None, :], trace.values[:, cols] / MV])
