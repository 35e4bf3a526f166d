"""Configuration images of partial-sum mappings (format version 2): the compartments and their
message rows are in the image, simulating the image gives the unmapped network's spikes, and an
image whose compartment tables contradict each other is refused."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_partial_sums import _network, _same_spikes, _target, cli_compile

from nmcompiler.cli.main import cli
from nmcompiler.errors import UserError
from nmcompiler.image import build_contents, decode, encode, read_header, to_program
from nmcompiler.image.codec import ImageError
from nmcompiler.compiler import compile_network
from nmcompiler.sim.mapped import compartment_program, simulate_partial_sums
from nmcompiler.sim.bit_sim import BitAccurateSimulator


def _compiled(tmp_path, readout: bool = False, neurons: int = 16):
    target = _target(tmp_path, neurons=neurons, name=f"tiny-{neurons}")
    mapping, fx, report = compile_network(_network(readout=readout), target)
    assert report.fits and mapping.partial_sums is not None
    return mapping, fx, report


@pytest.mark.parametrize("readout", [False, True])
def test_image_of_a_partial_sum_mapping_spikes_as_the_unmapped_network(tmp_path, readout):
    mapping, fx, _ = _compiled(tmp_path, readout=readout)
    ps = mapping.partial_sums
    data = encode(build_contents(mapping, fx))
    header, entries = read_header(data)
    assert header["format_version"] == 2
    assert sum(e.kind == "compartments" for e in entries) == ps.cores - ps.first_core - ps.soma_cores
    contents = decode(data)
    assert sum(c.compartments.size for c in contents.cores) == ps.compartments
    for c in contents.cores:  # compartments take the slots after the core's neurons
        assert c.neurons.size + c.compartments.size == mapping.usage.neurons[c.core]
        assert np.all(np.diff(c.compartments["id"].astype(np.int64)) > 0)
    prog = to_program(contents)
    assert prog.compartments is not None and prog.compartments.payload_bits == mapping.target.core.partial_sum_bits
    expected = compartment_program(fx, ps, mapping.target.core.partial_sum_bits)
    np.testing.assert_array_equal(prog.compartments.target, expected.compartments.target)
    reference = BitAccurateSimulator(fx).run(300)
    from_image = BitAccurateSimulator(prog).run(300, count_saturation=True)
    assert sum(reference.spike_counts().values()) > 500
    _same_spikes(reference, from_image)
    mapped = simulate_partial_sums(fx, ps, mapping.target.core.partial_sum_bits, 300)
    _same_spikes(mapped, from_image)
    assert all(v["payload"] == 0 for v in from_image.saturation.values())
    assert from_image.synaptic_events == mapped.synaptic_events  # the image holds every synapse


def test_images_without_compartments_stay_version_1(tmp_path):
    target = _target(tmp_path, graded=False, name="tiny-spikes", neurons=64)
    from nmcompiler.ir import Network, PoissonSource, Population, Projection, Connectivity, CubaLIF

    net = Network("small", dt=1e-3, seed=1)
    net.add(Population(name="a", size=20, model=CubaLIF(tau_mem=20e-3, tau_syn=5e-3, v_leak=0.0, v_threshold=1.0,
                                                          v_reset=0.0, refractory=0.0, r=1.0)))
    net.add(PoissonSource(name="in", size=10, rate=50.0))
    i, j = np.divmod(np.arange(200), 20)
    net.connect(Projection(name="p", pre="in", post="a", connectivity=Connectivity.from_coo(10, 20, i, j, 0.3, 1)))
    mapping, fx, report = compile_network(net, target)
    assert report.fits and mapping.partial_sums is None
    data = encode(build_contents(mapping, fx))
    assert read_header(data)[0]["format_version"] == 1
    assert all(e.kind != "compartments" for e in read_header(data)[1])


def _replace_core(contents, index, **changes):
    cores = list(contents.cores)
    cores[index] = dataclasses.replace(cores[index], **changes)
    return dataclasses.replace(contents, cores=tuple(cores))


def test_inconsistent_compartment_tables_are_refused(tmp_path):
    mapping, fx, _ = _compiled(tmp_path)
    contents = build_contents(mapping, fx)
    k = next(i for i, c in enumerate(contents.cores) if c.compartments.size)
    comps = contents.cores[k].compartments.copy()
    comps["neuron"][0] = (comps["neuron"][0] + 1) % fx.network.node("a").size
    with pytest.raises(UserError, match="record names target"):
        to_program(_replace_core(contents, k, compartments=comps))
    with pytest.raises(UserError, match="compartments"):  # meta's count disagrees with the tables
        to_program(_replace_core(contents, k, compartments=comps[1:]))
    # a message row with weight 2 is not what the compartments' rows may hold
    soma = next(i for i, c in enumerate(contents.cores) if (c.rows["source"] >= contents.meta["presynaptic"]).any())
    core = contents.cores[soma]
    row = int(np.flatnonzero(core.rows["source"] >= contents.meta["presynaptic"])[0])
    syn = core.synapses.copy()
    f = contents.meta["synapse_fields"]
    syn[core.rows["start"][row]] += np.uint32(1 << (f["index"] + f["delay"] + f["channel"]))
    with pytest.raises(UserError, match="weight 1"):
        to_program(_replace_core(contents, soma, synapses=syn))


def test_a_version_1_image_may_not_hold_compartments(tmp_path):
    mapping, fx, _ = _compiled(tmp_path)
    data = bytearray(encode(build_contents(mapping, fx)))
    data[8] = 1  # version 1, then fix the checksums so only the version speaks
    import hashlib
    import struct
    import zlib

    from nmcompiler.image.codec import ENTRY, HEADER, TRAILER

    count = struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", data, 56, 0)
    struct.pack_into("<I", data, 56, zlib.crc32(bytes(data[:HEADER.size + count * ENTRY.size])))
    data[-TRAILER:] = hashlib.sha256(bytes(data[:-TRAILER])).digest()
    with pytest.raises(ImageError, match="section .* corrupted"):
        decode(bytes(data))


def test_cli_compile_writes_an_image_that_nmc_simulate_runs(tmp_path):
    res, out, target, net = cli_compile(tmp_path, "--json")
    doc = json.loads(res.stdout)
    assert doc["partitioner"] == "partial-sums" and doc["fits"] and doc["image"]["file"] == "rnd.nmc"
    assert any(s["kind"] == "compartments" for s in doc["image"]["memory_map"])
    res = CliRunner().invoke(cli, ["inspect", str(out / "rnd.nmc"), "--json"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["simulate", str(out / "rnd.nmc"), "--steps", "200", "-o", str(out / "sim"),
                                   "--json"])
    assert res.exit_code == 0, res.output
    from nmcompiler.passes import Quantize

    reference = BitAccurateSimulator(Quantize(fmt=target.format).run(net)).run(200)
    doc = json.loads(res.stdout)
    assert "partial-sum compartments" in doc["simulator"]
    with np.load(out / "sim" / "spikes.npz") as z:
        for pop in ("a", "b"):
            assert doc["populations"][pop]["spikes"] == reference.spike_ids[pop].size > 0
            np.testing.assert_array_equal(z[f"{pop}/steps"], reference.spike_steps[pop])
            np.testing.assert_array_equal(z[f"{pop}/ids"], reference.spike_ids[pop])


def test_cli_compile_no_image_writes_the_mapping_only(tmp_path):
    res, out, _, _ = cli_compile(tmp_path, "--no-image")
    assert "no configuration image" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["nmc-manifest.json", "rnd.map.json", "rnd.map.npz",
                                                    "rnd.placement.png"]
    assert json.loads((out / "rnd.map.json").read_text())["image"] is None


def test_image_bytes_do_not_depend_on_the_batch_size(tmp_path):
    """The builder places synapses a batch of cores at a time; batches of a few hundred synapses
    (dozens of batches) give the same bytes as one batch: a partial-sum mapping with direct
    synapses too (the readout population), a sparse and a crossbar target."""
    from conftest import EXAMPLES

    from nmcompiler import load_network
    from nmcompiler.targets import load_target

    mapping, fx, _ = _compiled(tmp_path, readout=True)
    cases = [(mapping, fx)]
    for example, target in (("synfire.yaml", "spinnaker-like"), ("synfire.yaml", "truenorth-like")):
        m, f, report = compile_network(load_network(EXAMPLES / example), load_target(target))
        assert report.fits and m.cores_used > 1
        cases.append((m, f))
    for m, f in cases:
        assert encode(build_contents(m, f, batch_synapses=300)) == encode(build_contents(m, f, batch_synapses=1 << 30))


def test_image_bytes_do_not_depend_on_the_threads_that_fill_batches(tmp_path):
    """Projections are placed into a batch by several threads, each at its own offsets."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only here")
    mapping, fx, _ = _compiled(tmp_path, readout=True)
    threads, images = numba.get_num_threads(), []
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            images.append(encode(build_contents(mapping, fx, batch_synapses=500)))
    finally:
        numba.set_num_threads(threads)
    assert len(fx.projections) > 2 and images[0] == images[1]
