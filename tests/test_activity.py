"""Activity counting (nmcompiler.sim.activity): synaptic operations equal the simulators' own
count of delivered synaptic events (float, bit-accurate, and the image's program), per-core
figures add up to the totals, and a hand-counted network gives the hand-counted numbers."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.lowered import program_from_fixed_point, synapse_table
from nmcompiler.sim.activity import count_activity, float_activity, program_activity
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.float_sim import FloatSimulator
from nmcompiler.sim.stimulus import spike_source_from_array
from nmcompiler.targets import load_target
from nmcompiler.targets.derive import derive_target

from conftest import EXAMPLES, NIR_PAPER, ROOT


def test_synaptic_ops_equal_the_simulators_events():
    net = load_network(EXAMPLES / "cuba.yaml")
    result = FloatSimulator(net).run(200)
    activity = float_activity(net, result, 200)
    assert activity.synaptic_ops == result.synaptic_events > 50_000
    assert activity.spikes == sum(ids.size for ids in result.spike_ids.values())
    assert activity.neuron_updates == 4000 * 200
    mlp = load_network(EXAMPLES / "mlp.yaml")
    mapping, fx, _ = compile_network(mlp, load_target("fpga-lif"))
    prog = program_from_fixed_point(fx)
    bit = BitAccurateSimulator(prog).run(300)
    image = to_program(decode(encode(build_contents(mapping, fx))))
    run = BitAccurateSimulator(image).run(300)
    assert program_activity(prog, bit, 300).synaptic_ops == bit.synaptic_events > 10_000
    assert program_activity(image, run, 300, mapping).synaptic_ops == run.synaptic_events == bit.synaptic_events


def test_per_core_figures_add_up_on_a_mapped_image(tmp_path):
    _, small = derive_target("fpga-lif", ["core.neurons=16", "chip.mesh=[4,4]"], tmp_path / "small.yaml")
    net = load_network(EXAMPLES / "mlp.yaml")
    mapping, fx, report = compile_network(net, small)
    assert report.fits and report.cores_used >= 3
    image = to_program(decode(encode(build_contents(mapping, fx))))
    run = BitAccurateSimulator(image).run(300)
    activity = program_activity(image, run, 300, mapping)
    cores = activity.cores
    assert cores.synaptic_ops.sum() == activity.synaptic_ops == run.synaptic_events
    assert cores.spikes_sent.sum() == activity.spikes and cores.neuron_updates.sum() == activity.neuron_updates
    assert cores.messages.sum() >= np.count_nonzero(cores.spikes_sent) and cores.hops.sum() > 0
    assert activity.to_json()["cores"]["hops"] == cores.hops.tolist()


def test_hand_counted_network():
    """Neurons 0, 1 (population 'a', core 0 at (0, 0)) and 2 ('b', core 1 at (0, 2)); host channel
    3. Synapses: 3 -> 0, 3 -> 2, 0 -> 1, 0 -> 2, 1 -> 2, 2 -> 0. Spikes: neuron 0 twice, neuron 2
    once, channel 3 three times, over 10 ticks."""
    pre = [np.array([3, 3, 0, 0, 1, 2])]
    post = [np.array([0, 2, 1, 2, 2, 0])]
    table = synapse_table(4, pre, post, [np.ones(6)], [np.ones(6, dtype=np.int64)])
    count = np.array([2, 0, 1, 3])
    target = load_target("fpga-lif")  # 2 x 2 cores per chip: core 1 sits two columns away on a 1 x 2 board
    mapping = SimpleNamespace(core_of=np.array([0, 0, 1]), position=np.array([[0, 0, 0], [1, 0, 0]]), target=target)
    activity = count_activity(table, 3, [("a", 0, 2), ("b", 2, 1)], count, 10, mapping)
    # onto a: 3 -> 0 (3 spikes), 0 -> 1 (2), 2 -> 0 (1); onto b: 3 -> 2 (3), 0 -> 2 (2), 1 -> 2 (0)
    assert activity.populations["a"].synaptic_ops == 6 and activity.populations["b"].synaptic_ops == 5
    assert activity.populations["a"].spikes == 2 and activity.populations["b"].spikes == 1
    assert activity.source_spikes == 3 and activity.populations["a"].neuron_updates == 20
    c = activity.cores
    assert c.synaptic_ops.tolist() == [6, 5] and c.spikes_sent.tolist() == [2, 1]
    # neuron 0 reaches cores 0 and 1 (2 spikes x 2 messages), neuron 2 core 0 (1); the host reaches both (3 x 2)
    assert c.messages.tolist() == [4, 1] and c.host_messages == 6
    # chip 1 is the next chip on the board: core (1, 0, 0) is 2 columns right of (0, 0, 0)
    assert c.hops.tolist() == [2 * 2, 1 * 2]


SINABS = ROOT / "tests" / "golden" / "sinabs_synops"


@pytest.mark.skipif(not (NIR_PAPER / "cnn_sinabs.nir").exists(), reason="../shared/data/nir-paper not beside the checkout")
def test_synaptic_ops_of_the_nir_cnn_equal_sinabs_synop_counter():
    """The NIR paper's CNN on fixed input events: our synaptic operations per layer equal Sinabs
    3.1.3's SNNAnalyzer (its exact connection maps), and so do the spikes of every layer
    (tests/golden/frameworks/make_sinabs_synops.py; Sinabs is not needed here)."""
    doc = json.loads((SINABS / "cnn_sinabs_synops.json").read_text())
    with np.load(SINABS / "cnn_sinabs_input.npz") as z:
        events = z["events"]
    net = load_nir(NIR_PAPER / "cnn_sinabs.nir", NirOptions.from_preset("sinabs"))
    steps = doc["steps"] + 8  # every layer's last spikes arrive (one tick per layer here, none in Sinabs)
    drive = np.zeros((steps,) + events.shape[1:], dtype=np.uint8)
    drive[:doc["steps"]] = events
    source = net.sources[0]
    net.replace(spike_source_from_array(source.name, drive, net.dt, source.size))
    activity = float_activity(net, FloatSimulator(net).run(steps), steps)
    feeds = {"0": "1", "2": "3", "5": "6", "9": "10", "11": "12"}  # Sinabs' parameter layer -> our population
    ours = {layer: activity.populations[pop].synaptic_ops for layer, pop in feeds.items()}
    assert ours == doc["synops_per_parameter_layer"] and activity.synaptic_ops == doc["synops_total"]
    assert {p: a.spikes for p, a in activity.populations.items()} == doc["spikes_per_spiking_layer"]
