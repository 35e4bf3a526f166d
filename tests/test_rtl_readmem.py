"""Image-initialized designs read their memories from ``$readmemh`` files (rtl/readmem.py): the
Verilog is the empty design plus one read per memory, the same for every image of a parameter set,
and the run depends on the files (a changed word changes the spikes)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.image import build_contents, to_program
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.rtl.chip import ChipParams
from nmcompiler.rtl.load import chip_load, core_load
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.readmem import FILE_MEMORIES, memory_files
from nmcompiler.rtl.runner import _simulation_verilog, build, readmem_verilog, run_core
from nmcompiler.rtl.verify import differences, probe_all, source_events, verify_image

pytestmark = pytest.mark.rtl


def _contents(net, target, mapped=None):
    mapping, fx, report = compile_network(net, target, partitioner="index-order")
    assert report.fits, report.misfits
    return build_contents(mapping, fx) if mapped is None else (build_contents(mapping, fx), mapping.target)


@pytest.fixture(scope="module")
def fpga():
    target = load_target("fpga-lif")
    return target, CoreParams.of(target)


def test_the_verilog_reads_files_and_does_not_depend_on_the_image(fpga):
    target, params = fpga
    texts = []
    for name in ("mlp.yaml", "single_lif.yaml"):
        contents = _contents(load_network(EXAMPLES / name), target)
        load = core_load(contents.cores[0], params)
        texts.append(readmem_verilog(params, load, "nmc_core_c0"))
        files = memory_files(load, params.layouts)
        assert sorted(files) == sorted(f"core0/{m}.hex" for m in (*FILE_MEMORIES, "ctrl"))
        syn = files["core0/syn.hex"].split()
        assert [int(w, 16) for w in syn] == load.memories["syn"] and len(syn) > 0
    assert texts[0] == texts[1]
    text = texts[0]
    reads = re.findall(r'\$readmemh\(\{INIT, "(\w+)\.hex"\}', text)
    assert sorted(reads) == sorted((*FILE_MEMORIES, "ctrl"))
    assert 'parameter INIT = "core0/";' in text
    # no word-by-word initial content: the whole 256-neuron core is a few thousand lines
    assert not re.search(r"^\s+\w+\[\d+\] = ", text, re.M) and text.count("\n") < 5000


def test_only_all_zero_memories_lose_their_initial_content():
    """Amaranth writes every memory's initial words; the simulation Verilog keeps a memory's
    only when one of them is not zero."""
    from amaranth.hdl import Module
    from amaranth.lib import memory, wiring
    from amaranth.lib.wiring import In, Out

    class Two(wiring.Component):
        def __init__(self):
            super().__init__({"addr": In(2), "zeros": Out(8), "words": Out(8)})

        def elaborate(self, platform):
            m = Module()
            for name, init in (("zeros", []), ("words", [0, 0x5A, 0, 0])):
                m.submodules[name] = mem = memory.Memory(shape=8, depth=4, init=init)
                port = mem.read_port()
                m.d.comb += [port.addr.eq(self.addr), getattr(self, name).eq(port.data)]
            return m

    text = _simulation_verilog(Two(), "two")
    assert re.findall(r"^\s+\\(\w+)\$\d+ \[(\d+)\] = 8'h(\w+);", text, re.M) == [
        ("words", "0", "00"), ("words", "1", "5a"), ("words", "2", "00"), ("words", "3", "00")]


def test_a_changed_word_in_a_file_changes_the_run(fpga):
    """The run depends on the files: flipping the weight bits of every synapse entry of syn.hex
    changes the spikes (the same design with the true files is exact)."""
    target, params = fpga
    contents = _contents(load_network(EXAMPLES / "mlp.yaml"), target)
    load = core_load(contents.cores[0], params)
    prog = probe_all(to_program(contents))
    ref = BitAccurateSimulator(prog, backend="numpy").run(40)
    events = source_events(prog, load, 40)
    b = build(params, init=load)
    run = run_core(b, load, events, 40, configure=False)
    assert not differences(prog, ref, run, (load,), params) and len(run.spikes) > 0
    f = params.fields
    top = 1 << (f.index + f.delay + f.channel + f.weight - 1)  # the weight's sign bit
    flipped = "".join(f"{int(w, 16) ^ top:x}\n" for w in b.files["core0/syn.hex"].split())
    bad = dataclasses.replace(b, files=b.files | {"core0/syn.hex": flipped})
    assert differences(prog, ref, run_core(bad, load, events, 40, configure=False), (load,), params)


def test_cuba_on_an_eight_core_loihi_like_chip_from_its_files():
    """A full-size image-initialized chip: CUBA's 4000 two-receptor neurons on 8 loihi-like cores
    (1024 neuron slots, 4096 axons, 43,690 synapse entries each) and the router, every memory read
    from its file. With one initial statement per word, gcc did not finish its build in 14 minutes;
    here Verilog, build and run take about half a minute."""
    net = load_network(EXAMPLES / "cuba.yaml")
    contents, target = _contents(net, load_target("loihi-like"), mapped=True)  # two receptors: two channels
    assert len(contents.cores) == 8
    params = CoreParams.of(target)
    words = chip_load(contents, ChipParams.of(params, 8))
    assert sum(len(ld.memories["syn"]) for ld in words.cores) > 100_000
    result = verify_image(contents, params, 30, load="files")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.cores == 8 and result.reference_spikes == result.rtl_spikes > 50


def test_a_core_that_learns_cannot_be_verified_from_files(fpga):
    _, params = fpga
    learning = dataclasses.replace(params, learning=object())
    with pytest.raises(ValueError, match="learning engine"):
        verify_image(None, learning, 10, load="files")
