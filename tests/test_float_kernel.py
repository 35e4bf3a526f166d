"""The float simulator's compiled kernel computes the same float64 bits as its numpy loop: spikes,
traces and event counts, on the examples (Poisson and explicit sources, current sources with
windows, delays, refractoriness, both resets, several receptors) and in pieces of any length."""

import numpy as np
import pytest
from conftest import EXAMPLES

from nmcompiler import load_network
from nmcompiler.ir import CurrentSource, Probe, Projection, Connectivity
from nmcompiler.sim import FloatSimulator
from test_bit_kernel import _drive_net, _mixed_net


def _same(a, b):
    assert a.synaptic_events == b.synaptic_events
    assert a.spike_counts() == b.spike_counts()
    for pop in a.spike_steps:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]), pop
        assert np.array_equal(a.spike_ids[pop], b.spike_ids[pop]), pop
    for label in a.traces:
        assert np.array_equal(a.traces[label].values, b.traces[label].values), label  # bit for bit


def _with_current_window(net):
    net.add(CurrentSource(name="dc", size=1, amplitude=0.3, start=0.05, stop=0.12))
    post = net.populations[0]
    net.connect(Projection(name="dc_in", pre="dc", post=post.name, receptor=post.model.receptors[0]
                           if post.model.receptors else None,
                           connectivity=Connectivity.from_coo(1, post.size, np.zeros(post.size, int),
                                                              np.arange(post.size), 1.0)))
    return net


def _multi_spike():
    """The Sinabs MultiSpike golden: neurons that emit several spikes in one step."""
    from pathlib import Path

    from nmcompiler.frontends.nir import NirOptions, load_nir
    from nmcompiler.sim.stimulus import spike_source_from_array

    golden = Path(__file__).parent / "golden" / "frameworks"
    net = load_nir(golden / "sinabs_ff_iaf_multi.nir", NirOptions.from_preset("sinabs"))
    x = np.load(golden / "sinabs_ff_iaf_multi.npz")["input"]
    net.replace(spike_source_from_array("input", x.reshape(-1, x.shape[-1]), net.dt))
    return net


CASES = {
    "multi-spike": _multi_spike,
    "cuba": lambda: load_network(EXAMPLES / "cuba.yaml"),
    "synfire": lambda: load_network(EXAMPLES / "synfire.yaml"),
    "mlp": lambda: load_network(EXAMPLES / "mlp.yaml"),
    "mixed-cuba": lambda: _with_current_window(_mixed_net(current=True)),
    "mixed-lif": lambda: _with_current_window(_mixed_net(current=False)),
    "poisson-channels": _drive_net,  # one-synapse rows: the compact table's head words
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_float_kernel_equals_numpy_loop(name):
    net = CASES[name]()
    if name == "cuba":
        net.probes = [Probe(target="exc"), Probe(target="inh"), Probe(target="exc", variable="v", neurons=[0, 7]),
                      Probe(target="inh", variable="i", neurons=[1, 2])]
    steps = 2000 if name == "cuba" else 400
    ref = FloatSimulator(net, backend="numpy").run(steps)
    assert sum(ref.spike_counts().values()) > 10
    if name == "multi-spike":  # a neuron spiking more than once in one step
        assert max(np.unique(np.stack([ref.spike_steps["1"], ref.spike_ids["1"]]), axis=1, return_counts=True)[1]) > 1
    for piece in (1000, 37):  # pieces cut across delays, current-source windows and source blocks
        _same(FloatSimulator(net, backend="numba", piece_steps=piece).run(steps), ref)
