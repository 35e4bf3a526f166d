"""The RTL core reads TrueNorth-like crossbars (a row of bits per input axon, a weight per neuron
and axon type) from the same images the simulators run, bit for bit: the synfire chain on 9
truenorth-like cores (splitter neurons included), seeded random networks on a smaller
truenorth-like core (states compared every tick), and a flipped crossbar bit that must be found."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.image import build_contents, to_program
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.rtl.chip import ChipParams
from nmcompiler.rtl.load import chip_load
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.runner import build, run_chip
from nmcompiler.rtl.verify import differences, probe_all, source_events, verify_image
from test_rtl import _network

pytestmark = pytest.mark.rtl


def _compiled(net, target):
    mapping, fx, report = compile_network(net, target)
    assert report.fits, report.misfits
    return build_contents(mapping, fx), mapping.target


def test_synfire_on_nine_truenorth_like_cores():
    """1000 LIF neurons in 10 groups, all-to-all between groups, with the splitters that give each
    neuron its one output axon: the burst travels down the whole chain on the RTL as in the
    bit-accurate simulator."""
    contents, target = _compiled(load_network(EXAMPLES / "synfire.yaml"), load_target("truenorth-like"))
    assert len(contents.cores) == 9
    params = CoreParams.of(target)
    assert params.crossbar and params.layouts.width("syn") == 256 and params.axon_types == 4
    result = verify_image(contents, params, 400, load="files")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.reference_spikes == result.rtl_spikes > 10_000 and result.synops > 500_000
    ref = BitAccurateSimulator(probe_all(to_program(contents))).run(400)
    assert ref.spike_counts()["g9"] > 0  # the last group fired


@pytest.mark.parametrize("lanes", [1, 4])
@pytest.mark.parametrize("seed", range(3))
def test_random_networks_on_a_truenorth_like_core(seed, lanes):
    """Also on 4 lanes: each lane takes the lowest set bit among its bank's neurons."""
    target = load_target("truenorth-like")
    net = _network(np.random.default_rng(400 + seed), cuba=False, max_delay=3,
                   bounded=seed % 2 == 1)
    contents, mapped = _compiled(net, target)
    params = CoreParams.of(mapped, neurons=128, axons=256, lanes=lanes)
    result = verify_image(contents, params, 50, states=True, load="files" if seed % 2 else "port")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.reference_spikes == result.rtl_spikes > 0 and result.synops > 0


def test_a_flipped_crossbar_bit_is_found():
    target = load_target("truenorth-like")
    contents, mapped = _compiled(_network(np.random.default_rng(7), cuba=False, max_delay=3), target)
    params = CoreParams.of(mapped)
    chip = ChipParams.of(params, len(contents.cores))
    words = chip_load(contents, chip)
    prog = probe_all(to_program(contents))
    ref = BitAccurateSimulator(prog, backend="numpy").run(50)
    events = [[(c, a) for c, ld in enumerate(words.cores) for a in source_events(prog, ld, 50)[t]] for t in range(50)]
    b = build(chip, init=words)
    run = run_chip(b, words, events, 50, params.axon_bits, configure=False)
    assert not differences(prog, ref, run, words.cores, params) and len(run.spikes) > 0
    # every crossbar row of every core also reaches its neuron 0 (or no longer does)
    bad = dataclasses.replace(b, files=b.files | {
        path: "".join(f"{int(w, 16) ^ 1:064x}\n" for w in text.split())
        for path, text in b.files.items() if path.endswith("/syn.hex")})
    assert differences(prog, ref, run_chip(bad, words, events, 50, params.axon_bits, configure=False),
                       words.cores, params)
