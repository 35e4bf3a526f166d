"""The dynapse2-like target: CAM fan-in (64 fits, 65 is refused naming the neuron, its fan-in and
the CAM size, as Rockpool's DYNAP-SE2 allocator refuses more than 64 synapses per neuron), the
synapse-type and parameter-group rules, the per-core base-weight fit, a winner-take-all network
across two chips with its tags routed, and the differential test of the compile core: on random
networks, the image's simulation (through tags, SRAM entries and CAM words) equals the fixed-point
network's, spike for spike and membrane for membrane, wherever something fired."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from nmcompiler.analysis.variation import WeightGrid, chip_instance, nominal
from nmcompiler.compiler import compile_network
from nmcompiler.drc import check
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.image.cam import EMPTY
from nmcompiler.ir import Connectivity, CubaLIF, Network, Population, Probe, Projection, SpikeSource
from nmcompiler.passes.cam_weights import fit_base_weights, nearest_masks, subset_sums
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.float_sim import FloatSimulator
from nmcompiler.targets import load_target
from nmcompiler.targets.derive import derive_target

DYNAPSE = load_target("dynapse2-like")
DT = 1e-3


def _cuba(**kw):
    base = dict(tau_mem=0.02, tau_syn=[0.005, 0.05], receptor_names=("fast", "slow"), r=1.0, v_threshold=1.0,
                reset="subtract", compare=">=", integration="exp_euler")
    return CubaLIF(**base | kw)


def _connect(net, pre, post, pi, qi, w, receptor="fast", name=None):
    a, b = net.node(pre).size, net.node(post).size
    net.connect(Projection(name=name or f"{pre}_{post}_{receptor}", pre=pre, post=post, receptor=receptor,
                           connectivity=Connectivity.from_coo(a, b, pi, qi, np.broadcast_to(w, pi.shape).copy(),
                                                              np.ones(pi.size, dtype=np.int64))))


def _fan_in(k: int) -> Network:
    """``k`` input channels onto every neuron of population 'a' (3 neurons)."""
    net = Network("fan_in", dt=DT)
    net.add(SpikeSource(name="in", size=k, ids=np.arange(k), times=np.zeros(k)))
    net.add(Population(name="a", size=3, model=_cuba()))
    _connect(net, "in", "a", np.repeat(np.arange(k), 3), np.tile(np.arange(3), k), 0.2)
    return net


def test_fan_in_64_fits_and_65_is_refused():
    assert [str(v) for v in check(_fan_in(64), DYNAPSE)] == []
    assert [str(v) for v in check(_fan_in(65), DYNAPSE)] == [
        "population 'a' neuron 0 receives 65 synapses (2 more of its neurons too); a dynapse2-like neuron's CAM "
        "holds 64: give each neuron at most 64 inputs (sparser projections, or pool the inputs through an "
        "intermediate population)"]
    with pytest.raises(ValidationError, match="neuron 0 receives 65 synapses"):
        compile_network(_fan_in(65), DYNAPSE)
    mapping, _, report = compile_network(_fan_in(64), DYNAPSE)
    assert report.fits and mapping.usage.synapse_bits[0] == 64 * 3 * DYNAPSE.cam.word_bits


def test_parameter_group_type_and_capacity_rules():
    net = _fan_in(4)
    net.add(Population(name="b", size=4, model=_cuba(tau_mem=[0.01, 0.02, 0.02, 0.02])))
    _connect(net, "a", "b", np.array([0]), np.array([0]), 0.3)
    assert [str(v) for v in check(net, DYNAPSE)] == [
        "population 'b': tau_mem differ(s) between its neurons; the neurons of a dynapse2-like core share one "
        "parameter set: split the population by parameter value"]
    # a target whose only inhibitory type feeds the slow channel: fast inhibition has no synapse type
    _, target = derive_target("dynapse2-like", ["cam.synapse_types=[{name: AMPA, sign: 1, channel: 0}, "
                                                "{name: GABA, sign: -1, channel: 1}]"], Path("two.yaml"))
    net = _fan_in(4)
    _connect(net, "in", "a", np.array([0]), np.array([1]), -0.3, name="inhibit")
    assert [str(v) for v in check(net, target)] == [
        "projection 'inhibit' has inhibitory synapses on current channel 0; two's synapse types are AMPA "
        "(channel 0, +), GABA (channel 1, -): move it to a receptor one of them feeds"]
    big = Network("big", dt=DT)
    for k in range(9):  # 9 populations of 300 neurons take 18 cores; 4 chips have 16
        big.add(Population(name=f"p{k}", size=300, model=_cuba()))
    assert [v.rule for v in check(big, DYNAPSE)] == ["machine_capacity"]
    assert "take 18 cores" in str(check(big, DYNAPSE)[0])


def test_base_weights_fit_exactly_when_they_can_and_never_worse_than_binary():
    assert fit_base_weights(np.array([0, 5, 9, 9, 30, 41]), 4, 127).tolist() == [5, 9, 30, 41]
    assert fit_base_weights(np.array([3, 6, 9]), 4, 127).tolist() == [0, 3, 6, 9]
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = rng.integers(0, 127, rng.integers(5, 200))
        bases = fit_base_weights(w, 4, 127)
        assert bases.sum() <= 127 and np.all(bases >= 0)
        err = np.abs(subset_sums(bases)[nearest_masks(w, bases)] - w)
        best_binary = min(np.sum(np.abs(subset_sums(s * np.array([1, 2, 4, 8]))[
            nearest_masks(w, s * np.array([1, 2, 4, 8]))] - w) ** 2) for s in range(1, 9))
        assert np.sum(err ** 2) <= best_binary


def test_base_weights_shared_per_type_when_the_target_says_so(tmp_path):
    """Three excitatory and four inhibitory magnitudes onto one core: seven magnitudes do not fit
    four shared base weights exactly; with a set per synapse type (weight_sharing: type) they do."""
    _, typed = derive_target("dynapse2-like", ["cam.weight_sharing=type"], tmp_path / "typed.yaml")
    net = Network("typed", dt=DT)
    net.add(SpikeSource(name="in", size=7, ids=np.arange(7), times=np.zeros(7)))
    net.add(Population(name="a", size=2, model=_cuba()))
    w = np.array([0.9, 0.5, 0.3, -0.8, -0.6, -0.35, -0.2])
    _connect(net, "in", "a", np.repeat(np.arange(7), 2), np.tile(np.arange(2), 7), np.repeat(w, 2))
    shared_map, shared_fx, shared_report = compile_network(net, DYNAPSE)
    typed_map, typed_fx, typed_report = compile_network(net, typed)
    assert shared_map.cam_bases.shape == (1, 1, 4) and typed_map.cam_bases.shape == (1, 4, 4)
    assert any("core 0: weights as sums of base weights" in n for n in shared_report.notes)
    assert not any("weights as sums" in n for n in typed_report.notes)  # every weight kept exactly
    assert typed_map.cam_bases[0, 1].tolist() == [0, 0, 0, 0]  # NMDA: unused
    prog = to_program(decode(encode(build_contents(typed_map, typed_fx))))
    assert np.array_equal(np.sort(np.unique(prog.synapses.weight)),
                          np.sort(np.unique(typed_fx.projections["in_a_fast"].weights)))


# -- a winner-take-all network across two chips ----------------------------------------------------

GROUPS, PER_GROUP, INHIBITORY = 4, 200, 64


def _wta(inhibition: bool = True) -> Network:
    """800 excitatory neurons in 4 groups, each group driven by its own 8 input channels (group 0
    at 150 Hz, the others at 100 Hz) and exciting itself; 64 inhibitory neurons, each driven by 50
    excitatory neurons of all groups, inhibit every group (32 inhibitory synapses per neuron).
    Without ``inhibition`` the excitatory-to-inhibitory weights are 0: the same synapses and
    quantization, silent inhibitory neurons."""
    rng = np.random.default_rng(7)
    steps, channels = 300, 8 * GROUPS
    rate = np.where(np.arange(channels) < 8, 150.0, 100.0)
    fire = rng.random((steps, channels)) < rate * DT
    t, ids = np.nonzero(fire)
    net = Network("wta", dt=DT)
    net.add(SpikeSource(name="in", size=channels, ids=ids, times=t * DT))
    net.add(Population(name="exc", size=GROUPS * PER_GROUP, model=_cuba()))
    net.add(Population(name="inh", size=INHIBITORY, model=_cuba(tau_mem=0.01)))
    n_exc = GROUPS * PER_GROUP
    group = np.arange(n_exc) // PER_GROUP
    post = np.repeat(np.arange(n_exc), 8)
    _connect(net, "in", "exc", group[post] * 8 + np.tile(np.arange(8), n_exc), post, 0.35)
    pre = np.concatenate([rng.choice(np.flatnonzero(group == group[j]), 16, replace=False) for j in range(n_exc)])
    _connect(net, "exc", "exc", pre, np.repeat(np.arange(n_exc), 16), 0.03, receptor="slow")
    pre = np.concatenate([rng.choice(n_exc, 50, replace=False) for _ in range(INHIBITORY)])
    _connect(net, "exc", "inh", pre, np.repeat(np.arange(INHIBITORY), 50), 0.25 if inhibition else 0.0)
    pre = np.concatenate([rng.choice(INHIBITORY, 32, replace=False) for _ in range(n_exc)])
    _connect(net, "inh", "exc", pre, np.repeat(np.arange(n_exc), 32), -0.3)
    return net


def _group_rates(result, steps: int) -> np.ndarray:
    counts = np.bincount(result.spike_ids["exc"] // PER_GROUP, minlength=GROUPS)
    return counts / (PER_GROUP * steps * DT)


def test_wta_maps_across_two_chips_with_tags_routed():
    mapping, fx, report = compile_network(_wta(), DYNAPSE)
    assert report.fits and report.cores_used == 5, report.misfits
    chips = mapping.position[:, 0]
    assert sorted(set(chips.tolist())) == [0, 1]  # 4 cores on one chip, the fifth on the other
    image = decode(encode(build_contents(mapping, fx)))
    crossing = 0
    for core in image.cores:
        words, sram = core.cam.words, core.cam.sram
        assert int((words["type"] != EMPTY).sum(axis=1).max()) <= 64
        crossing += int(np.count_nonzero(sram["valid"] & ((sram["dx"] != 0) | (sram["dy"] != 0))))
        assert int(sram["valid"].sum(axis=1).max()) <= DYNAPSE.cam.destinations
    assert crossing > 100  # spikes routed between the chips by SRAM entries
    assert image.host_routes.size > 0
    prog = to_program(image)
    steps = 300
    a, b = BitAccurateSimulator(fx).run(steps), BitAccurateSimulator(prog).run(steps)
    for pop in ("exc", "inh"):
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and np.array_equal(a.spike_ids[pop],
                                                                                          b.spike_ids[pop])
    assert a.spike_steps["inh"].size > 100
    # winner-take-all: the inhibition sharpens group 0's lead over the others (input 1.5 : 1)
    with_inh = _group_rates(b, steps)
    plain_map, plain_fx, _ = compile_network(_wta(inhibition=False), DYNAPSE)
    silent = BitAccurateSimulator(plain_fx).run(steps)
    assert silent.spike_steps["inh"].size == 0
    without = _group_rates(silent, steps)
    assert with_inh.min() >= 0 and without[1:].min() > 0
    lead_with = with_inh[0] / max(with_inh[1:].max(), 1e-9)
    lead_without = without[0] / without[1:].max()
    print(f"group rates (Hz) with inhibition {np.round(with_inh, 1)}, without {np.round(without, 1)}")
    assert with_inh[0] > 5 and lead_with > 2 * lead_without, (with_inh, without)


# -- differential: image == network on random networks ----------------------------------------------

_SMALL = ["core.neurons=6", "chip.mesh=[1,2]", "chip.board=[1,3]", "chip.max_chips=3", "cam.entries=12",
          "cam.destinations=3"]
SMALL = derive_target("dynapse2-like", _SMALL, Path("dynapse-small.yaml"))[1]
SMALL_TYPED = derive_target("dynapse2-like", _SMALL + ["cam.weight_sharing=type"], Path("dynapse-typed.yaml"))[1]


@st.composite
def cam_networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    net = Network("cam", dt=DT)
    k = draw(st.integers(1, 8))
    net.add(SpikeSource(name="in", size=k, ids=rng.integers(0, k, 200), times=np.sort(rng.uniform(0, 0.04, 200))))
    pops = ["in"]
    for j in range(draw(st.integers(1, 3))):
        net.add(Population(name=f"p{j}", size=draw(st.integers(1, 14)),
                           model=_cuba(tau_mem=draw(st.sampled_from([0.005, 0.02])), r=draw(st.sampled_from([5.0, 20.0])))))
        net.probe(Probe(target=f"p{j}"))
        net.probe(Probe(target=f"p{j}", variable="v"))
        pops.append(f"p{j}")
    for j, post in enumerate(pops[1:]):
        for pre in pops[:j + 2]:
            a, b = net.node(pre).size, net.node(post).size
            mask = rng.random((a, b)) < draw(st.sampled_from([0.2, 0.6]))
            pi, qi = np.nonzero(mask)
            keep = np.concatenate([np.flatnonzero(qi == q)[:5] for q in range(b)]).astype(np.int64)
            pi, qi = pi[np.sort(keep)], qi[np.sort(keep)]
            w = rng.uniform(-0.6, 1.0, pi.size)
            _connect(net, pre, post, pi, qi, w, receptor=str(rng.choice(["fast", "slow"])), name=f"{pre}_{post}")
    return net


@given(cam_networks(), st.sampled_from([SMALL, SMALL_TYPED]))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_image_equals_network_on_random_cam_networks(net, target):
    try:
        mapping, fx, report = compile_network(net, target)
    except (ValidationError, UserError) as exc:
        event(f"refused: {str(exc)[:40]}")
        assume(False)
    assume(report.fits)
    prog = to_program(decode(encode(build_contents(mapping, fx))))
    a, b = BitAccurateSimulator(fx).run(50), BitAccurateSimulator(prog).run(50)
    for pop in fx.populations:
        assert np.array_equal(a.spike_steps[pop], b.spike_steps[pop]) and np.array_equal(a.spike_ids[pop],
                                                                                          b.spike_ids[pop]), pop
        assert np.array_equal(a.traces[f"{pop}.v"].values, b.traces[f"{pop}.v"].values), pop
    chips = len(set(mapping.position[:, 0].tolist()))
    event(f"chips: {chips}, base weights shared per {target.cam.weight_sharing}")
    assume(sum(s.size for s in a.spike_steps.values()) > 0)  # compared where something fired (else drawn anew)


def test_wta_survives_the_chips_mismatch():
    """The same network on 10 seeded DYNAP-SE2-like chip instances (15 % CV on thresholds, time
    constants and synaptic gains; the weights as each core's base-weight sums): group 0 wins on
    every chip, and the chips differ."""
    net = _wta()
    grid = WeightGrid.of(DYNAPSE)
    assert grid.base_weights == 4
    rates = np.array([_group_rates(FloatSimulator(chip_instance(net, DYNAPSE.variation, grid, seed)).run(300), 300)
                      for seed in range(10)])
    print("group rates (Hz) per chip:", np.round(rates, 1).tolist())
    assert np.all(rates[:, 0] > 10 * np.maximum(rates[:, 1:].max(axis=1), 0.5))
    assert np.ptp(rates[:, 0]) > 1.0
    fitted = nominal(net, grid)  # every core's weights: at most 15 distinct non-zero magnitudes
    for pop in fitted.populations:
        mags = np.concatenate([np.abs(q.connectivity.synapse_weights()) for q in fitted.spiking_projections(pop.name)])
        assert np.unique(mags[mags > 0]).size <= 15


def test_inconsistent_cam_tables_are_refused_by_name():
    """A CAM word naming a synapse type the chip lacks, or an SRAM entry into a chip the image does
    not hold, is an inconsistent image (exit 2 from nmc), not a silent wrong network."""
    mapping, fx, _ = compile_network(_fan_in(8), DYNAPSE)
    image = decode(encode(build_contents(mapping, fx)))
    words = image.cores[0].cam.words
    used = np.flatnonzero(words[0]["type"] != EMPTY)[0]
    words[0, used]["type"] = 9
    with pytest.raises(UserError, match="a CAM word names a synapse type or tag the chip does not have"):
        to_program(image)
    image = decode(encode(build_contents(mapping, fx)))
    image.host_routes["chip"][0] = 3
    with pytest.raises(UserError, match="enters core 0 of chip 3, which the image does not hold"):
        to_program(image)
