"""Simulate a partial-sum mapping as the hardware runs it: compartments, then somas.

Presynaptic spikes go to compartments (not to neurons) at the compensated delays of
:mod:`.partial_sums`; in each tick every compartment sums what arrived and sends the sum,
saturated to the target's ``partial_sum_bits``, to its soma, which receives it one tick later;
the soma's input is the exact sum of its messages (and of the synapses of neurons without
compartments, delivered directly at their delays) saturated to ``acc_bits``, then the neuron
datapath (:func:`nmcompiler.datapath.neuron.tick`) runs as in the bit-accurate simulator. Tests
compare its spikes with the unmapped network's. A numpy loop per tick: for checking mappings of
test-sized networks, not for speed.
"""

from __future__ import annotations

import time

import numpy as np

from ..datapath.neuron import NeuronState, saturate, tick
from ..ir.fixed_point import FixedPointNetwork
from ..sim.inputs import SourceSpikes
from ..sim.program import program_from_fixed_point
from ..sim.result import SimResult
from .partial_sums import PartialSums

__all__ = ["simulate_partial_sums"]


def simulate_partial_sums(fx: FixedPointNetwork, ps: PartialSums, payload_bits: int, steps: int,
                          seed: int | None = None) -> SimResult:
    """``steps`` ticks of ``fx`` mapped with ``ps``; ``result.saturation[pop]["payload"]`` counts
    messages of that population's compartments that saturated (0 means the mapping was exact)."""
    prog = program_from_fixed_point(fx, seed)
    fmt, n, R = prog.format, prog.n, prog.channels
    table = prog.synapses
    pre = np.repeat(np.arange(table.indptr.size - 1, dtype=np.int64), np.diff(table.indptr))
    comp = ps.compartment[pre // ps.block_size, table.target].astype(np.int64)
    through = comp >= 0
    if np.any(ps.soma_core[table.target[~through] % n] >= 0):
        raise ValueError("the partial-sum mapping misses synapses of this network")
    delay = np.broadcast_to(table.delay, pre.shape).astype(np.int64)
    delay = np.where(through, np.maximum(delay - 1, 1), delay)
    weight = np.asarray(table.weight, dtype=np.int64)
    m = ps.compartments
    slots = int(delay.max(initial=1)) + 1
    # one ring of slots x (compartments, then channel x neuron for the direct synapses)
    width = m + R * n
    key = np.where(through, comp, m + table.target)
    ring = np.zeros(slots * width, dtype=np.int64)
    pending = np.zeros(R * n, dtype=np.int64)
    payload_sat = np.zeros(n, dtype=np.int64)
    state = NeuronState(v=prog.v0.copy(), i=prog.i0.copy(), ref=np.zeros(n, dtype=np.int64))
    sources = SourceSpikes(prog, prog, prog.seed)
    indptr = table.indptr
    ids, at, events = [], [], 0
    started = time.perf_counter()
    for t in range(steps):
        row = ring[(t % slots) * width:(t % slots + 1) * width]
        x = saturate((pending + row[m:]).reshape(R, n), fmt.acc_bits)
        message = saturate(row[:m], payload_bits)
        np.add.at(payload_sat, ps.target[message != row[:m]] % n, 1)
        pending = np.zeros(R * n, dtype=np.int64)
        np.add.at(pending, ps.target, message)
        row[:] = 0
        fired = np.flatnonzero(tick(state, prog.params, x, fmt))
        if fired.size:
            ids.append(fired)
            at.append(np.full(fired.size, t, dtype=np.int64))
        src = sources.at(t)
        spikes = fired if src is None else np.concatenate([fired, src])
        if spikes.size:
            starts, lengths = indptr[spikes], indptr[spikes + 1] - indptr[spikes]
            total = int(lengths.sum())
            if total:
                idx = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
                np.add.at(ring, ((t + delay[idx]) % slots) * width + key[idx], weight[idx])
                events += total
    wall = time.perf_counter() - started
    cat = (lambda a: np.concatenate(a) if a else np.zeros(0, dtype=np.int64))
    spike_steps, spike_ids, sizes = prog.spikes_by_population(cat(ids), cat(at))
    saturation = {p.name: {"payload": int(payload_sat[prog.slice(p.name)].sum())} for p in prog.populations}
    return SimResult(network=prog.name, dt=prog.dt, steps=steps, sizes=sizes, spike_steps=spike_steps,
                     spike_ids=spike_ids, wall_time=wall, synaptic_events=events, seed=prog.seed,
                     simulator=f"partial-sum mapping ({fmt.name})", saturation=saturation)
