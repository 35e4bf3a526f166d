"""The Amaranth core on Verilator (cocotb) against the bit-accurate simulator, bit for bit.

Every test loads an image into the generated core, drives the same source events tick by tick as
the simulator, and compares spikes (and, where asked, v and every current after each tick) with
the simulator running the same image. One Verilator build per set of core parameters (cached)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import EXAMPLES, NIR_PAPER
from nmcompiler import load_network
from nmcompiler.cli.main import main
from nmcompiler.errors import UserError
from nmcompiler.image import build_contents, to_program
from nmcompiler.ir import IF, LIF, Connectivity, CubaLIF, Network, Population, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.rtl.chip import ChipParams
from nmcompiler.rtl.load import chip_load, core_load, pack, unpack
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.runner import build, run_chip, run_core
from nmcompiler.rtl.verify import differences, probe_all, source_events, verify_image

pytestmark = pytest.mark.rtl


def _network(rng: np.random.Generator, cuba: bool = True, max_delay: int = 5, bounded: bool = False) -> Network:
    net = Network("r", dt=1e-3, seed=int(rng.integers(0, 1000)))
    times = np.sort(rng.integers(0, 40, 40))
    net.add(SpikeSource(name="in", size=8, ids=rng.integers(0, 8, times.size), times=times * 1e-3))
    pops = []
    for k in range(int(rng.integers(1, 4))):
        n = int(rng.integers(1, 40))
        kind = rng.choice(["lif", "if"] + (["cuba"] if cuba else []))
        common = dict(v_threshold=float(rng.uniform(0.5, 1.5)), reset=str(rng.choice(["value", "subtract"])),
                      refractory=float(rng.choice([0.0, 1e-3, 3e-3])))
        if bounded:  # a lower bound of v (v_min) on every other population
            common["v_min"] = float(rng.uniform(-0.4, 0.0)) if k % 2 == 0 else -np.inf
        if kind == "lif":
            model = LIF(tau_mem=float(rng.uniform(5e-3, 3e-2)), bias=float(rng.uniform(-0.2, 0.5)), **common)
        elif kind == "if":
            model = IF(bias=float(rng.uniform(-5, 20)), **common)
        else:
            model = CubaLIF(tau_mem=float(rng.uniform(5e-3, 3e-2)), tau_syn=[float(rng.uniform(2e-3, 1e-2))], **common)
        pops.append(net.add(Population(name=f"p{k}", size=n, model=model, initial={"v": rng.uniform(0, 0.5, n)})))
    for post in pops:
        for pre in [net.node("in")] + pops[:2]:
            pi, qi = np.nonzero(rng.random((pre.size, post.size)) < 0.4)
            if pi.size:
                w = rng.normal(0.4, 0.6, pi.size)
                d = 1 + rng.integers(0, max_delay, pi.size)
                net.connect(Projection(name=f"{pre.name}_{post.name}", pre=pre.name, post=post.name,
                                       receptor="syn" if isinstance(post.model, CubaLIF) else None,
                                       connectivity=Connectivity.from_coo(pre.size, post.size, pi, qi, w, d)))
    return net


def _image(net: Network, target):
    mapping, fx, report = compile_network(net, target, partitioner="index-order")
    assert report.fits, report.misfits
    return build_contents(mapping, fx)


@pytest.fixture(scope="module")
def fpga():
    target = load_target("fpga-lif")
    return target, CoreParams.of(target)


def _assert_exact(result) -> None:
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.reference_spikes == result.rtl_spikes


@pytest.mark.parametrize("lanes", [1, 2, 4])
@pytest.mark.parametrize("seed", range(20))
def test_random_networks_are_bit_exact(fpga, seed, lanes):
    """Also with 2 and 4 synapse lanes (docs/rtl.md, "Synapse lanes"): the same image, the same result."""
    target, _ = fpga
    params = CoreParams.of(target, lanes=lanes)
    net = _network(np.random.default_rng(seed), max_delay=int(target.format.delay_max), bounded=seed % 2 == 1)
    result = verify_image(_image(net, target), params, 50, states=seed % 2 == 0,
                          out_ready="random" if seed % 5 == 0 else "always")
    _assert_exact(result)
    assert result.synops > 0


def _custom_target(tmp_path, name: str, **fmt) -> object:
    doc = yaml.safe_load(Path(load_target("fpga-lif").source).read_text())
    doc["name"] = name
    doc["format"].update(fmt)
    doc["core"]["neurons"] = 128
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_target(str(path))


@pytest.mark.parametrize("variant", [
    dict(decay="shift", decay_bits=6, rounding="zero", compare=">=", receptors=1, i_bits=20, acc_bits=20,
         current_frac_bits=4, refractory_bits=3, delay_max=8),
    dict(decay="leak", decay_bits=9, rounding="floor", compare=">=", receptors=1, i_bits=0, current_frac_bits=0,
         v_bits=20, acc_bits=20, bias_bits=9, weight_bits=9, exponent_max=0, delay_max=15),
], ids=["shift-zero-ge", "leak-no-current"])
def test_other_formats_are_bit_exact(tmp_path, variant):
    """The core is generated from the format: shift and leak decays, truncating and floor rounding,
    '>=' compare, no current state, other widths and delay ranges."""
    target = _custom_target(tmp_path, "variant", **variant)
    params = CoreParams.of(target)
    for seed in range(4):
        net = _network(np.random.default_rng(100 + seed), cuba=target.format.has_current,
                       max_delay=target.format.delay_max)
        _assert_exact(verify_image(_image(net, target), params, 40, states=True))


def test_loihi_like_format_on_a_smaller_core():
    """loihi-like: truncation toward zero (and, once, floor rounding), one 24-bit current, 62-tick
    delays (64 ring slots)."""
    base = load_target("loihi-like")
    floor = dataclasses.replace(base, format=dataclasses.replace(base.format, rounding="floor"))
    for seed, target in enumerate((base, base, floor)):
        params = CoreParams.of(target, neurons=128, axons=256, entries=4096)
        net = _network(np.random.default_rng(200 + seed), max_delay=62)
        _assert_exact(verify_image(_image(net, target), params, 80, states=True))


def test_loihi_like_two_receptor_neurons_as_two_compartments():
    """loihi-like has one current per compartment; two receptors make two-compartment neurons,
    i.e. the two-channel datapath on the derived target (Target.with_receptors), bit for bit."""
    rng = np.random.default_rng(31)
    net = Network("two", dt=1e-3, seed=4)
    times = np.sort(rng.integers(0, 60, 90))
    net.add(SpikeSource(name="in", size=8, ids=rng.integers(0, 8, times.size), times=times * 1e-3))
    net.add(Population(name="p", size=30, model=CubaLIF(tau_mem=0.02, tau_syn=[0.003, 0.01],
                                                        receptor_names=("fast", "slow"), v_threshold=1.0),
                       initial={"v": rng.uniform(0, 0.5, 30)}))
    for pre, receptor, mean in (("in", "fast", 0.6), ("p", "slow", -0.3)):
        size = net.node(pre).size
        pi, qi = np.nonzero(rng.random((size, 30)) < 0.4)
        net.connect(Projection(name=f"{pre}_p", pre=pre, post="p", receptor=receptor, connectivity=Connectivity.from_coo(
            size, 30, pi, qi, rng.normal(mean, 0.3, pi.size), 1 + rng.integers(0, 5, pi.size))))
    mapping, fx, report = compile_network(net, load_target("loihi-like"), partitioner="index-order")
    assert report.fits and mapping.target.format.receptors == 2 and mapping.target.core.neurons == 512
    params = CoreParams.of(mapping.target, neurons=128, axons=256, entries=4096)
    result = verify_image(build_contents(mapping, fx), params, 80, states=True)
    _assert_exact(result)
    assert result.reference_spikes > 10


def _directed(target):
    """IF neurons whose integer parameters are set to the edges of the contract, fed by 4 source
    channels through synapses with every delay 1..delay_max, multapses (the same synapse twice,
    i.e. back-to-back updates of one accumulator word) and convergent inputs."""
    dmax = target.format.delay_max
    n = 16
    net = Network("edges", dt=1e-3, seed=3)
    net.add(SpikeSource(name="in", size=4, ids=np.tile(np.arange(4), 20), times=np.repeat(np.arange(20), 4) * 2e-3))
    net.add(Population(name="p", size=n, model=IF(v_threshold=1.0)))
    pre = np.concatenate([np.repeat(np.arange(4), n), [0, 0, 1, 1]])
    post = np.concatenate([np.tile(np.arange(n), 4), [5, 5, 5, 5]])
    delay = np.concatenate([1 + np.arange(4 * n) % dmax, [dmax, dmax, 1, 1]])
    w = np.full(pre.size, 0.3)
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(4, n, pre, post, w, delay)))
    contents = _image(net, target)
    core = contents.cores[0]
    rec = core.neurons.copy()
    f = target.format
    vmax, vmin = (1 << (f.v_bits - 1)) - 1, -(1 << (f.v_bits - 1))
    bmax, bmin = (1 << (f.bias_bits - 1)) - 1, -(1 << (f.bias_bits - 1))
    imax = (1 << (f.i_bits - 1)) - 1
    full, rmax = 1 << f.decay_bits, (1 << f.refractory_bits) - 1
    decay_i, i0 = core.decay_i.copy(), core.i0.copy()
    rows = [  # decay_v, bias, threshold, v_reset, refractory, flags (1 subtract, 2 spiking), v0
        (0, 5, 20, 0, 0, 2, 0),            # 0: v reaches the threshold exactly ('>' waits a tick)
        (0, bmax, vmax, 0, 0, 2, vmax),    # 1: saturates at the top, can never exceed it
        (0, bmin, 0, 0, 0, 2, vmin),       # 2: saturates at the bottom
        (full, 100, 50, 0, 0, 2, 0),       # 3: largest decay: v to zero in one tick
        (1, 3, 200, 0, 0, 2, 0),           # 4: smallest decay
        (0, 0, 40, 0, 0, 2, 0),            # 5: driven by convergent inputs and multapses
        (0, 30, 20, 0, rmax, 2, 0),        # 6: longest refractory period
        (0, 30, 20, 0, 1, 2, 0),           # 7: one refractory tick
        (0, 30, 20, 0, 0, 2, 0),           # 8: no refractory period: fires every tick
        (0, 25, 20, vmin, 0, 3, 0),        # 9: subtraction reset to far below: saturates at the bottom
        (0, 30, 20, 0, 0, 0, 0),           # 10: non-spiking
        (0, 0, vmin, 0, 2, 2, 0),          # 11: lowest threshold: fires whenever not refractory
        (0, 7, 20, -5, 0, 3, 0),           # 12: reset by subtraction
        (full, bmax, 0, 0, 0, 2, 0),       # 13: full decay and largest bias
        (0, bmin, vmax, vmin, 0, 2, vmin), # 14: bottom with a negative reset
        (1, 0, 30, 0, 3, 2, vmax),         # 15: decays from the top
    ]
    for j, (dv, b, th, vr, ref, flags, v0) in enumerate(rows):
        rec[j] = (rec["neuron"][j], v0, dv, b, th, vr, ref, flags, 0)
    if f.has_current:
        decay_i[0] = [0, full, 1, 0, full // 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][:n]
        i0[0, :3] = [imax, -imax - 1, imax]
    cores = (dataclasses.replace(core, neurons=rec, decay_i=decay_i, i0=i0),)
    return dataclasses.replace(contents, cores=cores)


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_directed_edge_cases(fpga, lanes):
    target, _ = fpga
    params = CoreParams.of(target, lanes=lanes)
    contents = _directed(target)
    for out_ready in ("always", "random"):  # random: back-pressure on the spike output
        result = verify_image(contents, params, 60, states=True, out_ready=out_ready)
        _assert_exact(result)
    ref = BitAccurateSimulator(probe_all(to_program(contents)), backend="numpy").run(60)
    ids = ref.spike_ids["p"]
    assert set(ids.tolist()) >= {0, 3, 5, 6, 7, 8, 9, 11, 12}, "the directed neurons must actually fire"
    assert not {1, 10} & set(ids.tolist())


def test_a_wrong_weight_is_found_with_its_first_divergence(fpga):
    """The comparison can fail: one synapse entry changed in the RTL's memory (not in the
    reference) is reported with tick, core, neuron and variable."""
    target, params = fpga
    contents = _image(_network(np.random.default_rng(7)), target)
    prog = probe_all(to_program(contents), states=True)
    ref = BitAccurateSimulator(prog, backend="numpy").run(40)
    load = core_load(contents.cores[0], params)
    syn = list(load.memories["syn"])
    top = params.fields.index + params.fields.delay + params.fields.channel + params.fields.weight - 1
    events = source_events(prog, load, 40)
    axon = next(a for e in events[:20] for a in e)  # an axon that receives a spike early
    rows = contents.cores[0].rows
    first_row = int(np.flatnonzero(rows["source"] == load.axon_sources[axon])[0])
    syn[int(rows["start"][first_row])] ^= 1 << top  # flip the sign bit of one weight it carries
    bad = dataclasses.replace(load, memories=load.memories | {"syn": syn})
    run = run_core(build(params), bad, events, 40, dump_state=True)
    diffs = differences(prog, ref, run, (bad,), params)
    assert diffs, "a flipped weight must change some current or spike"
    first = diffs[0]
    assert first.core == 0 and first.variable in ("spike", "v", "i0", "i1") and first.expected != first.got


def test_image_initialized_core_runs_without_loading(fpga):
    """core<c>.v of `nmc rtl`: memories initialized from the image, no configuration writes."""
    target, params = fpga
    contents = _image(_network(np.random.default_rng(11)), target)
    prog = probe_all(to_program(contents))
    load = core_load(contents.cores[0], params)
    run = run_core(build(params, init=load), load, source_events(prog, load, 40), 40, configure=False)
    ref = BitAccurateSimulator(prog, backend="numpy").run(40)
    assert not differences(prog, ref, run, (load,), params)
    assert len(run.spikes) == sum(ref.spike_counts().values()) > 0


def test_pack_and_unpack_are_inverse(fpga):
    _, params = fpga
    L = params.layouts
    word = {"v": -3, "i": [5, -(1 << 23)], "ref": 7}
    assert unpack(L.state, pack(L.state, word)) == word
    with pytest.raises(ValueError):
        pack(L.state, {"v": 1 << 15, "i": [0, 0], "ref": 0})


@pytest.mark.parametrize("name", ["mlp.yaml", "single_lif.yaml", "digits/digits.yaml"])
def test_examples_that_fit_one_core(fpga, name):
    target, params = fpga
    contents = _image(load_network(EXAMPLES / name), target)
    result = verify_image(contents, params, 100, states=True)
    _assert_exact(result)
    # docs/rtl.md timing: the neuron phase takes neurons + 1 cycles; at most one synapse per cycle
    assert set(result.neuron_cycles) == {contents.cores[0].neurons.size + 1}
    assert sum(result.event_cycles) >= result.synops
    _assert_cycle_model(contents, target, result, 100)


def _assert_cycle_model(contents, target, result, steps) -> None:
    """fpga-lif's cost model (hwtargets/fpga-lif.yaml) gives a single core's cycles per tick as
    the RTL takes them, tick by tick: the estimate's cycles less the router's share."""
    from nmcompiler.flow.estimate import estimate_contents

    run = estimate_contents(contents, target, target.cost, where="test", steps=steps)
    cycles, ticks = target.cost.cycles, run.activity.cores.ticks
    router = (cycles["router_spike"].value * ticks.spikes_sent.sum(axis=1)
              + cycles["router_message"].value * ticks.messages_in.sum(axis=1))
    measured = np.array(result.neuron_cycles) + np.array(result.event_cycles)
    assert (run.estimate.cycles_per_tick - router).tolist() == measured.tolist()
    assert run.activity.synaptic_ops == result.synops


@pytest.mark.skipif(not NIR_PAPER.is_dir(), reason="../shared/data/nir-paper not present")
@pytest.mark.parametrize("name", ["lif_norse.nir", "lif_rockpool.nir"])
def test_nir_paper_examples(fpga, name):
    from nmcompiler.frontends import NirOptions

    target, params = fpga
    net = load_network(NIR_PAPER / name, nir_options=NirOptions(dt=1e-4))
    _assert_exact(verify_image(_image(net, target), params, 1000, states=True))


def test_other_layouts_are_refused():
    with pytest.raises(UserError, match="sparse"):
        CoreParams.of(load_target("dynapse2-like"))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """fpga-lif with 32 neurons per core: small networks spread over 2 to 4 cores."""
    doc = yaml.safe_load(Path(load_target("fpga-lif").source).read_text())
    doc["name"], doc["core"]["neurons"] = "fpga-lif-32", 32
    path = tmp_path_factory.mktemp("target") / "small.yaml"
    path.write_text(yaml.safe_dump(doc))
    target = load_target(str(path))
    return target, CoreParams.of(target)


@pytest.mark.parametrize("lanes", [1, 2, 4])
@pytest.mark.parametrize("seed", range(8))
def test_multi_core_chips_are_bit_exact(small, seed, lanes):
    """Cores + router: spikes cross cores through the fan-out tables built from the image's routes
    (cores of 1, 2 and 4 synapse lanes)."""
    target, _ = small
    params = CoreParams.of(target, lanes=lanes)
    contents = _image(_network(np.random.default_rng(300 + seed)), target)
    result = verify_image(contents, params, 50, states=seed % 2 == 0, out_ready="random" if seed % 4 == 1 else "always")
    _assert_exact(result)
    if len(contents.cores) > 1:
        assert result.cores == len(contents.cores)


def test_a_spike_reaches_all_its_cores_in_one_cycle(small):
    """32 neurons of core 0 fire every tick, each onto one neuron of each of 3 other cores: the
    router offers a spike to its 3 cores in the same cycle and the cores take an event per cycle,
    so a tick costs the neuron phase plus about one cycle per spike (the earlier router: 2 + 3)."""
    target, params = small
    net = Network("fan", dt=1e-3, seed=1)
    net.add(SpikeSource(name="in", size=1, ids=np.zeros(1, int), times=np.zeros(1)))
    for name in "abcd":
        net.add(Population(name=name, size=32, model=IF(v_threshold=1.0, bias=2000.0 if name == "a" else 0.0)))
    one = np.arange(32)
    net.connect(Projection(name="in_a", pre="in", post="a", connectivity=Connectivity.from_coo(
        1, 32, np.zeros(32, int), one, np.full(32, 0.1), 1)))
    for name in "bcd":
        net.connect(Projection(name=f"a_{name}", pre="a", post=name, connectivity=Connectivity.from_coo(
            32, 32, one, one, np.full(32, 0.01), 1)))
    contents = _image(net, target)
    assert [c.neurons.size for c in contents.cores] == [32, 32, 32, 32]
    result = verify_image(contents, params, 20)
    _assert_exact(result)
    assert result.reference_spikes == 20 * 32 and result.synops == 20 * 96 + 32
    per_tick = np.array(result.neuron_cycles) + np.array(result.event_cycles)
    assert (per_tick[1:] >= 33 + 32).all() and (per_tick[1:] <= 33 + 32 + 8).all(), per_tick


@pytest.mark.parametrize("name", ["mlp.yaml", "digits/digits.yaml"])
def test_examples_on_several_cores(small, name):
    target, params = small
    contents = _image(load_network(EXAMPLES / name), target)
    assert len(contents.cores) >= 2
    _assert_exact(verify_image(contents, params, 100, states=True))


def test_a_missing_route_is_found_and_an_inconsistent_image_refused(small):
    target, params = small
    contents = _image(_network(np.random.default_rng(301)), target)
    assert len(contents.cores) > 1
    chip = ChipParams.of(params, cores=1 << (len(contents.cores) - 1).bit_length())
    good = chip_load(contents, chip)
    prog = probe_all(to_program(contents))
    ref = BitAccurateSimulator(prog, backend="numpy").run(50)
    # drop core 0's spikes from the last route table that carries any of them
    name = [n for n in chip.route_names if any(good.memories[n][:1 << params.local_bits])][-1]
    table = list(good.memories[name])
    for j in range(1 << params.local_bits):
        assert table[j] == 0 or unpack(chip.route_layout, table[j])["valid"] == 1
        table[j] = 0
    cut = dataclasses.replace(good, memories=good.memories | {name: table})
    events = [[(c, a) for c, ld in enumerate(good.cores) for a in source_events(prog, ld, 50)[t]] for t in range(50)]
    run = run_chip(build(chip), cut, events, 50, params.axon_bits)
    assert differences(prog, ref, run, good.cores, params), "a dropped route must change the spikes"
    wrong = contents.cores[0]
    bad = dataclasses.replace(contents, cores=(dataclasses.replace(wrong, destinations=wrong.destinations[:0]),)
                              + contents.cores[1:])
    with pytest.raises(UserError, match="routes do not reach"):
        chip_load(bad, chip)


def test_image_initialized_chip_runs_without_loading(small):
    target, params = small
    contents = _image(load_network(EXAMPLES / "mlp.yaml"), target)
    chip = ChipParams.of(params, cores=1 << (len(contents.cores) - 1).bit_length())
    words = chip_load(contents, chip)
    prog = probe_all(to_program(contents))
    events = [[(c, a) for c, ld in enumerate(words.cores) for a in source_events(prog, ld, 60)[t]] for t in range(60)]
    run = run_chip(build(chip, init=words), words, events, 60, params.axon_bits, configure=False)
    ref = BitAccurateSimulator(prog, backend="numpy").run(60)
    assert not differences(prog, ref, run, words.cores, params)
    assert len(run.spikes) == sum(ref.spike_counts().values()) > 0


def test_cli_rtl_writes_verilog_memories_and_readme(tmp_path, capsys):
    out = tmp_path / "c"
    with pytest.raises(SystemExit) as exc:
        main(["compile", str(EXAMPLES / "mlp.yaml"), "--target", "fpga-lif", "-o", str(out)])
    assert exc.value.code in (0, None)
    capsys.readouterr()
    for k in (1, 2):
        with pytest.raises(SystemExit) as exc:
            main(["rtl", str(out / "mlp.nmc"), "-o", str(tmp_path / f"rtl{k}"), "--json"])
        assert exc.value.code in (0, None)
        doc = json.loads(capsys.readouterr().out)
        assert doc["params"]["neurons"] == 256 and "nmc_core.v" in doc["files"]
    a, b = tmp_path / "rtl1", tmp_path / "rtl2"
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert {"nmc_core.v", "core0.v", "core0/syn.hex", "core0/param.hex", "README.md", "rtl.json"} <= set(names)
    for name in names:  # deterministic
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    text = (a / "nmc_core.v").read_text()
    assert "module nmc_core(" in text and not re.search(r"/(tmp|home|root|work)/", text)
    meta = json.loads((a / "rtl.json").read_text())
    syn = (a / "core0" / "syn.hex").read_text().split()
    assert len(syn) == meta["cores"][0]["words"]["syn"] > 0
    assert "| `tick` | in | 1 |" in (a / "README.md").read_text()


def test_cli_verify_ladder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(EXAMPLES / "mlp.yaml"), "--target", "fpga-lif", "--steps", "60", "--json", "--states"])
    assert exc.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["rtl_mismatches"] == 0
    assert [r["level"] for r in doc["levels"]] == ["float", "int", "rtl"]
    assert doc["levels"][1]["spikes"] == doc["levels"][2]["spikes"] > 0
    for bad, msg in ((["--levels", "int,bogus"], "unknown level"), ([], "--target is required")):
        with pytest.raises(SystemExit) as exc:
            main(["verify", str(EXAMPLES / "mlp.yaml")] + (["--target", "fpga-lif"] if bad else []) + bad)
        assert exc.value.code == 2
        assert msg in capsys.readouterr().err


_STAT = """
3. Printing statistics.

=== nmc_core ===

     5734 cells
      659   SB_CARRY
      417   SB_DFF
      179   SB_DFFESR
        1   SB_DFFSS
     4298   SB_LUT4
      142   SB_RAM40_4K
"""


def test_synthesis_report_is_parsed():
    from nmcompiler.rtl.synth import parse_stat

    s = parse_stat("Number of cells 3\n  1 SB_LUT4\n" + _STAT)  # the last report counts
    assert (s["lut4"], s["carry"], s["ram_4k"], s["flip_flops"]) == (4298, 659, 142, 597)
    with pytest.raises(UserError):
        parse_stat("no statistics here")


def test_cli_verify_exits_1_when_rtl_and_int_disagree(monkeypatch, capsys):
    """The exit code and message of a mismatch (the RTL run is replaced by one that differs)."""
    import nmcompiler.rtl.verify as rv

    real = rv.verify_image

    def wrong(*args, **kwargs):
        good = real(*args, **kwargs)
        fd = rv.Divergence(tick=3, core=0, neuron=7, variable="v", expected=10, got=11)
        return dataclasses.replace(good, mismatches=1, first_divergence=fd)

    monkeypatch.setattr(rv, "verify_image", wrong)
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(EXAMPLES / "single_lif.yaml"), "--target", "fpga-lif", "--levels", "int,rtl", "--json"])
    assert exc.value.code == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["rtl_mismatches"] == 1
    assert "first at tick 3, core 0, neuron 7, v: expected 10, got 11" in out.err


def _tiny_sizing_target(tmp_path) -> Path:
    doc = yaml.safe_load(Path(load_target("fpga-lif").source).read_text())
    doc["name"], doc["chip"]["mesh"], doc["core"]["neurons"] = "fpga-tiny", [1, 1], 16  # one 16-neuron core
    doc["sizing"] = {"neurons": [16, 32], "input_axons": [16, 32, 64], "memory_granule_bits": 256, "max_cores": 16}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_sized_chip_runs_its_image_exactly(tmp_path):
    """nmc compile --size chooses the core's neurons, axons and synapse memory: the RTL generated
    from the sized target runs the image bit for bit, on every core it counted."""
    from nmcompiler.compiler import compile_sized
    from nmcompiler.rtl.chip import chip_memory_bits

    path = _tiny_sizing_target(tmp_path)
    net = _network(np.random.default_rng(305))
    sizing, mapping, fx, report = compile_sized(net, load_target(str(path)), chip_memory_bits)
    assert report.fits, report.misfits
    contents = build_contents(mapping, fx)
    params = CoreParams.of(sizing.target)
    assert (params.neurons, params.axons) == (sizing.chosen.neurons, sizing.chosen.input_axons)
    assert params.entries == sizing.chosen.synapse_memory_bits // sizing.target.synapse_bits()
    result = verify_image(contents, params, 50, states=True)
    _assert_exact(result)
    assert result.cores == len(contents.cores) > 1 and result.reference_spikes > 0


def test_cli_verify_sizes_the_core_first(tmp_path, capsys):
    from nmcompiler.ir import save_network

    target = _tiny_sizing_target(tmp_path)
    net = save_network(_network(np.random.default_rng(305)), tmp_path / "net.npz")
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(net), "--target", str(target), "--levels", "float,int,rtl", "--steps", "40"])
    assert exc.value.code == 2 and "nmc compile --size" in capsys.readouterr().err  # over one 16-neuron core
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(net), "--target", str(target), "--size", "--levels", "float,int,rtl", "--steps", "40",
              "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert exc.value.code == 0 and doc["target"] == "fpga-tiny-sized" and doc["rtl_mismatches"] == 0
    assert doc["rtl"]["cores"] > 1 and doc["levels"][1]["spikes"] == doc["levels"][2]["spikes"] > 0


def test_cuba_on_its_sized_fpga_lif_chip():
    """nmc compile --size at full size: CUBA's sized fpga-lif chip (4 cores of 1024 neurons and
    4096 axons) runs the image exactly."""
    from nmcompiler.compiler import compile_sized
    from nmcompiler.rtl.chip import chip_memory_bits

    sizing, mapping, fx, report = compile_sized(load_network(EXAMPLES / "cuba.yaml"), load_target("fpga-lif"),
                                                chip_memory_bits)
    assert report.fits and (sizing.chosen.neurons, sizing.chosen.input_axons, report.cores_used) == (1024, 4096, 4)
    contents = build_contents(mapping, fx)
    result = verify_image(contents, CoreParams.of(sizing.target), 30)
    _assert_exact(result)
    assert result.cores == 4 and result.reference_spikes > 50


def _memory_arrays(verilog_text: str) -> dict[str, int]:
    """Bits of the memory arrays (``reg [W:0] name [D:0]``) of each module of a Verilog text."""
    out, module = {}, None
    for line in verilog_text.splitlines():
        if line.startswith("module "):
            module = line.split()[1].split("(")[0]
            out[module] = 0
        elif (m := re.match(r"\s*reg \[(\d+):0\] \S+ \[(\d+):0\];", line)) and module:
            out[module] += (int(m.group(1)) + 1) * (int(m.group(2)) + 1)
    return out


@pytest.mark.parametrize("cores", [1, 3])
def test_chip_memory_bits_are_the_memories_of_the_generated_verilog(small, cores):
    """The cost nmc compile --size minimizes is every memory array of the Verilog nmc rtl writes."""
    from nmcompiler.rtl.chip import chip_memory_bits
    from nmcompiler.rtl.runner import verilog

    target, params = small
    text = verilog(params if cores == 1 else ChipParams.of(params, cores), name="top")
    arrays = _memory_arrays(text)  # the core module (and its submodules) once, instantiated per core
    core = sum(bits for module, bits in arrays.items() if module.lstrip("\\").split(".")[0] == "top_core")
    total = sum(arrays.values()) + (cores - 1) * core
    assert total == chip_memory_bits(target, cores) > 0
