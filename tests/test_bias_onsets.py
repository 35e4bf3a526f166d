"""Biases switched on late become constant biases with a compensating initial membrane: the same
spikes and, from the onset on, the same membrane; cases where that is not exact are kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.ir import LIF, Connectivity, CurrentSource, Network, Population, Probe, Projection, SpikeSource
from nmcompiler.passes import CompensateBiasOnsets
from nmcompiler.sim.float_sim import simulate
from nmcompiler.sim.stimulus import spike_source_from_array

GOLDEN = Path(__file__).parent / "golden" / "frameworks"


def _run(net: Network, x: np.ndarray, steps: int):
    net = net.copy()
    net.replace(spike_source_from_array("input", x, net.dt))
    for pop in net.populations:
        net.probe(Probe(target=pop.name, variable="v"))
    return simulate(net, steps=steps)


def test_compensated_onsets_keep_spikes_and_membranes():
    data = np.load(GOLDEN / "snntorch_ff_subtract.npz")
    net = load_nir(GOLDEN / "snntorch_ff_subtract.nir", NirOptions.from_preset("snntorch"))
    done = CompensateBiasOnsets().run(net)
    assert done.onsets == {"1": 1}  # layer 3's negative biases would start it above threshold: kept
    assert done.kept == {"3": "its compensated membrane would cross the threshold before the onset"}
    assert [p.name for p in done.network.projections if isinstance(net.node(p.pre), CurrentSource)] == ["3.bias_to_3"]
    for sample in range(4):
        a, b = _run(net, data["input"][sample], 42), _run(done.network, data["input"][sample], 42)
        for pop, onset in done.onsets.items():
            assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and a.spike_steps[pop].size > 5
            va, vb = a.traces[f"{pop}.v"].values, b.traces[f"{pop}.v"].values
            np.testing.assert_allclose(vb[onset - 1:], va[onset - 1:], rtol=0, atol=1e-12)


def _onset_net(delay: int, bias: float) -> Network:
    net = Network("onset", dt=1e-3)
    net.add(Population(name="p", size=2, model=LIF(tau_mem=0.01, v_threshold=1.0)))
    net.add(SpikeSource(name="in", size=2, ids=[0, 1], times=[0.0, 0.002]))
    net.add(CurrentSource(name="b", size=2, amplitude=np.full(2, bias), start=0.003))
    idx = np.arange(2)
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(2, 2, idx, idx, 0.5,
                                                                                              delay)))
    net.connect(Projection(name="b_p", pre="b", post="p", connectivity=Connectivity.from_coo(2, 2, idx, idx, 1.0)))
    return net


def test_inexact_cases_keep_the_switched_source_and_say_why():
    assert CompensateBiasOnsets().run(_onset_net(3, 5.0)).onsets == {"p": 3}
    early = CompensateBiasOnsets().run(_onset_net(1, 5.0))
    assert early.onsets == {} and early.kept == {"p": "'in' can reach it at step 1, before its bias onset at step 3"}
    negative = CompensateBiasOnsets().run(_onset_net(3, -500.0))  # v0' would start above threshold
    assert negative.kept == {"p": "its compensated membrane would cross the threshold before the onset"}


def test_compile_says_what_it_compensated():
    from nmcompiler.compiler import compile_network
    from nmcompiler.targets import load_target

    _, _, report = compile_network(_onset_net(3, 5.0), load_target("loihi-like"))
    assert "population 'p': its bias, switched on at step 3, is constant from step 0" in " ".join(report.notes)
    _, _, report = compile_network(_onset_net(1, 5.0), load_target("loihi-like"))
    notes = " ".join(report.notes)
    assert "bias onset not compensated ('in' can reach it at step 1" in notes
    assert "current source 'b' is switched on at step 3; the datapath holds it on at every step" in notes
