"""Partial-sum compartments: exact per-core limits, the mapped network spikes as the unmapped one,
delay-1 synapses one tick late, the lower bound, and the flow and CLI around them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nmcompiler.cli.main import cli
from nmcompiler.drc import cores_lower_bound
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.ir import Connectivity, CubaLIF, Network, PoissonSource, Population, Projection
from nmcompiler.compiler import compile_network
from nmcompiler.sim.mapped import compartment_program, simulate_partial_sums
from nmcompiler.mapping.partial_sums import PlanPartialSums, usage_and_traffic
from nmcompiler.mapping.partition import fits
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.lowered import neuron_index
from nmcompiler.lowered import program_from_fixed_point
from nmcompiler.targets import load_target

LOIHI = Path(__file__).resolve().parent.parent / "hwtargets" / "loihi-like.yaml"


def _target(tmp_path: Path, graded: bool = True, name: str = "tiny-graded", neurons: int = 16):
    """loihi-like's datapath with tiny cores: 16 neurons, 40 input axons, 8 kbit of synapses."""
    text = LOIHI.read_text().replace("name: loihi-like", f"name: {name}")
    text = text.replace("  neurons: 1024", f"  neurons: {neurons}").replace("  input_axons: 4096", "  input_axons: 40")
    text = text.replace("  output_axons: 4096", "  output_axons: 64")
    text = text.replace("  synapse_memory_bits: 1048576 ", "  synapse_memory_bits: 8192 ")
    if not graded:
        text = "\n".join(line for line in text.splitlines() if "partial_sum_bits" not in line) + "\n"
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_target(str(path))


def _network(min_delay: int = 2, seed: int = 1, late_shift: bool = False, readout: bool = False,
             integration: str = "exact") -> Network:
    """Two populations with fan-in up to ~120 from a Poisson source, each other and themselves.
    ``late_shift``: every delay-1 synapse gets delay 2 (what a partial-sum mapping delivers).
    ``integration``: "exact" inputs reach the datapath one tick later anyway (quantize), so
    delay-1 synapses exist in fixed point only with "euler".
    ``readout``: a third population 'c' with fan-in ~3 from 'b' (no compartments needed)."""
    rng = np.random.default_rng(seed)
    net = Network("rnd", dt=1e-3, seed=3)
    model = CubaLIF(tau_mem=20e-3, tau_syn=5e-3, v_leak=0.0, v_threshold=1.0, v_reset=0.0, refractory=2e-3, r=1.0,
                    integration=integration)
    net.add(Population(name="a", size=150, model=model))
    net.add(Population(name="b", size=100, model=model))
    net.add(PoissonSource(name="in", size=60, rate=40.0))
    sizes = {"a": 150, "b": 100, "in": 60, "c": 30}
    edges = [("in", "a", 0.5, 0.6), ("a", "b", 0.4, 0.3), ("b", "a", 0.3, -0.3), ("a", "a", 0.2, 0.1)]
    if readout:
        net.add(Population(name="c", size=30, model=model))
        edges += [("b", "c", 0.03, 2.0)]
    for pre, post, p, w in edges:
        i, j = np.nonzero(rng.random((sizes[pre], sizes[post])) < p)
        delay = rng.integers(min_delay, 6, i.size)
        if late_shift:
            delay = np.where(delay == 1, 2, delay)
        net.connect(Projection(name=f"{pre}_{post}", pre=pre, post=post, connectivity=Connectivity.from_coo(
            sizes[pre], sizes[post], i, j, w * rng.random(i.size), delay)))
    return net


def _plan(net: Network, target, block_size: int | None = None):
    fx = Quantize(fmt=target.format).run(net)
    layout = neuron_index(net)
    n_pre = layout.n + sum(s.size for s in net.sources)
    plan = PlanPartialSums(block_size=block_size)
    return fx, layout, n_pre, plan.run(fx, dict(layout.offsets), layout.n, n_pre, target)


def _same_spikes(a, b) -> None:
    for pop in a.spike_ids:
        np.testing.assert_array_equal(a.spike_steps[pop], b.spike_steps[pop], err_msg=pop)
        np.testing.assert_array_equal(a.spike_ids[pop], b.spike_ids[pop], err_msg=pop)


def test_mapped_network_spikes_exactly_as_the_unmapped_one(tmp_path):
    target = _target(tmp_path)
    net = _network()
    fx, _, _, ps = _plan(net, target)
    assert ps.late_synapses == 0 and ps.payload_overflow == 0
    assert ps.compartments > net.node("a").size  # fan-in really goes through several compartments per neuron
    reference = BitAccurateSimulator(fx).run(300)
    mapped = simulate_partial_sums(fx, ps, target.core.partial_sum_bits, 300)
    assert sum(reference.spike_counts().values()) > 500  # an active network, not a silent one
    _same_spikes(reference, mapped)
    assert all(v["payload"] == 0 for v in mapped.saturation.values())


def test_a_narrow_payload_saturates_and_changes_the_output(tmp_path):
    """The exactness condition is real: with 8-bit messages partial sums saturate."""
    target = _target(tmp_path)
    fx, _, _, ps = _plan(_network(), target)
    reference = BitAccurateSimulator(fx).run(200)
    mapped = simulate_partial_sums(fx, ps, 8, 200)
    assert sum(v["payload"] for v in mapped.saturation.values()) > 0
    assert mapped.spike_counts() != reference.spike_counts()


@pytest.mark.parametrize("payload_bits", [24, 16])
def test_compiled_simulator_runs_compartments_as_the_numpy_path(tmp_path, payload_bits):
    """Compartments that cannot saturate run compiled as their direct table (a synapse onto a
    compartment becomes one onto its neuron, one tick later); where sums saturate (16-bit
    messages), the compiled backend falls back to the numpy path. Same bits either way."""
    target = _target(tmp_path)
    fx, _, _, ps = _plan(_network(), target)
    prog = compartment_program(fx, ps, payload_bits)
    compiled = BitAccurateSimulator(prog, backend="numba")
    assert compiled._compiles() == (payload_bits == 24)
    numpy_run = BitAccurateSimulator(prog, backend="numpy").run(300)
    compiled_run = compiled.run(300)
    if payload_bits == 24:  # the kernel's table really changed: no compartment targets, delays one longer
        _, rows, _ = next(iter(compiled._tables.values()))
        assert rows.blocks == 1  # one chunk, one block: its offsets are the ring entries
        target = rows.base[0] + rows.target.astype(np.int64)
        assert target.max() < prog.channels * prog.n <= prog.synapses.target.max()
        assert max(rows.delay.max(initial=0), rows.row_delay.max()) == prog.synapses.max_delay + 1
    assert sum(numpy_run.spike_counts().values()) > 500
    _same_spikes(numpy_run, compiled_run)
    assert compiled_run.synaptic_events == numpy_run.synaptic_events


def test_delay_one_synapses_reach_the_soma_one_tick_late(tmp_path):
    target = _target(tmp_path)
    net = _network(min_delay=1, integration="euler")
    fx, _, _, ps = _plan(net, target)
    ones = sum(int(np.count_nonzero(p.connectivity.delays == 1)) for p in net.spiking_projections())
    assert ps.late_synapses == ones > 0
    assert _plan(_network(min_delay=1), target)[3].late_synapses == 0  # exact: every input one tick later already
    mapped = simulate_partial_sums(fx, ps, target.core.partial_sum_bits, 300)
    shifted = Quantize(fmt=target.format).run(_network(min_delay=1, late_shift=True, integration="euler"))
    _same_spikes(BitAccurateSimulator(shifted).run(300), mapped)
    assert mapped.spike_counts() != BitAccurateSimulator(fx).run(300).spike_counts()


def test_usage_is_exact_and_within_every_limit(tmp_path):
    target = _target(tmp_path)
    net = _network()
    fx, layout, n_pre, ps = _plan(net, target)
    usage, traffic, spikes, messages = usage_and_traffic(ps, fx, dict(layout.offsets), n_pre, target, net.dt,
                                                         ps.soma_core)
    assert fits(usage, target).all()
    # brute force from the simulator's synapse table
    prog = program_from_fixed_point(fx)
    n, table = prog.n, prog.synapses
    pre = np.repeat(np.arange(table.indptr.size - 1), np.diff(table.indptr))
    comp = ps.compartment[pre // ps.block_size, table.target]
    assert (comp >= 0).all()
    np.testing.assert_array_equal(np.bincount(comp, minlength=ps.compartments), ps.synapses)
    core = ps.core[comp]
    pairs = np.unique(core * n_pre + pre)
    # a dendrite core's inputs are its block's sources; every compartment is an input of its neuron's core
    inputs = np.bincount(pairs // n_pre, minlength=ps.cores) + np.bincount(ps.soma_core[ps.target % n],
                                                                           minlength=ps.cores)
    np.testing.assert_array_equal(usage.input_axons, inputs)
    neurons = np.bincount(ps.soma_core, minlength=ps.cores) + np.bincount(ps.core, minlength=ps.cores)
    np.testing.assert_array_equal(usage.neurons, neurons)
    # spikes: one per (neuron, dendrite core) pair at 1 Hz
    neuron_pairs = pairs[pairs % n_pre < n]
    assert spikes == neuron_pairs.size
    assert 0 < messages <= ps.synapses.sum()  # at most one message per arriving spike
    assert np.isclose(traffic.sum(), spikes + messages)
    # every compartment of a block sits on dendrite cores of that block only
    block_of = np.repeat(np.arange(ps.compartment.shape[0]), np.count_nonzero(ps.compartment >= 0, axis=1))
    for c in np.unique(ps.core):
        assert np.unique(block_of[ps.core == c]).size == 1


def test_traffic_with_rates_matches_each_synapse_counted_by_brute_force(tmp_path):
    """Spikes: each (neuron, dendrite core) pair once at the neuron's rate; messages: each
    compartment at ``(1 - exp(-dt * summed input rates)) / dt`` to its neuron's core."""
    target = _target(tmp_path)
    net = _network()
    fx, layout, n_pre, ps = _plan(net, target)
    n, K = layout.n, ps.cores
    rates = np.random.default_rng(0).uniform(0.5, 20.0, n)
    _, traffic, spikes, messages = usage_and_traffic(ps, fx, dict(layout.offsets), n_pre, target, net.dt,
                                                     ps.soma_core, rates)
    table = program_from_fixed_point(fx).synapses
    pre = np.repeat(np.arange(table.indptr.size - 1), np.diff(table.indptr))
    comp = ps.compartment[pre // ps.block_size, table.target]
    pre_rates = np.concatenate([rates, np.ones(n_pre - n)])
    expected = np.zeros((K, K))
    pairs = np.unique(ps.core[comp] * n_pre + pre)
    g, dendrite = pairs % n_pre, pairs // n_pre
    neuron = g < n
    np.add.at(expected, (ps.soma_core[g[neuron]], dendrite[neuron]), rates[g[neuron]])
    assert neuron.sum() > 100 and np.isclose(spikes, rates[g[neuron]].sum(), rtol=1e-12)
    comp_rate = np.bincount(comp, weights=pre_rates[pre], minlength=ps.compartments)
    sent = (1.0 - np.exp(-net.dt * comp_rate)) / net.dt
    soma = ps.soma_core[ps.target % n]
    np.add.at(expected, (ps.core, soma), sent)
    assert sent.min() > 0 and np.isclose(messages, sent[ps.core != soma].sum(), rtol=1e-12)
    np.testing.assert_allclose(traffic.toarray(), expected, rtol=1e-12)


def test_plain_subgraph_numbers_the_other_inputs_after_the_plain_neurons_in_index_order():
    from nmcompiler.compiler.partition import _plain_subgraph

    rng = np.random.default_rng(4)
    n_pre = 300
    plain = np.sort(rng.choice(n_pre, 120, replace=False))
    pre, post = rng.integers(0, n_pre, 5000), rng.choice(plain, 5000)
    sub_pre, sub_post = _plain_subgraph(plain, pre, post, n_pre)
    position = {int(p): i for i, p in enumerate(plain)}
    others = sorted(set(pre.tolist()) - set(position))
    position |= {p: plain.size + i for i, p in enumerate(others)}
    assert len(others) > 50
    assert sub_pre.tolist() == [position[int(p)] for p in pre]
    assert sub_post.tolist() == [position[int(p)] for p in post]


def test_lower_bound_counts_the_compartments_fan_in_forces(tmp_path):
    target = _target(tmp_path)
    spikes_only = _target(tmp_path, graded=False, name="tiny-spikes")
    net = _network()
    fan_in = np.concatenate([np.sum([p.connectivity.fan_in() for p in net.spiking_projections(pop)], axis=0)
                             for pop in ("a", "b")])
    extra = int(np.sum(-(-fan_in[fan_in > 40] // 40)))
    synapses = sum(p.connectivity.nnz for p in net.spiking_projections())
    bits = target.synapse_bits()
    assert cores_lower_bound(net, spikes_only) == max(-(-250 // 16), -(-synapses * bits // 8192))
    assert cores_lower_bound(net, target) == max(-(-(250 + extra) // 16), -(-(synapses + extra) * bits // 8192))


def test_compile_maps_fan_in_beyond_the_axons_through_partial_sums(tmp_path):
    target = _target(tmp_path)
    mapping, _, report = compile_network(_network(), target)
    assert report.fits and report.partitioner == "partial-sums"
    assert mapping.partial_sums is not None and report.partial_sums.compartments == mapping.partial_sums.compartments
    assert fits(mapping.usage, target).all() and report.cores_used >= report.cores_lower_bound
    assert report.partial_sums.late_synapses == 0 and report.partial_sums.payload_overflow == 0
    assert any("partial-sum compartments" in note for note in report.notes)
    _, _, again = compile_network(_network(), target)
    assert again.to_json() | {"passes": None} == report.to_json() | {"passes": None}


def test_spikes_only_target_rejects_fan_in_with_the_fix(tmp_path):
    target = _target(tmp_path, graded=False, name="tiny-spikes")
    with pytest.raises(ValidationError) as err:
        compile_network(_network(), target)
    assert "graded messages" in str(err.value) and "population 'a'" in str(err.value)
    with pytest.raises(UserError, match="sends spikes only"):
        compile_network(_network(), target, fan_in="partial-sums")
    with pytest.raises(ValidationError):
        compile_network(_network(), _target(tmp_path), fan_in="none")


def cli_compile(tmp_path: Path, *options: str):
    """``nmc compile`` of :func:`_network` onto the tiny graded target into ``tmp_path / "out"``:
    (result, output folder, target, network)."""
    from nmcompiler.ir.serialize import save_network

    target, net = _target(tmp_path), _network()
    save_network(net, tmp_path / "net.npz")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["compile", str(tmp_path / "net.npz"), "--target", target.source, "-o", str(out),
                                   *options])
    assert res.exit_code == 0, res.output
    return res, out, target, net


def test_cli_compile_writes_the_compartments(tmp_path):
    res, out, _, _ = cli_compile(tmp_path, "--json")
    doc = json.loads(res.stdout)
    assert doc["partitioner"] == "partial-sums" and doc["image"]["file"] == "rnd.nmc" and doc["fits"]
    with np.load(out / "rnd.map.npz") as z:
        assert z["compartment_core"].size == doc["partial_sums"]["compartments"]
        assert z["compartment_table"].shape == (-(-310 // 40), 250)
    assert (out / "rnd.nmc").exists()  # its content: test_partial_sum_image.py


def test_only_populations_beyond_the_axons_get_compartments(tmp_path):
    """'a' and 'b' need compartments, the readout 'c' (fan-in ~3) is partitioned as usual on
    cores of its own; the mapped network still spikes exactly as the unmapped one."""
    target = _target(tmp_path)
    net = _network(readout=True)
    mapping, fx, report = compile_network(net, target)
    ps = mapping.partial_sums
    assert report.fits and report.partitioner.endswith("+partial-sums")
    assert report.partial_sums.plain_cores == ps.first_core > 0
    c = net.node("c")
    layout = neuron_index(net)
    assert (ps.soma_core[layout.slice("c")] == -1).all() and (ps.soma_core[layout.slice("a")] >= ps.first_core).all()
    assert (mapping.core_of[layout.slice("c")] < ps.first_core).all() and (mapping.core_of >= 0).all()
    assert fits(mapping.usage, target).all() and mapping.usage.neurons.sum() == layout.n + ps.compartments
    # no compartment feeds 'c'; its cores' inputs and synapses are those of its own synapses
    assert not np.isin(ps.target % layout.n, np.arange(layout.slice("c").start, layout.slice("c").stop)).any()
    prog = program_from_fixed_point(fx)
    table, n = prog.synapses, prog.n
    pre = np.repeat(np.arange(table.indptr.size - 1), np.diff(table.indptr))
    plain = ps.soma_core[table.target % n] < 0
    core = mapping.core_of[table.target[plain] % n]
    n_pre = table.indptr.size - 1
    inputs = np.bincount(np.unique(core * n_pre + pre[plain]) // n_pre, minlength=ps.first_core)
    np.testing.assert_array_equal(mapping.usage.input_axons[:ps.first_core], inputs)
    np.testing.assert_array_equal(mapping.usage.synapse_bits[:ps.first_core],
                                  np.bincount(core, minlength=ps.first_core) * target.synapse_bits())
    assert inputs.max() > 0
    reference = BitAccurateSimulator(fx).run(300)
    mapped = simulate_partial_sums(fx, ps, target.core.partial_sum_bits, 300)
    assert reference.spike_counts()["c"] > 20 and c.size == 30
    _same_spikes(reference, mapped)


def test_neurons_fill_spare_room_on_dendrite_cores(tmp_path):
    """Blocks of 29 sources leave 11 of 40 axons on every dendrite core, and cores of 64 neuron
    slots fill their memory with compartments first: 'b' neurons (about 6 compartments each) move
    in, usage stays exact and the mapped network still spikes as the unmapped one."""
    target = _target(tmp_path, neurons=64, name="tiny-wide")
    net = _network()
    fx, layout, n_pre, ps = _plan(net, target, block_size=30)
    assert ps.block_size == 29
    hosted = ps.soma_core >= ps.first_core + ps.soma_cores
    assert hosted.any()
    usage, _, _, _ = usage_and_traffic(ps, fx, dict(layout.offsets), n_pre, target, net.dt, ps.soma_core)
    assert fits(usage, target).all()
    prog = program_from_fixed_point(fx)
    n, table = prog.n, prog.synapses
    pre = np.repeat(np.arange(table.indptr.size - 1), np.diff(table.indptr))
    core = ps.core[ps.compartment[pre // ps.block_size, table.target]]
    inputs = np.bincount(np.unique(core * n_pre + pre) // n_pre, minlength=ps.cores) + np.bincount(
        ps.soma_core[ps.target % n], minlength=ps.cores)
    np.testing.assert_array_equal(usage.input_axons, inputs)
    np.testing.assert_array_equal(usage.neurons, np.bincount(ps.soma_core, minlength=ps.cores)
                                  + np.bincount(ps.core, minlength=ps.cores))
    _same_spikes(BitAccurateSimulator(fx).run(200), simulate_partial_sums(fx, ps, target.core.partial_sum_bits, 200))


@pytest.mark.parametrize("shared", [True, False])
def test_dense_populations_get_compartments_only_when_per_neuron_partitions_are_far_off(tmp_path, shared):
    """'big' (fan-in 60 over 40 axons) needs compartments. 'd' has a fan-in of 8, dense for
    40-axon cores: as a 1-D convolution (neighbours share 7 of 8 inputs) its 16-neuron cores see
    23 sources and it maps per neuron at its bound; with random inputs a core of 16 sees ~60, so
    per-neuron cores would hold about half as many and 'd' gets compartments as well."""
    from nmcompiler.ir import LIF

    rng = np.random.default_rng(0)
    net = Network("dense", dt=1e-3, seed=1)
    net.add(PoissonSource(name="in", size=71, rate=50.0))
    for name, size in (("big", 4), ("d", 64)):
        net.add(Population(name=name, size=size, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    i, j = np.nonzero(np.ones((60, 4), dtype=bool))
    net.connect(Projection(name="in_big", pre="in", post="big",
                           connectivity=Connectivity.from_coo(71, 4, i, j, 0.05, 2)))
    post = np.repeat(np.arange(64), 8)
    pre = (post + np.tile(np.arange(8), 64)) if shared else np.concatenate(
        [rng.choice(71, 8, replace=False) for _ in range(64)])
    net.connect(Projection(name="in_d", pre="in", post="d", connectivity=Connectivity.from_coo(71, 64, pre, post, 0.3, 2)))
    target = _target(tmp_path)
    mapping, fx, report = compile_network(net, target)
    assert report.fits and fits(mapping.usage, target).all()
    d = neuron_index(net).slice("d")
    has_compartments = mapping.partial_sums.soma_core[d] >= 0
    if shared:
        assert not has_compartments.any() and any(n.startswith("populations d: mapped per neuron") for n in report.notes)
        assert np.unique(mapping.core_of[d]).size == 4  # 64 neurons, 16 per core: its own bound
    else:
        assert has_compartments.all() and any("get partial-sum compartments too" in n for n in report.notes)
    assert mapping.partial_sums.soma_core[neuron_index(net).slice("big")].min() >= 0


def test_the_per_neuron_trial_is_exact_up_to_its_limit_and_a_lower_bound_above(monkeypatch):
    """The trial that decides whether dense populations get compartments: the fewer cores of index
    and RCM order, exact up to the limit; above it only the fill's cores (before cores over their
    output axons are split, which only adds cores), so the decision (over the limit or not) is
    the same and the exact usage pass is spared."""
    from nmcompiler.compiler import partition as compile_module
    from nmcompiler.mapping.fill import fill_in_order
    from nmcompiler.mapping.partition import IndexOrder, RcmOrder
    from test_mapping import _arrays, conv_net

    target = load_target("spinnaker-like")
    n, pre, post = _arrays(conv_net(4, 16))
    exact = min(int(p.run(n, pre, post, target).max()) + 1 for p in (IndexOrder(), RcmOrder()))
    fill = min(int(fill_in_order(o, n, pre, post, target)[-1]) + 1
               for o in (np.arange(n), RcmOrder.order(n, pre, post)))
    assert fill <= exact
    assert compile_module.trial_cores(n, pre, post, target, exact) == exact

    def refused(*args, **kwargs):
        raise AssertionError("the exact pass ran over the limit")

    monkeypatch.setattr(compile_module, "cores_in_order", refused)
    assert compile_module.trial_cores(n, pre, post, target, fill - 1) == fill
