"""Learning in fixed point (issue 26): the learning engine of docs/datapath.md ("Learning") in the
bit-accurate simulator, quantized by ``Quantize(learning=...)`` from a target's ``learning:``
section. One spike pair changes a weight by the float amount within one mantissa LSB; bounds hold;
the compiled and numpy loops give the same bits (weights, spikes) on random plastic networks with
both roundings, epochs, rewards and both dependences; and bad input is refused by name."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from nmcompiler.errors import ValidationError
from nmcompiler.ir import IF, LIF, STDP, Connectivity, Network, Population, PoissonSource, Probe, Projection, RewardSTDP
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target

from test_plasticity import DT, RULE, pair_network


def quantized(net, target="fpga-lif", **learning):
    t = load_target(target)
    return Quantize(fmt=t.format, learning=dataclasses.replace(t.learning, **learning)).run(net)


@pytest.mark.parametrize("target", ["fpga-lif", "loihi-like"])
@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
@pytest.mark.parametrize("pre, post, tau, sign", [([50], [56], 0.02, 1), ([50], [71], 0.02, 1),
                                                  ([56], [51], 0.01, -1), ([70], [51], 0.01, -1)])
def test_one_pair_within_one_lsb(target, rounding, pre, post, tau, sign):
    rule = STDP(**dict(RULE, A_plus=0.05, A_minus=0.06))
    net = pair_network(pre, post, rule, w0=0.5)
    fx = quantized(net, target, rounding=rounding)
    q = fx.projections["plastic"]
    lsb = 2 ** fx.learning.weight_frac_bits / q.learning.unit  # one delivered mantissa step, in weight units
    result = BitAccurateSimulator(fx).run(200)
    w = result.weights["plastic"]
    lag = abs((post[0] - 1 + 1) - (pre[0] + 1 + 1))  # both one tick later in fixed point (the drive's delay too)
    expect = (0.05 if sign > 0 else -0.06) * math.exp(-lag * DT / tau)
    w0 = (np.int64(q.mantissa[0]) << fx.learning.weight_frac_bits) / q.learning.unit
    assert result.spike_train("post", 0).size == 1
    assert abs((w.final[0] - w0) - expect) <= lsb, (w.final[0] - w0, expect, lsb)
    assert (w.final[0] - w0) * sign > 0  # it moved, the right way


def test_bounds_hold_in_fixed_point():
    pre = list(range(10, 300, 10))
    big = dict(RULE, A_plus=0.3, A_minus=0.0)
    fx = quantized(pair_network(pre, [p + 2 for p in pre], STDP(**big)))
    m = BitAccurateSimulator(fx).run(400).weights["plastic"].mantissa
    assert m[0] == fx.projections["plastic"].learning.m_max


def random_network(seed: int, rewards: bool = True) -> Network:
    rng = np.random.default_rng(seed)
    net = Network(f"rnd{seed}", dt=DT, seed=seed)
    net.add(Population(name="a", size=25, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0)))
    net.add(Population(name="b", size=8, model=LIF(tau_mem=0.02, v_threshold=1.0, v_reset=0.0)))
    net.add(PoissonSource(name="in", size=30, rate=np.full(30, 40.0)))
    dense = rng.uniform(0.05, 0.5, (30, 25)) * (rng.uniform(size=(30, 25)) < 0.6)
    rows = rng.integers(1, 5, 30)  # one delay per presynaptic neuron
    pre, post = np.nonzero(dense)
    dep = ["additive", "multiplicative"][seed % 2]
    net.connect(Projection(name="in_a", pre="in", post="a", learning=STDP(**RULE, dependence=dep),
                           connectivity=Connectivity.from_coo(30, 25, pre, post, dense[pre, post], rows[pre])))
    rule = (RewardSTDP(**dict(RULE, w_max=0.6), tau_eligibility=0.1, reward="b", reward_amount=0.5 - seed % 3 * 0.4,
                       pairing="nearest") if rewards else STDP(**dict(RULE, w_max=0.6), pairing="nearest"))
    net.connect(Projection(name="a_b", pre="a", post="b", learning=rule,
                           connectivity=Connectivity.from_dense(rng.uniform(0.1, 0.5, (25, 8)), delays=2)))
    net.connect(Projection(name="in_b", pre="in", post="b", connectivity=Connectivity.from_dense(
        rng.uniform(0, 0.2, (30, 8)))))
    net.probe(Probe(target="a"))
    net.probe(Probe(target="b"))
    return net


@pytest.mark.parametrize("seed", range(6))
def test_compiled_and_numpy_learn_the_same_bits(seed):
    rounding = ["nearest", "stochastic"][seed % 2]
    fx = dataclasses.replace(quantized(random_network(seed), rounding=rounding))
    fx = Quantize(fmt=fx.format, learning=fx.learning, learning_epoch=1 + seed % 3).run(fx.network)
    got = [BitAccurateSimulator(fx, backend=b).run(3000, record_weights=500) for b in ("numba", "numpy")]
    assert got[0].spike_counts()["a"] > 100 and got[0].spike_counts()["b"] > 10
    for pop in ("a", "b"):
        assert np.array_equal(got[0].spike_steps[pop], got[1].spike_steps[pop])
        assert np.array_equal(got[0].spike_ids[pop], got[1].spike_ids[pop])
    for name in ("in_a", "a_b"):
        w0, w1 = got[0].weights[name], got[1].weights[name]
        assert np.array_equal(w0.mantissa, w1.mantissa) and np.array_equal(w0.history, w1.history)
        assert not np.array_equal(w0.history[0], w0.history[-1])  # learned something
    q = fx.projections["in_a"].learning
    assert np.all((got[0].weights["in_a"].mantissa >= q.m_min) & (got[0].weights["in_a"].mantissa <= q.m_max))


def test_refusals_name_the_projection_and_the_limit():
    net = random_network(0)
    t = load_target("truenorth-like")
    with pytest.raises(ValidationError, match="projection 'in_a': learns \\(stdp\\), and format truenorth-like has no "
                                              "learning engine"):
        Quantize(fmt=t.format).run(net)
    fpga = load_target("fpga-lif")
    with pytest.raises(ValidationError, match=r"projection 'in_a': learning epoch 17 ticks is outside \[1, 16\]"):
        Quantize(fmt=fpga.format, learning=fpga.learning, learning_epoch=17).run(net)
    mixed = Network("mixed", dt=DT)
    mixed.add(Population(name="p", size=2, model=IF(v_threshold=1.0, v_reset=0.0)))
    mixed.add(PoissonSource(name="s", size=1, rate=np.array([10.0])))
    mixed.connect(Projection(name="pl", pre="s", post="p", learning=STDP(**RULE),
                             connectivity=Connectivity.from_dense(np.full((1, 2), 0.5), delays=np.array([1, 2]))))
    with pytest.raises(ValidationError, match="projection 'pl': learns, and presynaptic neuron 0 has synapses with "
                                              "different delays"):
        Quantize(fmt=fpga.format, learning=fpga.learning).run(mixed)


def test_trace_bits_out_of_range_in_a_target_file(tmp_path, run_nmc):
    from pathlib import Path

    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(load_target("fpga-lif").source).read_text().replace("trace_bits: 8", "trace_bits: 40"))
    song = Path(__file__).resolve().parent.parent / "examples" / "stdp_song.yaml"
    code, _, err = run_nmc("compare", song, "--target", bad, "--steps", "10", "-o", tmp_path / "out")
    assert code == 2 and "learning.trace_bits: 40 is greater than the maximum of 16" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def spike_network(seed: int) -> tuple[Network, dict]:
    """Explicit input spikes (the reference reads them directly), two plastic projections and a
    fixed one; rule variants by seed."""
    from nmcompiler.ir import SpikeSource

    rng = np.random.default_rng(seed)
    steps = 400
    fired = rng.uniform(size=(steps, 12)) < 0.06
    at, ch = np.nonzero(fired)
    net = Network(f"ref{seed}", dt=DT, seed=seed)
    net.add(Population(name="a", size=6, model=LIF(tau_mem=0.005, v_threshold=1.0, v_reset=0.0)))
    net.add(Population(name="b", size=3, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0, refractory=3e-4)))
    net.add(SpikeSource(name="in", size=12, ids=ch, times=at * DT))
    net.add(SpikeSource(name="reward", size=2, ids=[0, 1, 0], times=[0.01, 0.02, 0.03]))
    dense = rng.uniform(0.1, 0.6, (12, 6)) * (rng.uniform(size=(12, 6)) < 0.7)
    pre, post = np.nonzero(dense)
    delays = rng.integers(1, 4, 12)
    net.connect(Projection(name="in_a", pre="in", post="a", connectivity=Connectivity.from_coo(
        12, 6, pre, post, dense[pre, post], delays[pre]), learning=STDP(
        **dict(RULE, A_plus=0.05, A_minus=0.055), dependence=["additive", "multiplicative"][seed % 2],
        pairing=["all_to_all", "nearest"][seed // 2 % 2])))
    rule = dict(RULE, A_plus=0.05, A_minus=0.04, w_max=0.8)
    reward = (RewardSTDP(**rule, tau_eligibility=0.02, reward="reward", reward_amount=[1.0, -0.5]) if seed % 3
              else RewardSTDP(**rule, tau_eligibility=0.02, reward_times=[0.012, 0.025], reward_values=[2.0, -1.0]))
    net.connect(Projection(name="a_b", pre="a", post="b", learning=reward,
                           connectivity=Connectivity.from_dense(rng.uniform(0.2, 0.7, (6, 3)), delays=2)))
    net.connect(Projection(name="in_b", pre="in", post="b", connectivity=Connectivity.from_dense(
        rng.uniform(0, 0.3, (12, 3)))))
    for name in ("a", "b"):
        net.probe(Probe(target=name))
    sources = {s.name: [(int(round(t / DT)), int(c)) for c, t in zip(s.ids, s.times)] for s in net.sources}
    return net, sources


@pytest.mark.parametrize("seed", range(8))
def test_the_kernels_follow_the_written_contract(seed):
    """tests/learning_reference.py (plain Python ints, from docs/datapath.md) and the compiled
    kernel: the same spikes and the same plastic weights, tick for tick, on both targets' engines,
    both roundings and learning epochs 1-3."""
    from learning_reference import run_learning_reference

    net, sources = spike_network(seed)
    target = ["fpga-lif", "loihi-like"][seed % 2]
    t = load_target(target)
    learning = dataclasses.replace(t.learning, rounding=["stochastic", "nearest"][seed // 4])
    fx = Quantize(fmt=t.format, learning=learning, learning_epoch=1 + seed % 3).run(net)
    got = BitAccurateSimulator(fx).run(400)
    spikes, weights = run_learning_reference(fx, 400, sources, seed)
    assert sum(len(s) for s in spikes.values()) > 30 and len(spikes["b"]) > 3
    for pop in ("a", "b"):
        assert list(zip(got.spike_steps[pop].tolist(), got.spike_ids[pop].tolist())) == spikes[pop]
    for name in ("in_a", "a_b"):
        assert got.weights[name].mantissa.tolist() == weights[name]
        start = (np.asarray(fx.projections[name].mantissa, np.int64) << fx.learning.weight_frac_bits).tolist()
        assert weights[name] != start


def test_nmc_compare_learns_in_fixed_point_and_refuses_targets_without_an_engine(tmp_path, run_nmc):
    import json
    from pathlib import Path

    song = Path(__file__).resolve().parent.parent / "examples" / "stdp_song.yaml"
    code, out, err = run_nmc("compare", song, "--target", "fpga-lif", "--duration", "2s", "-o", tmp_path / "c")
    assert code == 0, err
    report = json.loads((tmp_path / "c" / "compare.json").read_text())
    learned = report["learning"]["plastic"]
    assert abs(learned["hw"]["mean"] - learned["float"]["mean"]) < 0.02 and learned["mean_abs_difference"] > 0
    assert "projection 'plastic' learned: mean weight float" in out
    code, _, err = run_nmc("compare", song, "--target", "truenorth-like", "--steps", "10", "-o", tmp_path / "t")
    assert code == 2 and "projection 'plastic': learns (stdp), and format truenorth-like has no learning engine" in err
    assert "Traceback" not in err and not (tmp_path / "t").exists()


def test_initial_weights_are_kept_inside_positive_bounds():
    """w_min > 0: initial mantissas stay in [w_min, w_max] (the bounds are in learning units, the
    mantissas are not)."""
    rule = STDP(**dict(RULE, w_min=0.2, w_max=0.8))
    net = pair_network([50], [61], rule, w0=0.5)
    fx = quantized(net)
    q = fx.projections["plastic"]
    frac = fx.learning.weight_frac_bits
    assert (q.learning.m_min >> frac) < int(q.mantissa[0]) < (q.learning.m_max >> frac)
    w0 = (int(q.mantissa[0]) << frac) / q.learning.unit
    assert w0 == pytest.approx(0.5, rel=0.05)  # coarse: the drive (weight 5) sets the scale


@pytest.mark.parametrize("stochastic", [0, 1])
def test_decay_visits_the_live_traces_in_the_order_of_a_full_scan(stochastic):
    """The epoch decay visits only traces its live bits mark (a superset of the nonzero ones):
    values, live bits and the LFSR after equal a scan of every entry, over ranges that start and
    end inside a 32-bit word, with marked zeros and traces that decay to zero."""
    from nmcompiler.datapath.learning import round_shift
    from nmcompiler.sim.bit_plasticity import _F, _STOCH, _decay_all, _words

    rng = np.random.default_rng(7)
    n, lo, hi, d, f = 150, 13, 141, 3000, 12
    p = np.zeros(22, np.int64)
    p[_F], p[_STOCH] = f, stochastic
    a = np.where(rng.random(n) < 0.4, rng.integers(1, 200, n), 0).astype(np.int64)
    a[20:30] = 1  # 1 x (4096 - 3000) / 4096: 0 when rounded to nearest, and 3 times in 4 stochastically
    marked = (a != 0) | (rng.random(n) < 0.1) | (np.arange(n) == 3)  # every nonzero trace, and some zeros
    live = np.zeros(_words(n), np.int64)
    for i in np.flatnonzero(marked):
        live[i >> 5] |= 1 << (i & 31)
    want, state = a.copy(), 0x1234567
    for i in range(lo, hi):
        if want[i] != 0:
            want[i], state = round_shift(int(want[i]) * ((1 << f) - d), f, bool(stochastic), state)
    lfsr = np.array([0x1234567], np.int64)
    got = a.copy()
    _decay_all(got, live, lo, hi, d, p, lfsr, 0)
    assert np.array_equal(got, want) and int(lfsr[0]) == state
    assert np.count_nonzero(got[lo:hi] != a[lo:hi]) > 20  # the decay did something
    assert np.any((a[lo:hi] != 0) & (got[lo:hi] == 0))  # some traces reached zero
    bits = np.array([(live[i >> 5] >> (i & 31)) & 1 for i in range(n)])
    assert bits[3] == 1  # outside the range: untouched
    assert np.all(bits[lo:hi] >= (got[lo:hi] != 0))  # every nonzero trace stays marked
    assert not np.any(bits[lo:hi] & (got[lo:hi] == 0))  # a zero one visited is unmarked
