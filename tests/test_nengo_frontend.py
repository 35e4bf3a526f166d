"""The Nengo frontend (issue 34): Nengo's own examples (communication channel, product,
integrator) converted through Nengo's builder and run by our float simulator decode as well as
``nengo.Simulator`` does on the same seeds (RMSE to the ideal function within 10 %); the same
networks as loihi-like and fpga-lif images in the bit-accurate simulator, with the quantization
error measured; the RTL bit-exact on one; constructs that cannot map refused by name."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import EXAMPLES

nengo = pytest.importorskip("nengo")

sys.path.insert(0, str(EXAMPLES / "nengo"))
from models import EXAMPLES as NENGO_EXAMPLES  # noqa: E402

from nmcompiler.errors import UserError  # noqa: E402
from nmcompiler.frontends.nengo import from_nengo, lowpass  # noqa: E402
from nmcompiler.frontends.nengo.neurons import stepped_lif_rates, subtract_lif_rates  # noqa: E402
from nmcompiler.sim.float_sim import FloatSimulator  # noqa: E402

SEEDS = (0, 1, 2)


def _rmse(x, y) -> float:
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


def _run(name: str, seed: int):
    """Nengo's run and ours (float) of an example: (target, nengo's probe, our model, our decoded)."""
    model, duration, ideal, probe = NENGO_EXAMPLES[name](seed)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run(duration)
    target = ideal(sim.trange())
    p = next(p for p in model.all_probes if p.label == probe)
    ours = from_nengo(model, duration=duration)
    result = FloatSimulator(ours.network).run(len(target))
    return target, sim.data[p][:, 0], ours, result, ours.decode(result)[probe][:, 0]


@pytest.fixture(scope="module")
def runs():
    return {(name, seed): _run(name, seed) for name in NENGO_EXAMPLES for seed in SEEDS}


@pytest.mark.parametrize("name", list(NENGO_EXAMPLES))
def test_decoded_output_as_good_as_nengos_own(runs, name):
    """Mean RMSE to the ideal function over three seeds: ours within 10 % of Nengo's."""
    theirs = [_rmse(runs[name, s][1], runs[name, s][0]) for s in SEEDS]
    ours = [_rmse(runs[name, s][4], runs[name, s][0]) for s in SEEDS]
    assert np.mean(ours) <= 1.1 * np.mean(theirs), (ours, theirs)
    for s in SEEDS:  # something happened: the populations spiked and the output follows the signal
        target, _, _, result, decoded = runs[name, s]
        assert all(len(ids) > 1000 for ids in result.spike_ids.values())
        assert _rmse(decoded, target) < 0.25 * np.abs(target).max()


def test_nengo_values_are_kept(runs):
    """Gains, biases and initial voltages are Nengo's own (same seed, same builder)."""
    model, duration, _, _ = NENGO_EXAMPLES["communication_channel"](0)
    with nengo.Simulator(model, progress_bar=False) as sim:
        a = next(e for e in model.all_ensembles if e.label == "A")
        bias, v0 = sim.data[a].bias, sim.signals[sim.model.sig[a.neurons]["voltage"]]
    ours = runs["communication_channel", 0][2].network.node("A")
    assert np.array_equal(ours.model.bias, bias) and np.array_equal(ours.initial["v"], v0)


def test_rate_curves_are_those_of_the_neurons_that_run():
    """The rate curve the decoders are solved for equals the rates of the populations the
    converter makes (our float simulator, constant input), and stays near Nengo's LIF."""
    from nmcompiler.ir import CubaLIF, Network, Population

    J = np.array([0.5, 1.01, 1.5, 3.0, 10.0, 50.0])
    dt, tau_rc, tau_ref, steps = 0.001, 0.02, 0.002, 4000
    step = dt / tau_rc
    net = Network(name="rates", dt=dt)
    net.add(Population(name="p", size=J.size, model=CubaLIF(
        tau_mem=tau_rc, r=-np.expm1(-step) / step, refractory=tau_ref, reset="subtract", bias=J, tau_syn=[0.005],
        integration="exp_euler")))
    result = FloatSimulator(net).run(steps)
    simulated = np.bincount(result.spike_ids["p"], minlength=J.size) / (steps * dt)
    curve = subtract_lif_rates(J, tau_rc, tau_ref, dt)
    assert np.allclose(curve, simulated, rtol=2e-3, atol=0.5) and curve[0] == 0 and curve[-1] > 300
    assert np.all(np.diff(curve[1:]) > 0)
    theirs = nengo.LIF(tau_rc=tau_rc, tau_ref=tau_ref).rates(J, 1.0, 0.0).ravel()
    assert np.all(np.abs(curve[2:] - theirs[2:]) < 0.25 * theirs[2:])
    held = stepped_lif_rates(J, tau_rc, tau_ref, dt)  # reset to zero: whole steps only
    assert held[-1] == pytest.approx(1 / (3 * dt)) and held[0] == 0


def test_images_decode_with_their_quantization_error():
    """The channel and the integrator as loihi-like and fpga-lif images (the bit-accurate
    simulator on the image's own tables): decoded within 25 % of Nengo's RMSE, and the
    difference from our float run (the quantization error) measured and bounded."""
    import nmcompiler

    for name in ("communication_channel", "relu_channel", "integrator"):
        target, theirs, ours, _, floats = _run(name, 0)
        probe = NENGO_EXAMPLES[name](0)[3]
        for tgt in ("loihi-like", "fpga-lif"):
            chip = nmcompiler.compile(ours.network, tgt)
            hw = ours.decode(chip.simulate(steps=len(target)))[probe][:, 0]
            quantization = _rmse(hw, floats)
            assert _rmse(hw, target) <= 1.25 * _rmse(theirs, target), (name, tgt)
            assert 0 < quantization < 0.1 * np.abs(target).max(), (name, tgt, quantization)


@pytest.mark.rtl
@pytest.mark.parametrize("name,target", [("communication_channel", "loihi-like"), ("relu_channel", "fpga-lif")])
def test_channels_on_rtl_are_bit_exact(name, target):
    """LIF (Nengo's min_voltage 0) and SpikingRectifiedLinear ensembles: both bounded below by
    v_min, which the generated core clamps as the bit-accurate simulator does."""
    import nmcompiler

    model, _, _, _ = NENGO_EXAMPLES[name](0)
    ours = from_nengo(model, duration=0.3)
    assert all(p.model.bounded for p in ours.network.populations)
    ladder = nmcompiler.compile(ours.network, target).verify(("int", "rtl"), steps=300)
    assert ladder.bit_exact and all(level.spikes > 1000 for level in ladder.levels)


def _refused(build, words: str) -> None:
    with nengo.Network(seed=0) as net:
        build()
    with pytest.raises(UserError, match=words):
        from_nengo(net, duration=0.1)


def test_constructs_that_cannot_map_are_refused_by_name():
    def direct():
        nengo.Ensemble(10, 1, neuron_type=nengo.Direct(), label="dir")

    def loud():
        nengo.Ensemble(10, 1, neuron_type=nengo.LIF(amplitude=0.5), label="loud")

    def learning():
        a, b = nengo.Ensemble(10, 1, label="a"), nengo.Ensemble(10, 1, label="b")
        nengo.Connection(a, b, learning_rule_type=nengo.PES())

    def in_the_loop():
        a = nengo.Ensemble(10, 1, label="a")
        f = nengo.Node(lambda t, x: x * 2, size_in=1, label="doubler")
        nengo.Connection(a, f)

    def alpha():
        a, b = nengo.Ensemble(10, 1, label="a"), nengo.Ensemble(10, 1, label="b")
        nengo.Connection(a, b, synapse=nengo.Alpha(0.01))

    def two_filters():
        a, b = nengo.Ensemble(10, 1, label="a"), nengo.Ensemble(10, 1, label="b")
        p = nengo.Node(size_in=1, label="relay")
        nengo.Connection(a, p, synapse=0.01)
        nengo.Connection(p, b, synapse=0.01)

    _refused(direct, r"^ensemble 'dir': neuron type Direct has no equivalent")
    _refused(loud, r"^ensemble 'loud': neuron amplitude 0.5; a chip's spike has one size")
    _refused(learning, r"learning rule PES is not supported")
    _refused(in_the_loop, r"^node 'doubler': it computes a function of its input in the loop")
    _refused(alpha, r"synapse Alpha is not supported")
    _refused(two_filters, r"^passthrough node 'relay': two synapses in series")


def test_passthrough_nodes_fold_into_the_weights():
    """An ensemble array's passthrough input and output nodes: the same decoded value as a direct
    connection."""
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(0.5, label="stim")
        arr = nengo.networks.EnsembleArray(50, n_ensembles=2, label="arr")
        out = nengo.Ensemble(100, 2, label="out")
        nengo.Connection(stim, arr.input, transform=[[1], [-1]])
        nengo.Connection(arr.output, out)
        nengo.Probe(out, synapse=0.05, label="out")
    ours = from_nengo(net, duration=0.5)
    assert not any("arr" in s.name for s in ours.network.sources)  # no node left on the network
    decoded = ours.decode(FloatSimulator(ours.network).run(500))["out"]
    assert np.allclose(decoded[-100:].mean(axis=0), [0.5, -0.5], atol=0.08)
    assert np.allclose(lowpass(np.ones((3, 1)), None, 0.001), 1.0)


SCRIPT = EXAMPLES / "nengo" / "integrator.py"


def test_a_nengo_script_through_the_command_line(tmp_path, run_nmc):
    """nmc reads the script up to its first simulation: simulate writes the decoded readout (as
    the API decodes it), import keeps the readouts in YAML and in an IR file, compare reports the
    readout's quantization error."""
    import runpy

    import nmcompiler
    from nmcompiler.ir.serialize import network_digest

    code, text, err = run_nmc("simulate", SCRIPT, "-o", tmp_path / "sim")
    assert code == 0, err
    assert "readout 'A': 1 dims" in text
    scope = runpy.run_path(str(EXAMPLES / "nengo" / "models.py"))
    model = scope["integrator"](0)[0]
    ours = from_nengo(model, duration=6.0, name="integrator")
    expected = ours.decode(FloatSimulator(ours.network).run(6000))["A"]
    assert np.array_equal(np.load(tmp_path / "sim" / "decoded.npz")["A"], expected)
    for out in ("net.yaml", "net.npz"):
        code, _, err = run_nmc("import", SCRIPT, "-o", tmp_path / out)
        assert code == 0, err
        back = nmcompiler.load_network(tmp_path / out)
        assert network_digest(back) == network_digest(ours.network) and back.readouts[0].tau == 0.01
    code, text, err = run_nmc("compare", SCRIPT, "--target", "loihi-like", "-o", tmp_path / "cmp")
    assert code == 0, err
    import json

    r = json.loads((tmp_path / "cmp" / "compare.json").read_text())["readouts"]["A"]
    assert 0 < r["rmse"] < 0.2 and r["float_rms"] > 0.3
    chip = nmcompiler.compile(ours.network, "fpga-lif")
    run = chip.simulate(steps=6000)
    assert np.array_equal(chip.decode(run)["A"], ours.decode(run)["A"])


def test_bad_scripts_and_readouts_are_exit_2(tmp_path, run_nmc, write_yaml):
    plain = tmp_path / "plain.py"
    plain.write_text("import nengo\nnet = nengo.Network()\n")
    code, _, err = run_nmc("info", plain)
    assert code == 2 and "runs no nengo.Simulator: name its network 'model'" in err
    bad = tmp_path / "bad.py"
    bad.write_text("import nengo\nwith nengo.Network() as model:\n    nengo.Ensemble(5, 1, neuron_type=nengo.Sigmoid(),"
                   " label='s')\nnengo.Simulator(model).run(0.1)\n")
    code, _, err = run_nmc("info", bad)
    assert code == 2 and f"{bad}: ensemble 's': neuron type Sigmoid" in err and "Traceback" not in err
    net = write_yaml("""
        version: 1
        name: r
        dt: 1 ms
        populations: {p: {model: lif, size: 2, params: {tau_mem: 20 ms}}}
        readouts:
          x: {target: p, decoders: [[1, 2, 3]], tau: 10 ms}
    """)
    code, _, err = run_nmc("validate", net)
    assert code == 2 and "readout 'x': decoders must be (dims, 2), not (1, 3)" in err


def test_input_nodes_take_nengos_values(tmp_path, run_nmc):
    """A function of time, a constant and a seeded process: the values encoded as spikes are the
    node outputs nengo.Simulator computes, step for step; an unseeded process is warned about."""
    with nengo.Network(seed=4) as net:
        nodes = [nengo.Node(nengo.processes.WhiteSignal(1.0, high=5, seed=7), size_out=2, label="noise"),
                 nengo.Node(lambda t: [np.sin(7 * t), t], label="f"), nengo.Node([0.25, -1.0], label="c")]
        a = nengo.Ensemble(50, 2, label="A")
        probes = []
        for node in nodes:
            nengo.Connection(node, a)
            probes.append(nengo.Probe(node, synapse=None))
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(0.3)
    ours = from_nengo(net, duration=0.3)
    for node, probe in zip(nodes, probes):
        assert np.allclose(ours.inputs[node.label], sim.data[probe], rtol=0, atol=1e-12), node.label
    script = tmp_path / "w.py"  # the warning as a user sees it
    script.write_text("import nengo\nwith nengo.Network(seed=4) as model:\n    nengo.Connection(nengo.Node("
                      "nengo.processes.WhiteSignal(1.0, high=5), label='w'), nengo.Ensemble(10, 1))\n"
                      "nengo.Simulator(model).run(0.1)\n")
    code, _, err = run_nmc("info", script)
    assert code == 0 and "warning: input node 'w': its WhiteSignal has no seed" in err
