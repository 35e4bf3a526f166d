"""Weights as bit planes on crossbar cores (truenorth-like): copies of each source on typed axons.

The legalized network is exactly the original with each weight moved to its nearest plane level
(copies fire with their originals, mirrors send what their source is given), each moved weight
within half a plane step of where it was (``4`` planes) or on the coarser grid of fewer planes,
never more axons than a core has, and the axon types hold the planes exactly, so the image runs
bit for bit like the fixed-point network."""

from __future__ import annotations

import numpy as np
import pytest

from nmcompiler.compiler import compile_network
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.ir import IF, LIF, Connectivity, Network, PoissonSource, Population, Probe, Projection, SpikeSource
from nmcompiler.passes.axon_planes import AxonPlanes
from nmcompiler.sim import FloatSimulator
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.sim.data import SampleData
from nmcompiler.targets import load_target

STEPS = 80


def _layers(seed: int, n_in: int = 30, n_hid: int = 40, n_out: int = 8, recurrent: bool = False,
            spread: int = 2) -> Network:
    """Spikes -> LIF -> LIF with dense normal weights (many distinct values per neuron)."""
    rng = np.random.default_rng(seed)
    net = Network("layers", dt=1e-3, seed=seed)
    t = np.sort(rng.integers(0, STEPS - 10, 600))
    net.add(SpikeSource(name="in", size=n_in, ids=rng.integers(0, n_in, t.size), times=t * 1e-3))
    net.add(Population(name="h", size=n_hid, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    net.add(Population(name="o", size=n_out, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    net.connect(Projection(name="in_h", pre="in", post="h", connectivity=_dense(
        rng.normal(0.15, 0.3, (n_in, n_hid)), 1 + rng.integers(0, spread, (n_in, n_hid)))))
    net.connect(Projection(name="h_o", pre="h", post="o", connectivity=_dense(
        rng.normal(0.1, 0.4, (n_hid, n_out)), 1)))
    if recurrent:
        net.connect(Projection(name="h_h", pre="h", post="h", connectivity=_dense(
            rng.normal(0.0, 0.2, (n_hid, n_hid)) * (rng.random((n_hid, n_hid)) < 0.2), 2)))
    net.probes = [Probe(target=p) for p in ("h", "o")]
    return net


def _dense(w: np.ndarray, delays) -> Connectivity:
    """Every (pre, post) pair with a nonzero weight."""
    pi, qi = np.nonzero(w)
    return Connectivity.from_coo(w.shape[0], w.shape[1], pi, qi, w[pi, qi], np.broadcast_to(delays, w.shape)[pi, qi])


def _moved(net: Network, planes) -> Network:
    """``net`` with every weight replaced by the sum of its planes' weights (the legalized meaning)."""
    out = net.copy()
    total: dict[str, dict] = {}
    for p in planes.network.projections:
        if ".plane" not in p.name or "@plane" in p.name:
            continue
        c, base = p.connectivity, p.name.rsplit(".plane", 1)[0]
        for i, j, d, w in zip(c.pre_indices(), c.indices, c.synapse_delays(), c.synapse_weights()):
            total.setdefault(base, {})
            total[base][(int(i), int(j), int(d))] = total[base].get((int(i), int(j), int(d)), 0.0) + float(w)
    for name, syn in total.items():
        p = next(q for q in net.projections if q.name == name)
        c = p.connectivity
        w = [syn.get((int(i), int(j), int(d)), 0.0) for i, j, d in zip(c.pre_indices(), c.indices, c.synapse_delays())]
        out.disconnect(name)
        out.connect(Projection(name=name, pre=p.pre, post=p.post, connectivity=Connectivity.from_coo(
            c.n_pre, c.n_post, c.pre_indices(), c.indices, np.array(w), c.synapse_delays())))
    return out


def _spikes(net: Network, pops=("h", "o")):
    r = FloatSimulator(net).run(STEPS)
    return {p: (r.spike_steps[p].tolist(), r.spike_ids[p].tolist()) for p in pops}


@pytest.mark.parametrize("recurrent", [False, True])
def test_the_planes_network_is_the_original_with_each_weight_on_its_level(recurrent):
    net = _layers(1, recurrent=recurrent)
    planes = AxonPlanes(types=4, axons=256).run(net)
    assert set(planes.populations) == {"h", "o"} and not planes.left
    legal = planes.network
    assert {"in.plane0", "in.plane1", "in.plane2", "h.plane0", "h.plane1", "h.plane2"} <= {n.name for n in legal.nodes}
    assert legal.node("in.plane1").mirror_of == "in"
    got = _spikes(legal)
    assert got == _spikes(_moved(net, planes)) and sum(len(s[0]) for s in got.values()) > 100
    probed = legal.copy()
    probed.probes = [Probe(target=p) for p in ("h", "h.plane0", "h.plane1", "h.plane2")]
    r = FloatSimulator(probed).run(STEPS)  # the copies fire exactly with their original
    for k in range(3):
        assert np.array_equal(r.spike_steps[f"h.plane{k}"], r.spike_steps["h"])
        assert np.array_equal(r.spike_ids[f"h.plane{k}"], r.spike_ids["h"])


def test_four_planes_move_a_weight_by_at_most_half_a_step():
    net = _layers(2)
    planes = AxonPlanes(types=4, axons=256).run(net)
    moved = _moved(net, planes)
    for name, post in (("in_h", "h"), ("h_o", "o")):
        before = next(p for p in net.projections if p.name == name).connectivity
        after = next(p for p in moved.projections if p.name == name).connectivity
        w, w2 = before.synapse_weights(), after.synapse_weights()
        scale = np.zeros(before.n_post)  # the plane-0 weight of each neuron is its scale
        plane0 = next(p for p in planes.network.projections if p.name == f"{name}.plane0").connectivity
        scale[plane0.indices] = plane0.synapse_weights()
        j = before.indices
        inside = (w <= 7 * scale[j]) & (w >= -8 * scale[j])
        assert inside.mean() > 0.9 and np.all(np.abs(w2 - w)[inside] <= scale[j][inside] / 2 + 1e-12)
        axons = np.unique(before.pre_indices() * 8 + before.synapse_delays()).size  # a source per (neuron, delay)
        assert planes.populations[post].bits == {4: axons}


def test_planes_fit_the_axons_and_wider_fan_in_is_left_to_clustering():
    net = _layers(3, n_in=50)  # a source per (neuron, delay): 100 sources, 2.56 planes each on 256 axons
    c = next(p for p in net.projections if p.name == "in_h").connectivity
    sources = np.unique(c.pre_indices() * 8 + c.synapse_delays()).size
    assert 90 < sources <= 100
    planes = AxonPlanes(types=4, axons=256).run(net)
    bits = planes.populations["h"].bits
    assert sum(b * n for b, n in bits.items()) == 256 and sum(bits.values()) == sources and len(bits) > 1
    wide = AxonPlanes(types=4, axons=64).run(net)
    assert "h" in wide.left and f"{sources} sources, more than a core's 64 axons" in wide.left["h"]
    assert "o" in wide.populations


def test_sources_that_cannot_be_copied_are_left_with_the_reason():
    net = _layers(4)
    net.add(PoissonSource(name="noise", size=5, rate=np.full(5, 20.0)))
    net.connect(Projection(name="noise_h", pre="noise", post="h", connectivity=_dense(
        np.random.default_rng(0).normal(0, 0.3, (5, 40)), 1)))
    planes = AxonPlanes(types=4, axons=256).run(net)
    assert "poisson source" in planes.left["h"] and "o" in planes.populations


def test_rates_decide_which_sources_keep_planes():
    net = _layers(5, n_in=120, spread=1)  # 120 sources: 2.13 planes each on 256 axons
    silent = np.zeros(120)
    silent[:60] = 10.0  # only the first half fires
    planes = AxonPlanes(types=4, axons=256, activity={"in": silent}).run(net)
    kept = np.zeros(120)
    for p in planes.network.projections:
        if p.name.startswith("in_h.plane") and "@" not in p.name:  # not the copies into h's copies
            kept[np.unique(p.connectivity.pre_indices())] += 1
    firing, quiet = kept[:60].mean(), kept[60:].mean()
    assert firing > 3 and quiet <= 1  # the firing sources keep the planes the axons allow; the silent one each


def test_new_input_reaches_the_mirrors():
    net = _layers(6)
    legal = AxonPlanes(types=4, axons=256).run(net).network
    fresh = SpikeSource(name="in", size=30, ids=np.arange(30), times=np.full(30, 5e-3))
    trial = legal.copy()
    trial.replace(fresh)
    assert np.array_equal(trial.node("in.plane2").times, fresh.times) and trial.node("in.plane2").mirror_of == "in"
    data = SampleData.of(np.zeros((2, 10, 30)), None, "events")
    assert data.pick_source(legal.sources) == "in"  # the mirrors take no data of their own
    target = load_target("truenorth-like")
    mapping, fx, _ = compile_network(net, target)
    program = to_program(decode(encode(build_contents(mapping, fx)))).with_source(fresh)
    assert all(np.array_equal(s.times, fresh.times) for s in program.sources)


def test_compiled_planes_hold_exactly_and_the_image_runs_bit_for_bit():
    net = _layers(7)
    target = load_target("truenorth-like")
    mapping, fx, report = compile_network(net, target)
    assert report.fits and any("weights of population 'o' as bit planes" in n for n in report.notes)
    assert not any("axon types made consistent" in n for n in report.notes)  # the hinted types hold every plane
    assert not any("splitter" in n for n in report.notes) and report.partitioner == "population-order"
    data = encode(build_contents(mapping, fx))
    expected = BitAccurateSimulator(fx, backend="numpy").run(STEPS)
    got = BitAccurateSimulator(to_program(decode(data)), backend="numpy").run(STEPS)
    assert got.spike_counts() == expected.spike_counts() and got.spike_counts()["o"] > 0
    assert all(np.array_equal(expected.spike_steps[p], got.spike_steps[p]) for p in expected.spike_steps)
    again = compile_network(net, target)
    assert encode(build_contents(again[0], again[1])) == data  # deterministic
    clustered = compile_network(net, target, crossbar_weights="cluster")[2]
    assert not any("bit planes" in n for n in clustered.notes)


def test_compile_data_options_refuse_bad_combinations(run_nmc, tmp_path):
    from conftest import EXAMPLES

    net = EXAMPLES / "digits" / "digits_snntorch.nir"
    x = tmp_path / "x.npz"
    np.savez(x, x=np.zeros((3, 64)))
    out = tmp_path / "o"
    for args, message in (
            (("--data", x, "--rates", "1s"), "not both"),
            (("--steps", "5"), "go with --data"),
            (("--data", x), "need --steps"),
            (("--data", x, "--steps", "5", "--input-source", "nope"), "'nope'")):
        code, _, err = run_nmc("compile", net, "--from", "snntorch", "--target", "truenorth-like", *args, "-o", out)
        assert code == 2 and message in err and "Traceback" not in err
        assert not out.exists()


def test_a_recurrent_population_keeps_one_axon_per_source_on_chip():
    """Its copies would reach two cores (itself and the next layer): splitters, a tick late."""
    _, _, report = compile_network(_layers(7, recurrent=True), load_target("truenorth-like"))
    assert report.fits and not any("as bit planes" in n for n in report.notes)
    assert any("its input 'h' also feeds 'o': copies of it would need splitter neurons" in n for n in report.notes)


def test_planes_that_do_not_fit_are_compiled_again_with_clustering(monkeypatch):
    """The planes' budget keeps every core within its axons, but the partitioners count sources, not
    (source, delay) axons: should a planes compile not fit, it is compiled again without them."""
    import dataclasses

    import nmcompiler.compiler.flow as flow

    class Strict(flow.CheckFit):  # a misfit whenever planes were made (the check itself is tested elsewhere)
        def run(self, state, ctx):
            state = super().run(state, ctx)
            return dataclasses.replace(state, misfits=state.misfits + ("core 0: 300 input axons",)) \
                if state.axon_hints else state

    monkeypatch.setattr(flow, "CheckFit", Strict)
    _, _, report = compile_network(_layers(8), load_target("truenorth-like"))
    assert report.fits and not any("as bit planes" in n for n in report.notes)
    assert any(n.startswith("weight planes did not fit (core 0: 300 input axons): compiled with one axon per source")
               for n in report.notes)


def test_the_api_takes_samples_for_the_rates():
    import nmcompiler
    from conftest import EXAMPLES
    from nmcompiler.errors import UserError

    path = EXAMPLES / "digits" / "digits_snntorch.nir"
    spikes = np.unpackbits(np.load(EXAMPLES / "digits" / "digits_snntorch_test.npz")["spikes"], axis=-1)[:20, :, :64]
    plain = nmcompiler.compile(path, "truenorth-like", preset="snntorch")
    driven = nmcompiler.compile(path, "truenorth-like", preset="snntorch", samples=spikes, steps=27)
    note = [n for n in plain.report.notes if "population '3' as bit planes" in n]
    assert note and "without rates" in note[0]
    assert any("population '3' as bit planes" in n and "without rates" not in n for n in driven.report.notes)
    assert driven.report.rates_measured and driven.image != plain.image
    with pytest.raises(UserError, match="samples"):
        nmcompiler.compile(path, "truenorth-like", preset="snntorch", samples=spikes[0])
