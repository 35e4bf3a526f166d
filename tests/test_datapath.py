"""The datapath contract: directed edge cases, and the vectorized code against a plain reference."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from datapath_reference import run_reference
from nmcompiler.datapath import NeuronParams, NeuronState, decay, load_format, saturate, shift_right, tick
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.ir import IF, LIF, Connectivity, CubaLIF, Network, Population, Probe, Projection, SpikeSource
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator

LOIHI = dataclasses.replace(load_format("loihi-like"), current_frac_bits=0)  # directed cases in whole units


def fmt(**kw):
    return dataclasses.replace(LOIHI, **kw)


def params(n=1, R=1, **kw):
    base = dict(decay_v=np.zeros(n, np.int64), decay_i=np.full((R, n), 4096, np.int64), bias=np.zeros(n, np.int64),
                threshold=np.full(n, 100, np.int64), v_reset=np.zeros(n, np.int64), refractory=np.zeros(n, np.int64),
                subtract=np.zeros(n, bool), spiking=np.ones(n, bool))
    base.update({k: np.asarray(v) for k, v in kw.items()})
    return NeuronParams(**base)


def state(v=0, n=1, R=1):
    return NeuronState(v=np.full(n, v, np.int64), i=np.zeros((R, n), np.int64), ref=np.zeros(n, np.int64))


def x(value, n=1, R=1):
    return np.full((R, n), value, np.int64)


@pytest.mark.parametrize("compare,expected", [(">", False), (">=", True)])
def test_input_exactly_at_threshold(compare, expected):
    f = fmt(compare=compare)
    s = state()
    assert bool(tick(s, params(), x(100), f)[0]) is expected
    assert bool(tick(state(), params(), x(101), f)[0]) is True


def test_saturation_at_both_extremes_never_wraps():
    f = fmt(v_bits=8, i_bits=8)
    s = state()
    tick(s, params(threshold=[10**6]), x(1000), f)  # i saturates at 127, v at 127
    assert s.i[0, 0] == 127 and s.v[0] == 127
    tick(s, params(threshold=[10**6]), x(1000), f)
    assert s.v[0] == 127  # stays at the top, no wraparound to negative
    s = state()
    tick(s, params(threshold=[10**6]), x(-1000), f)
    assert s.i[0, 0] == -128 and s.v[0] == -128
    s = state(v=120)
    tick(s, params(threshold=[10**6], bias=[100]), x(0), f)  # bias added after the input, still saturated
    assert s.v[0] == 127
    assert saturate(np.array([2**40, -2**40]), 24).tolist() == [2**23 - 1, -2**23]


def test_decay_settings_at_their_extremes():
    v = np.array([1000, -1000, 7, -7])
    assert decay(v, 0, fmt()).tolist() == v.tolist()  # multiply, d = 0: no decay
    assert decay(v, 4096, fmt()).tolist() == [0, 0, 0, 0]  # d = 2^F: gone in one tick
    assert decay(v, 1, fmt(rounding="floor")).tolist() == [999, -1000, 6, -7]  # 999.76 -> 999, -999.76 -> -1000
    assert decay(v, 1, fmt()).tolist() == [999, -999, 6, -6]  # loihi-like truncates toward zero (as Lava)
    assert decay(v, 1, fmt(rounding="nearest")).tolist() == [1000, -1000, 7, -7]
    assert decay(v, 1, fmt(rounding="zero")).tolist() == [999, -999, 6, -6]
    sh = fmt(decay="shift", rounding="floor")
    assert decay(v, 63, sh).tolist() == v.tolist()  # k = 63: no decay
    assert decay(v, 0, sh).tolist() == [0, 0, 0, 0]  # k = 0: x - x
    assert decay(v, 1, sh).tolist() == [500, -500, 4, -3]  # 7 - (7>>1) = 4, -7 - (-7>>1) = -7 + 4 = -3
    lk = fmt(decay="leak")
    assert decay(v, 0, lk).tolist() == v.tolist()
    assert decay(v, 10, lk).tolist() == [990, -990, 0, 0]  # toward zero, never past it
    assert shift_right(np.array([5, -5]), 1, "nearest").tolist() == [3, -2]  # ties toward +infinity


def test_refractory_boundaries():
    p = params(refractory=[2], threshold=[5])
    s = state()
    out = [bool(tick(s, p, x(10), LOIHI)[0]) for _ in range(6)]
    # spike, held 2 ticks (input ignored by v), integrate again and spike at once, held, held
    assert out == [True, False, False, True, False, False]
    s = state()
    p0 = params(refractory=[0], threshold=[5])
    assert [bool(tick(s, p0, x(10), LOIHI)[0]) for _ in range(3)] == [True, True, True]


def test_current_fraction_bits_scale_the_drive():
    f = fmt(current_frac_bits=6, rounding="floor")
    s = state()
    tick(s, params(threshold=[10**6]), x(640 + 63), f)  # i = 703 = 10.98 in v units
    assert s.i[0, 0] == 703 and s.v[0] == 10
    s = state()
    tick(s, params(threshold=[10**6]), x(-703), f)
    assert s.v[0] == -11  # floor of -10.98


def test_reset_by_subtraction_keeps_the_overshoot():
    p = params(threshold=[100], v_reset=[10], subtract=[True])
    s = state()
    tick(s, p, x(250), LOIHI)
    assert s.v[0] == 250 - 90
    s = state()
    tick(s, params(threshold=[100], v_reset=[10]), x(250), LOIHI)
    assert s.v[0] == 10


def _net_one(model, delays, weights, dt=1e-4, size=1):
    net = Network("t", dt=dt)
    net.add(Population(name="n", size=size, model=model))
    net.add(SpikeSource(name="in", size=1, ids=[0], times=[0.0]))
    net.connect(Projection(name="in_n", pre="in", post="n", connectivity=Connectivity.from_coo(
        1, size, np.zeros(len(delays), int), np.arange(len(delays)) % size, weights, delays)))
    net.probe(Probe(target="n"))
    net.probe(Probe(target="n", variable="v"))
    return net


def test_lower_bound_of_v_after_integration():
    """v_min clamps v after the membrane update and before the threshold; a held (refractory)
    neuron keeps its v; the least value of v_bits is no bound at all."""
    f = fmt(v_bits=8, i_bits=8)
    p = params(n=3, v_min=[-20, -20, -128], threshold=[10**6] * 3, refractory=[0, 0, 0])
    s = state(n=3)
    s.ref[1] = 2
    s.v[1] = -50  # held: below the bound, and kept
    tick(s, p, x(-60, n=3), f)
    assert s.v.tolist() == [-20, -50, -60]
    tick(s, p, x(-100, n=3), f)
    assert s.v.tolist() == [-20, -50, -128]  # saturated at the format's least value
    s = state(v=-20)
    assert tick(s, params(v_min=[-20], threshold=[5]), x(30), f).tolist() == [1]  # from the bound: -20 + 30 > 5
    assert s.v.tolist() == [0]


def test_maximal_delay_and_two_events_in_one_tick():
    f = load_format("loihi-like")
    net = _net_one(IF(v_threshold=1.0), [f.delay_max], [2.0])
    r = BitAccurateSimulator(Quantize(fmt=f).run(net)).run(f.delay_max + 3)
    assert r.spike_train("n", 0).tolist() == [f.delay_max]
    net = _net_one(IF(v_threshold=1.0), [f.delay_max + 1], [2.0])
    with pytest.raises(ValidationError, match=r"delay of 63 ticks exceeds the format's 62"):
        Quantize(fmt=f).run(net)
    net = _net_one(IF(v_threshold=1.0), [3, 3], [0.6, 0.6], size=1)  # two synapses, same neuron, same tick
    r = BitAccurateSimulator(Quantize(fmt=f).run(net)).run(6)
    assert r.spike_train("n", 0).tolist() == [3]


def test_formats_load_and_bad_ones_are_rejected(tmp_path):
    for name in ("loihi-like", "truenorth-like", "spinnaker-like", "fpga-lif", "speck-like", "loihi-like-conv",
                 "xylo-like", "brainscales2-like"):
        assert load_format(name).problems() == []
    with pytest.raises(UserError, match=r"^unknown target 'tpu' \(shipped: brainscales2-like, dynapse2-like, fpga-lif, loihi-like, loihi-like-conv, "
                                        r"speck-like, spinnaker-like, truenorth-like, xylo-like; or give a .yaml file\)$"):
        load_format("tpu")
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: {v_bits: 70, i_bits: 0, receptors: 1, acc_bits: 16, weight_bits: 8, exponent_scope: none, "
                   "exponent_min: 0, exponent_max: 0, decay: exp, decay_bits: 8, bias_bits: 8, refractory_bits: 2, "
                   "delay_max: 8, rounding: floor, compare: '>'}\n")
    with pytest.raises(UserError, match=r"format: v_bits must lie in \[2, 48\], not 70; decay 'exp' is unknown"):
        load_format(str(bad))


def test_silent_population_warning():
    net = _net_one(LIF(tau_mem=0.01, v_threshold=1.0), [1], [1e-9])
    fx = Quantize(fmt=load_format("truenorth-like")).run(net)
    assert "all 1 incoming weights round to zero: the population is silent in fixed point" in fx.report["n"].warnings
    net = _net_one(LIF(tau_mem=0.01, v_threshold=1.0), [1], [0.5])
    assert Quantize(fmt=load_format("truenorth-like")).run(net).report["n"].warnings == ()


# -- property: vectorized simulator == plain reference -------------------------------------------------
@st.composite
def quantized_cases(draw):
    target = draw(st.sampled_from(["loihi-like", "truenorth-like", "spinnaker-like", "fpga-lif"]))
    f = load_format(target)
    over = {}
    if draw(st.booleans()):
        over = {"v_bits": draw(st.integers(8, 16)), "weight_bits": draw(st.integers(3, 8)),
                "rounding": draw(st.sampled_from(["floor", "nearest", "zero"])),
                "compare": draw(st.sampled_from([">", ">="]))}
        over["i_bits"] = over["v_bits"] if f.i_bits else 0
        over["acc_bits"] = over["v_bits"] + 2
    f = dataclasses.replace(f, **over)
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    net = Network("q", dt=1e-3)
    n_in = 3
    times = np.sort(rng.integers(0, 25, 15))
    net.add(SpikeSource(name="in", size=n_in, ids=rng.integers(0, n_in, times.size), times=times * 1e-3))
    kinds = ["lif", "if"] + (["cuba"] if f.i_bits else [])
    pops = []
    for k in range(draw(st.integers(1, 3))):
        n = int(rng.integers(1, 5))
        kind = draw(st.sampled_from(kinds))
        common = dict(v_threshold=float(rng.uniform(0.5, 1.5)), reset=draw(st.sampled_from(["value", "subtract"])),
                      refractory=float(rng.integers(0, 3)) * 1e-3, v_reset=float(rng.uniform(-0.2, 0.2)),
                      v_min=draw(st.one_of(st.just(-np.inf), st.floats(-0.6, 0.1))))
        if kind == "lif":
            model = LIF(tau_mem=float(rng.uniform(2e-3, 3e-2)), bias=float(rng.uniform(-0.5, 1.5)), **common)
        elif kind == "if":
            model = IF(bias=float(rng.uniform(-20, 60)), **common)
        else:
            model = CubaLIF(tau_mem=float(rng.uniform(2e-3, 3e-2)), tau_syn=[float(rng.uniform(1e-3, 1e-2))],
                            integration=draw(st.sampled_from(["exact", "euler"])), **common)
        pops.append(net.add(Population(name=f"p{k}", size=n, model=model,
                                       initial={"v": rng.uniform(-0.3, 0.8, n)})))
    for post in pops:
        for pre in [net.node("in")] + pops:
            mask = rng.random((pre.size, post.size)) < 0.6
            pi, qi = np.nonzero(mask)
            if pi.size:
                net.connect(Projection(name=f"{pre.name}_{post.name}", pre=pre.name, post=post.name,
                                       receptor="syn" if isinstance(post.model, CubaLIF) else None,
                                       connectivity=Connectivity.from_coo(pre.size, post.size, pi, qi,
                                                                          rng.normal(0.4, 0.6, pi.size),
                                                                          rng.integers(1, 4, pi.size))))
    return Quantize(fmt=f).run(net)


def _reference(fx, steps: int) -> dict:
    """The plain reference's spikes of ``fx`` driven by its source 'in'."""
    src = fx.network.node("in")
    events = {"in": list(zip(np.rint(src.times / fx.network.dt).astype(int).tolist(), src.ids.tolist()))}
    return run_reference(fx, steps, events)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fx=quantized_cases())
def test_bit_accurate_simulator_equals_plain_reference(fx):
    steps = 40
    expected = _reference(fx, steps)
    for backend in ("numpy", "numba"):
        got = BitAccurateSimulator(fx, backend=backend).run(steps)
        for pop, spikes in expected.items():
            assert sorted(zip(got.spike_steps[pop].tolist(), got.spike_ids[pop].tolist())) == sorted(spikes), (
                backend, pop)
    bounded = [p for p in fx.network.populations if p.model.bounded]
    event(f"populations with a lower bound of v: {'some' if bounded else 'none'}")


def test_numba_and_numpy_backends_agree_on_state_traces():
    from conftest import EXAMPLES
    from nmcompiler import load_network

    net = load_network(EXAMPLES / "cuba.yaml")
    net.probes = [Probe(target="exc"), Probe(target="inh"), Probe(target="exc", variable="v", neurons=[0, 5, 3199]),
                  Probe(target="inh", variable="i", neurons=[1, 2])]
    fx = Quantize(fmt=load_format("fpga-lif")).run(net)
    a = BitAccurateSimulator(fx, backend="numba").run(3000)  # 4000 neurons: the threaded kernel
    b = BitAccurateSimulator(fx, backend="numpy").run(3000)
    assert a.spike_counts() == b.spike_counts() and sum(a.spike_counts().values()) > 1000
    for pop in a.spike_steps:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and np.array_equal(a.spike_ids[pop], b.spike_ids[pop])
    for label in a.traces:
        assert np.array_equal(a.traces[label].values, b.traces[label].values), label
    assert a.synaptic_events == b.synaptic_events


def test_parallel_chunks_give_the_same_bits():
    """The numba kernel split into neuron chunks (each delivering into its own chunk) computes
    exactly what one chunk and the numpy path compute: spikes, traces and event counts."""
    net = _chunk_case()
    for target in ("fpga-lif", "loihi-like"):
        fx = Quantize(fmt=load_format(target)).run(net)
        ref = BitAccurateSimulator(fx, backend="numpy").run(300)
        assert sum(ref.spike_counts().values()) > 50
        for threads in (1, 2, 3):
            got = BitAccurateSimulator(fx, backend="numba", threads=threads).run(300)
            assert got.spike_counts() == ref.spike_counts(), (target, threads)
            for pop in ref.spike_steps:
                assert np.array_equal(got.spike_steps[pop], ref.spike_steps[pop]), (target, threads, pop)
                assert np.array_equal(got.spike_ids[pop], ref.spike_ids[pop]), (target, threads, pop)
            for label in ref.traces:
                assert np.array_equal(got.traces[label].values, ref.traces[label].values), (target, threads, label)
            assert got.synaptic_events == ref.synaptic_events


def _chunk_case() -> Network:
    rng = np.random.default_rng(7)
    net = Network("chunks", dt=1e-3)
    times = np.sort(rng.integers(0, 200, 400))
    net.add(SpikeSource(name="in", size=20, ids=rng.integers(0, 20, times.size), times=times * 1e-3))
    a = net.add(Population(name="a", size=37, model=CubaLIF(tau_mem=0.02, tau_syn=[0.005], v_threshold=1.0,
                                                             refractory=2e-3)))
    b = net.add(Population(name="b", size=23, model=LIF(tau_mem=0.01, v_threshold=0.8, reset="subtract", v_min=-0.2)))
    for pre, post, p in (("in", a, 0.3), ("a", a, 0.1), ("a", b, 0.3), ("b", a, 0.2), ("in", b, 0.2)):
        n_pre = net.node(pre).size
        pi, qi = np.nonzero(rng.random((n_pre, post.size)) < p)
        conn = Connectivity.from_coo(n_pre, post.size, pi, qi, rng.normal(0.5, 0.5, pi.size), rng.integers(1, 9, pi.size))
        net.connect(Projection(name=f"{pre}_{post.name}", pre=pre, post=post.name,
                               receptor="syn" if post.name == "a" else None, connectivity=conn))
    net.probes = [Probe(target="a"), Probe(target="b"), Probe(target="a", variable="v", neurons=[0, 36]),
                  Probe(target="a", variable="i", neurons=[3])]
    return net


# -- property: Xylo's order, bit-shift decays and several spikes per tick == plain reference ---------
@st.composite
def xylo_cases(draw):
    """CUBA networks on the xylo-like format (input-first order, bit-shift decays, per-neuron
    scales), some with narrower states (saturation), each population with its own spikes per tick."""
    f = load_format("xylo-like")
    if draw(st.booleans()):
        f = dataclasses.replace(f, v_bits=draw(st.integers(6, 16)), i_bits=draw(st.integers(6, 16)),
                                compare=draw(st.sampled_from([">", ">="])))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    net = Network("x", dt=1e-3)
    times = np.sort(rng.integers(0, 30, 40))
    net.add(SpikeSource(name="in", size=4, ids=rng.integers(0, 4, times.size), times=times * 1e-3))
    pops, spikes = [], {}
    for k in range(draw(st.integers(1, 3))):
        n, receptors = int(rng.integers(1, 6)), draw(st.integers(1, 2))
        model = CubaLIF(tau_mem=float(rng.uniform(2e-3, 5e-2)), tau_syn=rng.uniform(2e-3, 4e-2, receptors),
                        receptor_names=tuple(f"r{r}" for r in range(receptors)), r=float(rng.uniform(0.5, 30)),
                        v_threshold=float(rng.uniform(0.3, 1.5)), reset="subtract", integration="exp_euler",
                        compare=">=", max_spikes=int(rng.integers(1, 40)), bias=float(rng.uniform(-0.2, 0.3)))
        pops.append(net.add(Population(name=f"p{k}", size=n, model=model)))
        spikes[f"p{k}"] = draw(st.sampled_from([1, 2, 31]))
    for post in pops:
        for pre in [net.node("in")] + pops:
            pi, qi = np.nonzero(rng.random((pre.size, post.size)) < 0.6)
            if pi.size:
                receptor = post.model.receptors[int(rng.integers(0, len(post.model.receptors)))]
                net.connect(Projection(name=f"{pre.name}_{post.name}", pre=pre.name, post=post.name, receptor=receptor,
                                       connectivity=Connectivity.from_coo(pre.size, post.size, pi, qi,
                                                                          rng.normal(0.5, 0.8, pi.size),
                                                                          np.ones(pi.size, np.int64))))
    return Quantize(fmt=f, spikes_per_step=spikes).run(net)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fx=xylo_cases())
def test_xylo_datapath_equals_plain_reference(fx):
    steps = 40
    expected = _reference(fx, steps)
    got = BitAccurateSimulator(fx, backend="numba").run(steps)  # runs its numpy path (the kernel has no Xylo order)
    for pop, spikes in expected.items():
        assert sorted(zip(got.spike_steps[pop].tolist(), got.spike_ids[pop].tolist())) == sorted(spikes), pop
    most = max((max(np.unique(np.array(s), axis=0, return_counts=True)[1]) for s in expected.values() if s), default=0)
    event(f"most spikes of a neuron in a tick: {'0' if not most else '1' if most == 1 else '2+'}")
    sat = BitAccurateSimulator(fx, backend="numpy").run(steps, count_saturation=True).saturation
    event(f"states saturate: {any(v['v'] or v['i'] for v in sat.values())}")


def test_bitshift_decay_and_input_first_order_by_hand():
    f = load_format("xylo-like")
    x = np.array([7, 1, 0, -1, -7, 32767, -32768], dtype=np.int64)
    # dv = x >> 2 (floor), at least one unit toward zero: 7 -> 6, 1 -> 0, -1 -> 0, -7 -> -5
    assert decay(x, np.full(7, 2), f).tolist() == [6, 0, 0, 0, -5, 32767 - 8191, -32768 + 8192]
    assert decay(x, np.zeros(7, np.int64), f).tolist() == [0] * 7  # shift 0: gone in one tick
    p = NeuronParams(decay_v=np.array([4]), decay_i=np.array([[3], [0]]), bias=np.array([0]),
                     threshold=np.array([100]), v_reset=np.array([0]), refractory=np.array([0]),
                     subtract=np.array([True]), spiking=np.array([True]), max_spikes=np.array([31]))
    s = NeuronState(v=np.array([0]), i=np.zeros((2, 1), np.int64), ref=np.array([0]))
    # the input joins the current before it decays: i = 1000 - (1000 >> 3) = 875; v = 0 + 875 -> 8 spikes, 75 left
    assert tick(s, p, np.array([[1000], [0]]), f).tolist() == [8]
    assert s.i[:, 0].tolist() == [875, 0] and s.v.tolist() == [75]
    p1 = dataclasses.replace(p, max_spikes=np.array([1]))  # a readout neuron: one spike, the rest kept
    s = NeuronState(v=np.array([0]), i=np.zeros((2, 1), np.int64), ref=np.array([0]))
    assert tick(s, p1, np.array([[1000], [0]]), f).tolist() == [1] and s.v.tolist() == [775]
