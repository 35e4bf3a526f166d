"""Partitioning and placement: every core within its limits, METIS versus index order, nmc compile."""

import json
import re

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.flow import float_rates
from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.mapping import IndexOrder
from nmcompiler.mapping.partition import RcmOrder, fits
from nmcompiler.mapping.partition_cpsat import CpSatPartition
from nmcompiler.mapping.usage import core_usage, synapse_arrays, traffic
from nmcompiler.lowered import neuron_index
from nmcompiler.targets import load_target


def clustered(n_groups=8, size=200, p_in=0.2, p_out=0.002, seed=0) -> Network:
    """Groups densely connected inside, sparsely between, with neurons interleaved in index order."""
    rng = np.random.default_rng(seed)
    n = n_groups * size
    group = rng.permutation(np.repeat(np.arange(n_groups), size))
    same = group[:, None] == group[None, :]
    mask = rng.random((n, n)) < np.where(same, p_in, p_out)
    np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    net = Network("clustered", dt=1e-3)
    net.add(Population(name="p", size=n, model=LIF(tau_mem=0.02)))
    net.add(SpikeSource(name="in", size=4, ids=[], times=[]))
    net.connect(Projection(name="rec", pre="p", post="p", connectivity=Connectivity.from_coo(n, n, pre, post, 0.1)))
    net.connect(Projection(name="drive", pre="in", post="p",
                           connectivity=Connectivity.from_coo(4, n, np.arange(n) % 4, np.arange(n), 0.5)))
    return net


def _arrays(net):
    layout = neuron_index(net)
    pre, post = synapse_arrays(net, layout.offsets, layout.n)
    return layout.n, pre, post


def test_every_core_fits_and_metis_beats_index_order():
    net = clustered()
    target = load_target("spinnaker-like")
    mapping, _, report = compile_network(net, target)
    n, pre, post = _arrays(net)
    assert mapping.core_of.shape == (n,)
    usage = core_usage(mapping.core_of, report.cores_used, pre, post, target)
    assert fits(usage, target).all() and usage.neurons.sum() == n
    assert report.fits and report.cores_used >= report.cores_lower_bound
    assert report.cores_used <= report.cores_lower_bound + 1
    assert report.partitioner in ("metis", "kahypar")  # Mt-KaHyPar refines METIS's, the best before it
    assert report.inter_core_spikes * 2 <= report.inter_core_spikes_index_order  # clustered: >= 2x less traffic
    again, _, _ = compile_network(net, target)
    assert np.array_equal(again.core_of, mapping.core_of)  # deterministic for a seed
    _, _, metis = compile_network(net, target, partitioner="metis")
    assert report.inter_core_spikes <= metis.inter_core_spikes
    assert metis.inter_core_spikes * 2 <= metis.inter_core_spikes_index_order


def test_index_order_splits_cores_over_their_axons(tmp_path):
    text = open(load_target("fpga-lif").source).read()
    small = tmp_path / "small.yaml"
    small.write_text(text.replace("input_axons: 1024", "input_axons: 100").replace("max_chips: 1", "max_chips: 64"))
    target = load_target(str(small))
    net = clustered(n_groups=2, size=128, p_in=0.3)
    n, pre, post = _arrays(net)
    core_of = IndexOrder().run(n, pre, post, target)
    usage = core_usage(core_of, int(core_of.max()) + 1, pre, post, target)
    assert fits(usage, target).all()
    assert usage.input_axons.max() <= 100 and int(core_of.max()) + 1 > 1
    assert traffic(core_of, pre, post) > 0


def test_compile_rejects_with_every_violated_limit():
    net = load_network(EXAMPLES / "cuba.yaml")
    with pytest.raises(ValidationError) as exc:
        compile_network(net, load_target("truenorth-like"))
    messages = [str(d) for d in exc.value.diagnostics]
    assert "population 'exc' uses model 'cuba_lif', which truenorth-like does not support (it has lif, if)" in messages
    assert "population 'exc' has synaptic currents, truenorth-like has none" in messages
    assert not any("core limit" in m for m in messages)  # population splitting is the partitioner's job


def test_compile_lists_what_it_would_legalize_only_when_nothing_else_blocks():
    """Weights beyond truenorth-like's 4 axon types are legalized by the flow (bit planes, or
    clustered): with a blocking model error they are no error of their own, and without one the
    network compiles."""
    from nmcompiler.ir import CubaLIF

    def net_with(model):
        rng = np.random.default_rng(1)
        net = Network("many_weights", dt=1e-3)
        net.add(SpikeSource(name="in", size=20, ids=[], times=[]))
        net.add(Population(name="p", size=10, model=model))
        pre, post = np.nonzero(np.ones((20, 10), dtype=bool))
        net.connect(Projection(name="drive", pre="in", post="p", connectivity=Connectivity.from_coo(
            20, 10, pre, post, rng.uniform(0.1, 1.0, pre.size))))
        return net

    target = load_target("truenorth-like")
    with pytest.raises(ValidationError) as exc:
        compile_network(net_with(CubaLIF(tau_mem=0.02, tau_syn=0.005)), target)
    messages = [str(d) for d in exc.value.diagnostics]
    assert any("uses model 'cuba_lif'" in m for m in messages)
    assert not any("axon types" in m for m in messages)
    _, _, report = compile_network(net_with(LIF(tau_mem=0.02)), target)
    assert report.fits and any("weights of population 'p' as bit planes" in n for n in report.notes)
    _, _, report = compile_network(net_with(LIF(tau_mem=0.02)), target, crossbar_weights="cluster")
    assert report.fits and any("clustered weights of population 'p' into 4 values" in n for n in report.notes)


def test_cli_compile_json_and_files(run_nmc, tmp_path):
    code, out, err = run_nmc("compile", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "-o", tmp_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["fits"] is True and report["cores_used"] >= report["cores_lower_bound"] >= 1
    assert set(report["passes"]) >= {"design_rules", "quantize", "partition_index_order", "place"}
    assert (tmp_path / "synfire.map.json").exists() and (tmp_path / "synfire.placement.png").exists()
    with np.load(tmp_path / "synfire.map.npz") as data:
        assert data["core_of"].shape == (1000,) and data["neurons"].sum() == 1000
    code, _, err = run_nmc("compile", EXAMPLES / "cuba.yaml", "--target", "truenorth-like", "-o", tmp_path / "x")
    assert code == 2 and "uses model 'cuba_lif', which truenorth-like does not support" in err
    assert not (tmp_path / "x").exists()


def test_relay_chains_preserve_meaning_in_float_and_fixed_point():
    import dataclasses

    from nmcompiler.datapath import load_format
    from nmcompiler.passes import Quantize, RelayLongDelays
    from nmcompiler.sim import simulate
    from nmcompiler.sim.bit_sim import BitAccurateSimulator

    net = load_network(EXAMPLES / "synfire.yaml")  # 2 ms delays = 20 ticks
    rng = np.random.default_rng(0)
    extra = Connectivity.from_coo(100, 100, np.arange(100), rng.permutation(100), 0.3, rng.integers(1, 50, 100))
    net.connect(Projection(name="g9_to_g0", pre="g9", post="g0", connectivity=extra))  # mixed short and long delays
    legal = RelayLongDelays(max_delay=7).run(net)
    assert max(int(p.connectivity.delays.max()) for p in legal.projections) <= 7
    hops = int(np.ceil(int(extra.delays.max()) / 7)) - 1  # relays on the longest path
    assert sum(p.name.startswith("g9_to_g0.relay") for p in legal.populations) == hops >= 5
    a, b = simulate(net, duration=0.1), simulate(legal, duration=0.1)
    for pop in a.spike_steps:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and np.array_equal(a.spike_ids[pop], b.spike_ids[pop])
    fmt = dataclasses.replace(load_format("loihi-like"), delay_max=62)
    qa = BitAccurateSimulator(Quantize(fmt=fmt).run(net)).run(1000)
    qb = BitAccurateSimulator(Quantize(fmt=fmt).run(legal)).run(1000)
    for pop in qa.spike_steps:
        assert np.array_equal(qa.spike_steps[pop], qb.spike_steps[pop]) and np.array_equal(qa.spike_ids[pop], qb.spike_ids[pop])
    assert sum(qa.spike_counts().values()) > 500


def test_compile_relays_long_delays():
    net = load_network(EXAMPLES / "synfire.yaml")
    mapping, fx, report = compile_network(net, load_target("spinnaker-like"))
    assert report.fits and any(n.startswith("relayed: projection 'g0_to_g1' has delays up to 20 ticks")
                               for n in report.notes)
    assert mapping.core_of.size == sum(p.size for p in fx.network.populations) == 1900  # 9 relay layers of 100


def test_weight_clustering_for_axon_types():
    from nmcompiler.drc import check
    from nmcompiler.passes import ClusterWeights

    net = load_network(EXAMPLES / "digits" / "digits.yaml")
    tn = load_target("truenorth-like")
    assert any(v.rule == "axon_type_weights" for v in check(net, tn))
    clustered = ClusterWeights(levels=4).run(net)
    legal = clustered.network
    assert not any(v.rule == "axon_type_weights" for v in check(legal, tn))
    for proj in legal.projections:
        for j in range(proj.connectivity.n_post):
            column = proj.connectivity.synapse_weights()[proj.connectivity.indices == j]
            assert np.unique(column).size <= 4
    rep = clustered.changes["hidden"]
    assert 0 < rep.rms_error < rep.rms_weight and rep.max_error >= rep.rms_error
    again = ClusterWeights(levels=4).run(net).network
    assert again.projections == legal.projections  # deterministic
    mapping, fx, report = compile_network(net, tn, crossbar_weights="cluster")
    assert report.fits and any(n.startswith("clustered weights of population 'hidden' into 4 values") for n in report.notes)


def test_swap_refinement_reduces_traffic_times_hops():
    from nmcompiler.mapping.place import SwapRefinement, hop_matrix, slot_positions

    target = load_target("spinnaker-like")  # 4 x 4 cores per chip
    k = 16
    rng = np.random.default_rng(1)
    order = rng.permutation(k)  # a chain of cores, numbered at random
    traffic = np.zeros((k, k))
    for a, b in zip(order[:-1], order[1:]):
        traffic[a, b] = traffic[b, a] = 10.0

    def cost(position):
        return float((traffic * hop_matrix(position, target)).sum() / 2)

    before = cost(slot_positions(k, target))
    after_positions = SwapRefinement().run(traffic, target)
    after = cost(after_positions)
    assert sorted(map(tuple, after_positions.tolist())) == sorted(map(tuple, slot_positions(k, target).tolist()))
    assert after < before and after <= 10.0 * 15 * 1.5  # a chain of 15 links, near one hop each
    assert np.array_equal(SwapRefinement().run(traffic, target), after_positions)  # deterministic


@pytest.mark.parametrize("target_name", ["loihi-like", "spinnaker-like", "truenorth-like"])
@pytest.mark.parametrize("rows,cols", [(3, 3), (4, 4), (3, 4)])
def test_swap_refinement_lays_a_grid_of_cores_out_as_a_grid(target_name, rows, cols):
    """A rows x cols grid of cores, numbered at random: one hop per grid edge is optimal and lies
    in the squarest block; index order is far from it."""
    from nmcompiler.mapping.place import SwapRefinement, slot_positions
    from nmcompiler.mapping.place_cpsat import placement_cost

    target = load_target(target_name)
    k = rows * cols
    at = np.random.default_rng(k).permutation(k).reshape(rows, cols)
    traffic = np.zeros((k, k))
    traffic[at[:, :-1], at[:, 1:]] = 1.0
    traffic[at[:-1], at[1:]] = 1.0
    edges = traffic.sum()
    position = SwapRefinement().run(traffic, target)
    assert len({tuple(p) for p in position.tolist()}) == k and (position[:, 0] == 0).all()
    assert placement_cost(traffic, position, target) == edges
    assert placement_cost(traffic, slot_positions(k, target), target) > 1.5 * edges
    assert np.array_equal(SwapRefinement().run(traffic, target), position)  # deterministic


def test_compile_placement_is_no_worse_than_index_order():
    _, _, report = compile_network(clustered(), load_target("spinnaker-like"))
    assert report.average_hops <= report.average_hops_index_order


def test_dimension_order_routing_link_loads():
    from nmcompiler.mapping.route import route_dimension_order

    mesh = load_target("fpga-lif")  # 2 x 2 cores, mesh
    position = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]])
    traffic = np.zeros((4, 4))
    traffic[0, 3] = 5.0  # (0,0) -> (1,1): x first, then y
    traffic[3, 0] = 2.0  # (1,1) -> (0,0)
    loads = route_dimension_order(position, traffic, mesh)
    assert loads.horizontal[0, 0] == 5.0 and loads.vertical[0, 1] == 5.0  # east on row 0, south on column 1
    assert loads.horizontal[1, 0] == 2.0 and loads.vertical[0, 0] == 2.0  # west on row 1, north on column 0
    assert loads.total == 14.0 and loads.max == 5.0
    torus = load_target("spinnaker-like")  # 8 x 8 chips of 4 x 4 cores: a 32 x 32 torus
    position = np.array([[0, 0, 0], [7, 0, 3]])  # chip 7 is the last chip of board row 0: x = 31
    traffic = np.array([[0.0, 1.0], [0.0, 0.0]])
    loads = route_dimension_order(position, traffic, torus)
    assert loads.total == 1.0 and loads.horizontal[0, 31] == 1.0  # wraps around instead of 31 hops


def test_compile_with_simulated_rates():
    net = load_network(EXAMPLES / "synfire.yaml")
    _, _, report = compile_network(net, load_target("spinnaker-like"), rates=float_rates(500))
    assert report.rates_measured and {"rates", "route"} <= set(report.passes)
    assert report.max_link_load is not None and report.max_link_load > 0
    _, _, uniform = compile_network(net, load_target("spinnaker-like"))
    assert not uniform.rates_measured and uniform.inter_core_spikes != report.inter_core_spikes


def test_routing_keys_tables_and_compression():
    from nmcompiler.mapping.tables import _compress, build_tables

    out = frozenset({"E"})
    # four keys that differ in two bits, same route: one entry; a differently routed key blocks a merge
    entries = [(k << 8, 0xFFFFFF00, out) for k in (4, 5, 6, 7)]
    assert _compress(entries) == [(4 << 8, 0xFFFFFC00, out)]
    blocked = _compress(entries + [(5 << 8, 0xFFFFFF00, frozenset({"core3"}))])
    assert len(blocked) > 1 and not any(m == 0xFFFFFC00 for _, m, _ in blocked)
    target = load_target("spinnaker-like")
    position = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]])  # one core on each of three chips in a row
    traffic = np.zeros((3, 3))
    traffic[0, 2] = 1.0  # chip 0 -> chip 2 passes chip 1 straight through: default routing there
    tables = build_tables(traffic, position, target)
    assert tables.key_bits_neuron == 8
    assert [len(tables.entries.get(c, [])) for c in (0, 1, 2)] == [1, 0, 1]
    assert tables.entries[2][0][2] == frozenset({"core2"}) and tables.entries[0][0][2] == frozenset({"E"})


def test_compile_reports_routing_tables():
    _, _, report = compile_network(clustered(), load_target("spinnaker-like"))
    before, after = report.routing_table_entries
    assert 0 < after <= before <= 1024 and report.misfits == []


def conv_net(channels=8, side=16) -> Network:
    """Two 3x3 convolutions over channel-major maps (index = c * side^2 + y * side + x)."""
    idx = np.arange(channels * side * side).reshape(channels, side, side)
    pre, post = [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ys = slice(max(0, -dy), side - max(0, dy))
            xs = slice(max(0, -dx), side - max(0, dx))
            src = idx[:, ys, xs][:, None]  # every input channel to every output channel
            dst = np.roll(np.roll(idx, -dy, 1), -dx, 2)[:, ys, xs][None, :]
            s, d = np.broadcast_arrays(src, dst)
            pre.append(s.reshape(-1))
            post.append(d.reshape(-1))
    pre, post = np.concatenate(pre), np.concatenate(post)
    n = idx.size
    net = Network("conv", dt=1e-3)
    for name in ("c1", "c2"):
        net.add(Population(name=name, size=n, model=LIF(tau_mem=0.02)))
    net.connect(Projection(name="c1_c2", pre="c1", post="c2", connectivity=Connectivity.from_coo(n, n, pre, post, 0.1)))
    net.connect(Projection(name="c2_c1", pre="c2", post="c1", connectivity=Connectivity.from_coo(n, n, pre, post, 0.1)))
    return net


def test_rcm_order_keeps_convolution_neighbourhoods_on_one_core():
    net = conv_net()
    target = load_target("spinnaker-like")
    n, pre, post = _arrays(net)
    rcm = RcmOrder().run(n, pre, post, target)
    index = IndexOrder().run(n, pre, post, target)
    assert fits(core_usage(rcm, int(rcm.max()) + 1, pre, post, target), target).all()
    assert int(rcm.max()) == int(index.max())  # as few cores
    assert traffic(rcm, pre, post) * 2 <= traffic(index, pre, post)  # index order puts one channel on a core
    _, _, report = compile_network(net, target)
    assert report.partitioner in ("rcm-order", "metis", "kahypar")
    assert report.inter_core_spikes * 2 <= report.inter_core_spikes_index_order
    with pytest.raises(UserError, match="unknown partitioner"):
        compile_network(net, target, partitioner="random")
    mapping, _, forced = compile_network(net, target, partitioner="rcm-order")
    assert forced.partitioner == "rcm-order" and np.array_equal(mapping.core_of, rcm)


def test_rcm_order_beyond_its_entries_orders_runs_of_neurons(monkeypatch):
    """A chain of 40 blocks of 25 neurons whose block numbers are shuffled: index order splits
    every chain link across cores; RCM on the runs (the blocks) brings linked blocks together."""
    rng = np.random.default_rng(5)
    blocks, size = 40, 25
    place = rng.permutation(blocks)  # block k of the chain holds neurons place[k] * size ...
    pre, post = [], []
    for k in range(blocks):
        a = place[k] * size + np.arange(size)
        b = place[(k + 1) % blocks] * size + np.arange(size)
        for src, dst in ((a, b), (b, a), (a, np.roll(a, 1))):
            pre.append(np.repeat(src, 3))
            post.append(np.tile(dst, 3))
    pre, post = np.concatenate(pre), np.concatenate(post)
    n = blocks * size
    whole, entries = RcmOrder.order_and_entries(n, pre, post)
    monkeypatch.setattr(RcmOrder, "max_entries", entries - 1)
    monkeypatch.setattr(RcmOrder, "max_runs", blocks)
    runs, same_entries = RcmOrder.order_and_entries(n, pre, post)
    assert same_entries == entries and np.array_equal(np.sort(runs), np.arange(n))
    starts = runs[::size]
    assert np.all(starts % size == 0) and np.array_equal(runs, np.repeat(starts, size) + np.tile(np.arange(size), blocks))
    assert not np.array_equal(runs, whole)  # not the neuron graph's order
    target = load_target("spinnaker-like")
    index = IndexOrder().run(n, pre, post, target)
    by_runs = RcmOrder().run(n, pre, post, target)
    assert traffic(by_runs, pre, post) * 2 <= traffic(index, pre, post)


def _tiny_target(tmp_path, neurons: int, axons: int):
    text = open(load_target("fpga-lif").source).read()
    text = re.sub(r"  neurons: \d+", f"  neurons: {neurons}", text)
    text = re.sub(r"  input_axons: \d+", f"  input_axons: {axons}", text).replace("max_chips: 1", "max_chips: 64")
    path = tmp_path / f"tiny{neurons}_{axons}.yaml"
    path.write_text(text)
    return load_target(str(path))


def test_cp_sat_partition_is_optimal_against_brute_force(tmp_path):
    """10 neurons, cores of 6 neurons and 8 input axons: every assignment enumerated."""
    target = _tiny_target(tmp_path, 6, 8)
    rng = np.random.default_rng(4)
    mask = rng.random((10, 10)) < 0.3
    np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    net = Network("tiny", dt=1e-3)
    net.add(Population(name="p", size=10, model=LIF(tau_mem=0.02)))
    net.connect(Projection(name="r", pre="p", post="p", connectivity=Connectivity.from_coo(10, 10, pre, post, 0.1)))
    n, pre, post = _arrays(net)
    best = (99, 1e9)  # one core cannot hold 10 neurons; fewest cores first, so the optimum has 2 if any fits
    for code in range(1, (1 << 10) - 1):
        core_of = (code >> np.arange(10)) & 1
        if fits(core_usage(core_of, 2, pre, post, target), target).all():
            best = min(best, (2, traffic(core_of, pre, post)))
    assert best[0] == 2
    start = IndexOrder().run(n, pre, post, target)
    res = CpSatPartition().run(n, pre, post, target, start)
    assert res.optimal and res.status == "OPTIMAL"
    assert fits(core_usage(res.core_of, res.cores, pre, post, target), target).all()
    assert (res.cores, res.traffic) == best and res.traffic_lower_bound == res.traffic
    assert res.traffic <= res.start_traffic


def test_compile_improves_small_partitions_with_cp_sat(tmp_path):
    target = _tiny_target(tmp_path, 16, 40)
    net = clustered(n_groups=3, size=10, p_in=0.5, p_out=0.05, seed=1)
    _, _, report = compile_network(net, target, partitioner="cp-sat")
    p = report.partitioning
    assert p.traffic <= p.start_traffic and p.cores <= p.start_cores
    assert report.inter_core_spikes == min(p.traffic, p.start_traffic)
    assert 0 <= p.traffic_lower_bound <= p.traffic
    assert report.fits


@pytest.mark.parametrize("bitmap", [True, False])
def test_distinct_per_group_counts_as_unique_does(monkeypatch, bitmap):
    from nmcompiler import arrays

    if not bitmap:
        monkeypatch.setattr(arrays, "BITMAP_LIMIT", 10)
    rng = np.random.default_rng(4)
    group, item = rng.integers(0, 37, 5000), rng.integers(0, 101, 5000)
    expected = np.bincount(np.unique(group * 101 + item) // 101, minlength=40)
    np.testing.assert_array_equal(arrays.distinct_per_group(group, item, 40, 101), expected)
    assert expected[37:].sum() == 0 and expected.min(initial=1) < expected.max()


@pytest.mark.parametrize("bitmap", [True, False])
def test_core_usage_counts_exactly(monkeypatch, bitmap):
    """The compiled one-pass usage count and the sorting fallback agree with a direct count."""
    from nmcompiler.mapping import usage
    from nmcompiler.targets import load_target

    if not bitmap:
        monkeypatch.setattr(usage, "BITMAP_LIMIT", 10)
    rng = np.random.default_rng(7)
    n, n_pre, k = 300, 340, 9
    core_of = rng.integers(0, k, n)
    pre, post = rng.integers(0, n_pre, 4000), rng.integers(0, n, 4000)
    target = load_target("loihi-like")
    u = usage.core_usage(core_of, k, pre, post, target)
    for c in range(k):
        onto = core_of[post] == c
        assert u.input_axons[c] == np.unique(pre[onto]).size
        assert u.synapse_bits[c] == onto.sum() * target.synapse_bits()
        mine = (pre < n) & (core_of[np.minimum(pre, n - 1)] == c)
        assert u.output_axons[c] == np.unique(core_of[post[mine]]).size
    assert u.neurons.sum() == n and u.input_axons.min() > 0


@pytest.mark.parametrize("bitmap", [True, False])
def test_traffic_counts_each_neuron_once_per_other_core(monkeypatch, bitmap):
    from nmcompiler.mapping import usage

    if not bitmap:
        monkeypatch.setattr(usage, "BITMAP_LIMIT", 10)
    rng = np.random.default_rng(8)
    n, k = 200, 7
    core_of = rng.integers(0, k, n)
    pre, post = rng.integers(0, n + 30, 3000), rng.integers(0, n, 3000)  # 30 source channels too
    rates = rng.uniform(0, 5, n)
    expected = sum(rates[g] * np.setdiff1d(core_of[post[pre == g]], [core_of[g]]).size for g in range(n))
    assert usage.traffic(core_of, pre, post, rates) == pytest.approx(expected, rel=1e-12)
    assert usage.traffic(core_of, pre, post) == sum(
        np.setdiff1d(core_of[post[pre == g]], [core_of[g]]).size for g in range(n))


@pytest.mark.parametrize("limit", [None, 200 * 9, 10])
def test_traffics_of_several_partitions_in_one_pass_equal_each_ones_traffic(monkeypatch, limit):
    """All at once, a few at a time (bitmaps over the limit together) or by sorting (one over it):
    the same figures as one partition at a time, whatever their core counts."""
    from nmcompiler.mapping import usage

    rng = np.random.default_rng(9)
    n = 200
    parts = [rng.integers(0, k, n) for k in (3, 7, 9, 1)]
    pre, post = rng.integers(0, n + 30, 3000), rng.integers(0, n, 3000)
    rates = rng.uniform(0, 5, n)
    want = [usage.traffic(p, pre, post, rates) for p in parts]
    assert min(want[:3]) > 0 and want[3] == 0
    if limit is not None:
        monkeypatch.setattr(usage, "BITMAP_LIMIT", limit)
    assert usage.traffics(parts, pre, post, rates) == want
    assert usage.traffics([], pre, post) == []


def test_filling_counts_input_axons_exactly_and_packs_cores_to_them(tmp_path):
    """Every core of an order fill stays within neurons, memory and input axons as core_usage
    counts them, and closing a core only when the next neuron would not fit means no two
    consecutive cores could have been one."""
    from nmcompiler.mapping.fill import fill_in_order

    text = open(load_target("fpga-lif").source).read()
    small = tmp_path / "small.yaml"
    small.write_text(text.replace("input_axons: 1024", "input_axons: 150").replace("max_chips: 1", "max_chips: 64"))
    target = load_target(str(small))
    net = clustered(n_groups=3, size=150, p_in=0.05, p_out=0.01)
    n, pre, post = _arrays(net)
    order = np.random.default_rng(2).permutation(n)
    core_in_order = fill_in_order(order, n, pre, post, target)
    assert np.all(np.diff(core_in_order) >= 0) and core_in_order[0] == 0
    core_of = np.empty(n, dtype=np.int64)
    core_of[order] = core_in_order
    k = int(core_of.max()) + 1
    usage = core_usage(core_of, k, pre, post, target)
    assert usage.input_axons.max() <= 150 and usage.neurons.max() <= target.core.neurons
    for c in range(k - 1):  # the first neuron of core c + 1 would have taken core c over a limit
        merged = core_of.copy()
        merged[order[np.searchsorted(core_in_order, c + 1)]] = c
        over = core_usage(merged, k, pre, post, target)
        assert not fits(over, target)[c]
    assert k > 3  # the axon limit, not the 256 neurons per core, closed cores here


@pytest.mark.parametrize("seed", range(6))
def test_fills_that_fit_by_construction_fit_as_core_usage_counts(tmp_path, seed):
    """cores_in_order skips the exact usage check when the fill cannot break a limit (enough output
    axons, no neuron over a limit alone); whenever it does, the cores fit as core_usage counts
    them, and the split-until-fit path gives the same cores."""
    from nmcompiler.mapping.partition import _split_until_fit, cores_in_order

    rng = np.random.default_rng(seed)
    text = open(load_target("fpga-lif").source).read()
    small = tmp_path / "small.yaml"
    axons, outputs = int(rng.integers(60, 400)), int(rng.choice([2, 4, 1024]))
    small.write_text(text.replace("input_axons: 1024", f"input_axons: {axons}").replace(
        "output_axons: 1024", f"output_axons: {outputs}").replace("max_chips: 1", "max_chips: 64"))
    target = load_target(str(small))
    net = clustered(n_groups=3, size=int(rng.integers(50, 200)), p_in=0.1, p_out=0.02, seed=seed)
    n, pre, post = _arrays(net)
    order = rng.permutation(n)
    try:
        core_of = cores_in_order(order, n, pre, post, target)
    except UserError:
        return  # a single neuron over the axons: reported, not filled
    k = int(core_of.max()) + 1
    assert fits(core_usage(core_of, k, pre, post, target), target).all()
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    from nmcompiler.mapping.fill import fill_in_order

    filled = np.empty(n, dtype=np.int64)
    filled[order] = fill_in_order(order, n, pre, post, target)
    assert np.array_equal(core_of, _split_until_fit(filled, pre, post, target, rank))


def test_auto_stops_metis_beyond_the_fewest_cores_found(tmp_path):
    """With index and RCM order at k cores, a METIS partition over k parts cannot win: auto stops
    growing METIS's parts there and says so."""
    text = open(load_target("fpga-lif").source).read()
    small = tmp_path / "small.yaml"
    small.write_text(text.replace("input_axons: 1024", "input_axons: 120").replace("max_chips: 1", "max_chips: 64"))
    net = clustered(n_groups=4, size=150, p_in=0.05, p_out=0.05)
    _, _, report = compile_network(net, load_target(str(small)))
    notes = [x for x in report.notes if x.startswith("METIS was not used")]
    assert report.fits and report.partitioner != "metis"
    assert notes and f"more than {report.cores_used} parts" in notes[0], report.notes


def test_core_pairs_match_the_per_pair_traffic_and_synapse_counts():
    from nmcompiler.mapping.place import core_traffic
    from nmcompiler.mapping.usage import core_pairs

    net = clustered(n_groups=4, size=60, p_in=0.2, p_out=0.02)
    n, pre, post = _arrays(net)
    core_of = np.random.default_rng(0).integers(0, 5, n)
    rates = np.random.default_rng(1).uniform(0, 20, n)
    pairs = core_pairs(core_of, 5, pre, post, rates)
    assert np.allclose(pairs.spikes, core_traffic(core_of, 5, pre.astype(np.int64), post.astype(np.int64), rates))
    neuron = pre < n
    expected = np.zeros((5, 5), dtype=np.int64)
    np.add.at(expected, (core_of[pre[neuron]], core_of[post[neuron]]), 1)
    assert np.array_equal(pairs.synapses, expected)
    assert pairs.spikes.sum() == pytest.approx(traffic(core_of, pre, post, rates))


def test_metis_cuts_runs_of_neurons_beyond_its_graph_budget():
    """Four runs of 128 neurons, run 0 wired to run 2 and 1 to 3: index order puts 0 and 1 on one
    256-neuron core; METIS over runs of 16 neurons (its neuron budget made tiny) pairs them right."""
    from nmcompiler.mapping.partition import Metis

    rng = np.random.default_rng(4)
    n = 512
    run = np.arange(n) // 128
    partner = (run[:, None] ^ 2) == run[None, :]
    mask = rng.random((n, n)) < np.where(partner, 0.2, 0.002)
    pre, post = np.nonzero(mask)
    net = Network("runs", dt=1e-3)
    net.add(Population(name="p", size=n, model=LIF(tau_mem=0.02)))
    net.connect(Projection(name="rec", pre="p", post="p", connectivity=Connectivity.from_coo(n, n, pre, post, 0.1)))
    target = load_target("spinnaker-like")
    n, pre, post = _arrays(net)
    metis = Metis(max_entries=1000, max_nodes=32)
    core_of = metis.run(n, pre, post, target, lower_bound=2)
    assert metis.report == {"runs": 32, "neurons_per_run": 16, "parts": 2}
    many = Metis(max_entries=1000, max_nodes=32)  # 8 cores asked: parts of at least runs_per_part (8) runs
    spread = many.run(n, pre, post, target, lower_bound=8)
    assert fits(core_usage(spread, int(spread.max()) + 1, pre, post, target), target).all()
    assert many.report["parts"] == 32 // Metis.runs_per_part
    assert int(core_of.max()) + 1 == 2 and fits(core_usage(core_of, 2, pre, post, target), target).all()
    index = IndexOrder().run(n, pre, post, target)
    paired = run % 2  # runs 0 and 2 on one core, 1 and 3 on the other
    assert traffic(core_of, pre, post) <= traffic(paired, pre, post) < traffic(index, pre, post) / 2
    assert np.array_equal(core_of, metis.run(n, pre, post, target, lower_bound=2))  # deterministic
    merged = Metis(max_entries=1000, max_nodes=32, max_run_entries=300)  # 32 runs: over 300 entries; 16: at most 240
    assert traffic(merged.run(n, pre, post, target, lower_bound=2), pre, post) <= traffic(paired, pre, post)
    assert merged.report["runs"] == 16 and merged.report["neurons_per_run"] == 32


def _compress_reference(entries):
    """The plain pairwise search: first later entry of the same outputs one bit away, unless the
    merged block covers a key routed otherwise; until nothing merges."""
    current = sorted(entries)
    changed = True
    while changed:
        changed = False
        by_output = {}
        for e in current:
            by_output.setdefault(e[2], []).append(e)
        merged_all = []
        for outs, group in by_output.items():
            others = [k for k, m, o in current if o != outs]
            used = set()
            group = sorted(group)
            for i, (k1, m1, _) in enumerate(group):
                if i in used:
                    continue
                for j in range(i + 1, len(group)):
                    k2, m2, _ = group[j]
                    if j in used or m1 != m2:
                        continue
                    diff = k1 ^ k2
                    if diff & (diff - 1) == 0:
                        nk, nm = k1 & ~diff, m1 & ~diff
                        if not any((o & nm) == nk for o in others):
                            merged_all.append((nk, nm, outs))
                            used.update((i, j))
                            changed = True
                            break
                if i not in used:
                    merged_all.append(group[i])
        current = sorted(merged_all)
    return current


@pytest.mark.parametrize("seed", range(5))
def test_table_compression_merges_as_the_pairwise_search(seed):
    from nmcompiler.mapping.tables import _compress

    rng = np.random.default_rng(seed)
    outputs = [frozenset({"E"}), frozenset({"N", "core1"}), frozenset({"core2"})]
    cores = rng.choice(256, size=120, replace=False)
    entries = [(int(c) << 8, 0xFFFFFF00, outputs[int(rng.integers(0, 3 if seed else 1))]) for c in cores]
    got = _compress(entries)
    assert got == _compress_reference(entries)
    assert len(got) < len(entries)


def test_a_neuron_over_a_limit_alone_is_named_with_the_limit(tmp_path):
    """A core holding one neuron that still breaks an axon limit cannot be split: the error says
    which limit, by how much, and what to do."""
    text = open(load_target("fpga-lif").source).read()
    text = re.sub(r"  neurons: \d+", "  neurons: 1", text).replace("max_chips: 1", "max_chips: 64")
    out_path, in_path = tmp_path / "out.yaml", tmp_path / "in.yaml"
    out_path.write_text(text.replace("output_axons: 1024", "output_axons: 1"))
    in_path.write_text(text.replace("input_axons: 1024", "input_axons: 2"))
    pre, post = np.array([0, 0, 1, 2, 3], dtype=np.int32), np.array([1, 2, 0, 0, 0], dtype=np.int32)
    with pytest.raises(UserError, match=r"neuron \(global index 0\) sends to 2 cores, over a fpga-lif core's 1 "
                                        "output axons: choose a target with more output axons"):
        IndexOrder().run(4, pre, post, load_target(str(out_path)))
    with pytest.raises(UserError, match=r"neuron \(global index 0\) receives from 3 sources, over a fpga-lif core's 2 "
                                        "input axons: it needs partial sums"):
        IndexOrder().run(4, pre, post, load_target(str(in_path)))


@pytest.mark.parametrize("name,target,fan_in", [
    ("cuba.yaml", "loihi-like", "auto"),
    ("cuba.yaml", "loihi-like", "partial-sums"),
    ("synfire.yaml", "truenorth-like", "auto"),
])
def test_progress_names_every_pass_as_it_begins(name, target, fan_in):
    """nmc compile's status line: compile_network tells progress() each pass as it begins, in the
    order (and with the names) the report's passes list them."""
    seen = []
    _, _, report = compile_network(load_network(EXAMPLES / name), load_target(target), fan_in=fan_in,
                                   progress=seen.append)
    assert list(dict.fromkeys(seen)) == list(report.passes) and len(seen) >= 5
