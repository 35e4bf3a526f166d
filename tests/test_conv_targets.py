"""CNNs on convolution cores (speck-like, issue 27): layers onto the chip's nine cores within every
memory, the image (kernels stored once) running bit for bit like the unmapped network, and bad
layers refused by name, resource and limit."""

from __future__ import annotations

import dataclasses
import gzip
import json

import nir
import numpy as np
import pytest

from conftest import NIR_PAPER, ROOT
from nmcompiler.compiler import compile_network
from nmcompiler import load_network
from nmcompiler.drc import check
from nmcompiler.ir import Connectivity
from nmcompiler.errors import ValidationError
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target

SPECK = load_target("speck-like")
GOLDEN = ROOT / "tests" / "golden" / "sinabs_dynapcnn"
OPTIONS = NirOptions.from_preset("sinabs", max_spikes=1)


def sinabs_cnn(name: str, tmp_path):
    """One of the CNNs Sinabs exported (tests/golden/frameworks/make_sinabs_dynapcnn.py)."""
    if name == "cnn_sinabs":
        if not (NIR_PAPER / "cnn_sinabs.nir").exists():
            pytest.skip("../shared/data/nir-paper not beside the checkout")
        return load_nir(NIR_PAPER / "cnn_sinabs.nir", OPTIONS)
    path = tmp_path / f"{name}.nir"
    path.write_bytes(gzip.decompress((GOLDEN / f"{name}.nir.gz").read_bytes()))
    return load_nir(path, OPTIONS)


def _drive(net, steps: int, per_channel: float, seed: int):
    src = net.sources[0]
    rng = np.random.default_rng(seed)
    k = int(src.size * per_channel)
    net.replace(dataclasses.replace(src, ids=rng.integers(0, src.size, k),
                                    times=rng.integers(0, steps - 8, k) * net.dt))
    return net


@pytest.mark.parametrize("target", ["speck-like", "loihi-like-conv"])
@pytest.mark.parametrize("name,per_channel", [("cnn_sinabs", 2.0), ("k3_pool2", 3.0), ("k7_stride2_pool4", 6.0),
                                              ("wide_map", 3.0), ("big_kernel", 3.0)])
def test_cnns_map_within_the_cores_and_the_image_runs_bit_for_bit(tmp_path, name, per_channel, target):
    net = _drive(sinabs_cnn(name, tmp_path), 30, per_channel, seed=1)
    target = load_target(target)
    if (name, target.name) == ("wide_map", "loihi-like-conv"):  # 16 x 32 x 32 inputs to one layer
        with pytest.raises(ValidationError, match="layer '3': reads 16384 input positions; a loihi-like-conv core "
                                                  "has 4096 input axons"):
            compile_network(net, target)
        return
    mapping, fx, report = compile_network(net, target)
    spec = target.convolution
    assert report.fits and report.cores_used <= len(spec.cores)
    cores = [p.core for p in mapping.layer_parts]
    assert len(set(cores)) == len(cores) and set(cores) <= set(range(len(spec.cores)))  # a part per chip core
    for part in mapping.layer_parts:  # every memory under its core's limit
        limit = spec.cores[part.core]
        assert part.memory.kernel_words <= limit.kernel_words and part.memory.neuron_words <= limit.neuron_words
        assert part.memory.bias_words <= limit.bias_words
    layers = {p.layer for p in mapping.layer_parts}
    assert layers == {p.name for p in net.populations}
    data = encode(build_contents(mapping, fx))
    back = decode(data)
    assert encode(back) == data and all(c.layer is not None and c.rows.size == 0 for c in back.cores)
    stored = sum(c.layer.kernel.size for c in back.cores)  # each kernel once, not a synapse per position
    assert stored < sum(q.mantissa.size for q in fx.projections.values())
    expected = BitAccurateSimulator(fx).run(30)
    got = BitAccurateSimulator(to_program(back)).run(30)
    counts = expected.spike_counts()
    assert all(n > 0 for n in counts.values()), counts  # every layer spikes: the comparison is not empty
    assert got.spike_counts() == counts
    for p in expected.spike_steps:
        assert np.array_equal(expected.spike_steps[p], got.spike_steps[p])
        assert np.array_equal(expected.spike_ids[p], got.spike_ids[p])


@pytest.mark.skipif(not (NIR_PAPER / "cnn_sinabs.nir").exists(), reason="../shared/data/nir-paper not beside the checkout")
def test_cnn_sinabs_on_loihi_like_conv_takes_fewer_cores_than_synapse_lists():
    net = load_nir(NIR_PAPER / "cnn_sinabs.nir", NirOptions(dt=1e-3))
    _, _, sparse = compile_network(net, load_target("loihi-like"))
    _, _, conv = compile_network(net, load_target("loihi-like-conv"))
    # the fewest cores 1024-neuron cores allow, a layer per core: what the kernels stored once leave to bound it
    fewest = sum(-(-p.size // load_target("loihi-like-conv").core.neurons) for p in net.populations)
    assert sparse.fits and conv.fits and conv.cores_used == fewest < sparse.cores_used
    assert conv.cores_lower_bound == 5  # one core per layer at least; the 1024-neuron cores split two layers 4 ways
    assert [u.part.memory.neuron_words for u in conv.layers if u.part.layer == "1"] == [1024] * 4


def test_a_layer_too_large_for_any_core_is_split_by_output_channels(tmp_path):
    net = sinabs_cnn("wide_map", tmp_path)  # 96 channels of 32 x 32 neurons: 96Ki neuron words
    mapping, _, report = compile_network(net, SPECK)
    parts = [p for p in mapping.layer_parts if p.layer == "3"]
    assert [p.channels for p in parts] == [(0, 48), (48, 96)] and report.fits
    assert all(SPECK.convolution.cores[p.core].neuron_words == 65536 for p in parts)
    assert report.layers[1].part.memory.neuron_words == 48 * 1024 and report.layers[1].limit.neuron_words == 65536
    assert report.to_json()["layers"][1]["neuron_words_limit"] == 65536


def _graph(tmp_path, *, pool=None, kernel=3, c_in=2, c_out=4, size=8, fan_out=1):
    """Input -> conv -> IF [-> pool] -> conv -> IF (x fan_out destination layers)."""
    rng = np.random.default_rng(0)
    nodes = {"in": nir.Input(input_type={"input": np.array([c_in, size, size])}),
             "c1": nir.Conv2d(input_shape=(size, size), weight=rng.normal(0, 1, (c_out, c_in, kernel, kernel)),
                              stride=1, padding=kernel // 2, dilation=1, groups=1, bias=np.zeros(c_out)),
             "n1": nir.IF(r=np.ones((c_out, size, size)), v_threshold=np.ones((c_out, size, size)))}
    edges = [("in", "c1"), ("c1", "n1")]
    prev, m = "n1", size
    if pool is not None:
        kind, k, s = pool
        nodes["p"] = kind(kernel_size=np.array([k, k]), stride=np.array([s, s]), padding=np.array([0, 0]))
        edges.append(("n1", "p"))
        prev, m = "p", (size - k) // s + 1
    for d in range(fan_out):
        nodes[f"c{d + 2}"] = nir.Conv2d(input_shape=(m, m), weight=rng.normal(0, 1, (3, c_out, 1, 1)), stride=1,
                                         padding=0, dilation=1, groups=1, bias=np.zeros(3))
        nodes[f"m{d}"] = nir.IF(r=np.ones((3, m, m)), v_threshold=np.ones((3, m, m)))
        edges += [(prev, f"c{d + 2}"), (f"c{d + 2}", f"m{d}")]
    path = tmp_path / "net.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    return path


@pytest.mark.parametrize("kwargs,expected", [
    (dict(c_in=1024, c_out=1, kernel=9, size=9),
     r"layer 'n1': one output channel takes 131072 kernel words, more than any speck-like core holds \(65536\)"),
    (dict(pool=(nir.AvgPool2d, 3, 3)), r"layer 'm0': pools 3x3; speck-like cores pool 1, 2, 4"),
    (dict(pool=(nir.SumPool2d, 2, 1)), r"layer 'm0': sum_pool with kernel \(2, 2\), stride \(1, 1\), padding \(0, 0\) "
                                       r"before its kernel: speck-like cores sum-pool square windows of 1, 2, 4"),
    (dict(fan_out=3), r"layer 'n1': sends to 3 layers \(m0, m1, m2\); a speck-like core sends to at most 2"),
    (dict(kernel=17, size=17), r"layer 'n1': kernel 17x17; speck-like cores take square kernels up to 16x16"),
])
def test_bad_layers_exit_2_naming_the_layer_the_resource_and_the_limit(tmp_path, run_nmc, kwargs, expected):
    path = _graph(tmp_path, **kwargs)
    out = tmp_path / "out"
    code, _, err = run_nmc("compile", path, "--target", "speck-like", "--dt", "1ms", "-o", out)
    assert code == 2 and "Traceback" not in err
    import re
    assert re.search(expected, err), err
    assert not out.exists()  # nothing written


def test_synapse_lists_become_dense_kernels_and_what_no_kernel_holds_is_refused(run_nmc, tmp_path):
    yaml_net = _drive(load_network(ROOT / "examples" / "digits" / "digits.yaml"), 60, 4.0, seed=2)  # synapse lists
    mapping, fx, report = compile_network(yaml_net, SPECK)
    assert report.fits and [u.part.memory.kernel_words for u in report.layers] == [64 * 32, 32 * 16]  # dense kernels
    program = to_program(decode(encode(build_contents(mapping, fx))))
    expected, got = BitAccurateSimulator(fx, backend="numpy").run(60), BitAccurateSimulator(program).run(60)
    assert expected.spike_counts() == got.spike_counts() and sum(got.spike_counts().values()) > 0
    multapse = load_network(ROOT / "examples" / "digits" / "digits.yaml")
    proj = next(p for p in multapse.projections if p.name == "hidden_out")
    c = proj.connectivity
    twice = Connectivity.from_coo(c.n_pre, c.n_post, np.r_[c.pre_indices(), 0], np.r_[c.indices, c.indices[0]],
                                  np.r_[c.synapse_weights(), 0.5])
    multapse.disconnect(proj.name)
    multapse.connect(proj.with_connectivity(twice))
    assert [str(v) for v in check(multapse, SPECK)] == [
        "layer 'out': projection(s) hidden_out are synapse lists that no kernel holds (over 16 Mi dense weights, or two "
        "synapses on one pair); speck-like cores store kernels: import the network from NIR (Conv2d, Linear)"]
    leaky = load_nir(ROOT / "examples" / "digits" / "digits_snntorch.nir", NirOptions.from_preset("snntorch"))
    assert [str(v) for v in check(leaky, SPECK)][0].startswith(
        "population '1' uses model 'lif', which speck-like does not support (it has if)")


def test_the_mapping_file_keeps_the_layer_parts(tmp_path):
    net = sinabs_cnn("k3_pool2", tmp_path)
    mapping, _, _ = compile_network(net, SPECK)
    mapping.save(tmp_path / "m.map.npz")
    again = type(mapping).load(tmp_path / "m.map.npz")
    assert again.layer_parts == mapping.layer_parts and again.target == mapping.target
    assert json.loads(json.dumps([p.to_json() for p in again.layer_parts]))[0]["core"] == mapping.layer_parts[0].core


def test_verify_runs_the_ladder_without_rtl_on_convolution_cores(tmp_path, run_nmc):
    path = _graph(tmp_path, pool=(nir.SumPool2d, 2, 2))
    spikes = (np.random.default_rng(0).random((20, 2 * 8 * 8)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "in.npy", spikes)
    code, out, err = run_nmc("verify", path, "--target", "speck-like", "--dt", "1ms", "--steps", "20", "--input",
                             f"in={tmp_path / 'in.npy'}", "--json")
    assert code == 0, err
    levels = {row["level"]: row for row in json.loads(out)["levels"]}
    assert set(levels) == {"float", "int"} and levels["int"]["spikes"] > 0
    code, _, err = run_nmc("compile", path, "--target", "speck-like", "--dt", "1ms", "-o", tmp_path / "c")
    assert code == 0, err
    code, out, err = run_nmc("verify", tmp_path / "c" / "net.nmc", "--steps", "20", "--input",
                             f"in={tmp_path / 'in.npy'}", "--json")
    assert code == 0, err
    assert [row["level"] for row in json.loads(out)["levels"]] == ["int"]
    assert json.loads(out)["levels"][0]["spikes"] == levels["int"]["spikes"]  # the image runs as the network does
