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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Compartments"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Compartments:
    target: np.ndarray  # (m,) int64: channel * n + neuron that compartment k feeds
    payload_bits: int  # width of a graded message (two's complement); sums beyond it saturate

    @property
    def size(self) -> int:
        return int(self.target.size)
