"""Poisson sources whose channels sum several inputs (``PoissonSource.inputs``, Brian2's
``PoissonInput``): per step a ``Binomial(inputs, rate dt)`` spike count per channel, each spike
delivered. Checked against the binomial distribution itself (``math.comb``), against the same
drive written as one channel per input, and the compiled simulators against their numpy paths."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from nmcompiler.datapath import load_format
from nmcompiler.frontends.drives import add_poisson_drive
from nmcompiler.ir import LIF, Connectivity, Network, Population, PoissonSource, Projection
from nmcompiler.passes import Quantize
from nmcompiler.sim import FloatSimulator
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.inputs import SourceSpikes, _alias_table, _binomial_cdf


def _counts(net: Network, steps: int, seed: int = 3, block: int | None = None) -> np.ndarray:
    """Spikes per (step, channel) of the network's sources (laid out one after the other)."""
    offsets, at = {}, 0
    for src in net.sources:
        offsets[src.name], at = at, at + src.size
    ptr, ids = SourceSpikes(net, SimpleNamespace(offsets=offsets), seed, block=block).span(0, steps)
    out = np.zeros((steps, at), np.int64)
    np.add.at(out, (np.repeat(np.arange(steps), np.diff(ptr)), ids), 1)
    return out


def _binomial(n: int, p: float, c: np.ndarray) -> np.ndarray:
    return np.array([math.comb(n, int(k)) * p ** int(k) * (1 - p) ** (n - int(k)) for k in c])


@pytest.mark.parametrize("n, p", [(1000, 0.002), (30, 0.1), (200, 0.3)])
def test_alias_table_holds_the_binomial_distribution(n, p):
    pmf = np.diff(_binomial_cdf(n, p), prepend=0.0)
    shift, threshold, alias = _alias_table(pmf)
    k = 1 << (64 - shift)
    own = threshold.astype(np.float64) / 2.0 ** 53
    got = np.zeros(k)
    np.add.at(got, np.arange(k), own / k)
    np.add.at(got, alias, (1 - own) / k)
    c = np.arange(pmf.size)
    resolution = k * 2.0 ** -53  # a column's threshold is a multiple of 2^-53
    assert np.allclose(got[:pmf.size], _binomial(n, p, c), rtol=1e-9, atol=resolution)
    assert got[pmf.size:].sum() < resolution


def test_counts_follow_the_binomial_distribution():
    net = Network("drive", dt=1e-4, seed=0)
    net.add(PoissonSource(name="a", size=200, rate=20.0, inputs=1000))  # Brunel's drive: mean 2 a step
    counts = _counts(net, 2000)
    observed = np.bincount(counts.ravel(), minlength=12)[:12] / counts.size
    expected = _binomial(1000, 0.002, np.arange(12))
    sigma = np.sqrt(expected * (1 - expected) / counts.size)
    assert np.all(np.abs(observed - expected) < 5 * sigma + 1e-6), (observed, expected)
    assert counts.max() >= 7  # the tail is drawn too
    assert abs(counts.mean() - 2.0) < 0.01 and abs(counts.var() - 1000 * 0.002 * 0.998) < 0.03


def test_counts_do_not_depend_on_the_block_and_keep_the_window():
    net = Network("drive", dt=1e-4, seed=0)
    net.add(PoissonSource(name="a", size=50, rate=20.0, inputs=1000))
    net.add(PoissonSource(name="b", size=30, rate=np.linspace(10.0, 30.0, 30), inputs=500, start=1e-3, stop=0.2))
    ref = _counts(net, 3000)
    assert np.array_equal(_counts(net, 3000, block=7), ref)
    assert ref[:10, 50:].sum() == 0 and ref[2000:, 50:].sum() == 0  # b: steps 10 .. 1999 only
    mean_b = ref[10:2000, 50:].mean(axis=0)  # numpy's binomial draws (rates differ per channel)
    assert np.allclose(mean_b, 500 * 1e-4 * np.linspace(10.0, 30.0, 30), rtol=0.15)
    offsets = {"a": 0, "b": 50}
    assert SourceSpikes(net, SimpleNamespace(offsets=offsets), 0).max_repeat == 1000


def test_inputs_must_be_a_positive_integer():
    assert any("inputs" in m for m in PoissonSource(name="a", size=2, rate=1.0, inputs=0).problems())
    assert any("inputs" in m for m in PoissonSource(name="a", size=2, rate=1.0, inputs=2.5).problems())
    assert not PoissonSource(name="a", size=2, rate=1.0, inputs=3).problems()


def _net(summed: bool) -> Network:
    """A recurrent LIF population driven by 100 Poisson inputs per neuron: summed into one
    channel per neuron, or one channel per input."""
    net = Network("drive", dt=1e-4, seed=3)
    net.add(Population(name="e", size=300, model=LIF(tau_mem=20e-3, v_threshold=20e-3, v_reset=10e-3,
                                                     refractory=2e-3)))
    rng = np.random.default_rng(2)
    pi, qi = np.nonzero(rng.random((300, 300)) < 0.1)
    net.connect(Projection(name="e_e", pre="e", post="e", connectivity=Connectivity.from_coo(
        300, 300, pi, qi, np.where(pi < 240, 0.1e-3, -0.5e-3), 15)))
    add_poisson_drive(net, "ext", "e", 100, 150.0, 0.2e-3, channels=100, summed=summed)
    return net


def test_summed_drive_fires_the_network_as_one_channel_per_input():
    steps = 3000
    summed = FloatSimulator(_net(True)).run(steps)
    split = FloatSimulator(_net(False)).run(steps)
    assert summed.synaptic_events > 0.9 * 300 * 100 * 150.0 * steps * 1e-4  # the drive's spikes arrive
    r_sum, r_split = summed.rates()["e"], split.rates()["e"]
    assert r_split > 5.0 and abs(r_sum - r_split) < 0.1 * r_split, (r_sum, r_split)


def test_compiled_simulators_deliver_repeated_spikes_as_their_numpy_paths():
    net = _net(True)
    ref = FloatSimulator(net, backend="numpy").run(400)
    got = FloatSimulator(net).run(400)
    assert sum(ref.spike_counts().values()) > 50 and got.synaptic_events == ref.synaptic_events
    assert np.array_equal(got.spike_steps["e"], ref.spike_steps["e"])
    assert np.array_equal(got.spike_ids["e"], ref.spike_ids["e"])
    fx = Quantize(fmt=load_format("fpga-lif")).run(net)
    ref = BitAccurateSimulator(fx, backend="numpy").run(400)
    assert sum(ref.spike_counts().values()) > 50
    for threads in (1, 2):
        got = BitAccurateSimulator(fx, backend="numba", threads=threads).run(400)
        assert got.synaptic_events == ref.synaptic_events
        assert np.array_equal(got.spike_steps["e"], ref.spike_steps["e"]), threads
        assert np.array_equal(got.spike_ids["e"], ref.spike_ids["e"]), threads


def test_inputs_survive_yaml_ir_files_and_image_sources(tmp_path):
    from nmcompiler.frontends.yaml_network import load_yaml_network
    from nmcompiler.frontends.yaml_writer import save_yaml_network
    from nmcompiler.image.contents import _source_json, source_from_json
    from nmcompiler.ir import load_network_file, save_network

    net = _net(True)
    save_yaml_network(net, tmp_path / "net.yaml")
    assert "inputs: 100" in (tmp_path / "net.yaml").read_text()
    assert load_yaml_network(tmp_path / "net.yaml").node("ext").inputs == 100
    save_network(net, tmp_path / "net.npz")
    assert load_network_file(tmp_path / "net.npz").node("ext").inputs == 100
    assert source_from_json(_source_json(net.node("ext"))).inputs == 100
    assert "inputs" not in _source_json(PoissonSource(name="p", size=2, rate=1.0))  # images as they were


def test_yaml_names_a_bad_inputs_field():
    from nmcompiler.errors import ValidationError
    from nmcompiler.frontends.yaml_network import load_yaml_network

    text = ("version: 1\nname: t\ndt: 0.1 ms\npopulations:\n  p: {model: lif, size: 2, params: {tau_mem: 20 ms}}\n"
            "stimuli:\n  drive: {kind: poisson, size: 2, rate: 10 Hz, inputs: 0}\n")
    with pytest.raises(ValidationError) as err:
        load_yaml_network("net.yaml", text=text)
    assert "inputs" in str(err.value) and "drive" in str(err.value), str(err.value)
