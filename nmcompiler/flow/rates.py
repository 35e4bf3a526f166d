"""Firing rates for the compile flow, measured by the float simulator: on the network's own inputs
(:func:`float_rates`) or on samples of data (:func:`data_rates`)."""

from __future__ import annotations

import numpy as np

from ..ir import Network
from ..lowered import neuron_index
from ..compiler import RateSource
from ..sim import FloatSimulator
from ..sim.data import SampleData
from .samples import run_samples

__all__ = ["data_rates", "float_rates"]


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


def data_rates(data: SampleData, steps: int, source: str | None = None, seed: int = 0) -> RateSource:
    """A rate source: the mean spikes per second of every neuron over the samples of ``data``, each
    fed to ``source`` (default: the one spike source that fits) for ``steps`` steps."""

    def rates(net: Network) -> np.ndarray:
        name = data.pick_source(net.sources, source)
        counts = run_samples(net, data, source=name, output=net.populations[-1].name, steps=steps, seed=seed)
        index = neuron_index(net)
        out = np.zeros(index.n)
        for pop, c in counts.populations.items():
            out[index.slice(pop)] = c.mean(axis=0) / (steps * net.dt)
        return out

    return rates
