"""Float reference simulator against analytic solutions and the NIR paper's exact LIF trace.

Time convention: the state recorded in step k is the state at time k*dt, reached from the
initial state after k+1 exact propagations over dt.
"""

import math

import numpy as np
import pytest

from conftest import NIR_PAPER
from nmcompiler.ir import (
    IF, LIF, Connectivity, CubaLIF, CurrentSource, Network, PoissonSource, Population, Probe, Projection,
    SpikeSource,
)
from nmcompiler.sim import simulate

DT = 1e-4


def one_neuron(model, *, v0=None, dt=DT) -> Network:
    net = Network("one", dt=dt)
    net.add(Population(name="n", size=1, model=model, initial={} if v0 is None else {"v": v0}))
    net.probe(Probe(target="n"))
    net.probe(Probe(target="n", variable="v"))
    return net


def drive(net: Network, steps_at, weight, delay=1, post="n", name="in"):
    net.add(SpikeSource(name=name, size=1, ids=np.zeros(len(steps_at)), times=np.asarray(steps_at) * net.dt))
    net.connect(Projection(name=f"{name}_{post}", pre=name, post=post,
                           connectivity=Connectivity.from_coo(1, 1, [0], [0], weight, delay)))


def crossing_time(tau, v0, v_inf, v_th):
    return tau * math.log((v_inf - v0) / (v_inf - v_th))


def test_lif_first_spike_under_constant_current_matches_analytic():
    tau, r, bias, vth = 0.02, 2.0, 0.6, 1.0  # v_inf = 1.2 > threshold
    res = simulate(one_neuron(LIF(tau_mem=tau, r=r, bias=bias, v_threshold=vth), v0=0.0), steps=2000)
    t_star = crossing_time(tau, 0.0, r * bias, vth)
    assert res.spike_train("n", 0)[0] == math.floor(t_star / DT)
    # sub-threshold trace is the exact exponential
    k = np.arange(50)
    assert np.allclose(res.traces["n.v"].values[:50, 0], r * bias * (1 - np.exp(-(k + 1) * DT / tau)), rtol=1e-12)


def test_no_spike_below_rheobase():
    res = simulate(one_neuron(LIF(tau_mem=0.02, bias=0.999, v_threshold=1.0, v_leak=0.0), v0=0.0), steps=20000)
    assert res.spike_counts()["n"] == 0
    assert res.traces["n.v"].values[-1, 0] == pytest.approx(0.999, abs=1e-9)


def test_refractory_period_sets_the_interspike_interval():
    tau, bias, ref = 0.01, 1.5, 2e-3
    model = LIF(tau_mem=tau, bias=bias, v_threshold=1.0, v_reset=0.0, refractory=ref)
    res = simulate(one_neuron(model, v0=0.0), steps=3000)
    spikes = res.spike_train("n", 0)
    n_cross = math.floor(crossing_time(tau, 0.0, bias, 1.0) / DT)
    assert spikes[0] == n_cross
    assert np.all(np.diff(spikes) == round(ref / DT) + 1 + n_cross)
    v = res.traces["n.v"].values[:, 0]
    held = v[spikes[0]: spikes[0] + round(ref / DT) + 1]
    assert np.all(held == 0.0)  # held at v_reset for exactly `refractory` after the spike step
    assert v[spikes[0] + round(ref / DT) + 1] > 0.0


@pytest.mark.parametrize("reset,expected_spikes", [("value", [10]), ("subtract", [10, 11])])
def test_reset_modes(reset, expected_spikes):
    model = IF(v_threshold=1.0, v_reset=-0.2, reset=reset)
    net = one_neuron(model, v0=0.0)
    drive(net, [9], 2.5)  # arrives in step 10: v = 2.5
    res = simulate(net, steps=20)
    assert res.spike_train("n", 0).tolist() == expected_spikes
    # subtraction removes (v_th - v_reset) = 1.2 per spike: 2.5 -> 1.3 (spike again) -> 0.1
    v = res.traces["n.v"].values[:, 0]
    if reset == "value":
        assert v[10] == pytest.approx(-0.2) and v[11] == pytest.approx(-0.2)
    else:
        assert v[10] == pytest.approx(1.3) and v[11] == pytest.approx(0.1)


def test_delays_arrive_exactly_d_steps_later():
    net = Network("delay", dt=DT)
    net.add(Population(name="n", size=3, model=IF(v_threshold=10.0)))
    net.add(SpikeSource(name="in", size=1, ids=[0], times=[5 * DT]))
    net.connect(Projection(name="in_n", pre="in", post="n",
                           connectivity=Connectivity.from_coo(1, 3, [0, 0, 0], [0, 1, 2], 1.0, [1, 4, 17])))
    net.probe(Probe(target="n", variable="v"))
    v = simulate(net, steps=40).traces["n.v"].values
    first = [int(np.argmax(v[:, i] > 0)) for i in range(3)]
    assert first == [6, 9, 22]


@pytest.mark.parametrize("tau_syn", [0.005, 0.02])  # 0.02 == tau_mem exercises the degenerate case
def test_cuba_psp_matches_analytic_alpha_difference(tau_syn):
    tau_m, w = 0.02, 0.3
    net = one_neuron(CubaLIF(tau_mem=tau_m, tau_syn=tau_syn, v_threshold=10.0), v0=0.0)
    drive(net, [9], w)  # current jumps in step 10, membrane responds from step 11
    net.probe(Probe(target="n", variable="i"))
    res = simulate(net, steps=600)
    v, i = res.traces["n.v"].values[:, 0], res.traces["n.i"].values[:, 0, 0]
    t = (np.arange(600) - 10) * DT
    if tau_syn == tau_m:
        expected = w * t / tau_m * np.exp(-t / tau_m)
    else:
        expected = w * tau_syn / (tau_syn - tau_m) * (np.exp(-t / tau_syn) - np.exp(-t / tau_m))
    assert np.all(v[:11] == 0.0)
    assert np.allclose(v[10:], expected[10:], rtol=1e-10, atol=1e-15)
    assert np.allclose(i[10:], w * np.exp(-t[10:] / tau_syn), rtol=1e-12)


def test_if_integrates_bias_linearly():
    res = simulate(one_neuron(IF(r=3.0, bias=2.0, v_threshold=1e9), v0=0.0), steps=100)
    assert np.allclose(res.traces["n.v"].values[:, 0], 3.0 * 2.0 * DT * np.arange(1, 101), rtol=1e-12)


def test_current_source_window():
    net = one_neuron(LIF(tau_mem=0.01, v_threshold=1e9), v0=0.0)
    net.add(CurrentSource(name="dc", size=1, amplitude=2.0, start=10 * DT, stop=30 * DT))
    net.connect(Projection(name="dc_n", pre="dc", post="n",
                           connectivity=Connectivity.from_coo(1, 1, [0], [0], 0.5)))
    v = simulate(net, steps=50).traces["n.v"].values[:, 0]
    assert np.all(v[:10] == 0) and np.all(np.diff(v[10:30]) > 0) and np.all(np.diff(v[30:]) < 0)
    assert v[29] == pytest.approx(1.0 * (1 - math.exp(-20 * DT / 0.01)), rel=1e-12)


def test_poisson_rate_and_seed():
    net = Network("p", dt=DT, seed=2)
    net.add(Population(name="n", size=200, model=IF(v_threshold=0.5)))
    net.add(PoissonSource(name="noise", size=200, rate=100.0))
    net.connect(Projection(name="noise_n", pre="noise", post="n",
                           connectivity=Connectivity.from_coo(200, 200, np.arange(200), np.arange(200), 1.0)))
    a = simulate(net, steps=10000)
    # every input spike makes its neuron fire, except those emitted in the last step (never delivered)
    assert 0 <= a.synaptic_events - a.spike_counts()["n"] <= 10
    assert abs(a.spike_counts()["n"] - 200 * 100) < 5 * math.sqrt(200 * 100)
    b = simulate(net, steps=10000)
    c = simulate(net, steps=10000, seed=3)
    assert np.array_equal(a.spike_steps["n"], b.spike_steps["n"]) and np.array_equal(a.spike_ids["n"], b.spike_ids["n"])
    assert not np.array_equal(a.spike_steps["n"], c.spike_steps["n"])


def test_cost_follows_events_not_neurons():
    """Delivery touches only rows of neurons that spiked: events counted equal fan-out x spikes."""
    net = Network("sparse", dt=DT)
    net.add(Population(name="n", size=1000, model=IF(v_threshold=0.5)))
    net.add(SpikeSource(name="in", size=1, ids=[0, 0], times=[0.0, 3 * DT]))
    net.connect(Projection(name="in_n", pre="in", post="n", connectivity=Connectivity.from_coo(1, 1000, [0], [0], 1.0)))
    pre, post = np.arange(999), np.arange(1, 1000)
    net.connect(Projection(name="chain", pre="n", post="n", connectivity=Connectivity.from_coo(1000, 1000, pre, post, 1.0)))
    res = simulate(net, steps=50)
    assert res.spike_train("n", 0).tolist() == [1, 4]
    assert res.spike_counts()["n"] == (50 - 1) + (50 - 4)  # two waves travelling one neuron per step
    assert res.synaptic_events == 2 + (res.spike_counts()["n"])


@pytest.mark.skipif(not (NIR_PAPER / "lif_exact.csv").exists(), reason="../shared/data/nir-paper is absent")
def test_nir_paper_exact_lif_trace():
    import nir

    graph = nir.read(str(NIR_PAPER / "lif_norse.nir"))
    lif = next(n for n in graph.nodes.values() if isinstance(n, nir.LIF))
    affine = next(n for n in graph.nodes.values() if isinstance(n, nir.Affine))
    tau, r = float(lif.tau[0]), float(lif.r[0])
    data = np.loadtxt(NIR_PAPER / "lif_exact.csv", delimiter=",")
    input_steps = np.flatnonzero(data[:, 0])
    # A unit input spike in step k is a unit current pulse over that step: exact jump r (1 - e^{-dt/tau}).
    weight = float(affine.weight[0, 0]) * (1 - math.exp(-DT / tau))
    net = one_neuron(LIF(tau_mem=tau, r=r, v_leak=float(lif.v_leak[0]), v_threshold=float(lif.v_threshold[0]),
                         v_reset=float(lif.v_reset[0])), v0=0.0)
    drive(net, input_steps - 1, weight)  # emitted one step earlier, arriving (delay 1) in the step of the pulse
    res = simulate(net, steps=len(data))
    assert res.spike_train("n", 0).tolist() == [460, 510, 710, 760]
    assert np.flatnonzero(data[:, 2]).tolist() == [460, 510, 710, 760]
    v = res.traces["n.v"].values[:, 0]
    assert np.max(np.abs(v[:460] - data[:460, 1])) < 1e-7  # exact up to float32 parameters


def test_euler_cuba_lif_matches_snntorch_synaptic_recurrence():
    """integration: euler reproduces snnTorch's Synaptic: syn = a syn + x; mem = b mem + syn (reset by subtraction)."""
    from nmcompiler.ir import Integration

    alpha, beta = 0.55, 0.9
    tau_s, tau_m = DT / (1 - alpha), DT / (1 - beta)
    r = tau_m / DT  # snnTorch's NIR export: r = tau_mem / dt, so mem gains exactly syn
    model = CubaLIF(tau_mem=tau_m, tau_syn=tau_s, r=r, v_threshold=1.0, reset="subtract",
                    integration=Integration.EULER)
    x = np.random.default_rng(0).random(200) * 0.4
    # feed x[t] as the weight of a source channel that fires once, in step t
    net = one_neuron(model, v0=0.0)
    net.add(SpikeSource(name="in", size=200, ids=np.arange(200), times=np.arange(200) * DT))
    net.connect(Projection(name="in_n", pre="in", post="n",
                           connectivity=Connectivity.from_coo(200, 1, np.arange(200), np.zeros(200), x)))
    res = simulate(net, steps=201)
    syn = mem = 0.0
    spikes, trace = [], []
    for t in range(201):
        inp = x[t - 1] if t >= 1 else 0.0  # source spike of step t-1 arrives in step t
        syn = alpha * syn + inp
        mem = beta * mem + syn
        if mem > 1.0:
            spikes.append(t)
            mem -= 1.0
        trace.append(mem)
    assert res.spike_train("n", 0).tolist() == spikes and len(spikes) > 3
    assert np.allclose(res.traces["n.v"].values[:, 0], trace, rtol=1e-12, atol=1e-12)


def test_euler_needs_tau_above_dt():
    from nmcompiler.errors import ValidationError

    net = one_neuron(LIF(tau_mem=DT / 2, integration="euler"))
    with pytest.raises(ValidationError, match=r"^population 'n': euler integration needs tau_mem > dt "
                                              r"\(0.05 ms <= 0.1 ms\): use integration 'exact' or a smaller dt$"):
        net.validate()


def test_threshold_unit_and_non_spiking_integrator():
    from nmcompiler.ir import ThresholdUnit

    net = Network("t", dt=DT)
    net.add(Population(name="th", size=1, model=ThresholdUnit(v_threshold=0.5)))
    net.add(Population(name="li", size=1, model=LIF(tau_mem=0.01, v_threshold=0.1, spiking=False)))
    net.add(SpikeSource(name="in", size=1, ids=[0, 0, 0], times=np.array([2, 3, 10]) * DT))
    for post, w in (("th", 0.7), ("li", 0.7)):
        net.connect(Projection(name=f"in_{post}", pre="in", post=post,
                               connectivity=Connectivity.from_coo(1, 1, [0], [0], w)))
    net.probe(Probe(target="th"))
    net.probe(Probe(target="li"))
    net.probe(Probe(target="li", variable="v"))
    res = simulate(net, steps=20)
    assert res.spike_train("th", 0).tolist() == [3, 4, 11]  # memoryless: every input alone crosses 0.5
    assert res.spike_counts()["li"] == 0 and res.traces["li.v"].values.max() > 1.0


def test_current_source_into_receptor_is_constant_synaptic_input():
    net = one_neuron(CubaLIF(tau_mem=0.02, tau_syn=0.005, v_threshold=1e9), v0=0.0)
    net.add(CurrentSource(name="dc", size=1, amplitude=2.0))
    net.connect(Projection(name="dc_n", pre="dc", post="n", connectivity=Connectivity.from_coo(1, 1, [0], [0], 0.25)))
    net.probe(Probe(target="n", variable="i"))
    i = simulate(net, steps=5000).traces["n.i"].values[:, 0, 0]
    assert i[0] == pytest.approx(0.5)  # 0.5 arrives every step
    assert i[-1] == pytest.approx(0.5 / (1 - math.exp(-DT / 0.005)), rel=1e-9)  # geometric series limit


def test_source_spikes_of_a_step_come_in_source_order_then_channel_order():
    """Explicit spikes, then every Poisson source in declaration order (uniform ones drawn on their
    grid, windowed ones only inside their window), channels ascending: the global ids of one
    step strictly increase, whatever the block length."""
    from nmcompiler.ir import PoissonSource, SpikeSource
    from nmcompiler.sim.inputs import SourceSpikes
    from nmcompiler.sim.layout import build_layout

    net = Network("order", dt=1e-3)
    net.add(SpikeSource(name="x", size=4, ids=[3, 1, 2, 0, 1], times=[0.0, 0.0, 0.005, 0.005, 0.3]))
    net.add(PoissonSource(name="a", size=300, rate=200.0))
    net.add(PoissonSource(name="w", size=40, rate=500.0, start=0.05, stop=0.1))
    net.add(PoissonSource(name="m", size=5, rate=[100.0, 0.0, 900.0, 50.0, 300.0]))
    layout = build_layout(net)
    for block in (None, 1, 7, 64):
        src = SourceSpikes(net, layout, 11, block=block)
        steps = [src.at(t) for t in range(400)]
        for t, ids in enumerate(steps):
            if ids is not None:
                assert np.all(np.diff(ids) > 0), (block, t, ids)
        got = np.concatenate([x for x in steps if x is not None])
        w = (got >= layout.offsets["w"]) & (got < layout.offsets["m"])
        when = np.concatenate([np.full(x.size, t) for t, x in enumerate(steps) if x is not None])
        assert w.any() and when[w].min() >= 50 and when[w].max() < 100
        assert set(got[got < 4]) == {0, 1, 2, 3}
        if block is None:
            first = got
        assert np.array_equal(got, first)


def test_uniform_poisson_source_rate_window_and_determinism():
    """A source with one probability per step draws geometric gaps: right mean, nothing outside
    [start, stop), every channel used, reproducible for a seed."""
    from nmcompiler.ir import PoissonSource
    from nmcompiler.sim.inputs import SourceSpikes
    from nmcompiler.sim.layout import build_layout

    net = Network("p", dt=1e-3)
    net.add(PoissonSource(name="ext", size=50, rate=100.0, start=0.2, stop=0.7))
    net.add(PoissonSource(name="mixed", size=3, rate=[10.0, 500.0, 0.0]))  # per-channel rates: the other path
    layout = build_layout(net)

    def draw(seed, block=256, order=range(2000)):
        src = SourceSpikes(net, layout, seed, block=block)
        got = {t: src.at(t) for t in order}
        return [got[t] for t in range(2000)]

    def same(a, b):
        return all((x is None and y is None) or np.array_equal(x, y) for x, y in zip(a, b))

    a = draw(5)
    assert same(a, draw(5))
    assert same(a, draw(5, block=7))  # the streams do not depend on the block length ...
    assert same(a, draw(5, order=[1500, *range(2000)]))  # ... nor on the order of the questions
    assert not same(a, draw(6))
    ext = [(t, i) for t, x in enumerate(a) if x is not None for i in x if i < 50]
    steps = np.array([t for t, _ in ext])
    assert steps.min() >= 200 and steps.max() < 700
    assert abs(len(ext) - 2500) < 4 * np.sqrt(2500 * 0.9)  # 50 channels x 500 steps x p 0.1
    per_channel = np.bincount([i for _, i in ext], minlength=50)
    assert per_channel.min() > 20 and per_channel.max() < 85
    mixed = np.bincount([i - 50 for x in a if x is not None for i in x if i >= 50], minlength=3)
    assert mixed[2] == 0 and mixed[1] > 800 and 5 < mixed[0] < 45


def test_uniform_poisson_positions_are_the_streams_gaps_one_by_one():
    """The grid positions a uniform source spikes at are its stream's first gap and then gaps of
    ``1 + floor(X * scale)`` for its next exponentials in order (a reference drawn one exponential
    at a time in plain Python), across blocks."""
    from nmcompiler.ir import PoissonSource
    from nmcompiler.sim import inputs
    from nmcompiler.sim.layout import build_layout
    from nmcompiler.streams import stream

    net = Network("p", dt=1e-3)
    net.add(PoissonSource(name="ext", size=30, rate=150.0))
    src = inputs.SourceSpikes(net, build_layout(net), 3, block=13)
    got = [(t, int(i)) for t in range(400) if (x := src.at(t)) is not None for i in x]
    rng = stream(3, "poisson", "ext")
    scale = inputs._gap_scale(150.0 * 1e-3)
    c, want = int(rng.standard_exponential() * scale), []
    while c < 400 * 30:
        want.append(divmod(c, 30))
        c += 1 + int(rng.standard_exponential() * scale)
    assert len(want) > 1000 and got == want


def test_current_into_a_cuba_membrane_acts_as_its_bias():
    """A current source projected with receptor "membrane" into CUBA-LIF cells moves v exactly as
    the same bias would, during its window only; the name is reserved; NIR export refuses it."""
    from nmcompiler.errors import UserError
    from nmcompiler.frontends.nir import export_nir
    from nmcompiler.ir import MEMBRANE, CubaLIF, CurrentSource, Projection

    def network(bias, current):
        net = Network("m", dt=1e-4)
        model = CubaLIF(tau_mem=0.01, tau_syn=[0.005], receptor_names=("e",), v_threshold=1.0,
                        r=2.0, bias=bias)
        net.add(Population(name="p", size=2, model=model))
        if current:
            net.add(CurrentSource(name="dc", size=1, amplitude=np.array([current]), start=0.001, stop=0.003))
            net.connect(Projection(name="dc_p", pre="dc", post="p", receptor=MEMBRANE,
                                   connectivity=Connectivity.from_coo(1, 2, [0], [1], [1.0], [1])))
        net.probe(Probe(target="p", variable="v"))
        return net.validate()

    ours = simulate(network(0.0, 0.2), steps=40).traces["p.v"].values
    held = simulate(network(0.2, 0.0), steps=40).traces["p.v"].values
    assert np.all(ours[:, 0] == 0) and np.all(ours[:10, 1] == 0)
    assert np.allclose(ours[10:30, 1], held[:20, 1]) and ours[29, 1] > 0.05
    assert np.all(np.diff(ours[30:, 1]) < 0)
    with pytest.raises(UserError, match="no NIR form"):
        export_nir(network(0.0, 0.2))
    bad = CubaLIF(tau_mem=0.01, tau_syn=[0.005], receptor_names=(MEMBRANE,))
    assert any("reserved" in p for p in bad.problems(1))
