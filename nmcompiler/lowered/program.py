"""What the bit-accurate simulator runs: flat integer tables plus names, sources and probes.

A :class:`SimProgram` is made either from a fixed-point network (:func:`program_from_fixed_point`)
or from a decoded configuration image (:mod:`nmcompiler.image`), so that simulating an image runs
exactly the integers the image holds. Neurons share one index space (populations in order);
spike-source channels follow them in the presynaptic index space.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..datapath import LearningFormat, NeuronParams, NumericFormat
from ..errors import UserError
from ..ir import CurrentSource, Probe
from ..ir.fixed_point import FixedPointNetwork
from ..ir.nodes import Node
from .compartments import Compartments
from .plastic import PlasticProjection
from .pieces import SynapsePieces, TablePiece
from .table import SynapseTable, synapse_table

__all__ = ["PopulationSlot", "SimProgram", "program_from_fixed_point"]


@dataclass(frozen=True)
class PopulationSlot:
    name: str
    offset: int  # first global neuron index
    size: int


@dataclass(frozen=True, kw_only=True, eq=False)
class SimProgram:
    name: str
    dt: float
    seed: int
    format: NumericFormat
    populations: tuple[PopulationSlot, ...]
    params: NeuronParams  # (n,) arrays, currents (R, n)
    v0: np.ndarray
    i0: np.ndarray  # (R, n)
    # CSR by presynaptic index; target = channel * n + neuron; int weights. From a fixed-point
    # network: the projections' own arrays (.pieces), the plain table built on first use
    synapses: SynapseTable | SynapsePieces
    sources: tuple[Node, ...]  # spike and Poisson sources, in presynaptic index order after the neurons
    probes: tuple[Probe, ...]  # effective probes
    # partial-sum compartments (.compartments); synapse targets >= channels * n address them
    compartments: Compartments | None = None
    plastic: tuple[PlasticProjection, ...] = ()  # projections that learn (not in ``synapses``)
    learning: LearningFormat | None = None  # the learning engine's formats, when ``plastic``

    @property
    def n(self) -> int:
        return int(self.v0.size)

    @property
    def channels(self) -> int:
        return max(1, self.format.receptors)

    @property
    def offsets(self) -> dict[str, int]:
        """First presynaptic index of every population and source."""
        out = {p.name: p.offset for p in self.populations}
        start = self.n
        for s in self.sources:
            out[s.name] = start
            start += s.size
        return out

    def frozen(self) -> SimProgram:
        """The program with its plastic synapses fixed at their weights (the learning engine off)."""
        if not self.plastic:
            return self
        t = self.synapses
        pres = [np.repeat(np.arange(t.indptr.size - 1, dtype=np.int64), np.diff(t.indptr))]
        targets, weights = [np.asarray(t.target, dtype=np.int64)], [np.asarray(t.weight, dtype=np.int64)]
        delays = [np.broadcast_to(t.delay, t.target.shape).astype(np.int64)]
        frac = self.learning.weight_frac_bits if self.learning is not None else 0
        n = self.n
        for p in self.plastic:
            pres.append(p.pre)
            targets.append(p.channel * n + p.post)
            half = (1 << (frac - 1)) if frac else 0
            weights.append(((((p.mantissa << frac) + half) >> frac) << p.exponent).astype(np.int64))
            delays.append(p.delays.astype(np.int64))
        table = synapse_table(t.indptr.size - 1, pres, targets, weights, delays)
        return dataclasses.replace(self, synapses=table, plastic=(), learning=None)

    def with_source(self, source: Node) -> SimProgram:
        """The program with its host source of ``source.name`` replaced (same size: the index
        space does not change), e.g. an image run on new input spikes."""
        names = [s.name for s in self.sources]
        if source.name not in names:
            raise UserError(f"'{source.name}' is not a source of {self.name} (sources: {', '.join(names) or 'none'})")
        old = self.sources[names.index(source.name)]
        if old.size != source.size:
            raise UserError(f"input for '{source.name}': {source.size} channels, but the source has {old.size}")
        return dataclasses.replace(self, sources=tuple(
            source if s.name == source.name else dataclasses.replace(source, name=s.name, mirror_of=source.name)
            if getattr(s, "mirror_of", None) == source.name else s for s in self.sources))

    def slice(self, name: str) -> slice:
        slot = next(p for p in self.populations if p.name == name)
        return slice(slot.offset, slot.offset + slot.size)

    def spikes_by_population(self, ids: np.ndarray, at: np.ndarray):
        """``(spike_steps, spike_ids, sizes)`` per population, for the probed populations."""
        probed = {p.target for p in self.probes if p.variable == "spikes"}
        spike_steps, spike_ids, sizes = {}, {}, {}
        for pop in self.populations:
            sizes[pop.name] = pop.size
            if pop.name in probed:
                mask = (ids >= pop.offset) & (ids < pop.offset + pop.size)
                spike_steps[pop.name], spike_ids[pop.name] = at[mask], ids[mask] - pop.offset
        return spike_steps, spike_ids, sizes


def _cat(arrays, axis=-1, empty_shape=(0,)):
    return np.concatenate(arrays, axis=axis) if arrays else np.zeros(empty_shape, dtype=np.int64)


def program_from_fixed_point(fxp: FixedPointNetwork, seed: int | None = None, synapses: bool = True) -> SimProgram:
    """The program of ``fxp``; with ``synapses`` False its synapse table is empty (for callers
    that read the projections themselves, such as the image builder)."""
    net = fxp.network
    R = max(1, fxp.format.receptors)
    slots, start = [], 0
    for p in net.populations:
        slots.append(PopulationSlot(p.name, start, p.size))
        start += p.size
    n = start
    pops = [fxp.populations[p.name] for p in net.populations]
    ps = [q.params for q in pops]
    params = NeuronParams(
        decay_v=_cat([p.decay_v for p in ps]), decay_i=_cat([p.decay_i for p in ps], 1, (R, 0)),
        bias=_cat([p.bias for p in ps]), threshold=_cat([p.threshold for p in ps]),
        v_reset=_cat([p.v_reset for p in ps]), refractory=_cat([p.refractory for p in ps]),
        subtract=_cat([p.subtract for p in ps]).astype(bool), spiking=_cat([p.spiking for p in ps]).astype(bool),
        max_spikes=None if all(p.max_spikes is None for p in ps) else _cat(
            [np.ones(q.size, np.int64) if p.max_spikes is None else p.max_spikes for p, q in zip(ps, pops)]),
        v_min=None if all(p.v_min is None for p in ps) else _cat(
            [np.full(q.size, -(1 << (fxp.format.v_bits - 1)), np.int64) if p.v_min is None else p.v_min
             for p, q in zip(ps, pops)]))
    sources = tuple(s for s in net.sources if not isinstance(s, CurrentSource))
    offsets = {s.name: s.offset for s in slots}
    for s in sources:
        offsets[s.name] = start
        start += s.size
    # int32 indices and int16 delays where they fit: 0.3 billion synapses in int64 take 7 GB more
    index = np.int32 if max(start, R * n) < 2 ** 31 else np.int64
    projections = [q for q in fxp.projections.values() if q.learning is None] if synapses else []
    plastic = tuple(PlasticProjection.lower(q, offsets, fxp.populations[q.post].size)
                    for q in fxp.projections.values() if q.learning is not None)
    longest = max((int(np.max(q.delays, initial=0)) for q in projections), default=0)
    table = SynapsePieces(n_pre=start, index_type=index, delay_type=np.int16 if longest < 2 ** 15 else np.int64,
                          pieces=tuple(TablePiece(pre=offsets[q.pre], indptr=q.indptr, indices=q.indices,
                                                  offset=q.channel * n + offsets[q.post], mantissa=q.mantissa,
                                                  exponent=q.exponent, delay=q.delays) for q in projections))
    return SimProgram(name=net.name, dt=net.dt, seed=net.seed if seed is None else int(seed), format=fxp.format,
                      populations=tuple(slots), params=params, v0=_cat([q.v0 for q in pops]),
                      i0=_cat([q.i0 for q in pops], 1, (R, 0)), synapses=table, sources=sources,
                      probes=tuple(net.effective_probes()), plastic=plastic,
                      learning=fxp.learning if plastic else None)


def probe_all(prog: SimProgram, states: bool = False) -> SimProgram:
    """``prog`` recording the spikes (and with ``states`` v and the currents) of every population."""
    kinds = ("spikes", "v", "i") if states else ("spikes",)
    return dataclasses.replace(prog, probes=tuple(Probe(target=p.name, variable=v) for p in prog.populations
                                                  for v in kinds))
