"""A neuron may spike at ``v >= threshold`` (Sinabs, Rockpool) as well as ``v > threshold``: the
float simulator honours it exactly, and the quantizer maps it onto either datapath comparison
(over integers ``v >= T`` is ``v > T - 1``), so a membrane exactly at threshold spikes alike."""

from __future__ import annotations

import numpy as np
import pytest

from nmcompiler.ir import IF, Connectivity, Network, Population, Projection, SpikeSource
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.float_sim import simulate
from nmcompiler.targets import load_target


def _net(compare: str, reset: str = "subtract") -> Network:
    """Inputs of 0.5 arrive at steps 2, 3, 6, 7, 8, 9: v reaches the threshold 1.0 exactly at step 3."""
    net = Network("at_threshold", dt=1e-3)
    net.add(Population(name="p", size=1, model=IF(v_threshold=1.0, reset=reset, compare=compare)))
    net.add(SpikeSource(name="in", size=1, ids=[0] * 6, times=np.array([1, 2, 5, 6, 7, 8]) * 1e-3))
    net.connect(Projection(name="w", pre="in", post="p", connectivity=Connectivity.from_coo(1, 1, [0], [0], 0.5)))
    return net


@pytest.mark.parametrize("reset", ["subtract", "value"])
def test_spikes_at_threshold_only_with_greater_or_equal(reset):
    assert simulate(_net(">=", reset), steps=12).spike_train("p", 0).tolist() == [3, 7, 9]
    assert simulate(_net(">", reset), steps=12).spike_train("p", 0).tolist() == ([6, 8] if reset == "subtract"
                                                                                 else [6, 9])


@pytest.mark.parametrize("target", ["loihi-like", "fpga-lif", "spinnaker-like"])
@pytest.mark.parametrize("compare", [">", ">="])
@pytest.mark.parametrize("reset", ["subtract", "value"])
def test_every_datapath_comparison_reproduces_the_models(target, compare, reset):
    net = _net(compare, reset)
    fmt = load_target(target).format
    for datapath in (">", ">="):  # the target's own and the other one
        fx = Quantize(fmt=fmt.__class__(**{**vars(fmt), "compare": datapath})).run(net)
        got = BitAccurateSimulator(fx).run(12).spike_train("p", 0).tolist()
        assert got == simulate(net, steps=12).spike_train("p", 0).tolist(), (target, compare, datapath)
