"""Simulate a partial-sum mapping as the hardware runs it: compartments, then somas.

:func:`compartment_program` turns a fixed-point network and its :class:`.PartialSums` into the
program a configuration image of the mapping holds: synapses that go through a compartment
target it (at the compensated delay ``max(d - 1, 1)`` of :mod:`.partial_sums`), the others their
neuron, and the compartments (:class:`nmcompiler.lowered.Compartments`) send their sums,
saturated to the target's ``partial_sum_bits``, to their neurons one tick later. The
bit-accurate simulator runs it (:mod:`nmcompiler.lowered.compartments`); tests compare its spikes
with the unmapped network's and with the image's.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir.fixed_point import FixedPointNetwork
from ..lowered import Compartments, SimProgram, SynapseTable, program_from_fixed_point
from ..mapping.partial_sums import PartialSums
from .bit_sim import BitAccurateSimulator
from .result import SimResult

__all__ = ["compartment_program", "simulate_partial_sums"]


def compartment_program(fx: FixedPointNetwork, ps: PartialSums, payload_bits: int,
                        seed: int | None = None) -> SimProgram:
    """The program of ``fx`` mapped with ``ps`` (same synapse order as the unmapped program)."""
    prog = program_from_fixed_point(fx, seed)
    n, R = prog.n, prog.channels
    table = prog.synapses
    pre = np.repeat(np.arange(table.indptr.size - 1, dtype=np.int64), np.diff(table.indptr))
    comp = ps.compartment[pre // ps.block_size, table.target].astype(np.int64)
    through = comp >= 0
    if np.any(ps.soma_core[table.target[~through] % n] >= 0):
        raise ValueError("the partial-sum mapping misses synapses of this network")
    delay = np.broadcast_to(table.delay, pre.shape).astype(np.int64)
    delay = np.where(through, np.maximum(delay - 1, 1), delay)
    mapped = SynapseTable(indptr=table.indptr, target=np.where(through, R * n + comp, table.target),
                          weight=table.weight, delay=delay, max_delay=int(delay.max(initial=1)))
    return replace(prog, synapses=mapped,
                   compartments=Compartments(target=np.asarray(ps.target, dtype=np.int64), payload_bits=payload_bits))


def simulate_partial_sums(fx: FixedPointNetwork, ps: PartialSums, payload_bits: int, steps: int,
                          seed: int | None = None) -> SimResult:
    """``steps`` ticks of ``fx`` mapped with ``ps``; ``result.saturation[pop]["payload"]`` counts
    messages of that population's compartments that saturated (0 means the mapping was exact)."""
    return BitAccurateSimulator(compartment_program(fx, ps, payload_bits, seed)).run(steps, count_saturation=True)
