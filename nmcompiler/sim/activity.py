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

from ..lowered import SynapseTable
from .inputs import SourceSpikes
from .result import SimResult

__all__ = ["Activity", "CoreActivity", "PopulationActivity", "count_activity", "float_activity", "program_activity",
           "records_every_spike"]


@dataclass(frozen=True, kw_only=True)
class PopulationActivity:
    neurons: int
    neuron_updates: int  # neurons x ticks
    spikes: int  # spikes its neurons emitted
    synaptic_ops: int  # synaptic operations onto its neurons

    def to_json(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True, kw_only=True, eq=False)
class CoreActivity:
    """Per core (arrays indexed by core id)."""

    neuron_updates: np.ndarray
    spikes_sent: np.ndarray  # spikes of the core's neurons
    synaptic_ops: np.ndarray  # synaptic operations onto the core's neurons
    messages: np.ndarray  # spike messages the core sends: one per spike and destination core (itself included)
    hops: np.ndarray  # hops those messages travel
    host_messages: int  # input spikes the host sends: one per spike and destination core

    def to_json(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items()}


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


def count_activity(table: SynapseTable, n: int, slots, spike_count: np.ndarray, steps: int, mapping=None) -> Activity:
    """The activity of a run of ``steps`` ticks whose presynaptic index ``p`` spiked
    ``spike_count[p]`` times, over ``table`` (``n`` neurons; ``slots``: (name, first neuron, size)
    of each population, in order; ``mapping``: a :class:`nmcompiler.mapping.Mapping` for per-core
    figures)."""
    indptr = np.asarray(table.indptr, dtype=np.int64)
    pre = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    post = np.asarray(table.target, dtype=np.int64) % max(n, 1)
    fired = spike_count[pre]  # per synapse: the operations it did
    starts = np.array([offset for _, offset, _ in slots], dtype=np.int64)
    pop_of = np.searchsorted(starts, post, side="right") - 1
    ops = np.bincount(pop_of, weights=fired, minlength=len(slots)).astype(np.int64)
    pops = {name: PopulationActivity(neurons=size, neuron_updates=size * steps,
                                     spikes=int(spike_count[offset:offset + size].sum()), synaptic_ops=int(ops[k]))
            for k, (name, offset, size) in enumerate(slots)}
    cores = None if mapping is None else _cores(mapping, pre, post, spike_count, n, steps)
    return Activity(steps=steps, populations=pops, source_spikes=int(spike_count[n:].sum()), cores=cores)


def _cores(mapping, pre: np.ndarray, post: np.ndarray, spike_count: np.ndarray, n: int, steps: int) -> CoreActivity:
    from ..mapping.place_large import pair_hops

    core_of = np.asarray(mapping.core_of, dtype=np.int64)
    k = int(core_of.max()) + 1 if core_of.size else 0
    dest = core_of[post]
    ops = np.bincount(dest, weights=spike_count[pre], minlength=k).astype(np.int64)
    pairs = np.unique(pre * max(k, 1) + dest)  # (presynaptic index, destination core), each once
    p, d = pairs // max(k, 1), pairs % max(k, 1)
    counts = spike_count[p]
    neuron = p < n
    src = core_of[p[neuron]]
    hops = pair_hops(np.asarray(mapping.position), src, d[neuron], mapping.target) if src.size else src
    return CoreActivity(neuron_updates=np.bincount(core_of, minlength=k) * steps,
                        spikes_sent=np.bincount(core_of, weights=spike_count[:n], minlength=k).astype(np.int64),
                        synaptic_ops=ops,
                        messages=np.bincount(src, weights=counts[neuron], minlength=k).astype(np.int64),
                        hops=np.bincount(src, weights=counts[neuron] * hops, minlength=k).astype(np.int64),
                        host_messages=int(counts[~neuron].sum()))


def records_every_spike(probes, populations) -> bool:
    """Whether a run with ``probes`` records every spike of every population in ``populations``
    (names): no probes at all (every spike is recorded), or a spike probe of all neurons for each."""
    if not probes:
        return True
    full = {q.target for q in probes if q.variable == "spikes" and q.neurons is None}
    return all(name in full for name in populations)


def _spike_count(result: SimResult, offsets: dict, n_pre: int, sources_of, steps: int) -> np.ndarray:
    """Spikes per presynaptic index: the neurons' from the result, the sources' drawn again (the
    simulators draw Poisson sources from the seed and the source's name)."""
    count = np.zeros(n_pre, dtype=np.int64)
    for name, ids in result.spike_ids.items():
        np.add.at(count, offsets[name] + np.asarray(ids, dtype=np.int64), 1)
    _, ids = sources_of.span(0, steps)
    np.add.at(count, ids, 1)
    return count


def float_activity(net, result: SimResult, steps: int, mapping=None) -> Activity:
    """The activity of a float simulation of ``net`` (every population recorded)."""
    from .layout import build_layout, build_synapses

    layout = build_layout(net)
    table = build_synapses(net, layout)
    sources = SourceSpikes(net, layout, result.seed)
    count = _spike_count(result, layout.offsets, table.indptr.size - 1, sources, steps)
    slots = [(p.name, layout.offsets[p.name], p.size) for p in net.populations]
    return count_activity(table, layout.n, slots, count, steps, mapping)


def program_activity(prog, result: SimResult, steps: int, mapping=None) -> Activity:
    """The activity of a bit-accurate simulation of ``prog`` (a fixed-point network's program, or
    an image's: :func:`nmcompiler.image.to_program`)."""
    shim = SimpleNamespace(sources=prog.sources, dt=prog.dt)
    sources = SourceSpikes(shim, SimpleNamespace(offsets=prog.offsets), result.seed)
    count = _spike_count(result, prog.offsets, prog.synapses.indptr.size - 1, sources, steps)
    slots = [(s.name, s.offset, s.size) for s in prog.populations]
    return count_activity(prog.synapses, prog.n, slots, count, steps, mapping)
