"""The lowered synapse table kept as the fixed-point projections' own arrays (SynapsePieces):
it reads as the plain table, the compiled simulator's compact table made from the pieces is the
one made from the plain table, and a compiled run never builds the plain table."""

import dataclasses

import numpy as np
import pytest

from nmcompiler.datapath import load_format
from nmcompiler.ir import Connectivity, CubaLIF, Network, PoissonSource, Population, Probe, Projection
from nmcompiler.lowered import (SynapsePieces, incoming_reach, incoming_weight, program_from_fixed_point,
                                weight_range)
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.rows import compact_rows


def _net(uniform_delay: bool, spread: bool = False) -> Network:
    """Two populations of two receptors; projections of one weight (a zero-stride mantissa after
    quantization), of a weight per synapse, with one delay or a delay each, and a Poisson drive.
    With ``spread``, projection a_a holds its one weight once per synapse."""
    rng = np.random.default_rng(3)
    net = Network("pieces", dt=1e-3, seed=4)
    model = CubaLIF(tau_mem=0.02, tau_syn=[0.005, 0.01], receptor_names=("exc", "inh"), v_threshold=1.0)
    net.add(Population(name="a", size=90, model=model))
    net.add(Population(name="b", size=60, model=model))
    net.add(PoissonSource(name="drive", size=30, rate=300.0))

    def conn(n_pre, n_post, weights, p=0.15):
        pre, post = np.nonzero(rng.random((n_pre, n_post)) < p)
        w = weights(pre.size) if callable(weights) else weights
        d = 2 if uniform_delay else rng.integers(1, 6, pre.size)
        return Connectivity.from_coo(n_pre, n_post, pre, post, w, d)

    one_weight = (lambda k: np.full(k, 0.12)) if spread else 0.12
    for name, pre, post, receptor, w in [
        ("drive_a", "drive", "a", "exc", 0.6), ("drive_b", "drive", "b", "exc", 0.5),
        ("a_b", "a", "b", "exc", lambda k: rng.uniform(0.05, 0.4, k)), ("a_a", "a", "a", "exc", one_weight),
        ("b_a", "b", "a", "inh", -0.3), ("b_b", "b", "b", "inh", lambda k: -rng.uniform(0.0, 0.3, k))]:
        net.connect(Projection(name=name, pre=pre, post=post, receptor=receptor,
                               connectivity=conn(net.node(pre).size, net.node(post).size, w)))
    net.probes = [Probe(target="a"), Probe(target="b"), Probe(target="b", variable="v", neurons=[0, 59])]
    return net


@pytest.mark.parametrize("uniform_delay", [True, False])
def test_pieces_read_as_the_plain_table(uniform_delay):
    fx = Quantize(fmt=load_format("fpga-lif")).run(_net(uniform_delay))
    assert fx.projections["a_a"].mantissa.strides == (0,)  # one weight: one mantissa, not one per synapse
    assert fx.projections["a_b"].mantissa.strides != (0,)
    pieces = program_from_fixed_point(fx).synapses
    assert isinstance(pieces, SynapsePieces) and len(pieces.pieces) == 6
    indptr, max_delay, lo_hi = pieces.indptr, pieces.max_delay, weight_range(pieces)
    size = 2 * 150
    reach = incoming_reach(pieces, 0, size)
    assert "table" not in pieces.__dict__  # none of these built the plain table
    delay = pieces.delay  # one number, or the plain table's delays (built now)
    assert ("table" in pieces.__dict__) != uniform_delay
    table = pieces.table
    np.testing.assert_array_equal(indptr, table.indptr)
    np.testing.assert_array_equal(delay, table.delay)
    assert max_delay == table.max_delay and pieces.nnz == table.nnz > 1000
    assert (delay.ndim == 0) == uniform_delay
    assert lo_hi == (int(table.weight.min()), int(table.weight.max())) and lo_hi[0] < 0 < lo_hi[1]
    np.testing.assert_array_equal(reach, incoming_weight(table.target, table.weight, 0, size))
    bounds = np.array([0, 70, 150])
    for block in (40, 1 << 16):
        got = compact_rows(pieces, 150, 2, bounds, block, weight_type=np.int32)
        want = compact_rows(table, 150, 2, bounds, block, weight_type=np.int32)
        for name, a, b in zip(got._fields, got, want):
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b), (block, name)
            else:
                assert a == b, (block, name)


def test_one_weight_quantizes_as_a_weight_per_synapse():
    """A projection of one weight gets the mantissa, exponent and report of the same weight
    written once per synapse."""
    one, each = (Quantize(fmt=load_format("fpga-lif")).run(x) for x in (_net(True), _net(True, spread=True)))
    assert one.projections["a_a"].mantissa.strides == (0,) and each.projections["a_a"].mantissa.strides != (0,)
    for name in one.projections:
        np.testing.assert_array_equal(one.projections[name].mantissa, each.projections[name].mantissa)
        assert one.projections[name].exponent == each.projections[name].exponent
    assert one.report == each.report


@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_run_reads_the_pieces_only(threads):
    fx = Quantize(fmt=load_format("fpga-lif")).run(_net(False))
    prog = program_from_fixed_point(fx)
    got = BitAccurateSimulator(prog, threads=threads).run(200)
    assert "table" not in prog.synapses.__dict__
    plain = dataclasses.replace(prog, synapses=program_from_fixed_point(fx).synapses.table)
    want = BitAccurateSimulator(plain, threads=threads).run(200)
    ref = BitAccurateSimulator(prog, backend="numpy").run(200)  # the numpy path reads the plain table
    assert got.synaptic_events == want.synaptic_events == ref.synaptic_events > 1000
    for pop in ("a", "b"):
        assert got.spike_ids[pop].size > 50
        for r in (want, ref):
            np.testing.assert_array_equal(got.spike_steps[pop], r.spike_steps[pop])
            np.testing.assert_array_equal(got.spike_ids[pop], r.spike_ids[pop])
    np.testing.assert_array_equal(got.traces["b.v"].values, ref.traces["b.v"].values)


def test_values_keep_one_value_once():
    from nmcompiler.arrays import one_value, values

    one = np.broadcast_to(np.int16(7), (1000,))
    assert one_value(one) and one_value(np.array(3)) and not one_value(np.arange(3)) and not one_value(np.ones(1))
    assert values(one).tolist() == [7] and values(np.array(3)).tolist() == [3]
    each = np.arange(10)[::2]
    got = values(each)
    assert got.flags.c_contiguous and got.tolist() == [0, 2, 4, 6, 8]


def test_image_of_one_weight_is_the_image_of_that_weight_per_synapse():
    """The image builder keeps a projection's one mantissa once (no copy per synapse) and writes
    the same image bytes as for the weight written per synapse."""
    from nmcompiler.compiler import compile_network
    from nmcompiler.image import build_contents, encode
    from nmcompiler.targets import load_target

    images = []
    for spread in (False, True):
        mapping, fx, report = compile_network(_net(True, spread=spread), load_target("loihi-like"),
                                              partitioner="index-order")
        assert report.fits and (fx.projections["a_a"].mantissa.strides == (0,)) != spread
        images.append(encode(build_contents(mapping, fx)))
    assert images[0] == images[1] and len(images[0]) > 1000


def test_counts_equal_numpy_bincount():
    from nmcompiler.arrays import counts

    rng = np.random.default_rng(3)
    for dtype in (np.int32, np.int64):
        x = rng.integers(0, 977, size=20_000).astype(dtype)
        got, want = counts(x, 1000), np.bincount(x, minlength=1000)
        assert got.dtype == want.dtype and np.array_equal(got, want) and got[977:].sum() == 0
        assert np.array_equal(counts(x[::3], 1000), np.bincount(x[::3], minlength=1000))  # a strided view
    assert np.array_equal(counts(np.zeros(0, dtype=np.int32), 4), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="2 indices outside"):
        counts(np.array([0, 4, -1, 3]), 4)
