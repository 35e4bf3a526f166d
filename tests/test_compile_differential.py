"""Differential test of the whole compile flow: random small networks on random derived targets.

Wherever compile says a network fits, the bit-accurate simulation of the decoded image equals the
bit-accurate simulation of the unmapped fixed-point network, spike for spike and membrane state
for state, and every core of the image keeps the target's per-core limits.

The documented latencies are accounted for explicitly in the reference: a synapse of delay 1
whose spike goes through a splitter neuron (its presynaptic neuron was split,
:mod:`nmcompiler.passes.split_fan_out`) or through a partial-sum compartment (its postsynaptic
neuron has compartments, :mod:`nmcompiler.mapping.partial_sums`) arrives one tick late, so the
reference gives it delay 2. A crossbar core whose neurons need more weights than it has axon types
(relay and splitter neurons add their own) gets weights changed, with a note: such cases are not
compared. Relay chains (:mod:`nmcompiler.passes.relay_delays`) keep timing
exactly; the generator keeps their last segment at 2 ticks or more, so that a relay neuron that is
itself split or given compartments adds no late synapse the rule above would not see.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from nmcompiler.drc.rules import target_for
from nmcompiler.errors import UserError
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.ir import IF, LIF, Connectivity, Network, Population, Probe, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.targets.derive import derive_target

BASES = ("fpga-lif", "loihi-like", "spinnaker-like", "truenorth-like", "brainscales2-like")
DELAY_MAXES = (1, 2, 15, 16, 63, 64, 65, 100, 127, 255, 256, 1000, 4095, 4096)
DT = 1e-3


@st.composite
def derived_targets(draw, base: str):
    """``base`` with a random delay range, small cores and a small mesh."""
    crossbar = load_target(base).storage.axon_per_delay
    delay_max = draw(st.sampled_from([d for d in DELAY_MAXES if not crossbar or d <= 255]))
    neurons = draw(st.integers(2, 12))
    axons = draw(st.integers(4, 40))
    settings_ = [f"format.delay_max={delay_max}", f"core.neurons={neurons}", f"core.input_axons={axons}",
                 "chip.mesh=[3,3]"]
    if crossbar:
        settings_.append(f"core.synapse_memory_bits={neurons * axons}")
    else:
        settings_.append(f"core.synapse_memory_bits={draw(st.integers(8, 120)) * 32}")
    try:
        _, target = derive_target(base, settings_, Path(f"{base}-derived.yaml"))
    except UserError as exc:  # an encoding the image cannot hold (word32 with a long delay range): refused
        note(str(exc))
        assume(False)
    return target


def _delay(draw, delay_max: int) -> int:
    """A delay in ticks: often near the target's range (relayed beyond it), never a relay chain
    whose last segment is 1 tick (see the module docstring)."""
    if delay_max == 1:
        return 1
    d = draw(st.one_of(st.integers(1, 4), st.sampled_from([delay_max - 1, delay_max, delay_max + 1, 65, 64, 129]),
                       st.integers(1, min(3 * delay_max, 400))))
    d = max(1, min(d, 400))
    if d > delay_max and d % delay_max == 1:
        d += 1
    return d


@st.composite
def networks(draw, target):
    """1-3 LIF or IF populations driven by explicit spikes, random projections among them."""
    crossbar = target.storage.axon_per_delay
    types = target.core.axon_types or 1
    # crossbar: at most one weight per axon type, one per presynaptic neuron (for all its projections),
    # so that neither weight clustering nor axon-type assignment changes a weight
    levels = [1.5] + draw(st.lists(st.sampled_from([-1.0, -0.5, 0.25, 0.5, 0.75, 1.0]), max_size=types - 1,
                                   unique=True))
    net = Network("diff", dt=DT, seed=0)
    sizes = draw(st.lists(st.integers(1, 10), min_size=1, max_size=3))
    for k, size in enumerate(sizes):
        model = draw(st.sampled_from([LIF(tau_mem=0.02, v_threshold=1.0), IF(v_threshold=1.0)]))
        net.add(Population(name=f"p{k}", size=size, model=model))
        net.probe(Probe(target=f"p{k}"))
        net.probe(Probe(target=f"p{k}", variable="v"))
    channels = draw(st.integers(1, 4))
    spikes = draw(st.lists(st.tuples(st.integers(0, channels - 1), st.integers(0, 30)), min_size=1, max_size=20))
    ids, ticks = zip(*sorted(set(spikes), key=lambda x: (x[1], x[0])))
    net.add(SpikeSource(name="in", size=channels, ids=list(ids), times=[t * DT for t in ticks]))
    delay_max = target.format.delay_max
    pres = [("in", channels)] + [(f"p{k}", s) for k, s in enumerate(sizes)]
    per_neuron = {pre: [1.5] * n_pre if pre == "in" else [draw(st.sampled_from(levels)) for _ in range(n_pre)]
                  for pre, n_pre in pres}
    for k, (post_size) in enumerate(sizes):
        for pre, n_pre in pres:
            if pre != "in" and not draw(st.booleans()):
                continue
            pairs = draw(st.lists(st.tuples(st.integers(0, n_pre - 1), st.integers(0, post_size - 1)), min_size=1,
                                  max_size=12, unique=crossbar))  # crossbar_multapses refuses the others
            pre_i, post_i = (np.array(x, dtype=np.int64) for x in zip(*pairs))
            if crossbar or pre == "in":  # the drive (1.5) makes its targets fire
                weights = np.array([per_neuron[pre][i] for i in pre_i])
            else:
                weights = np.array([draw(st.sampled_from(levels)) for _ in pre_i])
            delays = np.array([_delay(draw, delay_max) for _ in pre_i])
            net.connect(Projection(name=f"{pre}_p{k}", pre=pre, post=f"p{k}", connectivity=Connectivity.from_coo(
                n_pre, post_size, pre_i, post_i, weights, delays)))
    return net.validate()


def _late_reference(net: Network, mapping, fx) -> Network:
    """``net`` with the documented one-tick latencies of the mapping: delay-1 synapses out of a
    split neuron or into a neuron with partial-sum compartments get delay 2."""
    split = {p.name: np.zeros(p.size, dtype=bool) for p in net.populations}
    for proj in fx.network.projections:
        if proj.name.endswith(".split.in") and proj.pre in split:
            split[proj.pre][proj.connectivity.pre_indices()] = True
    with_compartments = {p.name: np.zeros(p.size, dtype=bool) for p in net.populations}
    if mapping.partial_sums is not None:
        soma = mapping.partial_sums.soma_core >= 0
        for p in net.populations:
            off = mapping.offsets[p.name]
            with_compartments[p.name] = soma[off:off + p.size]
    out = net.copy()
    for proj in net.spiking_projections():
        c = proj.connectivity
        pre, post, delay = c.pre_indices(), c.indices.astype(np.int64), c.synapse_delays().astype(np.int64)
        late = (delay == 1) & with_compartments[proj.post][post]
        if proj.pre in split:
            late |= (delay == 1) & split[proj.pre][pre]
        if late.any():
            out.disconnect(proj.name)
            out.connect(dataclasses.replace(proj, connectivity=Connectivity.from_coo(
                c.n_pre, c.n_post, pre, post, c.synapse_weights(), np.where(late, 2, delay))))
    return out


def _check_limits(contents, target) -> None:
    """Every core of the image within the target's per-core limits."""
    for c in contents.cores:
        where = f"core {c.core}"
        assert c.neurons.size * target.core.compartments_per_neuron + c.compartments.size <= target.core.neurons, where
        if target.storage.axon_per_delay:  # an axon per (source, delay): the crossbar's rows
            assert c.rows.size <= target.core.input_axons, where
        else:
            assert np.unique(c.rows["source"]).size <= target.core.input_axons, where
            assert c.synapses.size * target.synapse_bits() <= target.core.synapse_memory_bits, where


def _compare(net, target, *, partitioner: str, fan_in: str):
    try:
        mapping, fx, report = compile_network(net, target, partitioner=partitioner, fan_in=fan_in, placer="swap")
    except UserError as exc:
        note(f"refused: {exc}")
        return None
    if not report.fits:
        note(f"does not fit: {report.misfits}")
        return None
    if any("axon types made consistent" in n for n in report.notes):
        # a crossbar core needed more weights than axon types (relay and splitter neurons bring
        # their own): compile changed weights and said so; the image then runs other weights
        note("axon types changed weights")
        return None
    contents = decode(encode(build_contents(mapping, fx)))
    _check_limits(contents, mapping.target)
    steps = int(max((p.connectivity.delays.max() for p in net.projections if p.connectivity.nnz), default=1)) + 60
    reference = _late_reference(net, mapping, fx)
    longest = max((int(p.connectivity.delays.max()) for p in reference.projections if p.connectivity.nnz), default=1)
    fmt = target_for(reference, target).format  # the target's arithmetic; its delay range unbounded (no relays)
    fmt = dataclasses.replace(fmt, delay_max=max(fmt.delay_max, longest))
    expected = BitAccurateSimulator(Quantize(fmt=fmt).run(reference)).run(steps)
    got = BitAccurateSimulator(to_program(contents)).run(steps)
    for pop in expected.spike_ids:
        np.testing.assert_array_equal(got.spike_steps[pop], expected.spike_steps[pop], err_msg=pop)
        np.testing.assert_array_equal(got.spike_ids[pop], expected.spike_ids[pop], err_msg=pop)
    for label, trace in expected.traces.items():
        np.testing.assert_array_equal(got.traces[label].values, trace.values, err_msg=label)
    return sum(len(s) for s in expected.spike_ids.values())


@st.composite
def cases(draw, base: str):
    target = draw(derived_targets(base))
    net = draw(networks(target))
    graded = bool(target.core.partial_sum_bits)
    fan_in = draw(st.sampled_from(["partial-sums", "auto", "none"] if graded else ["auto"]))
    partitioner = draw(st.sampled_from(["index-order", "rcm-order", "auto"]))
    return net, target, partitioner, fan_in


@pytest.mark.parametrize("base", BASES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_image_runs_as_the_unmapped_network(base, data):
    net, target, partitioner, fan_in = data.draw(cases(base))
    note(f"{target.name} delay_max={target.format.delay_max} neurons={target.core.neurons} "
         f"axons={target.core.input_axons}, {partitioner}, fan-in {fan_in}")
    spikes = _compare(net, target, partitioner=partitioner, fan_in=fan_in)
    assume(spikes)  # compared only where compile says it fits and something fired (else drawn anew)
    event(f"{target.storage.kind}, fan-in {fan_in}")


def _collide() -> Network:
    """The issue's reproducer: src[0] -> dst at delay 65, src[1] -> dst at delay 1 share one axon
    when axon keys are ``pre * 64 + delay``."""
    net = Network("collide", dt=DT, seed=0)
    net.add(Population(name="src", size=2, model=IF(v_threshold=1.0)))
    net.add(Population(name="dst", size=1, model=IF(v_threshold=100.0)))
    net.add(SpikeSource(name="drive", size=2, ids=[0, 1], times=[0.010, 0.012]))
    net.connect(Projection(name="kick", pre="drive", post="src", connectivity=Connectivity.from_coo(
        2, 2, [0, 1], [0, 1], 2.0)))
    net.connect(Projection(name="late", pre="src", post="dst", connectivity=Connectivity.from_coo(
        2, 1, [0], [0], 1.0, 65)))
    net.connect(Projection(name="early", pre="src", post="dst", connectivity=Connectivity.from_coo(
        2, 1, [1], [0], -1.0, 1)))
    net.probe(Probe(target="src"))
    net.probe(Probe(target="dst", variable="v"))
    return net.validate()


@pytest.mark.parametrize("base", BASES)
def test_axons_of_delays_beyond_64_do_not_collide(base, tmp_path):
    """Delays 65 and 1 from neighbouring sources onto one neuron, on each storage kind with a
    delay range of 100: v goes to -1 at step 14 and back to 0 at step 76 on the chip too."""
    _, target = derive_target(base, ["format.delay_max=100"], tmp_path / "t100.yaml")
    spikes = _compare(_collide(), target, partitioner="index-order", fan_in="auto")
    assert spikes == 2  # both sources fired: the check saw activity


def test_crossbar_refuses_multapses_and_counts_an_axon_per_delay(tmp_path):
    """A crossbar stores one synapse per (axon, neuron): a repeated (source, delay, neuron) is refused
    by a design rule, and a source reaching one core at several delays takes an axon per delay."""
    _, target = derive_target("truenorth-like", ["core.input_axons=3"], tmp_path / "tn.yaml")
    net = Network("multapse", dt=DT)
    net.add(Population(name="p", size=2, model=IF(v_threshold=1.0)))
    net.add(SpikeSource(name="in", size=1, ids=[0], times=[0.001]))
    net.connect(Projection(name="a", pre="in", post="p", connectivity=Connectivity.from_coo(1, 2, [0, 0], [0, 0],
                                                                                            1.0, 2)))
    with pytest.raises(UserError, match=r"^population 'p': 1 synapses repeat a \(source, delay, neuron\) of another "
                                        r"one, .*merge them into one synapse with the summed weight"):
        compile_network(net, target)
    net.disconnect("a")
    for name, delay in (("a", 2), ("b", 2)):  # across two projections from one source as well
        net.connect(Projection(name=name, pre="in", post="p", connectivity=Connectivity.from_coo(1, 2, [0], [1],
                                                                                               1.0, delay)))
    with pytest.raises(UserError, match=r"^population 'p': 1 synapses repeat"):
        compile_network(net, target)
    net.disconnect("a")
    net.disconnect("b")
    net.connect(Projection(name="a", pre="in", post="p", connectivity=Connectivity.from_coo(
        1, 2, [0, 0, 0, 0], [0, 0, 1, 1], 1.0, [2, 3, 4, 5])))
    _, _, report = compile_network(net, target)
    assert not report.fits
    assert report.misfits == ["1 cores exceed 3 input axons (distinct source and delay) (core 0: 4)"]
