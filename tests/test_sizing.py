"""Sizing the FPGA core to a network (``nmc compile --size``): the chosen core is the cheapest of
the choices that hold the network, its limits are tight, the sized target compiles within the
cores sizing counted, the image keeps the network's meaning, and bad requests are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import EXAMPLES, NIR_PAPER
from nmcompiler import load_network
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.frontends import NirOptions
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.ir import LIF, Connectivity, CubaLIF, Network, Population, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.mapping.partition import RcmOrder, cores_in_order, fits
from nmcompiler.compiler import compile_sized
from nmcompiler.mapping.sizing import SizeTarget, mesh_for, sized_document
from nmcompiler.mapping.usage import core_usage, synapse_arrays
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.lowered import neuron_index
from nmcompiler.targets import load_target
from nmcompiler.targets.target import target_from_document
from nmcompiler.rtl.chip import chip_memory_bits
from test_mapping import _arrays


def test_mesh_is_the_squarest_that_holds_the_cores():
    for k in range(1, 400):
        rows, cols = mesh_for(k)
        assert rows * cols >= k and 0 <= cols - rows <= 1 and rows * cols - k < cols, k


@pytest.fixture(scope="module")
def cuba():
    net = load_network(EXAMPLES / "cuba.yaml")
    return net, SizeTarget(cost=chip_memory_bits).run(net, load_target("fpga-lif"))


def _fill(net, target, order_name):
    layout = neuron_index(net)
    pre, post = synapse_arrays(net, dict(layout.offsets), layout.n)
    order = np.arange(layout.n) if order_name == "index-order" else RcmOrder.order(layout.n, pre, post)
    core_of = cores_in_order(order, layout.n, pre, post, target)
    return core_usage(core_of, int(core_of.max()) + 1, pre, post, target)


def _candidate_target(base, c, memory=None, mesh=None):
    doc = sized_document(yaml.safe_load(Path(base.source).read_text()), "t", c.neurons, c.input_axons,
                         memory or c.synapse_memory_bits, mesh or mesh_for(c.cores))
    return target_from_document(Path("t.yaml"), doc)


def test_sizing_chooses_the_cheapest_choice_that_holds_the_network(cuba, tmp_path):
    net, sizing = cuba
    base = load_target("fpga-lif")
    assert len(sizing.candidates) == len(base.sizing.neurons) * len(base.sizing.input_axons)
    fitting = [c for c in sizing.candidates if c.rejected is None]
    sized = [c for c in fitting if not c.pruned]
    assert sizing.chosen == min(sized, key=lambda c: (c.memory_bits, c.cores))
    for c in sized:  # the cost is the generated chip's memories, recomputed from the sized target file
        assert c.memory_bits == chip_memory_bits(_candidate_target(base, c), c.cores) >= c.memory_bits_bound
    # a pruned choice, sized alone, costs at least its bound, which is over the chosen cost
    assert len(sized) < len(fitting)
    for c in fitting:
        alone = SizeTarget(cost=chip_memory_bits).run(net, _sizing_target(
            tmp_path, name=f"fpga-{c.neurons}-{c.input_axons}", neurons=[c.neurons], input_axons=[c.input_axons],
            memory_granule_bits=base.sizing.memory_granule_bits, max_cores=base.sizing.max_cores)).chosen
        assert alone.cores == c.cores and alone.memory_bits >= c.memory_bits_bound == alone.memory_bits_bound
        assert alone.memory_bits == c.memory_bits if not c.pruned else c.memory_bits_bound > sizing.chosen.memory_bits
    # 80 random inputs per neuron: every core sees nearly all 4000 neurons, so 2048 axons cannot hold many
    assert {c.input_axons for c in sizing.candidates if c.rejected} == {256, 512, 1024}
    assert all("over 256" in c.rejected for c in sizing.candidates if c.rejected)
    t = sizing.target
    assert (t.core.neurons, t.core.input_axons, t.chip.mesh, t.max_cores) == (
        sizing.chosen.neurons, sizing.chosen.input_axons, mesh_for(sizing.chosen.cores), sizing.chosen.cores)
    assert t.sizing is None and t.name == "fpga-lif-sized"


def test_the_sized_synapse_memory_is_tight(cuba):
    """One granule less and the fill that set the cores needs more of them."""
    net, sizing = cuba
    c, granule = sizing.chosen, load_target("fpga-lif").sizing.memory_granule_bits
    usage = _fill(net, sizing.target, c.order)
    assert usage.neurons.size == c.cores and usage.synapse_bits.max() > c.synapse_memory_bits - granule
    smaller = _candidate_target(load_target("fpga-lif"), c, memory=c.synapse_memory_bits - granule, mesh=(1, 64))
    assert _fill(net, smaller, c.order).neurons.size > c.cores


def test_the_sized_target_compiles_within_the_counted_cores_and_keeps_the_meaning(cuba):
    net, sizing = cuba
    mapping, fx, report = compile_network(net, sizing.target)
    assert report.fits and report.cores_used <= sizing.chosen.cores, report.misfits
    program = to_program(decode(encode(build_contents(mapping, fx))))
    expected = BitAccurateSimulator(fx).run(100)
    got = BitAccurateSimulator(program).run(100)
    assert expected.spike_counts() == got.spike_counts() and sum(got.spike_counts().values()) > 50
    for pop in expected.spike_ids:
        assert np.array_equal(expected.spike_ids[pop], got.spike_ids[pop])
        assert np.array_equal(expected.spike_steps[pop], got.spike_steps[pop])


def _sizing_target(tmp_path, name="tiny-fpga", **sizing) -> object:
    doc = yaml.safe_load(Path(load_target("fpga-lif").source).read_text())
    doc["name"] = name
    doc["sizing"] = {"neurons": [16, 32], "input_axons": [64, 128], "memory_granule_bits": 512, "max_cores": 8} | sizing
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_target(str(path))


def _fan_in_network(fan_in: int, neurons: int = 96) -> Network:
    """``neurons`` LIF neurons, neuron ``i`` driven by the ``fan_in`` inputs of a 200-neuron source
    from ``2 i`` on (modulo 200): neighbours share most of their inputs."""
    rng = np.random.default_rng(5)
    net = Network("fan", dt=1e-3, seed=1)
    net.add(SpikeSource(name="in", size=200, ids=rng.integers(0, 200, 300),
                        times=np.sort(rng.integers(0, 50, 300)) * 1e-3))
    net.add(Population(name="p", size=neurons, model=LIF(tau_mem=1e-2, v_threshold=1.0)))
    pre = np.concatenate([(2 * i + np.arange(fan_in)) % 200 for i in range(neurons)])
    post = np.repeat(np.arange(neurons), fan_in)
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(
        200, neurons, pre, post, rng.normal(0.3, 0.2, pre.size), np.ones(pre.size, dtype=int))))
    return net


def test_choices_are_rejected_with_the_reason(tmp_path):
    target = _sizing_target(tmp_path)
    sizing = SizeTarget(cost=chip_memory_bits).run(_fan_in_network(100), target)
    by = {(c.neurons, c.input_axons): c for c in sizing.candidates}
    assert by[16, 64].rejected == "a neuron receives 100 inputs, over 64 input axons"
    assert by[32, 64].rejected == by[16, 64].rejected
    assert by[16, 128].rejected is None and by[16, 128].cores >= 6
    assert sizing.chosen.input_axons == 128
    with pytest.raises(UserError, match="no tiny-fpga core of the sizing choices holds the network: .*receives 150 "
                                        "inputs, over 128 input axons"):
        SizeTarget(cost=chip_memory_bits).run(_fan_in_network(150), target)
    with pytest.raises(UserError) as err:
        SizeTarget(cost=chip_memory_bits).run(_fan_in_network(100), _sizing_target(tmp_path, max_cores=4))
    assert "16 neurons per core need over 4 cores" in str(err.value)  # 96 neurons
    assert "32 neurons and 128 input axons per core need 7 cores, over 4" in str(err.value)  # 15 share 128 inputs


def test_only_targets_with_a_sizing_section_are_sized_and_size_does_not_fix_models():
    with pytest.raises(UserError, match="fixed limits"):
        SizeTarget(cost=chip_memory_bits).run(_fan_in_network(10), load_target("loihi-like"))
    net = Network("three", dt=1e-3)
    net.add(SpikeSource(name="in", size=2, ids=[0, 1], times=[0.0, 1e-3]))
    net.add(Population(name="p", size=4, model=CubaLIF(tau_mem=1e-2, tau_syn=[5e-3, 5e-3, 5e-3],
                                                          receptor_names=("a", "b", "c"))))
    net.connect(Projection(name="in_p", pre="in", post="p", receptor="c",
                           connectivity=Connectivity.from_coo(2, 4, [0, 1], [0, 3], [1.0, 1.0], [1, 1])))
    with pytest.raises(ValidationError, match="receptor|channel"):
        SizeTarget(cost=chip_memory_bits).run(net, load_target("fpga-lif"))


def _long_delay_network() -> Network:
    net = _fan_in_network(40, neurons=32)
    rng = np.random.default_rng(0)
    net.add(Population(name="far", size=32, model=LIF(tau_mem=1e-2, v_threshold=0.5)))
    pi = np.repeat(np.arange(32), 4)
    net.connect(Projection(name="p_far", pre="p", post="far", connectivity=Connectivity.from_coo(
        32, 32, pi, rng.integers(0, 32, pi.size), np.full(pi.size, 0.6), np.full(pi.size, 40))))
    return net


def test_sizing_counts_the_relay_neurons_of_long_delays(tmp_path):
    """Delays beyond the format's 16 ticks become relay chains: sizing counts their neurons, so the
    compile fits the cores it counted."""
    target = _sizing_target(tmp_path, neurons=[32], input_axons=[128])
    sizing, mapping, fx, report = compile_sized(_long_delay_network(), target, chip_memory_bits)
    assert report.fits, report.misfits
    assert len(mapping.core_of) > 64  # relay neurons
    assert sizing.chosen.cores >= report.cores_used > 2
    assert sizing.document["chip"]["mesh"] == list(mesh_for(sizing.chosen.cores))


def test_compile_sized_grows_the_mesh_when_a_partitioner_needs_more_cores(tmp_path):
    """Sizing counts the better of index and RCM order (here RCM: 4 cores); forced to index order,
    the compile needs 5, and the mesh grows to them."""
    target = _sizing_target(tmp_path, neurons=[32], input_axons=[128])
    sizing, _, _, report = compile_sized(_long_delay_network(), target, chip_memory_bits, partitioner="index-order")
    assert sizing.chosen.order == "rcm-order" and report.cores_used > sizing.chosen.cores
    assert report.fits, report.misfits
    assert sizing.document["chip"]["mesh"] == list(mesh_for(report.cores_used)) == list(sizing.target.chip.mesh)


@pytest.mark.skipif(not NIR_PAPER.is_dir(), reason="../shared/data/nir-paper not present")
def test_the_nir_cnn_gets_a_chip_of_its_bound(tmp_path):
    """Both fills need 10 cores of the cheapest choice (bound 9: axons bind); auto's Mt-KaHyPar cuts
    the bound's 9 blocks anew and every block fits, so the chip and its cost are of 9 cores."""
    net = load_network(NIR_PAPER / "cnn_sinabs.nir", nir_options=NirOptions(dt=1e-3))
    sizing, mapping, _, report = compile_sized(net, load_target("fpga-lif"), chip_memory_bits)
    assert report.fits and report.partitioner == "kahypar"
    assert report.cores_used == report.cores_lower_bound == sizing.chosen.cores == 9
    assert sizing.chosen.memory_bits == chip_memory_bits(sizing.target, 9)
    assert sizing.document["chip"]["mesh"] == [3, 4]  # the 10 cores counted
    assert report.inter_core_spikes * 3 <= report.inter_core_spikes_index_order
    n, pre, post = _arrays(net)
    assert fits(core_usage(mapping.core_of, 9, pre, post, sizing.target), sizing.target).all()


def test_cli_size_writes_the_sized_target_deterministically(run_nmc, tmp_path):
    for run in ("a", "b"):
        code, out, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "fpga-lif", "--size", "--json",
                                 "-o", tmp_path / run)
        assert code == 0, err
    doc = json.loads(out)
    for name in ("synfire.nmc", "target.yaml", "synfire.map.npz", "synfire.sizing.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    sized = load_target(str(tmp_path / "a" / "target.yaml"))
    assert doc["target"] == sized.name == doc["sizing"]["target"] and doc["fits"]
    assert doc["cores_used"] <= doc["sizing"]["chosen"]["cores"] == sized.max_cores
    code, _, err = run_nmc("inspect", tmp_path / "a" / "synfire.nmc", "--target", tmp_path / "a" / "target.yaml")
    assert code == 0, err
    code, _, err = run_nmc("rtl", tmp_path / "a" / "synfire.nmc", "-o", tmp_path / "rtl")
    assert code == 2 and "not shipped: pass its target file with --target" in err and not (tmp_path / "rtl").exists()
    code, _, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "--size", "-o",
                           tmp_path / "c")
    assert code == 2 and "fixed limits" in err and not (tmp_path / "c").exists()
