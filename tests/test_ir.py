import re

import numpy as np
import pytest

from nmcompiler.errors import ValidationError
from nmcompiler.ir import (
    IF, LIF, Connectivity, CubaLIF, CurrentSource, Network, PoissonSource, Population, Probe, Projection,
    SpikeSource, load_network_file, save_network,
)
from nmcompiler.sim import simulate


def small_network() -> Network:
    net = Network("small", dt=1e-4, seed=5)
    net.add(Population(name="a", size=20, model=LIF(tau_mem=0.01, v_threshold=0.5, refractory=2e-4),
                       initial={"v": np.linspace(0, 0.4, 20)}))
    net.add(Population(name="b", size=10, model=CubaLIF(tau_mem=0.02, tau_syn=[0.005, 0.01],
                                                         receptor_names=("exc", "inh"), v_threshold=0.3)))
    net.add(Population(name="c", size=4, model=IF(r=2.0, v_threshold=1.0, reset="subtract")))
    net.add(PoissonSource(name="noise", size=20, rate=200.0))
    net.add(SpikeSource(name="train", size=2, ids=[1, 0, 1], times=[0.003, 0.001, 0.001]))
    net.add(CurrentSource(name="dc", size=1, amplitude=0.2, start=0.002, stop=0.008))
    rng = np.random.default_rng(0)
    net.connect(Projection(name="noise_a", pre="noise", post="a",
                           connectivity=Connectivity.from_coo(20, 20, np.arange(20), np.arange(20), 0.3, 1)))
    pre, post = np.nonzero(rng.random((20, 10)) < 0.5)
    net.connect(Projection(name="a_b", pre="a", post="b", receptor="exc",
                           connectivity=Connectivity.from_coo(20, 10, pre, post, rng.random(pre.size) * 0.1,
                                                              rng.integers(1, 6, pre.size))))
    net.connect(Projection(name="b_c", pre="b", post="c",
                           connectivity=Connectivity.from_dense(rng.random((10, 4)), delays=3)))
    net.connect(Projection(name="train_b", pre="train", post="b", receptor="inh",
                           connectivity=Connectivity.from_coo(2, 10, [0, 1], [3, 4], -0.2, 2)))
    net.connect(Projection(name="dc_c", pre="dc", post="c",
                           connectivity=Connectivity.from_coo(1, 4, [0, 0], [0, 1], [1.0, 2.0])))
    net.probe(Probe(target="a"))
    net.probe(Probe(target="b"))
    net.probe(Probe(target="c"))
    net.probe(Probe(target="b", variable="i", neurons=[3, 4]))
    return net


def test_connectivity_csr_from_coo_sorts_by_pre_then_post():
    c = Connectivity.from_coo(3, 4, [2, 0, 2, 0], [1, 3, 0, 2], [1.0, 2.0, 3.0, 4.0], [1, 2, 3, 4])
    assert c.indptr.tolist() == [0, 2, 2, 4]
    assert c.indices.tolist() == [2, 3, 0, 1]
    assert c.weights.tolist() == [4.0, 2.0, 3.0, 1.0]
    assert c.delays.tolist() == [4, 2, 3, 1]
    assert c.fan_in().tolist() == [1, 1, 1, 1]
    assert c.fan_in() is c.fan_in() and not c.fan_in().flags.writeable  # counted once, shared read-only
    assert c.fan_out().tolist() == [2, 0, 2]
    dense = np.zeros((3, 4))
    dense[[2, 0, 2, 0], [1, 3, 0, 2]] = [1.0, 2.0, 3.0, 4.0]
    assert np.array_equal(c.to_dense(), dense)
    assert Connectivity.from_dense(dense) == Connectivity.from_coo(3, 4, *np.nonzero(dense), dense[np.nonzero(dense)])


def test_scalar_weights_and_delays_stay_scalar():
    c = Connectivity.from_coo(1000, 1000, np.arange(1000), np.arange(1000), 0.5, 2)
    assert c.weights.shape == () and c.delays.shape == ()
    assert c.synapse_weights().shape == (1000,)


def test_validation_lists_every_problem():
    net = Network("bad", dt=1e-4)
    net.add(Population(name="p", size=3, model=LIF(tau_mem=-0.01, v_threshold=[1.0, 2.0])))
    net.add(Population(name="q", size=2, model=CubaLIF(tau_mem=0.01, tau_syn=[0.005])))
    net.add(PoissonSource(name="s", size=2, rate=-1.0))
    bad = Connectivity(n_pre=3, n_post=2, indptr=[0, 1, 1, 2], indices=[0, 5], weights=[np.nan, 1.0], delays=0)
    net.connect(Projection(name="p_q", pre="p", post="q", connectivity=bad, receptor="ampa"))
    net.connect(Projection(name="q_s", pre="q", post="s", connectivity=Connectivity.from_coo(2, 2, [0], [0])))
    net.probe(Probe(target="p", variable="u"))
    with pytest.raises(ValidationError) as exc:
        net.validate()
    text = [str(d) for d in exc.value.diagnostics]
    expected = [
        r"^population 'p': parameter 'v_threshold' has shape \(2,\), expected a scalar or \(3,\)$",
        r"^source 's': 'rate' must be >= 0$",
        r"^projection 'p_q': receptor 'ampa' unknown: 'q' \(cuba_lif\) has receptors \['syn'\]$",
        r"^projection 'p_q': postsynaptic indices must lie in \[0, 2\)$",
        r"^projection 'p_q': weights contain NaN or infinite values$",
        r"^projection 'p_q': delay of 0 steps; delays must be at least 1 step \(dt\)$",
        r"^projection 'q_s': postsynaptic node 's' is a poisson source, not a population$",
        r"^probe 'p.u': variable 'u' unknown for model lif \(use spikes, v\)$",
    ]
    for pattern in expected:
        assert any(re.match(pattern, t) for t in text), (pattern, text)


def test_builder_rejects_unknown_nodes_and_duplicate_names():
    net = Network()
    net.add(Population(name="a", size=1, model=LIF(tau_mem=0.01)))
    with pytest.raises(ValidationError, match=r"^node 'a': name is already used$"):
        net.add(Population(name="a", size=1, model=LIF(tau_mem=0.01)))
    with pytest.raises(ValidationError, match=r"^projection 'x': node 'nope' does not exist$"):
        net.connect(Projection(name="x", pre="nope", post="a", connectivity=Connectivity.from_coo(1, 1, [0], [0])))
    assert list(net.graph.nodes) == ["a"]  # nothing was added silently


def test_stats():
    stats = small_network().validate().stats()
    assert stats.neurons == 34
    assert stats.synapses == sum(p.connectivity.nnz for p in small_network().projections)
    b = next(p for p in stats.populations if p.name == "b")
    assert b.kind == "cuba_lif" and b.synapses_in > 0 and b.fan_out_max == 4


@pytest.mark.parametrize("layout", ["dir", "file.npz"])
def test_serialization_round_trip_is_exact_and_reproducible(tmp_path, layout):
    net = small_network()
    first = save_network(net, tmp_path / "one" / layout)
    second = save_network(net, tmp_path / "two" / layout)
    back = load_network_file(first)
    assert back.name == net.name and back.dt == net.dt and back.seed == net.seed
    assert back.nodes == net.nodes
    assert back.projections == net.projections
    assert back.probes == net.probes
    files = sorted(p.relative_to(first) for p in ([first] if first.is_file() else first.iterdir()))
    for rel in files:
        a = first / rel if first.is_dir() else first
        b = second / rel if second.is_dir() else second
        assert a.read_bytes() == b.read_bytes()
    # the saved network simulates to the same spikes
    r1, r2 = simulate(net, steps=300), simulate(back, steps=300)
    for pop in r1.spike_steps:
        assert np.array_equal(r1.spike_steps[pop], r2.spike_steps[pop])
        assert np.array_equal(r1.spike_ids[pop], r2.spike_ids[pop])
    assert sum(r1.spike_counts().values()) > 0


def test_load_rejects_foreign_files(tmp_path):
    from nmcompiler.errors import UserError

    bogus = tmp_path / "x.npz"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(UserError, match=r"x.npz: not a readable nmcompiler IR"):
        load_network_file(bogus)
