"""Firing rates for the compile flow, measured by the float simulator."""

from __future__ import annotations

import numpy as np

from ..ir import Network
from ..lowered import neuron_index
from ..compiler import RateSource
from ..sim import FloatSimulator

__all__ = ["float_rates"]


def float_rates(steps: int, seed: int = 0) -> RateSource:
    """A rate source for :func:`nmcompiler.compiler.compile_network`: the spikes per second of every
    neuron in a float simulation of ``steps`` steps (the network's inputs, seeded with ``seed``)."""

    def rates(net: Network) -> np.ndarray:
        result = FloatSimulator(net, seed=seed).run(steps)
        index = neuron_index(net)
        out = np.zeros(index.n)
        for pop, ids in result.spike_ids.items():
            out[index.slice(pop)] += np.bincount(ids, minlength=net.node(pop).size) / result.duration
        return out

    return rates
