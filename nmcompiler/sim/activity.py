"""What a run did, counted: per population and (with a mapping) per core, the synaptic operations,
neuron updates, spikes, spike messages and hops (the inputs of energy and latency estimates).

Everything is counted from the run's spikes and the synapse table the simulator ran: each spike
of a presynaptic index (a neuron, or a channel of a spike source) is one synaptic operation per
synapse it has, attributed to the population and the core of the synapse's neuron; a neuron
update is one neuron in one tick. On a mapping, a neuron's spike is one message per core its
synapses reach (a multicast fabric), travelling as many hops as the dimension-order route to that
core; host input spikes enter the chip without a source core and are counted apart. The total of
synaptic operations equals the simulators' own count of synaptic events (spikes of the last tick
included), which the tests check for the float and the bit-accurate simulator and for an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from scipy import sparse

from ..lowered import SynapseTable
from .inputs import SourceSpikes
from .result import SimResult

__all__ = ["Activity", "CoreActivity", "PopulationActivity", "TickActivity", "count_activity", "float_activity",
           "program_activity", "program_events", "records_every_spike"]


@dataclass(frozen=True, kw_only=True)
class PopulationActivity:
    neurons: int
    neuron_updates: int  # neurons x ticks
    spikes: int  # spikes its neurons emitted
    synaptic_ops: int  # synaptic operations onto its neurons
    # with a mapping: messages its neurons' spikes make and their hops (None: no mapping)
    messages: int | None = None
    hops_x: int | None = None
    hops_y: int | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True, kw_only=True, eq=False)
class TickActivity:
    """Per tick and core (arrays of shape (ticks, cores)); a spike's synaptic operations and
    messages count in the tick it was emitted."""

    synaptic_ops: np.ndarray
    spikes_sent: np.ndarray
    messages: np.ndarray  # sent by the core
    messages_in: np.ndarray  # received by the core (host input included)


@dataclass(frozen=True, kw_only=True, eq=False)
class CoreActivity:
    """Per core (arrays indexed by core id)."""

    neurons: np.ndarray  # neurons (or compartments) the core updates every tick
    neuron_updates: np.ndarray
    spikes_sent: np.ndarray  # spikes of the core's neurons
    synaptic_ops: np.ndarray  # synaptic operations onto the core's neurons
    messages: np.ndarray  # spike messages the core sends: one per spike and destination core (itself included)
    messages_in: np.ndarray  # spike messages the core receives (host input included)
    hops_x: np.ndarray  # hops those messages travel along rows (x) and columns (y)
    hops_y: np.ndarray
    host_messages: int  # input spikes the host sends: one per spike and destination core
    chips_used: int = 1
    ticks: TickActivity | None = None  # per tick (None: counted from totals)

    @property
    def hops(self) -> np.ndarray:
        return self.hops_x + self.hops_y

    def to_json(self) -> dict:
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items() if k != "ticks"}
        return out | {"hops": self.hops.tolist()}


@dataclass(frozen=True, kw_only=True, eq=False)
class Activity:
    steps: int
    populations: dict[str, PopulationActivity]
    source_spikes: int  # spikes of the spike sources (host input)
    cores: CoreActivity | None = None

    @property
    def synaptic_ops(self) -> int:
        return sum(p.synaptic_ops for p in self.populations.values())

    @property
    def spikes(self) -> int:
        return sum(p.spikes for p in self.populations.values())

    @property
    def neuron_updates(self) -> int:
        return sum(p.neuron_updates for p in self.populations.values())

    def to_json(self) -> dict:
        out = {"steps": self.steps, "synaptic_ops": self.synaptic_ops, "spikes": self.spikes,
               "neuron_updates": self.neuron_updates, "source_spikes": self.source_spikes,
               "populations": {k: p.to_json() for k, p in self.populations.items()}}
        if self.cores is not None:
            out["cores"] = self.cores.to_json()
        return out


def count_activity(table: SynapseTable, n: int, slots, spike_count, steps: int, mapping=None) -> Activity:
    """The activity of a run of ``steps`` ticks over ``table`` (``n`` neurons; ``slots``: (name,
    first neuron, size) of each population, in order; ``mapping``: a
    :class:`nmcompiler.mapping.Mapping` for per-core figures). ``spike_count``: the spikes of each
    presynaptic index, as a vector of totals, or a sparse (ticks, presynaptic) matrix of counts
    (per-core figures then come per tick too)."""
    events = sparse.csr_matrix(spike_count if sparse.issparse(spike_count)
                               else np.asarray(spike_count, dtype=np.int64)[None, :], dtype=np.int64)
    count = np.asarray(events.sum(axis=0), dtype=np.int64).ravel()
    indptr = np.asarray(table.indptr, dtype=np.int64)
    pre = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    post = np.asarray(table.target, dtype=np.int64) % max(n, 1)
    starts = np.array([offset for _, offset, _ in slots], dtype=np.int64)
    pop_of = np.searchsorted(starts, post, side="right") - 1
    ops = np.bincount(pop_of, weights=count[pre], minlength=len(slots)).astype(np.int64)
    sent = None
    if mapping is not None:
        cores, sent = _cores(mapping, pre, post, events, n, steps, per_tick=sparse.issparse(spike_count))
    pops = {}
    for k, (name, offset, size) in enumerate(slots):
        extra = {} if sent is None else {key: int(v[offset:offset + size] @ count[offset:offset + size])
                                         for key, v in sent.items()}
        pops[name] = PopulationActivity(neurons=size, neuron_updates=size * steps, synaptic_ops=int(ops[k]),
                                        spikes=int(count[offset:offset + size].sum()), **extra)
    return Activity(steps=steps, populations=pops, source_spikes=int(count[n:].sum()),
                    cores=None if mapping is None else cores)


def _cores(mapping, pre: np.ndarray, post: np.ndarray, events: sparse.csr_matrix, n: int, steps: int,
           per_tick: bool):
    """Per-core activity, and per neuron the messages and hops one of its spikes makes."""
    from ..mapping.place_large import pair_hops_yx

    core_of = np.asarray(mapping.core_of, dtype=np.int64)
    k = int(core_of.max()) + 1 if core_of.size else 0
    n_pre = events.shape[1]
    synapses = sparse.csr_matrix((np.ones(pre.size, dtype=np.int64), (pre, core_of[post])), shape=(n_pre, k))
    reach = synapses.copy()  # presynaptic index -> the cores it reaches (one message each)
    reach.data[:] = 1
    p, d = reach.nonzero()
    neuron = p < n
    hy, hx = (pair_hops_yx(np.asarray(mapping.position), core_of[p[neuron]], d[neuron], mapping.target)
              if neuron.any() else (p[:0], p[:0]))
    sent = {"messages": np.bincount(p[neuron], minlength=n)[:n],
            "hops_x": np.bincount(p[neuron], weights=hx, minlength=n)[:n].astype(np.int64),
            "hops_y": np.bincount(p[neuron], weights=hy, minlength=n)[:n].astype(np.int64)}

    def by_source_core(per_neuron):  # (ticks, cores): per neuron figures summed onto its core
        m = sparse.csr_matrix((per_neuron, (np.arange(n), core_of)), shape=(n_pre, k), dtype=np.int64)
        return (events @ m).toarray()

    t = {"synaptic_ops": (events @ synapses).toarray(), "messages_in": (events @ reach).toarray(),
         "spikes_sent": by_source_core(np.ones(n, dtype=np.int64)), "messages": by_source_core(sent["messages"])}
    host = int((events[:, n:] @ reach[n:]).sum())
    neurons = np.bincount(core_of, minlength=k)
    chips = int(np.unique(np.asarray(mapping.position)[:, 0]).size) if k else 0
    cores = CoreActivity(neurons=neurons, neuron_updates=neurons * steps, chips_used=chips,
                         hops_x=by_source_core(sent["hops_x"]).sum(axis=0),
                         hops_y=by_source_core(sent["hops_y"]).sum(axis=0), host_messages=host,
                         ticks=TickActivity(**t) if per_tick else None, **{key: v.sum(axis=0) for key, v in t.items()})
    return cores, sent


def records_every_spike(probes, populations) -> bool:
    """Whether a run with ``probes`` records every spike of every population in ``populations``
    (names): no probes at all (every spike is recorded), or a spike probe of all neurons for each."""
    if not probes:
        return True
    full = {q.target for q in probes if q.variable == "spikes" and q.neurons is None}
    return all(name in full for name in populations)


def _events(result: SimResult, offsets: dict, n_pre: int, sources_of, steps: int) -> sparse.csr_matrix:
    """Spikes per tick and presynaptic index, (steps, n_pre): the neurons' from the result, the
    sources' drawn again (the simulators draw Poisson sources from the seed and the source's name)."""
    ticks, ids = [], []
    for name, pop_ids in result.spike_ids.items():
        ticks.append(np.asarray(result.spike_steps[name], dtype=np.int64))
        ids.append(offsets[name] + np.asarray(pop_ids, dtype=np.int64))
    ptr, src = sources_of.span(0, steps)
    ticks.append(np.repeat(np.arange(steps, dtype=np.int64), np.diff(ptr)))
    ids.append(np.asarray(src, dtype=np.int64))
    t, i = np.concatenate(ticks), np.concatenate(ids)
    return sparse.csr_matrix((np.ones(t.size, dtype=np.int64), (t, i)), shape=(steps, n_pre))


def float_activity(net, result: SimResult, steps: int, mapping=None) -> Activity:
    """The activity of a float simulation of ``net`` (every population recorded)."""
    from .layout import build_layout, build_synapses

    layout = build_layout(net)
    table = build_synapses(net, layout)
    sources = SourceSpikes(net, layout, result.seed)
    events = _events(result, layout.offsets, table.indptr.size - 1, sources, steps)
    slots = [(p.name, layout.offsets[p.name], p.size) for p in net.populations]
    return count_activity(table, layout.n, slots, events, steps, mapping)


def program_events(prog, result: SimResult, steps: int) -> sparse.csr_matrix:
    """Spikes per tick and presynaptic index, (steps, presynaptic indices), of a bit-accurate run
    of ``prog``."""
    shim = SimpleNamespace(sources=prog.sources, dt=prog.dt)
    sources = SourceSpikes(shim, SimpleNamespace(offsets=prog.offsets), result.seed)
    return _events(result, prog.offsets, prog.synapses.indptr.size - 1, sources, steps)


def program_activity(prog, result: SimResult | list, steps: int, mapping=None) -> Activity:
    """The activity of a bit-accurate simulation of ``prog`` (a fixed-point network's program, or
    an image's: :func:`nmcompiler.image.to_program`). ``result`` may instead be a list of the
    :func:`program_events` of several runs of ``steps`` ticks each (of ``prog`` with its sources
    replaced), counted as one run after another."""
    runs = result if isinstance(result, list) else [program_events(prog, result, steps)]
    slots = [(s.name, s.offset, s.size) for s in prog.populations]
    return count_activity(prog.synapses, prog.n, slots, sparse.vstack(runs, format="csr"), steps * len(runs), mapping)
