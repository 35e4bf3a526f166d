"""Consistent axon types on crossbar cores: one type per input axon across the core's neurons."""

from __future__ import annotations

import numpy as np

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.ir import IF, Connectivity, Network, Population, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.passes.axon_types import AssignAxonTypes
from nmcompiler.targets.encoding import axon_keys
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.lowered import program_from_fixed_point
from nmcompiler.targets import load_target


def _dense(seed: int, n_in: int = 40, n_out: int = 30) -> Network:
    rng = np.random.default_rng(seed)
    net = Network("dense", dt=1e-3, seed=seed)
    t = np.sort(rng.integers(0, 50, 200))
    net.add(SpikeSource(name="in", size=n_in, ids=rng.integers(0, n_in, t.size), times=t * 1e-3))
    net.add(Population(name="p", size=n_out, model=IF(v_threshold=1.0)))
    pi, qi = np.nonzero(rng.random((n_in, n_out)) < 0.6)
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(
        n_in, n_out, pi, qi, rng.normal(0.2, 0.3, pi.size), 1 + pi % 3)))
    return net


def _consistent(fx, mapping) -> bool:
    """Every (core, neuron, type) sees one weight."""
    prog = program_from_fixed_point(fx)
    t = prog.synapses
    pre = np.repeat(np.arange(t.indptr.size - 1), np.diff(t.indptr))
    post = t.target % prog.n
    delay = np.broadcast_to(t.delay, pre.shape)
    seen = {}
    for p, j, d, w in zip(pre, post, delay, t.weight):
        c = int(mapping.core_of[j])
        keys, types = mapping.axon_types[c]
        ty = int(types[np.searchsorted(keys, axon_keys(p, d, fx.format.delay_max))])
        if seen.setdefault((c, int(j), ty), int(w)) != int(w):
            return False
    return True


def test_dense_weights_get_consistent_types_and_an_image():
    """One axon per source (``crossbar_weights="cluster"``): the types cost weight error."""
    target = load_target("truenorth-like")
    mapping, fx, report = compile_network(_dense(1), target, partitioner="index-order", crossbar_weights="cluster")
    assert report.fits and mapping.axon_types
    assert _consistent(fx, mapping)
    assert any("axon types made consistent" in n and "RMS error" in n for n in report.notes)
    contents = build_contents(mapping, fx)  # failed before: no 4 axon types could hold the weights
    data = encode(contents)
    expected = BitAccurateSimulator(fx, backend="numpy").run(60)
    got = BitAccurateSimulator(to_program(decode(data)), backend="numpy").run(60)
    assert expected.spike_counts() == got.spike_counts() and all(
        np.array_equal(expected.spike_steps[p], got.spike_steps[p]) for p in expected.spike_steps)
    again = compile_network(_dense(1), target, partitioner="index-order", crossbar_weights="cluster")
    assert encode(build_contents(again[0], again[1])) == data  # deterministic


def test_weights_that_admit_types_are_kept_exactly():
    """Weights that depend only on the source take one type per source level: nothing changes."""
    rng = np.random.default_rng(2)
    net = Network("levels", dt=1e-3, seed=2)
    net.add(SpikeSource(name="in", size=12, ids=np.arange(12), times=np.arange(12) * 1e-3))
    net.add(Population(name="p", size=20, model=IF(v_threshold=1.0)))
    pi, qi = np.nonzero(rng.random((12, 20)) < 0.5)
    levels = np.array([0.5, -0.3, 0.2, 0.9])
    net.connect(Projection(name="in_p", pre="in", post="p",
                           connectivity=Connectivity.from_coo(12, 20, pi, qi, levels[pi % 4], 1)))
    target = load_target("truenorth-like")
    mapping, fx, report = compile_network(net, target, partitioner="index-order")
    assert not any("axon types made consistent" in n for n in report.notes)
    assert _consistent(fx, mapping)


def test_the_pass_reports_its_error_per_core():
    target = load_target("truenorth-like")
    mapping, fx, _ = compile_network(_dense(3), target, partitioner="index-order", crossbar_weights="cluster")
    from nmcompiler.passes import Quantize

    raw = Quantize(fmt=target.format).run(_dense(3))
    typed = AssignAxonTypes(types=4).run(raw, mapping.core_of)
    (rep,) = typed.changes.values()
    assert rep.changed > 0 and 0 < rep.rms_error <= rep.max_error
    before = raw.projections["in_p"].weights
    after = typed.fixed_point.projections["in_p"].weights
    assert np.sqrt(np.mean((after - before) ** 2.0)) == rep.rms_error


def test_examples_on_truenorth_like_now_make_images():
    target = load_target("truenorth-like")
    for name in ("mlp.yaml", "digits/digits.yaml"):
        mapping, fx, report = compile_network(load_network(EXAMPLES / name), target)
        assert report.fits
        assert len(encode(build_contents(mapping, fx))) > 0


def _wide(delay: int) -> Network:
    """Sources -> 4 LIF-free IF neurons -> 300 neurons (two truenorth-like cores) with one delay."""
    rng = np.random.default_rng(5)
    net = Network("wide", dt=1e-3, seed=5)
    t = np.sort(rng.integers(0, 40, 60))
    net.add(SpikeSource(name="in", size=4, ids=rng.integers(0, 4, t.size), times=t * 1e-3))
    net.add(Population(name="p", size=4, model=IF(v_threshold=0.5)))
    net.add(Population(name="q", size=300, model=IF(v_threshold=1.5)))
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(
        4, 4, np.arange(4), np.arange(4), 1.0, 1)))
    pi, qi = np.nonzero(np.ones((4, 300)))
    net.connect(Projection(name="p_q", pre="p", post="q", connectivity=Connectivity.from_coo(
        4, 300, pi, qi, np.full(pi.size, 0.8), delay)))
    return net


def _float_spikes(net: Network, pops, steps=60):
    from nmcompiler.ir import Probe
    from nmcompiler.sim import FloatSimulator

    net = net.copy()
    net.probes = [Probe(target=p) for p in pops]
    r = FloatSimulator(net).run(steps)
    return {p: (r.spike_steps[p].tolist(), r.spike_ids[p].tolist()) for p in pops}


def test_splitter_neurons_give_every_neuron_one_axon_and_keep_timing():
    target = load_target("truenorth-like")
    from nmcompiler.mapping.usage import axons_per_neuron

    net = _wide(delay=3)
    mapping, fx, report = compile_network(net, target, partitioner="index-order")
    assert report.fits and axons_per_neuron(fx, mapping.core_of).max() == 1
    assert any(n.startswith("splitter neurons: 4 neurons") and "0 synapses of delay 1" in n for n in report.notes)
    assert "p.split" in {p.name for p in fx.network.populations}
    assert _float_spikes(fx.network, ["p", "q"]) == _float_spikes(net, ["p", "q"])  # meaning preserved
    contents = build_contents(mapping, fx)
    expected = BitAccurateSimulator(fx, backend="numpy").run(60)
    got = BitAccurateSimulator(to_program(decode(encode(contents))), backend="numpy").run(60)
    assert np.array_equal(expected.spike_steps["q"], got.spike_steps["q"]) and expected.spike_steps["q"].size > 0
    _, _, late = compile_network(_wide(delay=1), target, partitioner="index-order")
    assert any("1200 synapses of delay 1 arrive one tick late" in n for n in late.notes)


def test_synfire_fits_truenorth_like_within_one_core_of_the_bound():
    """Filling cores up to their 256 axons keeps each group's targets together: no splitters are
    needed (halving over-full cores afterwards used 21 cores, 8 of them for 1600 splitters)."""
    target = load_target("truenorth-like")
    mapping, fx, report = compile_network(load_network(EXAMPLES / "synfire.yaml"), target, partitioner="index-order")
    assert report.fits and report.cores_used <= report.cores_lower_bound + 1
    assert not any("splitter" in n for n in report.notes)
    assert len(encode(build_contents(mapping, fx))) > 0
