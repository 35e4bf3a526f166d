"""Partial-sum compartments as the simulators run them (the hardware side of
:mod:`nmcompiler.mapping.partial_sums`).

A compartment ``k`` sums, exactly, the weights of the synapses that reach it in a tick and sends
that sum as one graded message, saturated to ``payload_bits``, to channel ``target[k] // n`` of
neuron ``target[k] % n``, which adds it to its input one tick later:

    c_k[t]   = sum of the weights arriving at compartment k in tick t
    m_k[t]   = sat_P(c_k[t])                                    (P = payload_bits)
    x_r,i[t] = sat_acc(direct_r,i[t] + sum_{k: target[k] = r * n + i} m_k[t - 1])

``direct`` is the input of the synapses onto the neuron itself. In a program with compartments,
synapse targets ``>= channels * n`` address compartment ``target - channels * n``.

When no compartment's sum can leave the payload range (its synapses' total absolute weight,
times the most spikes one presynaptic index sends in a tick, is below ``2^(P-1)``), ``sat_P`` is
the identity and a synapse of delay ``d`` onto compartment ``k`` acts exactly as one of delay
``d + 1`` onto ``target[k]``: :func:`cannot_saturate` checks the bound, and the compiled
simulator then moves those synapses while it builds its compact table (``sim.rows.compact_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .table import SynapseTable, incoming_weight

__all__ = ["Compartments", "cannot_saturate"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Compartments:
    target: np.ndarray  # (m,) int64: channel * n + neuron that compartment k feeds
    payload_bits: int  # width of a graded message (two's complement); sums beyond it saturate

    @property
    def size(self) -> int:
        return int(self.target.size)


def cannot_saturate(table: SynapseTable, inputs: int, comp: Compartments, max_repeat: int) -> bool:
    """Whether no compartment's sum can leave the payload range: the total absolute weight of its
    synapses times ``max_repeat`` (the most spikes one presynaptic index sends in a tick) stays
    below ``2^(P-1)``. ``inputs`` is ``channels * n``."""
    weight = np.ascontiguousarray(table.weight)
    if weight.dtype.kind != "i":
        raise TypeError(f"compartment programs carry integer weights, not {weight.dtype}")
    if not comp.size:
        return True
    reach = incoming_weight(np.ascontiguousarray(table.target), weight, inputs, inputs + comp.size)
    return int(reach.max()) * max(1, max_repeat) <= (1 << (comp.payload_bits - 1)) - 1
