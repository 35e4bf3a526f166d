"""Energy and latency estimates (nmcompiler.analysis.estimate, nmc estimate): two hand-counted
networks priced by hand on every target with a cost model equal the tool's figures; the cost
models carry their sources and say what they assume; an image's estimate counts the synaptic
events its own run delivered; bad cost data and unusable targets are exit 2."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import sparse

from nmcompiler.errors import UserError
from nmcompiler.analysis.estimate import decision_tick, estimate
from nmcompiler.image import decode, to_program
from nmcompiler.lowered import synapse_table
from nmcompiler.sim.activity import count_activity
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.units import parse_quantity

from conftest import EXAMPLES, ROOT

PJ, NS = 1e-12, 1e-9


def _activity(pre, post, n, slots, spikes, steps, core_of, position, target):
    """``spikes``: (tick, presynaptic index) pairs."""
    table = synapse_table(max(max(pre), n - 1) + 1, [np.array(pre)], [np.array(post)], [np.ones(len(pre))],
                          [np.ones(len(pre), dtype=np.int64)])
    t, i = np.array(spikes).T
    events = sparse.csr_matrix((np.ones(t.size, dtype=np.int64), (t, i)), shape=(steps, table.indptr.size - 1))
    mapping = SimpleNamespace(core_of=np.array(core_of), position=np.array(position), target=load_target(target))
    return count_activity(table, n, slots, events, steps, mapping)


def two_cores(target):
    """Neurons 0, 1 ('a', core 0 at (0, 0, 0)) and 2 ('b', core 1 at (0, 1, 1): one hop in x and one
    in y); host channel 3. Synapses 3 -> 0, 3 -> 2, 0 -> 1, 0 -> 2, 1 -> 2, 2 -> 0. Ticks: 0, 3, 4
    channel 3; 1 neuron 0; 2 neurons 0 and 2. Counted: 11 synaptic operations (6 on core 0, 5 on
    core 1), 15 neuron updates, 3 spikes, 5 messages of neurons (3 hops x, 3 hops y) and 6 of the
    host."""
    spikes = [(0, 3), (3, 3), (4, 3), (1, 0), (2, 0), (2, 2)]
    return _activity([3, 3, 0, 0, 1, 2], [0, 2, 1, 2, 2, 0], 3, [("a", 0, 2), ("b", 2, 1)], spikes, 5,
                     [0, 0, 1], [[0, 0, 0], [0, 1, 1]], target)


def one_core(target):
    """Neurons 0, 1 ('o', core 0); host channel 2 onto both. Ticks: 0, 3 channel 2; 1 neuron 1; 3
    and 5 neuron 0. Counted: 4 synaptic operations, 12 neuron updates, 3 spikes, 2 host messages."""
    spikes = [(0, 2), (3, 2), (1, 1), (3, 0), (5, 0)]
    return _activity([2, 2], [0, 1], 2, [("o", 0, 2)], spikes, 6, [0, 0], [[0, 0, 0]], target)


def _estimate(activity, target, decision=None):
    return estimate(activity, load_target(target).cost, target=target, dt=1e-3,
                    decisions=None if decision is None else (decision,))


def test_hand_counted_activity():
    a = two_cores("loihi-like")
    c = a.cores
    assert (a.synaptic_ops, a.neuron_updates, a.spikes) == (11, 15, 3)
    assert c.synaptic_ops.tolist() == [6, 5] and c.messages.tolist() == [4, 1] and c.host_messages == 6
    assert c.hops_x.tolist() == [2, 1] and c.hops_y.tolist() == [2, 1]
    assert c.ticks.synaptic_ops.sum(axis=0).tolist() == [6, 5]
    assert c.ticks.messages_in.tolist() == [[1, 1], [1, 1], [2, 1], [1, 1], [1, 1]]
    assert a.populations["a"].messages == 4 and a.populations["b"].hops_x == 1


def test_loihi_by_hand():
    e = _estimate(two_cores("loihi-like"), "loihi-like")
    # 11 ops x 23.6 pJ + 15 updates x 81 pJ + 3 spikes x 1.7 pJ + 3 x-hops x 3.0 pJ + 3 y-hops x 4.0 pJ
    assert e.energy == pytest.approx(1500.7 * PJ, rel=1e-12)
    assert e.energy_by_kind["hop"] == pytest.approx(21 * PJ, rel=1e-12)
    # per tick: busiest neuron phase (8.4 ns per neuron + 2.1 ns per spike) + busiest synaptic phase
    # (3.5 ns per op) + 465 ns barrier: 485.3, 487.4, 490.9, 485.3, 485.3 ns
    assert e.tick_seconds * 1e9 == pytest.approx([485.3, 487.4, 490.9, 485.3, 485.3], rel=1e-12)
    assert e.wall_time == pytest.approx(2434.2 * NS, rel=1e-12)
    one = _estimate(one_core("loihi-like"), "loihi-like", decision=4)
    assert one.energy == pytest.approx(1071.5 * PJ, rel=1e-12)  # 4 x 23.6 + 12 x 81 + 3 x 1.7
    assert one.wall_time == pytest.approx(2911.1 * NS, rel=1e-12)
    assert one.decision_time == pytest.approx(1945.4 * NS, rel=1e-12)  # the first 4 ticks


def test_truenorth_by_hand():
    e = _estimate(two_cores("truenorth-like"), "truenorth-like")
    assert e.energy == pytest.approx(11 * 26 * PJ, rel=1e-12) and e.wall_time == pytest.approx(5e-3, rel=1e-12)
    one = _estimate(one_core("truenorth-like"), "truenorth-like")
    assert one.energy == pytest.approx(4 * 26 * PJ, rel=1e-12) and one.wall_time == pytest.approx(6e-3, rel=1e-12)
    assert one.to_json()["throughput"]["real_time_factor"] == pytest.approx(1.0)


def test_spinnaker_by_hand():
    e = _estimate(two_cores("spinnaker-like"), "spinnaker-like")
    # busy: core 0 5 x 2 x 200 ns + 6 x 100 ns = 2600 ns, core 1 5 x 200 ns + 5 x 100 ns = 1500 ns
    assert e.busy_per_core * 1e9 == pytest.approx([2600, 1500], rel=1e-12)
    active, static, packets = 35.56e-3 * 4100 * NS, 0.36 * 5e-3, 11 * 0.8e-9
    assert e.energy_by_kind["active"] == pytest.approx(active, rel=1e-12)
    assert e.energy_by_kind["static"] == pytest.approx(static, rel=1e-12)
    assert e.energy == pytest.approx(active + static + packets, rel=1e-12)
    assert e.wall_time == pytest.approx(5e-3, rel=1e-12) and e.overruns == 0
    one = _estimate(one_core("spinnaker-like"), "spinnaker-like")
    assert one.energy == pytest.approx(35.56e-3 * 2800 * NS + 0.36 * 6e-3 + 2 * 0.8e-9, rel=1e-12)


def test_fpga_cycles_by_hand():
    e = _estimate(two_cores("fpga-lif"), "fpga-lif")
    # busiest neuron phase 2 + neurons; router 1 per spike (its messages reach their cores in that
    # cycle); busiest event phase ops + 4 if it receives a message: tick 2 is 4 + 2 x 1 + (2 + 4)
    assert e.cycles_per_tick.tolist() == [9, 10, 12, 9, 9]
    assert e.wall_time == pytest.approx(49 / 14.2e6, rel=1e-12) and e.energy is None  # the core's Fmax
    one = _estimate(one_core("fpga-lif"), "fpga-lif")
    assert one.cycles_per_tick.tolist() == [10, 5, 4, 11, 4, 5]
    slow = estimate(one_core("fpga-lif"), load_target("fpga-lif").cost.with_clock(50e6, "test"), target="fpga-lif",
                    dt=1e-3)
    assert slow.wall_time == pytest.approx(39 * 20 * NS, rel=1e-12)


def test_an_overrun_is_a_tick_whose_work_outlasts_the_period():
    model = load_target("spinnaker-like").cost
    heavy = _activity([20000] * 20000, list(range(20000)), 20000, [("p", 0, 20000)], [(0, 20000)], 2,
                      [0] * 20000, [[0, 0, 0]], "spinnaker-like")
    e = estimate(heavy, model, target="spinnaker-like", dt=1e-3)
    # 20000 neurons x 200 ns = 4 ms per tick (+ 2 ms of synaptic operations in tick 0) > 1 ms
    assert e.overruns == 2 and e.work_seconds[0] == pytest.approx(6e-3)


def test_decision_tick():
    steps, ids = np.array([1, 3, 5]), np.array([1, 0, 0])
    assert decision_tick(steps, ids, 2, 6) == 4  # neuron 1 leads from tick 1, neuron 0 (tie, lower index) from 3
    assert decision_tick(np.array([0]), np.array([1]), 2, 6) == 1
    assert decision_tick(np.array([], dtype=int), np.array([], dtype=int), 2, 6) == 0


def test_cost_models_cite_their_sources():
    for name, cited in [("loihi-like", "Davies et al. 2018"), ("truenorth-like", "Merolla et al. 2014"),
                        ("spinnaker-like", "Painkras et al. 2013"), ("fpga-lif", "docs/rtl.md")]:
        model = load_target(name).cost
        assert cited in model.source
        assert all(f.note for table in (model.energy, model.power, model.time, model.cycles) for f in table.values())
    assert load_target("spinnaker-like").cost.assumptions()[0].startswith("time.neuron_update: 200 ns")
    assert "power.static_per_chip" in load_target("loihi-like").cost.not_modelled()
    assert parse_quantity("23.6 pJ", "energy") == pytest.approx(23.6e-12)
    assert parse_quantity("360 mW", "power") == pytest.approx(0.36)


def test_the_cost_model_is_not_part_of_the_target_digest():
    import dataclasses

    from nmcompiler.image import target_digest

    t = load_target("loihi-like")
    assert target_digest(t) == target_digest(dataclasses.replace(t, cost=None))


def test_estimate_of_an_image_counts_its_own_run(tmp_path, run_nmc):
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "loihi-like", "-o", tmp_path / "c")
    assert code == 0, err
    image = tmp_path / "c" / "mlp.nmc"
    code, out, err = run_nmc("estimate", image, "--steps", "150", "--seed", "3", "--json", "-o", tmp_path / "e")
    assert code == 0, err
    doc = json.loads(out)
    activity = json.loads((tmp_path / "e" / "activity.json").read_text())
    prog = to_program(decode(image.read_bytes()))
    run = BitAccurateSimulator(prog, seed=3).run(150)
    assert activity["synaptic_ops"] == run.synaptic_events > 1000
    kinds = doc["energy"]["by_kind_j"]
    assert kinds["synaptic_op"] == pytest.approx(23.6e-12 * activity["synaptic_ops"], rel=1e-12)
    assert kinds["neuron_update"] == pytest.approx(81e-12 * activity["neuron_updates"], rel=1e-12)
    assert sum(doc["energy"]["per_population_j"].values()) == pytest.approx(doc["energy"]["total_j"], rel=1e-12)
    assert doc["estimate"] is True and doc["latency"]["decision_ticks"] >= 1
    assert json.loads((tmp_path / "e" / "estimate.json").read_text()) == doc
    code, text, _ = run_nmc("estimate", image, "--steps", "150", "--seed", "3")
    assert code == 0 and "energy by event kind (estimate)" in text and "not modelled: " in text


def test_estimate_refuses_what_it_cannot_price(tmp_path, run_nmc):
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "brainscales2-like", "-o", tmp_path / "b")
    assert code == 0, err
    code, _, err = run_nmc("estimate", tmp_path / "b" / "mlp.nmc", "--steps", "10")
    assert code == 2 and "has no cost model" in err and "Traceback" not in err
    code, _, err = run_nmc("compile", EXAMPLES / "mlp.yaml", "--target", "loihi-like", "-o", tmp_path / "c")
    code, _, err = run_nmc("estimate", tmp_path / "c" / "mlp.nmc", "--steps", "10", "--clock", "50MHz")
    assert code == 2 and "--clock applies to targets whose cost model counts clock cycles" in err
    code, _, err = run_nmc("estimate", tmp_path / "c" / "mlp.nmc", "--steps", "10", "--output", "nope")
    assert code == 2 and "'nope' is not a population" in err
    code, _, err = run_nmc("estimate", tmp_path / "c" / "mlp.nmc")
    assert code == 2 and "give --duration or --steps" in err


@pytest.mark.parametrize("cost, message", [
    ("{tick: fixed, energy: {synaptic_op: 1 pJ}}", "tick 'fixed' needs time.period"),
    ("{tick: compute, cycles: {synaptic_op: 1}}", "cycles need a clock"),
    ("{tick: compute, energy: {synaptic_op: -1 pJ}}", "cost.energy.synaptic_op: '-1 pJ' is negative"),
    ("{tick: compute, energy: {synaptic_op: 1 ns}}", "cost.energy.synaptic_op: '1 ns' is a time, expected an energy"),
    ("{tick: compute, energy: {hop: 1 pJ, hop_x: 2 pJ}}", "give either hop or hop_x and hop_y"),
    ("{tick: compute, time: {warp: 1 ns}}", "not a valid target description"),
])
def test_bad_cost_sections_are_user_errors(tmp_path, cost, message):
    text = (ROOT / "hwtargets" / "fpga-lif.yaml").read_text().split("\ncost:")[0]
    path = tmp_path / "t.yaml"
    path.write_text(text + f"\ncost: {cost}\n")
    with pytest.raises(UserError, match=re.escape(message)):
        load_target(str(path))


def _digits_events(count: int, steps: int):
    from nmcompiler.sim.data import SampleData

    data = SampleData.load(EXAMPLES / "digits" / "digits_test.npz", None)
    return np.stack([data.spikes(k, steps, 5) for k in range(count)]).astype(np.uint8), data.y[:count]


def test_per_inference_estimate_is_the_sum_of_single_runs():
    """Samples as inferences one after another: energy, wall time and decisions equal the single
    runs', each sample fed alone; the accuracy is the image's own classification."""
    import nmcompiler

    chip = nmcompiler.compile(EXAMPLES / "digits" / "digits.yaml", "loihi-like")
    x, y = _digits_events(4, 30)
    many = chip.estimate(samples=x, labels=y, source="pixels")
    singles = [chip.estimate({"pixels": x[k]}, steps=30) for k in range(4)]
    e = many.estimate
    assert e.inferences == 4 and e.steps == 120
    assert many.activity.synaptic_ops == sum(s.activity.synaptic_ops for s in singles) > 1000
    assert e.energy == pytest.approx(sum(s.estimate.energy for s in singles), rel=1e-12)
    assert e.wall_time == pytest.approx(sum(s.estimate.wall_time for s in singles), rel=1e-12)
    assert e.decisions == tuple(s.estimate.decision for s in singles) and max(e.decisions) >= 1
    assert e.decision_time == pytest.approx(max(s.estimate.decision_time for s in singles), rel=1e-12)
    doc = e.to_json()
    assert doc["energy"]["per_inference_j"] == pytest.approx(e.energy / 4, rel=1e-12)
    assert doc["latency"]["decision_ticks_mean"] == pytest.approx(np.mean(e.decisions))
    assert many.accuracy == chip.accuracy(x, y, output="out", steps=30, source="pixels").hw_accuracy


def test_estimate_data_and_the_compile_and_compare_reports_agree(tmp_path, run_nmc):
    x, y = _digits_events(6, 30)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    code, _, err = run_nmc("compile", EXAMPLES / "digits" / "digits.yaml", "--target", "loihi-like", "-o", tmp_path / "c")
    assert code == 0, err
    image = tmp_path / "c" / "digits.nmc"
    code, out, err = run_nmc("estimate", image, "--data", tmp_path / "d.npz", "--json")
    assert code == 0, err
    est = json.loads(out)
    assert est["inferences"] == 6 and est["steps"] == 180 and est["accuracy"] is not None
    code, _, err = run_nmc("compare", image, "--network", EXAMPLES / "digits" / "digits.yaml", "--data",
                           tmp_path / "d.npz", "--steps", "30", "-o", tmp_path / "cmp")
    assert code == 0, err
    cmp = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert cmp["estimate"]["energy"] == est["energy"] and cmp["hw_accuracy"] == est["accuracy"]
    code, text, err = run_nmc("compare", EXAMPLES / "digits" / "digits.yaml", "--target", "loihi-like", "--data",
                              tmp_path / "d.npz", "--steps", "30", "-o", tmp_path / "cmp2")
    assert code == 0, err
    assert "estimate on loihi-like" in text
    net_cmp = json.loads((tmp_path / "cmp2" / "compare.json").read_text())
    assert net_cmp["estimate"]["energy"]["total_j"] == pytest.approx(est["energy"]["total_j"], rel=1e-12)
    code, _, err = run_nmc("estimate", image, "--data", tmp_path / "d.npz", "--input", "pixels=x.npy")
    assert code == 2 and "not both" in err
    code, text, err = run_nmc("compile", EXAMPLES / "digits" / "digits.yaml", "--target", "loihi-like", "--data",
                              tmp_path / "d.npz", "-o", tmp_path / "cd")
    assert code == 0, err
    assert "estimate on loihi-like (6 inferences" in text and "digits.map.json: estimate" in text
    in_report = json.loads((tmp_path / "cd" / "digits.map.json").read_text())["estimate"]
    code, out, err = run_nmc("estimate", tmp_path / "cd" / "digits.nmc", "--data", tmp_path / "d.npz", "--json")
    assert in_report["energy"] == json.loads(out)["energy"] and in_report["accuracy"] == est["accuracy"]
