"""Learning in the float simulator (issue 26): event-driven STDP and reward-modulated STDP checked
against the rule's closed form (one pre-post pair changes the weight by exactly
``A_plus exp(-dt / tau_pre)`` or ``-A_minus exp(-dt / tau_post)``), bounds, multiplicative
dependence, nearest pairing, delays, rewards, and the weights written by ``nmc simulate``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nmcompiler.ir import IF, STDP, Connectivity, Network, Population, Probe, Projection, RewardSTDP, SpikeSource
from nmcompiler.sim import FloatSimulator

DT = 1e-4
RULE = dict(tau_pre=0.02, tau_post=0.01, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=1.0)


def pair_network(pre_steps, post_steps, rule, w0=0.5, delay=1, n_post=1):
    """Source ``pre`` spikes at ``pre_steps`` onto a plastic synapse of weight ``w0``; the IF
    neurons ``post`` (threshold 1, the plastic input too weak to make them fire) spike exactly at
    ``post_steps``: a drive spike sent one step before crosses the threshold alone."""
    net = Network("pair", dt=DT)
    net.add(Population(name="post", size=n_post, model=IF(v_threshold=1.0, v_reset=0.0)))
    net.add(SpikeSource(name="pre", size=1, ids=np.zeros(len(pre_steps)), times=np.array(pre_steps) * DT))
    net.add(SpikeSource(name="drive", size=1, ids=np.zeros(len(post_steps)), times=(np.array(post_steps) - 1) * DT))
    net.connect(Projection(name="drive", pre="drive", post="post",
                           connectivity=Connectivity.from_dense(np.full((1, n_post), 5.0))))
    net.connect(Projection(name="plastic", pre="pre", post="post", learning=rule,
                           connectivity=Connectivity.from_dense(np.full((1, n_post), w0), delays=delay)))
    net.probe(Probe(target="post"))
    return net


def run(net, steps=400, **kw):
    return FloatSimulator(net).run(steps, **kw)


@pytest.mark.parametrize("lag", [0, 1, 7, 100])
def test_pre_before_post_potentiates_by_the_closed_form(lag):
    # the pre spike sent at step 50 arrives (delay 1) at step 51; the post neuron fires at 51 + lag
    result = run(pair_network([50], [51 + lag], STDP(**RULE)))
    assert result.spike_train("post", 0).tolist() == [51 + lag]
    w = result.weights["plastic"].final[0]
    assert w - 0.5 == pytest.approx(0.01 * math.exp(-lag * DT / 0.02), rel=1e-12, abs=0)


@pytest.mark.parametrize("lag", [1, 13, 100])
def test_post_before_pre_depresses_by_the_closed_form(lag):
    result = run(pair_network([50 + lag], [51], STDP(**RULE)))
    assert result.spike_train("post", 0).tolist() == [51]
    w = result.weights["plastic"].final[0]
    assert w - 0.5 == pytest.approx(-0.012 * math.exp(-lag * DT / 0.01), rel=1e-12, abs=0)


def test_delay_pairs_at_arrival():
    # sent at step 40 with a delay of 11 steps: it arrives at 51, the post spike is at 56
    result = run(pair_network([40], [56], STDP(**RULE), delay=11))
    assert result.weights["plastic"].final[0] - 0.5 == pytest.approx(0.01 * math.exp(-5 * DT / 0.02), rel=1e-12)


def test_all_to_all_sums_and_nearest_keeps_the_last():
    pre, post = [10, 30], [61]  # arrivals at 11 and 31, the post spike at 61
    expect_all = 0.01 * (math.exp(-50 * DT / 0.02) + math.exp(-30 * DT / 0.02))
    expect_nearest = 0.01 * math.exp(-30 * DT / 0.02)
    w_all = run(pair_network(pre, post, STDP(**RULE))).weights["plastic"].final[0]
    w_near = run(pair_network(pre, post, STDP(**RULE, pairing="nearest"))).weights["plastic"].final[0]
    assert w_all - 0.5 == pytest.approx(expect_all, rel=1e-12)
    assert w_near - 0.5 == pytest.approx(expect_nearest, rel=1e-12)


def test_bounds_hold_and_multiplicative_dependence_scales():
    pre = list(range(10, 300, 10))  # every arrival one step before a post spike
    post = [p + 2 for p in pre]
    big = dict(RULE, A_plus=0.3, A_minus=0.0)
    additive = run(pair_network(pre, post, STDP(**big))).weights["plastic"]
    assert additive.final[0] == 1.0  # reached w_max and stayed there
    w0 = 0.2
    mult = run(pair_network([50], [52], STDP(**RULE, dependence="multiplicative"), w0=w0)).weights["plastic"]
    assert mult.final[0] - w0 == pytest.approx(0.01 * math.exp(-1 * DT / 0.02) * (1.0 - w0), rel=1e-12)
    mult_dep = run(pair_network([52], [51], STDP(**RULE, dependence="multiplicative"), w0=w0)).weights["plastic"]
    assert mult_dep.final[0] - w0 == pytest.approx(-0.012 * math.exp(-2 * DT / 0.01) * w0, rel=1e-12)
    never_below = run(pair_network(list(range(60, 390, 3)), [51], STDP(**dict(RULE, A_minus=0.5)))).weights
    assert never_below["plastic"].final[0] == 0.0


def test_weight_delivered_is_the_weight_at_arrival():
    # two arrivals with a post spike between them: the second delivers the potentiated weight
    net = pair_network([10, 30], [20], STDP(**RULE), w0=0.5)
    net.probe(Probe(target="post", variable="v"))
    result = run(net, steps=40)
    v = result.traces[next(iter(result.traces))].values[:, 0]
    w1 = 0.5 + 0.01 * math.exp(-9 * DT / 0.02)
    assert v[11] == 0.5 and v[31] == pytest.approx(v[30] + w1, rel=1e-12)


def test_reward_moves_weights_by_reward_times_eligibility():
    tau_e = 0.05
    rule = RewardSTDP(**RULE, tau_eligibility=tau_e, reward_times=[0.02], reward_values=[2.0])
    result = run(pair_network([50], [61], rule))  # arrival 51, post 61: eligibility A_plus e^(-10 dt/tau_pre)
    c = 0.01 * math.exp(-10 * DT / 0.02)
    assert result.weights["plastic"].final[0] - 0.5 == pytest.approx(2.0 * c * math.exp(-(200 - 61) * DT / tau_e),
                                                                     rel=1e-12)
    no_reward = RewardSTDP(**RULE, tau_eligibility=tau_e, reward_times=[0.001], reward_values=[2.0])
    assert run(pair_network([50], [61], no_reward)).weights["plastic"].final[0] == 0.5  # reward before the pair


def test_reward_from_a_spike_source_node():
    net = pair_network([50], [61], RewardSTDP(**RULE, tau_eligibility=0.05, reward="reward", reward_amount=0.5))
    net.add(SpikeSource(name="reward", size=2, ids=[0, 1], times=[0.02, 0.02]))
    w = run(net).weights["plastic"].final[0]
    c = 0.01 * math.exp(-10 * DT / 0.02)
    assert w - 0.5 == pytest.approx(2 * 0.5 * c * math.exp(-(200 - 61) * DT / 0.05), rel=1e-12)


def test_weight_snapshots_and_weights_npz(tmp_path):
    result = run(pair_network([50], [61], STDP(**RULE), n_post=3), steps=200, record_weights=100)
    w = result.weights["plastic"]
    assert w.steps.tolist() == [0, 100, 200] and w.history.shape == (3, 3)
    assert np.all(w.history[0] == 0.5) and np.all(w.history[2] == w.final) and np.all(w.final > 0.5)
    result.save(tmp_path)
    with np.load(tmp_path / "weights.npz") as z:
        assert z["plastic/post"].tolist() == [0, 1, 2] and np.array_equal(z["plastic/history"], w.history)


def test_fixed_weights_are_unchanged_by_the_plastic_path():
    """A rule with A_plus = A_minus = 0 gives the same spikes as the fixed-weight (compiled) run."""
    from nmcompiler.ir import LIF, PoissonSource

    def net(rule):
        n = Network("fixed", dt=DT, seed=3)
        n.add(Population(name="p", size=20, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0)))
        n.add(PoissonSource(name="in", size=50, rate=np.full(50, 40.0)))
        rng = np.random.default_rng(0)  # weights in 1/64ths: sums exact in any order
        weights = rng.integers(1, 26, (50, 20)) / 64
        n.connect(Projection(name="w", pre="in", post="p", learning=rule, connectivity=Connectivity.from_dense(
            weights, delays=rng.integers(1, 5, 1000))))
        n.probe(Probe(target="p"))
        return n

    fixed = FloatSimulator(net(None)).run(3000)
    frozen = FloatSimulator(net(STDP(**dict(RULE, A_plus=0.0, A_minus=0.0)))).run(3000)
    assert fixed.spike_counts()["p"] > 50
    assert np.array_equal(fixed.spike_steps["p"], frozen.spike_steps["p"])
    assert np.array_equal(fixed.spike_ids["p"], frozen.spike_ids["p"])


def test_numba_and_numpy_loops_learn_the_same_bits():
    """Two plastic projections (mixed delays, multiplicative and nearest; reward-modulated with a
    population as reward node), a fixed one, and snapshots: both backends give the same bits."""
    from nmcompiler.ir import LIF, PoissonSource

    rng = np.random.default_rng(7)
    net = Network("both", dt=DT, seed=5)
    net.add(Population(name="a", size=30, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0)))
    net.add(Population(name="b", size=10, model=LIF(tau_mem=0.02, v_threshold=1.0, v_reset=0.0)))
    net.add(PoissonSource(name="in", size=40, rate=np.full(40, 30.0)))
    dense = rng.uniform(0.05, 0.5, (40, 30)) * (rng.uniform(size=(40, 30)) < 0.5)
    net.connect(Projection(name="in_a", pre="in", post="a", learning=STDP(**RULE, dependence="multiplicative"),
                           connectivity=Connectivity.from_dense(dense, delays=rng.integers(1, 6, np.count_nonzero(dense)))))
    reward = RewardSTDP(**dict(RULE, w_max=0.6), tau_eligibility=0.1, reward="b", reward_amount=0.3, pairing="nearest")
    net.connect(Projection(name="a_b", pre="a", post="b", learning=reward,
                           connectivity=Connectivity.from_dense(rng.uniform(0.1, 0.5, (30, 10)), delays=2)))
    net.connect(Projection(name="in_b", pre="in", post="b", connectivity=Connectivity.from_dense(
        rng.uniform(0, 0.2, (40, 10)))))
    net.probe(Probe(target="a"))
    net.probe(Probe(target="b"))
    got = [FloatSimulator(net, backend=b).run(4000, record_weights=1000) for b in ("numba", "numpy")]
    assert got[0].spike_counts()["b"] > 20 and got[0].spike_counts()["a"] > 100
    for pop in ("a", "b"):
        assert np.array_equal(got[0].spike_steps[pop], got[1].spike_steps[pop])
        assert np.array_equal(got[0].spike_ids[pop], got[1].spike_ids[pop])
    for name in ("in_a", "a_b"):
        w0, w1 = got[0].weights[name], got[1].weights[name]
        assert np.array_equal(w0.history, w1.history) and np.array_equal(w0.final, w1.final)
        assert not np.array_equal(w0.history[0], w0.final)
    assert got[0].synaptic_events == got[1].synaptic_events
