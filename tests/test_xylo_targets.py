"""The xylo-like target: its design rules (each names the population, the amount, the limit and
the fix), its compile flow and image, run against XyloSim's goldens, and the differential test of
the compile core: on random port-structured networks, the image's simulation equals the fixed-point
network's, spike for spike and membrane for membrane."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nmcompiler.compiler import compile_network
from nmcompiler.drc import check
from nmcompiler.drc.ports import port_roles
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.ir import LIF, Connectivity, CubaLIF, Network, Population, Probe, Projection, SpikeSource
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from xylo_goldens import NAMES, hidden_order, load, network

XYLO = load_target("xylo-like")
DT = 1e-3


def _cuba(receptors=1, **kw):
    base = dict(tau_mem=0.02, tau_syn=[0.01] * receptors, receptor_names=tuple(f"r{k}" for k in range(receptors)),
                r=20.0, v_threshold=1.0, reset="subtract", integration="exp_euler", compare=">=")
    return CubaLIF(**base | kw)


def _dense(net, pre, post, p=1.0, rng=None, receptor="r0", delay=1, name=None):
    a, b = net.node(pre).size, net.node(post).size
    rng = rng or np.random.default_rng(0)
    pi, qi = np.nonzero(rng.random((a, b)) < p)
    net.connect(Projection(name=name or f"{pre}_{post}", pre=pre, post=post, receptor=receptor,
                           connectivity=Connectivity.from_coo(a, b, pi, qi, rng.uniform(0.1, 0.5, pi.size),
                                                              np.full(pi.size, delay))))


def _layers(inputs=4, hidden=(10,), outputs=2, receptors=1, **kw):
    net = Network("ports", dt=DT)
    net.add(SpikeSource(name="in", size=inputs, ids=[0], times=[0.0]))
    pre = "in"
    for k, n in enumerate(hidden):
        net.add(Population(name=f"h{k}", size=n, model=_cuba(receptors, **kw)))
        _dense(net, pre, f"h{k}")
        pre = f"h{k}"
    net.add(Population(name="out", size=outputs, model=_cuba()))
    _dense(net, pre, "out")
    return net


def _messages(net):
    return [str(v) for v in check(net, XYLO)]


def test_roles_follow_rockpools_mapper():
    roles = port_roles(_layers(hidden=(10, 5)))
    assert (roles.inputs, roles.hidden, roles.outputs) == (("in",), ("h0", "h1"), ("out",))
    assert check(_layers(hidden=(10, 5)), XYLO) == []


def test_port_sizes_are_refused_with_amount_and_limit():
    assert _messages(_layers(inputs=17)) == [
        "the network has 17 input channels ('in' (17)), xylo-like has 16: encode the input in fewer channels"]
    assert _messages(_layers(hidden=(1001,))) == [
        "the network has 1001 hidden neurons ('h0' (1001)), xylo-like has 1000: make the hidden layers smaller"]
    assert _messages(_layers(outputs=9)) == [
        "the network has 9 readout neurons ('out' (9)), xylo-like has 8: read fewer classes out"]
    assert _messages(_layers(hidden=(1000,), outputs=8)) == []  # exactly full


def test_structure_receptors_neuron_and_delay_rules():
    net = _layers()
    _dense(net, "in", "out", name="skip")
    _dense(net, "out", "out", name="loop")
    assert _messages(net) == [
        "projection 'skip' connects input 'in' to readout population 'out': inputs reach only hidden neurons; put a "
        "hidden layer between them",
        "projection 'loop' is recurrent on readout population 'out': readout neurons send off chip only; add a hidden "
        "layer"]
    assert _messages(_layers(receptors=3)) == ["population 'h0' has 3 synaptic currents, xylo-like's hidden neurons 2: "
                                               "merge receptors"]
    assert [m for m in _messages(_layers(reset="value")) if "h0" in m] == [
        "population 'h0' resets to a value (the core subtracts the threshold: reset: subtract)"]
    assert _messages(_layers(refractory=2e-3))[0] == ("population 'h0' has a refractory period (the core holds no "
                                                      "neuron: set refractory 0)")
    assert _messages(_layers(v_reset=0.2))[0].startswith("population 'h0' resets by subtraction to a v_reset other")
    net = Network("one", dt=DT)
    net.add(SpikeSource(name="in", size=2, ids=[0], times=[0.0]))
    net.add(Population(name="p", size=3, model=LIF(tau_mem=0.02, v_threshold=1.0, reset="subtract")))
    _dense(net, "in", "p", receptor=None, delay=3)
    assert _messages(net) == [
        "population 'p' uses model 'lif', which xylo-like does not support (it has cuba_lif)",
        "population 'p' is the only one: a port-structured core reads out through readout neurons that hidden "
        "neurons feed; add a readout layer",
        "projection 'in_p' has delays up to 3 ticks; a port core delivers every spike in the next tick: use delay 1"]


def test_fan_out_64_fits_and_65_is_refused():
    for fan_out, expected in ((64, []), (65, ["neuron 0 of population 'h0' projects onto 65 hidden neurons, xylo-like's "
                                              "hidden neurons reach at most 64: thin its connections or split the layer "
                                              "it feeds"])):
        assert _messages(_layers(hidden=(3, fan_out))) == expected


@pytest.mark.parametrize("name", NAMES)
def test_compiled_image_runs_as_xylosim(name):
    """The whole flow: compile, write the image, read it back, simulate the image itself."""
    meta, golden = load(name)
    net = network(meta, golden, membranes=True)
    mapping, fx, report = compile_network(net, XYLO)
    assert report.fits and report.cores_used == 2 and not report.misfits
    hidden, out = hidden_order(meta), f"l{len(meta['layers']) - 1}"
    assert np.all(mapping.core_of[:meta["hidden"]] == 0) and np.all(mapping.core_of[meta["hidden"]:] == 1)
    assert any("becomes bit shift" in n for n in report.notes)
    image = decode(encode(build_contents(mapping, fx)))
    assert image.meta["spikes_per_step"] == [31, 1] and image.meta["format"]["order"] == "input_first"
    steps = meta["steps"]
    res = BitAccurateSimulator(to_program(image)).run(steps + 1)
    counts = []
    for pop in hidden + [out]:
        c = np.zeros((steps + 1, fx.populations[pop].size), np.int64)
        np.add.at(c, (res.spike_steps[pop], res.spike_ids[pop]), 1)
        counts.append(c[1:])
    assert np.array_equal(np.concatenate(counts[:-1], axis=1), golden["hidden_spikes"])
    assert np.array_equal(counts[-1], golden["out_spikes"]) and counts[-1].sum() > 100
    v = np.concatenate([res.traces[f"{h}.v"].values[1:] for h in hidden], axis=1)
    assert np.array_equal(v, golden["hidden_v"])


# -- differential: image == network on random port-structured networks -----------------------------
@st.composite
def port_networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    net = Network("random_ports", dt=DT)
    n_in = draw(st.integers(1, 16))
    times = np.sort(rng.integers(0, 30, 60))
    net.add(SpikeSource(name="in", size=n_in, ids=rng.integers(0, n_in, times.size), times=times * DT))
    pre = "in"
    for k in range(draw(st.integers(1, 3))):
        receptors = draw(st.integers(1, 2))
        model = _cuba(receptors, tau_mem=float(rng.uniform(2e-3, 0.1)), tau_syn=list(rng.uniform(2e-3, 0.05, receptors)),
                      r=float(rng.uniform(1, 40)), v_threshold=float(rng.uniform(0.2, 2.0)),
                      max_spikes=draw(st.sampled_from([1, 4, 2 ** 16])), bias=float(rng.uniform(-0.1, 0.2)))
        name = f"h{k}"
        net.add(Population(name=name, size=draw(st.integers(1, 30)), model=model))
        net.probe(Probe(target=name))
        net.probe(Probe(target=name, variable="v"))
        for r in model.receptors:
            _dense(net, pre, name, p=0.5, rng=rng, receptor=r, name=f"{pre}_{name}_{r}")
        if draw(st.booleans()):
            _dense(net, name, name, p=0.2, rng=rng, receptor=model.receptors[0], name=f"{name}_rec")
        pre = name
    net.add(Population(name="out", size=draw(st.integers(1, 8)), model=_cuba(r=float(rng.uniform(1, 40)))))
    net.probe(Probe(target="out"))
    net.probe(Probe(target="out", variable="v"))
    _dense(net, pre, "out", p=0.7, rng=rng)
    return net


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=port_networks())
def test_image_equals_network_on_random_port_networks(net):
    mapping, fx, report = compile_network(net, XYLO)
    assert report.fits, report.misfits
    prog = to_program(decode(encode(build_contents(mapping, fx))))
    a = BitAccurateSimulator(fx).run(40)
    b = BitAccurateSimulator(prog).run(40)
    for pop in fx.populations:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and np.array_equal(a.spike_ids[pop],
                                                                                          b.spike_ids[pop]), pop
        assert np.array_equal(a.traces[f"{pop}.v"].values, b.traces[f"{pop}.v"].values), pop
    spikes = sum(s.size for s in a.spike_steps.values())
    event(f"spikes: {'none' if not spikes else 'some' if spikes < 100 else 'many'}")
    event(f"readout spikes: {a.spike_steps['out'].size > 0}")


def test_rtl_is_refused_and_verify_runs_without_it(run_nmc, tmp_path):
    """The RTL core has neither Xylo's order nor its bit-shift decay: nmc rtl says so (exit 2, nothing
    written) and nmc verify's default ladder leaves rtl out."""
    meta, golden = load("xylo_ff")
    mapping, fx, _ = compile_network(network(meta, golden), XYLO)
    image = tmp_path / "ff.nmc"
    image.write_bytes(encode(build_contents(mapping, fx)))
    code, _, err = run_nmc("rtl", image, "-o", tmp_path / "rtl")
    assert code == 2 and "decay 'bitshift' has no RTL implementation" in err and not (tmp_path / "rtl").exists()
    spikes = tmp_path / "in.npy"
    np.save(spikes, golden["input"][:60])
    code, out, err = run_nmc("verify", image, "--input", f"in={spikes}", "--steps", "60", "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert [lv["level"] for lv in doc["levels"]] == ["int"] and doc["levels"][0]["spikes"] > 100


def test_compare_quantizes_with_each_ports_spikes_per_tick(run_nmc, tmp_path):
    """A Rockpool export (LIFTorch's default: up to 2^16 spikes per step) against xylo-like: the hidden
    port emits up to 31 spikes per tick, the readout one, and the report says so."""
    nir = Path(__file__).parent / "golden" / "frameworks" / "rockpool_ff.nir"
    code, out, err = run_nmc("compare", nir, "--from", "rockpool", "--target", "xylo-like", "--steps", "100", "--json",
                             "-o", tmp_path / "c")
    assert code == 0, err
    doc = json.loads(out)
    assert {name: row["hw_spikes"] > 0 for name, row in doc["populations"].items()} == {
        "1_LIFTorch": True, "3_LIFTorch": True}
    notes = " ".join(doc["warnings"])
    assert "emits up to 65536 spike(s) per step, the target's neurons here emit up to 31" in notes
    assert "the target's neurons here emit up to 1:" in notes and "becomes bit shift" in notes
