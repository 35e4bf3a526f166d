"""Round trips: IR -> NIR (file) -> IR simulates identically; NIR -> IR -> NIR keeps the graph's meaning."""

import numpy as np
import nir
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmcompiler.errors import UserError
from nmcompiler.frontends.nir import NirOptions, export_nir, load_nir
from nmcompiler.frontends.nir.exporter import exact_preimage
from nmcompiler.ir import (
    IF, LIF, Connectivity, CubaLIF, Network, PoissonSource, Population, Probe, Projection, SpikeSource,
    ThresholdUnit,
)
from nmcompiler.sim import simulate

DT = 1e-4


@st.composite
def networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    integration = draw(st.sampled_from(["euler", "exact", "exp_euler"]))
    net = Network("rand", dt=DT)
    n_in = draw(st.integers(1, 4))
    net.add(SpikeSource(name="in", size=n_in, ids=rng.integers(0, n_in, 30), times=rng.integers(0, 60, 30) * DT))
    pops = []
    for i in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 5))
        kind = draw(st.sampled_from(["lif", "cuba", "if", "threshold"]))
        common = dict(v_threshold=rng.uniform(0.2, 1.0, n), reset=draw(st.sampled_from(["value", "subtract"])),
                      v_reset=rng.uniform(-0.2, 0.1, n) if kind != "threshold" else 0.0,
                      refractory=draw(st.sampled_from([0.0, 2 * DT])), integration=integration,
                      r=rng.uniform(0.5, 2.0, n), v_min=draw(st.sampled_from([-np.inf, -0.05])))
        if kind == "lif":
            model = LIF(tau_mem=rng.uniform(3 * DT, 50 * DT, n), v_leak=rng.uniform(-0.1, 0.1, n),
                        bias=rng.uniform(-0.5, 0.5, n) * draw(st.sampled_from([0, 1])), **common)
        elif kind == "cuba":
            model = CubaLIF(tau_mem=rng.uniform(3 * DT, 50 * DT, n), tau_syn=rng.uniform(2 * DT, 20 * DT, n)[None],
                            **common)
        elif kind == "if":
            model = IF(bias=rng.uniform(0, 500, n) * draw(st.sampled_from([0, 1])), **common)
        else:
            model = ThresholdUnit(v_threshold=common["v_threshold"], integration=integration,
                                  reset=common["reset"])
        init = {"v": rng.uniform(-0.1, 0.3, n)} if kind != "threshold" and draw(st.booleans()) else {}
        pops.append(net.add(Population(name=f"p{i}", size=n, model=model, initial=init)))
    for k, post in enumerate(pops):
        for pre in [net.node("in")] + pops:
            if pre is not net.node("in") and not draw(st.booleans()):
                continue
            mask = rng.random((pre.size, post.size)) < 0.7
            mask[0, 0] |= pre.name == "in"  # every population has an input (NIR needs one to carry a bias)
            pre_i, post_i = np.nonzero(mask)
            if pre_i.size == 0:
                continue
            w = rng.normal(0.3, 0.5, pre_i.size)
            d = rng.integers(1, 4, pre_i.size) if draw(st.booleans()) else 1
            net.connect(Projection(name=f"{pre.name}_{post.name}", pre=pre.name, post=post.name,
                                   connectivity=Connectivity.from_coo(pre.size, post.size, pre_i, post_i, w, d),
                                   receptor="syn" if isinstance(post.model, CubaLIF) else None))
    return net


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=networks())
def test_ir_nir_ir_simulates_identically(tmp_path, net):
    path = tmp_path / "rt.nir"
    nir.write(path, export_nir(net))
    back = load_nir(path)
    back.replace(net.node("in"))  # NIR Inputs carry no spikes: feed the same ones
    assert back.dt == net.dt
    assert [p.name for p in back.populations] == [p.name for p in net.populations]
    for a in net.populations:
        b = back.node(a.name)
        assert type(a.model) is type(b.model) and a.model.reset == b.model.reset
        assert np.array_equal(np.broadcast_to(a.model.v_min, (a.size,)), np.broadcast_to(b.model.v_min, (a.size,)))
        assert a.model.integration == b.model.integration or isinstance(a.model, ThresholdUnit)
    for a_proj in net.projections:  # the IR's own weights come back exactly (nmcompiler.ir_weight metadata)
        (b_proj,) = [p for p in back.projections if p.pre == a_proj.pre and p.post == a_proj.post
                     and np.array_equal(np.unique(p.connectivity.delays), np.unique(a_proj.connectivity.delays))] or [None]
        if b_proj is not None and b_proj.connectivity.nnz == a_proj.connectivity.nnz:
            assert np.array_equal(b_proj.connectivity.to_dense(), a_proj.connectivity.to_dense())
    for probes in (net, back):
        probes.probes = [Probe(target=p.name, variable=v) for p in probes.populations for v in ("spikes", "v")]
    a, b = simulate(net, steps=80), simulate(back, steps=80)
    for pop in a.spike_steps:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]), pop
        assert np.array_equal(a.spike_ids[pop], b.spike_ids[pop]), pop
    for label in a.traces:  # bit for bit, not just the spikes
        assert np.array_equal(a.traces[label].values, b.traces[label].values), label


def test_weights_survive_within_one_ulp():
    """Weights are divided by the import scale on export; the nearest float reproduces them exactly
    where one exists (always for scale 1 and powers of two), else to within one ulp."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=10000)
    for scale in (0.04, 0.3, 1.0, 1.7, 1e4, 0.25):
        x = exact_preimage(target, np.full(target.shape, scale))
        err = np.abs(x * scale - target) / np.spacing(np.abs(target))
        assert err.max() <= 1
        assert np.mean(err == 0) > (0.999 if scale in (1.0, 0.25) else 0.8)


def test_nir_ir_nir_keeps_neurons_and_the_composed_linear_map():
    rng = np.random.default_rng(3)
    w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    s = np.array([2.0, 0.5, 1.0, -1.0])
    lif = nir.LIF(tau=np.full(2, 0.02), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2))
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "a": nir.Linear(w1), "s": nir.Scale(s),
                            "b": nir.Linear(w2), "lif": lif, "output": nir.Output(np.array([2]))},
                     edges=[("input", "a"), ("a", "s"), ("s", "b"), ("b", "lif"), ("lif", "output")])
    again = export_nir(load_nir(g, NirOptions(dt=DT)))
    kinds = sorted(type(n).__name__ for n in again.nodes.values())
    assert kinds == ["Input", "LIF", "Linear", "Output"]  # normalization: the chain is one Linear
    (linear,) = [n for n in again.nodes.values() if isinstance(n, nir.Linear)]
    assert np.allclose(linear.weight, w2 @ np.diag(s) @ w1, rtol=1e-12)
    out_lif = next(n for n in again.nodes.values() if isinstance(n, nir.LIF))
    for field in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
        assert np.array_equal(getattr(out_lif, field), getattr(lif, field).astype(np.float64))
    assert again.metadata["dt"] == DT and again.metadata["nmcompiler.integration"] == "euler"


def test_export_rejections():
    net = Network("x", dt=DT)
    net.add(Population(name="p", size=2, model=CubaLIF(tau_mem=0.01, tau_syn=[0.002, 0.005], receptor_names=("a", "b"))))
    with pytest.raises(UserError, match=r"^population 'p': NIR's CubaLIF has one synaptic current, this one has "
                                        r"receptors \['a', 'b'\]$"):
        export_nir(net)
    net = Network("y", dt=DT)
    net.add(PoissonSource(name="noise", size=2, rate=5.0))
    with pytest.raises(UserError, match=r"^source 'noise': poisson sources have no NIR equivalent"):
        export_nir(net)
    net = Network("z", dt=DT)
    net.add(Population(name="a", size=1, model=LIF(tau_mem=0.01, integration="euler")))
    net.add(Population(name="b", size=1, model=LIF(tau_mem=0.01, integration="exact")))
    with pytest.raises(UserError, match=r"^NIR export needs one integration scheme"):
        export_nir(net)
