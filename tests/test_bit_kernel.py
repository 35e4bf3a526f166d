"""The compiled kernel of the bit-accurate simulator against its numpy path (which the datapath
tests check against the plain per-neuron reference): every decay kind and rounding, the int32 and
int64 arithmetic, uniform and mixed parameter segments, in pieces of ticks, and one to three neuron
chunks on numba's threads."""

import dataclasses

import numpy as np
import pytest

from nmcompiler.datapath import load_format
from nmcompiler.ir import LIF, Connectivity, CubaLIF, Network, PoissonSource, Population, Probe, Projection, SpikeSource
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator, _narrow_state, _segments


def _mixed_net(current: bool) -> Network:
    """A uniform population, one with per-neuron time constants and thresholds, and one whose
    first 35 neurons share parameters and whose last 10 differ from each other."""
    rng = np.random.default_rng(11)
    net = Network("mixed", dt=1e-3)
    times = np.sort(rng.integers(0, 300, 900))
    net.add(SpikeSource(name="in", size=30, ids=rng.integers(0, 30, times.size), times=times * 1e-3))

    def model(tau, th, **kw):
        if current:
            return CubaLIF(tau_mem=tau, tau_syn=[0.004], v_threshold=th, **kw)
        return LIF(tau_mem=tau, v_threshold=th, **kw)

    pops = [
        net.add(Population(name="u", size=70, model=model(0.02, 1.0, refractory=2e-3))),
        net.add(Population(name="h", size=50, model=model(rng.uniform(0.005, 0.05, 50), rng.uniform(0.6, 1.4, 50),
                                                           reset="subtract"))),
        net.add(Population(name="m", size=45, model=model(np.r_[np.full(35, 0.01), rng.uniform(0.005, 0.05, 10)],
                                                           0.9, refractory=1e-3))),
    ]
    for post in pops:
        for pre in ["in"] + [p.name for p in pops]:
            n_pre = net.node(pre).size
            pi, qi = np.nonzero(rng.random((n_pre, post.size)) < (0.25 if pre == "in" else 0.08))
            # the source's rows share one delay (one ring slot per row), the neurons' rows mix delays
            delay = np.full(pi.size, 3) if pre == "in" else rng.integers(1, 9, pi.size)
            conn = Connectivity.from_coo(n_pre, post.size, pi, qi, rng.normal(0.35, 0.5, pi.size), delay)
            net.connect(Projection(name=f"{pre}_{post.name}", pre=pre, post=post.name,
                                   receptor="syn" if current else None, connectivity=conn))
    net.probes = [Probe(target=p.name) for p in pops] + [
        Probe(target="h", variable="v", neurons=[0, 17, 49]), Probe(target="m", variable="v", neurons=[34, 35, 44])]
    if current:
        net.probes.append(Probe(target="u", variable="i", neurons=[0, 69]))
    return net


CASES = [
    ("fpga-lif", {}, True),
    ("fpga-lif", {"rounding": "floor"}, True),
    ("fpga-lif", {"rounding": "zero", "compare": ">="}, True),
    ("fpga-lif", {"decay": "shift"}, True),
    ("fpga-lif", {"decay": "shift", "rounding": "zero"}, True),
    ("fpga-lif", {"v_bits": 31, "i_bits": 31, "acc_bits": 32}, False),  # int64 arithmetic
    ("fpga-lif", {"v_bits": 31, "i_bits": 31, "acc_bits": 32, "rounding": "zero", "decay": "shift"}, False),
    ("loihi-like", {}, True),
    ("spinnaker-like", {}, False),
    ("truenorth-like", {}, True),
    ("truenorth-like", {"v_bits": 31, "acc_bits": 31}, False),
]


# numba's threads for one format of each decay kind and both widths (each case compiles a kernel of
# its own, and a threaded one again: the chunking they test does not depend on the format)
THREADED = {0, 3, 5, 9}


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{t}-{o}" for t, o, _ in CASES])
def test_kernel_equals_numpy_path(case):
    target, over, narrow = CASES[case]
    fmt = dataclasses.replace(load_format(target), **over)
    assert _narrow_state(fmt, fmt.receptors) == narrow  # the arithmetic this case exercises
    fx = Quantize(fmt=fmt).run(_mixed_net(current=fmt.has_current))
    ref = BitAccurateSimulator(fx, backend="numpy").run(300)
    assert all(c > 20 for c in ref.spike_counts().values()), ref.spike_counts()
    runs = ((1, None), (1, 7)) + (((2, 7), (3, 64)) if case in THREADED else ())
    for threads, piece in runs:  # pieces of 7 ticks: delays of up to 8 span them
        got = BitAccurateSimulator(fx, backend="numba", threads=threads, piece_steps=piece).run(300)
        assert got.synaptic_events == ref.synaptic_events
        for pop in ref.spike_steps:
            assert np.array_equal(got.spike_steps[pop], ref.spike_steps[pop]), (threads, pop)
            assert np.array_equal(got.spike_ids[pop], ref.spike_ids[pop]), (threads, pop)
        for label in ref.traces:
            assert np.array_equal(got.traces[label].values, ref.traces[label].values), (threads, label)


def test_poisson_inputs_drawn_ahead_give_the_numpy_paths_spikes():
    """The kernel runs while a worker thread draws the next piece's Poisson spikes (one rate for
    all channels on the grid, per-channel rates, a window): the spikes are those of the numpy
    path, which draws tick by tick, for every piece length."""
    net = _mixed_net(current=True)
    net.add(PoissonSource(name="pg", size=60, rate=150.0))
    net.add(PoissonSource(name="pm", size=6, rate=[50.0, 0.0, 400.0, 80.0, 200.0, 10.0], start=0.05, stop=0.25))
    rng = np.random.default_rng(5)
    for src in ("pg", "pm"):
        n_pre = net.node(src).size
        pi, qi = np.nonzero(rng.random((n_pre, 70)) < 0.3)
        net.connect(Projection(name=f"{src}_u", pre=src, post="u", receptor="syn",
                               connectivity=Connectivity.from_coo(n_pre, 70, pi, qi, 0.3, 2)))
    fx = Quantize(fmt=load_format("fpga-lif")).run(net)
    ref = BitAccurateSimulator(fx, backend="numpy").run(300)
    for piece in (5, 64, None):
        got = BitAccurateSimulator(fx, backend="numba", piece_steps=piece).run(300)
        assert got.synaptic_events == ref.synaptic_events
        for pop in ref.spike_steps:
            assert np.array_equal(got.spike_ids[pop], ref.spike_ids[pop]), (piece, pop)
            assert np.array_equal(got.spike_steps[pop], ref.spike_steps[pop]), (piece, pop)


def _drive_net():
    """Brunel's shape, small: a recurrent LIF population driven by Poisson channels of one
    synapse each (the rows the compact table gives head words)."""
    from nmcompiler.frontends.drives import add_poisson_drive

    net = Network("drive", dt=1e-4, seed=3)
    net.add(Population(name="e", size=400, model=LIF(tau_mem=20e-3, v_threshold=20e-3, v_reset=10e-3,
                                                     refractory=2e-3)))
    rng = np.random.default_rng(2)
    pi, qi = np.nonzero(rng.random((400, 400)) < 0.1)
    net.connect(Projection(name="e_e", pre="e", post="e", connectivity=Connectivity.from_coo(
        400, 400, pi, qi, np.where(pi < 320, 0.2e-3, -1.0e-3), 15)))
    add_poisson_drive(net, "ext", "e", 40, 300.0, 0.2e-3, channels=10)
    return net


def test_poisson_channel_rows_deliver_through_head_words_as_the_numpy_path():
    fx = Quantize(fmt=load_format("fpga-lif")).run(_drive_net())
    ref = BitAccurateSimulator(fx, backend="numpy").run(600)
    assert sum(ref.spike_counts().values()) > 100
    for threads in (1, 2):
        sim = BitAccurateSimulator(fx, backend="numba", threads=threads)
        got = sim.run(600)
        (_, rows, _), = sim._tables.values()
        assert rows.head.size == rows.ptr.size - 1 and np.count_nonzero(rows.head) >= 4000  # 4000 channels
        assert got.synaptic_events == ref.synaptic_events
        for pop in ref.spike_steps:
            assert np.array_equal(got.spike_steps[pop], ref.spike_steps[pop]), (threads, pop)
            assert np.array_equal(got.spike_ids[pop], ref.spike_ids[pop]), (threads, pop)


def test_row_delays_mark_rows_with_one_shared_delay():
    from nmcompiler.sim.delivery import row_delays, shared_row_delays

    indptr = np.array([0, 3, 3, 4, 7])
    delay = np.array([2, 2, 2, 5, 1, 4, 1], dtype=np.int16)
    assert row_delays(indptr, delay).tolist() == [2, -1, 5, -1]
    assert shared_row_delays(indptr, np.broadcast_to(np.int16(6), (7,))).tolist() == [6, 6, 6, 6]
    fx = Quantize(fmt=load_format("fpga-lif")).run(_mixed_net(current=True))
    table = BitAccurateSimulator(fx, backend="numba").table
    delay = np.broadcast_to(table.delay, table.target.shape)
    rd, lengths = shared_row_delays(table.indptr, delay), np.diff(table.indptr)
    # the kernel test above runs both kinds of rows: one shared delay, and several delays
    assert np.any((rd > 0) & (lengths > 1)) and np.any((rd < 0) & (lengths > 1))


def test_segments_split_uniform_runs_from_mixed_ranges():
    fx = Quantize(fmt=load_format("fpga-lif")).run(_mixed_net(current=True))
    p = BitAccurateSimulator(fx).params
    seg, uniform, per_chunk = _segments(p, np.array([0, 165]))
    # u: 70 alike; h: 50 distinct; m: 35 alike, then 10 distinct (merged with nothing after them)
    assert seg.tolist() == [0, 70, 120, 155, 165] and uniform.tolist() == [True, False, True, False]
    assert per_chunk.tolist() == [0, 4]
    seg, uniform, per_chunk = _segments(p, np.array([0, 60, 100, 165]))  # chunk bounds cut segments
    # [60, 70) has 10 alike neurons (< 32): mixed, merged with h's first 30
    assert seg.tolist() == [0, 60, 100, 120, 155, 165] and uniform.tolist() == [True, False, False, True, False]
    assert per_chunk.tolist() == [0, 1, 2, 5]
    for a, b, u in zip(seg[:-1], seg[1:], uniform):
        if u:
            assert np.all(p.decay_v[a:b] == p.decay_v[a]) and np.all(p.threshold[a:b] == p.threshold[a])


def test_narrow_state_bounds():
    fmt = load_format("fpga-lif")
    assert _narrow_state(fmt, 2)
    assert not _narrow_state(fmt, 300)  # 300 channels of 24-bit currents overflow an int32 sum
    assert not _narrow_state(dataclasses.replace(fmt, v_bits=31), 2)
    assert not _narrow_state(load_format("spinnaker-like"), 2)


def test_ring_holds_a_source_spiking_twice_in_one_tick():
    """The int32 ring is chosen from each target's total |weight|; an explicit source that spikes
    twice in one tick delivers its weight twice, which must not wrap around (found by the datapath
    property test: a spinnaker-like case summing to just below 2^31 once)."""
    fmt = load_format("spinnaker-like")
    net = Network("twice", dt=1e-3)
    net.add(SpikeSource(name="in", size=1, ids=[0, 0, 0], times=[0.002, 0.002, 0.005]))
    net.add(Population(name="p", size=1, model=LIF(tau_mem=0.02, v_threshold=1e3)))
    net.connect(Projection(name="in_p", pre="in", post="p", connectivity=Connectivity.from_coo(1, 1, [0], [0], 1.0, 1)))
    net.probes = [Probe(target="p", variable="v")]
    fx = Quantize(fmt=fmt).run(net)
    proj = fx.projections["in_p"]
    big = dataclasses.replace(proj, mantissa=np.array([20000]), exponent=16)  # 1.31e9: twice is over 2^31
    fx = dataclasses.replace(fx, projections={"in_p": big})
    ref = BitAccurateSimulator(fx, backend="numpy").run(8)
    got = BitAccurateSimulator(fx, backend="numba").run(8)
    one = (20000 << 16) >> fmt.current_frac_bits  # the drive of one spike
    assert ref.traces["p.v"].values.max() > one  # the twice-delivered (saturated) sum reached v
    assert np.array_equal(got.traces["p.v"].values, ref.traces["p.v"].values)


@pytest.mark.parametrize("shared_delay", [False, True])
def test_synapse_table_orders_as_a_stable_sort(shared_delay):
    """The counting sort that builds the CSR table keeps the order of a stable argsort over the
    concatenated pieces, and the pieces' dtypes (int32 targets, int16 delays stay narrow)."""
    from nmcompiler.lowered import synapse_table

    rng = np.random.default_rng(5)
    sizes = [0, 500, 1, 3000]
    pres = [rng.integers(0, 40, k).astype(np.int32) for k in sizes]
    targets = [rng.integers(0, 10**6, k).astype(np.int32) for k in sizes]
    weights = [rng.integers(-99, 99, k).astype(np.int32) for k in sizes]
    delays = [np.full(k, 3, np.int16) if shared_delay else rng.integers(1, 9, k).astype(np.int16) for k in sizes]
    table = synapse_table(45, list(pres), list(targets), list(weights), list(delays))  # it empties its lists
    order = np.argsort(np.concatenate(pres), kind="stable")
    np.testing.assert_array_equal(table.indptr, np.concatenate([[0], np.cumsum(np.bincount(np.concatenate(pres),
                                                                                             minlength=45))]))
    np.testing.assert_array_equal(table.target, np.concatenate(targets)[order])
    np.testing.assert_array_equal(table.weight, np.concatenate(weights)[order])
    assert table.target.dtype == np.int32 and table.weight.dtype == np.int32
    if shared_delay:
        assert table.delay.ndim == 0 and int(table.delay) == 3 == table.max_delay
    else:
        np.testing.assert_array_equal(table.delay, np.concatenate(delays)[order])
        assert table.delay.dtype == np.int16 and table.max_delay == max(int(d.max()) for d in delays if d.size)


def test_channels_nothing_feeds_are_left_out_with_the_same_bits():
    """One receptor on the two-channel fpga-lif datapath: the kernel updates one channel (32
    instead of 48 bytes per neuron and step) and records zero currents for the other, as the
    numpy path computes them; a current that starts nonzero keeps its channel in."""
    from nmcompiler.lowered import program_from_fixed_point

    fx = Quantize(fmt=load_format("fpga-lif")).run(_mixed_net(current=True))
    prog = program_from_fixed_point(fx)
    i0 = prog.i0.copy()
    i0[1, :70] = np.arange(70) * 97  # neurons 0-69 of population u, channel 1, decaying as channel 0
    decay_i = prog.params.decay_i.copy()
    decay_i[1] = decay_i[0]  # (the quantizer empties an unused channel at once)
    started = dataclasses.replace(prog, i0=i0, params=dataclasses.replace(prog.params, decay_i=decay_i))
    for program, live in ((prog, 1), (started, 2)):
        sim = BitAccurateSimulator(program, backend="numba")
        got, ref = sim.run(120), BitAccurateSimulator(program, backend="numpy").run(120)
        assert sim._live_channels() == live and fx.format.receptors == 2
        assert sim.traffic().update_bytes == (32 if live == 1 else 48)
        trace = got.traces["u.i"].values
        assert trace.shape[1] == 2 and np.any(trace[:, 0] != 0) and np.any(trace[:, 1] != 0) == (live == 2)
        np.testing.assert_array_equal(trace, ref.traces["u.i"].values)
        for pop in ref.spike_steps:
            np.testing.assert_array_equal(got.spike_steps[pop], ref.spike_steps[pop])
            np.testing.assert_array_equal(got.spike_ids[pop], ref.spike_ids[pop])
