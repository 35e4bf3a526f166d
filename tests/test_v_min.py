"""The lower bound of the membrane (``v_min``: Loihi's vmin, Nengo's LIF ``min_voltage``) through
every level: the IR and its files, the float simulator against the closed form, the quantizer and
the bit-accurate simulator, the image (its v_min sections), and refusals where a target has none.
The RTL runs it in tests/test_rtl.py (every other random network is bounded); Nengo's own
simulator is the outside reference in tests/test_nengo_frontend.py."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import nmcompiler
from nmcompiler import load_network
from nmcompiler.errors import ValidationError
from nmcompiler.image import build_contents, to_program
from nmcompiler.image.codec import ImageError, decode, encode, read_header
from nmcompiler.ir import LIF, Connectivity, Network, Population, Probe, Projection, SpikeSource, load_network_file
from nmcompiler.ir import save_network
from nmcompiler.sim.float_sim import FloatSimulator

NET = """
version: 1
name: floor
dt: 1 ms
duration: 1000 ms
populations:
  pos:
    model: lif
    size: 4
    params: {tau_mem: 20 ms, v_threshold: 1.0, v_min: -0.25, bias: 3.0}
stimuli:
  noise: {kind: poisson, size: 16, rate: 20 Hz}
projections:
  kick: {pre: noise, post: pos, connector: all_to_all, weight: -0.6}
probes:
  - {target: pos}
  - {target: pos, variable: v}
"""


def _one(bound: float, bias: float = -3.0) -> Network:
    net = Network("one", dt=1e-3)
    net.add(Population(name="n", size=1, model=LIF(tau_mem=0.02, bias=bias, v_min=bound, v_threshold=1.0)))
    net.probe(Probe(target="n", variable="v"))
    return net


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_float_membrane_stops_at_its_bound(backend):
    """Under a constant negative drive v follows the exact exponential down to v_min and stays."""
    v = FloatSimulator(_one(-0.5), backend=backend).run(200).traces["n.v"].values[:, 0]
    k = np.arange(1, 201)
    free = -3.0 * (1 - np.exp(-k * 1e-3 / 0.02))
    assert np.allclose(v, np.maximum(free, -0.5), rtol=1e-12, atol=0)
    first = int(np.argmax(free < -0.5))
    assert 0 < first < 200 and np.all(v[first:] == -0.5)  # it reached the bound and stayed there
    unbounded = FloatSimulator(_one(-np.inf), backend=backend).run(200).traces["n.v"].values[:, 0]
    assert np.allclose(unbounded, free, rtol=1e-12) and unbounded[-1] < -2.9


def test_bound_in_the_network_file_the_ir_file_and_the_writer(write_yaml, tmp_path):
    net = load_network(write_yaml(NET))
    pop = net.node("pos")
    assert pop.model.bounded and float(pop.model.v_min) == -0.25
    save_network(net, tmp_path / "net.npz")
    again = load_network_file(tmp_path / "net.npz")
    assert float(again.node("pos").model.v_min) == -0.25
    assert not load_network(write_yaml(NET.replace("v_min: -0.25, ", ""), "free.yaml")).node("pos").model.bounded


@pytest.mark.parametrize("value,words", [
    ("1.5", r"parameter 'v_min' must lie below v_threshold"),
    (".nan", r"net\.yaml:9: population 'pos': v_min: value nan is not finite"),
])
def test_bad_bounds_are_exit_2(write_yaml, run_nmc, value, words):
    path = write_yaml(NET.replace("v_min: -0.25", f"v_min: {value}"))
    code, out, err = run_nmc("validate", path)
    assert code == 2 and "Traceback" not in err
    assert re.search(words, out + err), out + err


def test_model_problems_name_the_bound():
    assert LIF(tau_mem=0.02, v_min=np.nan).problems(1) == [
        "parameter 'v_min' contains NaN or +inf (a lower bound of v: a voltage, or -inf for none)"]
    assert LIF(tau_mem=0.02, v_min=np.inf).problems(1)[0].startswith("parameter 'v_min' contains NaN or +inf")
    assert LIF(tau_mem=0.02, v_min=-np.inf).problems(1) == [] and not LIF(tau_mem=0.02).bounded


def test_quantized_bound_and_the_bit_accurate_run_follow_the_float_one(write_yaml):
    """The bound is rint(v_min x S); the bit-accurate run and the float one see it bite (without
    it, the neurons fire less: the inhibitory kicks push them further down)."""
    net = load_network(write_yaml(NET))
    chip = nmcompiler.compile(net, "loihi-like")
    q = chip.fixed_point.populations["pos"]
    assert np.all(q.params.v_min == np.rint(-0.25 * q.scale))
    bit = chip.simulate(steps=1000)
    free = nmcompiler.compile(load_network(write_yaml(NET.replace("v_min: -0.25, ", ""), "free.yaml")), "loihi-like")
    floats = FloatSimulator(net).run(1000)
    assert bit.spike_counts()["pos"] > 2 * free.simulate(steps=1000).spike_counts()["pos"] > 0
    assert abs(bit.spike_counts()["pos"] - floats.spike_counts()["pos"]) <= 0.05 * floats.spike_counts()["pos"]
    assert bit.traces["pos.v"].values.min() == q.params.v_min.min()  # reached, never passed


def test_image_holds_the_bounds_in_version_6(write_yaml):
    net = load_network(write_yaml(NET))
    chip = nmcompiler.compile(net, "fpga-lif")
    contents = build_contents(chip.mapping, chip.fixed_point)
    data = encode(contents)
    header, entries = read_header(data)
    assert header["format_version"] == 6 and sum(e.kind == "v_min" for e in entries) == len(contents.cores)
    prog = to_program(decode(data))
    assert np.array_equal(prog.params.v_min, chip.fixed_point.populations["pos"].params.v_min)
    free = nmcompiler.compile(load_network(write_yaml(NET.replace("v_min: -0.25, ", ""), "free.yaml")), "fpga-lif")
    free_data = encode(build_contents(free.mapping, free.fixed_point))
    assert read_header(free_data)[0]["format_version"] == 1  # no bound: the image is as before
    assert to_program(decode(free_data)).params.v_min is None


def test_a_v_min_section_of_the_wrong_length_is_named(write_yaml):
    import dataclasses

    chip = nmcompiler.compile(load_network(write_yaml(NET)), "fpga-lif")
    contents = build_contents(chip.mapping, chip.fixed_point)
    core = contents.cores[0]
    bad = dataclasses.replace(contents, cores=(dataclasses.replace(core, v_min=core.v_min[:-1]),) + contents.cores[1:])
    with pytest.raises(ImageError, match=r"the v_min section of core 0 holds 3 bounds for its 4 neurons"):
        decode(encode(bad))


def test_targets_without_a_bound_refuse_by_population(write_yaml, run_nmc, tmp_path):
    path = write_yaml(NET)
    out = tmp_path / "out"
    code, stdout, err = run_nmc("compile", path, "--target", "xylo-like", "-o", out)
    assert code == 2 and "Traceback" not in err
    assert "population 'pos' bounds its membrane from below (v_min" in stdout + err
    assert not out.exists() or not any(out.iterdir())
    from nmcompiler.datapath import load_format
    from nmcompiler.passes import Quantize

    with pytest.raises(ValidationError, match=r"population 'pos'.*format xylo-like has no lower bound"):
        Quantize(fmt=load_format("xylo-like")).run(load_network(path))


def test_a_held_neuron_keeps_its_value_below_the_bound():
    """A value reset below v_min holds through the refractory period; integration then lifts it."""
    net = Network("held", dt=1e-3)
    net.add(SpikeSource(name="in", size=1, ids=np.array([0]), times=np.array([0.0])))
    net.add(Population(name="n", size=1, model=LIF(tau_mem=0.02, v_threshold=1.0, v_reset=-0.5, v_min=-0.1,
                                                   refractory=3e-3)))
    net.connect(Projection(name="kick", pre="in", post="n", connectivity=Connectivity.from_coo(1, 1, [0], [0], 2.0, 1)))
    net.probe(Probe(target="n", variable="v"))
    v = FloatSimulator(net).run(8).traces["n.v"].values[:, 0]
    assert v[1] == -0.5 and np.all(v[1:5] == -0.5) and v[5] == -0.1  # spike at step 1, held 3 steps, then bound
    assert math.isclose(v[6], -0.1 * math.exp(-1e-3 / 0.02), rel_tol=1e-12)
