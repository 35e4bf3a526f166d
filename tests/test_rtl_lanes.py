"""Synapse lanes (docs/rtl.md, "Synapse lanes"): a core of N lanes runs the same image as the one-lane core,
bit for bit, and takes the cycles the arbitration promises.

The random, directed and multi-core suites of ``test_rtl.py`` run on 1, 2 and 4 lanes; here the
lane-specific edge cases (every lane on one neuron, every lane on one bank, a row of consecutive
neurons), the other layouts and engines (word32, partial sums, learning), the files of an
image-initialized chip, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.errors import UserError
from nmcompiler.image import build_contents
from nmcompiler.ir import IF, Connectivity, Network, Population, Projection, SpikeSource
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.verify import verify_image
from nmcompiler.targets import load_target
from test_rtl import _image, _network

pytestmark = pytest.mark.rtl

TICKS = 20


def _bank(j: int, lanes: int, local_bits: int) -> int:
    """The bank the docs give neuron ``j`` (the XOR of its pieces of log2(lanes) bits)."""
    lb, out = (lanes - 1).bit_length(), 0
    for at in range(0, local_bits, lb):
        out ^= (j >> at) & (lanes - 1)
    return out


def _one_row(target, post: list[int], delay: int | None = None) -> object:
    """One source spiking every tick into a row onto ``post`` (repeats are multapses)."""
    net = Network("row", dt=1e-3, seed=1)
    net.add(SpikeSource(name="in", size=1, ids=np.zeros(TICKS, int), times=np.arange(TICKS) * 1e-3))
    net.add(Population(name="p", size=64, model=IF(v_threshold=1.0)))
    post = np.asarray(post)
    delays = np.full(post.size, delay) if delay else 1 + np.arange(post.size) % 3
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(
        1, 64, np.zeros(post.size, int), post, np.full(post.size, 0.15), delays)))
    return _image(net, target)


def _event_cycles(contents, target, lanes: int) -> int:
    res = verify_image(contents, CoreParams.of(target, lanes=lanes), TICKS, states=True)
    assert res.mismatches == 0, f"{lanes} lanes, first divergence: {res.first_divergence}"
    assert res.synops > 0 and res.reference_spikes == res.rtl_spikes > 0
    return sum(res.event_cycles)


@pytest.fixture(scope="module")
def fpga():
    return load_target("fpga-lif")


def test_a_row_of_consecutive_neurons_takes_one_cycle_per_group(fpga):
    """32 neurons in a row of one delay: N synapses per cycle, nothing waits."""
    contents = _one_row(fpga, list(range(32)), delay=1)
    one = _event_cycles(contents, fpga, 1)
    overhead = one - 32 * TICKS  # per event: the axon and row reads and the pipeline's drain
    assert overhead < 8 * TICKS
    for lanes in (2, 4, 8):
        assert _event_cycles(contents, fpga, lanes) == overhead + 32 // lanes * TICKS


def test_every_lane_on_one_neuron_is_served_one_per_cycle(fpga):
    """16 multapses onto one neuron: every lane waits for the same bank, one synapse per cycle, the
    same sum."""
    contents = _one_row(fpga, [5] * 16)
    one = _event_cycles(contents, fpga, 1)
    for lanes in (2, 4):
        assert _event_cycles(contents, fpga, lanes) == one


def test_every_lane_on_one_bank_is_served_one_per_cycle(fpga):
    """Distinct neurons that share one bank at 2 and at 4 lanes (several of them twice)."""
    same = [j for j in range(64) if _bank(j, 2, 8) == 0 and _bank(j, 4, 8) == 0][:6]
    assert len(same) == 6
    contents = _one_row(fpga, same * 2, delay=2)
    one = _event_cycles(contents, fpga, 1)
    for lanes in (2, 4):
        assert _event_cycles(contents, fpga, lanes) == one


def test_lanes_on_word32_rows_and_from_files():
    target = load_target("spinnaker-like")
    params = CoreParams.of(target, neurons=128, axons=256, entries=4096, lanes=4)
    net = _network(np.random.default_rng(311), max_delay=int(target.format.delay_max))
    result = verify_image(_image(net, target), params, 50, states=True, load="files")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.reference_spikes == result.rtl_spikes > 0 and result.synops > 0


def test_cuba_on_eight_loihi_like_cores_of_four_lanes_from_files():
    net = load_network(EXAMPLES / "cuba.yaml")
    mapping, fx, report = compile_network(net, load_target("loihi-like"), partitioner="index-order")
    assert report.fits, report.misfits
    contents = build_contents(mapping, fx)
    result = verify_image(contents, CoreParams.of(mapping.target, lanes=4), 30, load="files")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.cores == 8 and result.reference_spikes == result.rtl_spikes > 50


def test_learning_cores_with_lanes():
    from test_rtl_learning import _assert_learned_exactly, _image as learn_image, _network as learn_network, _target

    target = _target("stochastic")
    params = CoreParams.of(target, neurons=32, axons=1024, entries=2048, learn=True, learn_units=2,
                           plastic_rows=1024, plastic_entries=2048, lanes=2)
    image = learn_image(learn_network(3, None, True), target, 2)
    _assert_learned_exactly(verify_image(image, params, 300, states=True))


@pytest.mark.parametrize("lanes,message", [(3, "1, 2, 4, 8"), (16, "1, 2, 4, 8")])
def test_a_lane_count_the_core_cannot_have_is_refused(fpga, lanes, message):
    with pytest.raises(UserError, match=message):
        CoreParams.of(fpga, lanes=lanes)


def test_lanes_need_a_neuron_per_bank(fpga):
    with pytest.raises(UserError, match="at most 4 lanes"):
        CoreParams.of(fpga, neurons=4, lanes=8)


def test_cli_writes_and_verifies_a_core_of_lanes(tmp_path, run_nmc):
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "fpga-lif", "-o", tmp_path / "c")
    assert code == 0, err
    image = tmp_path / "c" / "mlp.nmc"
    code, out, err = run_nmc("rtl", image, "-o", tmp_path / "one", "--json")
    assert code == 0, err
    code, out, err = run_nmc("rtl", image, "-o", tmp_path / "two", "--lanes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["params"]["lanes"] == 2
    one = (tmp_path / "one" / "core0" / "syn.hex").read_text().split()
    two = (tmp_path / "two" / "core0" / "syn.hex").read_text().split()
    width = CoreParams.of(load_target("fpga-lif")).layouts.width("syn")
    assert len(two) == (len(one) + 1) // 2
    for g, word in enumerate(two):  # entries 2g and 2g + 1 in lanes 0 (the low bits) and 1
        pair = [int(w, 16) for w in one[2 * g:2 * g + 2]]
        assert int(word, 16) == sum(w << (k * width) for k, w in enumerate(pair))
    code, out, err = run_nmc("verify", image, "--levels", "int,rtl", "--lanes", "2", "--steps", "40", "--json")
    assert code == 0, err
    rtl = next(level for level in json.loads(out)["levels"] if level["level"] == "rtl")
    assert rtl["mismatches"] == 0 and rtl["spikes"] > 0
    code, _, err = run_nmc("rtl", image, "-o", tmp_path / "three", "--lanes", "3")
    assert code == 2 and "1, 2, 4, 8" in err and not (tmp_path / "three").exists()
