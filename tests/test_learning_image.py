"""Plastic projections in configuration images (issue 26, format version 3): compiled, encoded,
decoded and run bit-accurately from the image's own tables. A projection spread over several
cores learns per (projection, core), each with its own LFSR, as the cores' engines would: under
nearest rounding that is bit for bit the network-level run; stochastically it still learns the
same. Without --learn an image's plastic synapses keep their weights; learned weights go back
into the network; images without plastic synapses are the bytes they were."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nmcompiler.flow.api import compile_model
from nmcompiler.image import decode, encode, read_header, to_program
from nmcompiler.ir import LIF, STDP, Connectivity, Network, PoissonSource, Population, Probe, Projection, RewardSTDP
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target

DT = 1e-4


def network(seed: int = 0, reward: bool = False) -> Network:
    """600 neurons (three fpga-lif cores) learning from 80 Poisson inputs; a fixed recurrent
    projection; with ``reward``, the plastic rule is reward-modulated with a spike-source port."""
    rng = np.random.default_rng(seed)
    net = Network("plastic600", dt=DT, seed=seed)
    net.add(Population(name="p", size=600, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0)))
    net.add(PoissonSource(name="in", size=80, rate=np.full(80, 30.0)))
    dense = rng.uniform(0.1, 0.4, (80, 600)) * (rng.uniform(size=(80, 600)) < 0.1)
    rule = dict(tau_pre=0.02, tau_post=0.02, A_plus=0.02, A_minus=0.021, w_min=0.0, w_max=0.5)
    learning = RewardSTDP(**rule, tau_eligibility=0.05, reward="in", reward_amount=0.05) if reward else STDP(**rule)
    net.connect(Projection(name="in_p", pre="in", post="p", learning=learning,
                           connectivity=Connectivity.from_dense(dense, delays=2)))
    rec = rng.uniform(0, 0.05, (600, 600)) * (rng.uniform(size=(600, 600)) < 0.02)
    net.connect(Projection(name="p_p", pre="p", post="p", connectivity=Connectivity.from_dense(rec)))
    net.probe(Probe(target="p"))
    return net


def target(rounding: str):
    t = load_target("fpga-lif")
    return dataclasses.replace(t, learning=dataclasses.replace(t.learning, rounding=rounding))


@pytest.mark.parametrize("reward", [False, True])
def test_nearest_rounding_image_equals_the_network_run(reward):
    net, tgt = network(reward=reward), target("nearest")
    compiled = compile_model(net, tgt)
    image = compiled.image
    assert read_header(image)[0]["format_version"] == 3 and compiled.report.cores_used >= 3
    prog = to_program(decode(image), learn=True)
    assert len(prog.plastic) == compiled.report.cores_used  # one learning unit per core holding the projection
    from_image = BitAccurateSimulator(prog).run(3000, record_weights=1000)
    fx = Quantize(fmt=tgt.format, learning=tgt.learning).run(net)
    from_network = BitAccurateSimulator(fx).run(3000, record_weights=1000)
    assert from_image.spike_counts()["p"] > 500
    assert np.array_equal(from_image.spike_steps["p"], from_network.spike_steps["p"])
    assert np.array_equal(from_image.spike_ids["p"], from_network.spike_ids["p"])
    a, b = from_image.weights["in_p"], from_network.weights["in_p"]
    assert np.array_equal(a.pre, b.pre) and np.array_equal(a.post, b.post)
    assert np.array_equal(a.mantissa, b.mantissa) and np.array_equal(a.history, b.history)
    assert not np.array_equal(a.history[0], a.history[-1])


def test_stochastic_rounding_learns_per_core_and_is_deterministic():
    net, tgt = network(seed=1), target("stochastic")
    image = compile_model(net, tgt).image
    runs = [BitAccurateSimulator(to_program(decode(image), learn=True)).run(3000) for _ in range(2)]
    assert np.array_equal(runs[0].weights["in_p"].mantissa, runs[1].weights["in_p"].mantissa)
    fx = Quantize(fmt=tgt.format, learning=tgt.learning).run(net)
    network_run = BitAccurateSimulator(fx).run(3000)
    w_img, w_net = runs[0].weights["in_p"].final, network_run.weights["in_p"].final
    assert not np.array_equal(w_img, w_net)  # other LFSR streams: one per core
    assert abs(w_img.mean() - w_net.mean()) < 0.01 and np.corrcoef(w_img, w_net)[0, 1] > 0.9


def test_without_learn_the_image_keeps_its_weights(tmp_path, run_nmc):
    net, tgt = network(seed=2), target("stochastic")
    from nmcompiler.lowered import program_from_fixed_point

    compiled = compile_model(net, tgt)
    fx = Quantize(fmt=tgt.format, learning=tgt.learning).run(net)
    fixed = BitAccurateSimulator(program_from_fixed_point(fx).frozen()).run(2000)  # the same integers, fixed
    inference = BitAccurateSimulator(to_program(decode(compiled.image))).run(2000)
    assert fixed.spike_counts()["p"] > 500 and not inference.weights
    assert np.array_equal(inference.spike_steps["p"], fixed.spike_steps["p"])
    assert np.array_equal(inference.spike_ids["p"], fixed.spike_ids["p"])
    path = tmp_path / "plastic.nmc"
    path.write_bytes(compiled.image)
    code, out, err = run_nmc("simulate", path, "--steps", "2000", "--learn", "--record-weights", "0.1s", "--no-plot",
                             "-o", tmp_path / "learned")
    assert code == 0, err
    code, _, err = run_nmc("simulate", path, "--steps", "10", "--record-weights", "0.1s", "-o", tmp_path / "x")
    assert code == 2 and "--record-weights applies to" in err
    with np.load(tmp_path / "learned" / "weights.npz") as z:
        assert z["in_p/history"].shape[0] == 3 and not np.array_equal(z["in_p/history"][0], z["in_p/final"])


def _frozen(net: Network) -> Network:
    out = net.copy()
    proj = out.disconnect("in_p")
    out.connect(dataclasses.replace(proj, learning=None))
    return _reorder(out)


def _reorder(net: Network) -> Network:
    projs = {p.name: p for p in net.projections}
    for name in ("p_p", "in_p"):
        net.disconnect(name)
    for name in ("in_p", "p_p"):
        net.connect(projs[name])
    return net


def test_images_without_plastic_synapses_keep_their_version_and_bytes():
    compiled = compile_model(_frozen(network(seed=3)), target("stochastic"))
    image = compiled.image
    assert read_header(image)[0]["format_version"] == 1 and "plastic" not in decode(image).meta
    assert encode(decode(image)) == image


def test_a_plastic_delay_over_the_limit_is_refused():
    net = network(seed=4)
    proj = net.disconnect("in_p")
    c = proj.connectivity
    net.connect(dataclasses.replace(proj, connectivity=dataclasses.replace(c, delays=np.asarray(40, np.int32))))
    from nmcompiler.errors import UserError, ValidationError

    with pytest.raises((UserError, ValidationError), match="projection 'in_p' learns and has a delay of 40 ticks, over "
                                                          "fpga-lif's 16"):
        compile_model(net, target("nearest"))


def test_image_update_writes_the_learned_weights(tmp_path, run_nmc):
    net, tgt = network(seed=5), target("stochastic")
    path = tmp_path / "plastic.nmc"
    path.write_bytes(compile_model(net, tgt).image)
    code, _, err = run_nmc("simulate", path, "--steps", "2000", "--learn", "--no-plot", "-o", tmp_path / "run")
    assert code == 0, err
    code, out, err = run_nmc("image", "update", path, "--weights", tmp_path / "run" / "weights.npz",
                             "-o", tmp_path / "learned.nmc")
    assert code == 0, err
    before = to_program(decode(path.read_bytes()), learn=True)
    after = to_program(decode((tmp_path / "learned.nmc").read_bytes()), learn=True)
    frac = after.learning.weight_frac_bits
    with np.load(tmp_path / "run" / "weights.npz") as z:
        learned = (z["in_p/mantissa"] + (1 << (frac - 1))) >> frac
        pre, post = z["in_p/pre"], z["in_p/post"]
    got = {(int(a), int(b)): int(m) for piece in after.plastic
           for a, b, m in zip(piece.pre - piece.pre_lo, piece.indices, piece.mantissa)}
    assert [got[(int(a), int(b))] for a, b in zip(pre, post)] == learned.tolist()
    assert any(not np.array_equal(x.mantissa, y.mantissa) for x, y in zip(before.plastic, after.plastic))
    assert np.array_equal(before.synapses.weight, after.synapses.weight)  # the fixed rows are untouched
    bad = tmp_path / "other.npz"
    np.savez(bad, **{"p_p/pre": np.zeros(1), "p_p/post": np.zeros(1), "p_p/final": np.zeros(1)})
    code, _, err = run_nmc("image", "update", path, "--weights", bad, "-o", tmp_path / "x.nmc")
    assert code == 2 and "projection 'p_p' has learned weights, but the image does not learn it" in err
    assert not (tmp_path / "x.nmc").exists()
    short = tmp_path / "short.npz"
    with np.load(tmp_path / "run" / "weights.npz") as z:
        np.savez(short, **{k: z[k][:-5] for k in ("in_p/pre", "in_p/post", "in_p/final")})
    code, _, err = run_nmc("image", "update", path, "--weights", short, "-o", tmp_path / "y.nmc")
    assert code == 2 and "that the weights file does not have" in err and "Traceback" not in err


def test_verify_learns_at_every_level_or_holds_the_weights_with_frozen(tmp_path, run_nmc):
    import json
    from pathlib import Path

    song = Path(__file__).resolve().parent.parent / "examples" / "stdp_song.yaml"
    spikes = {}
    for flag in ("", "--frozen"):
        code, out, err = run_nmc("verify", song, "--target", "fpga-lif", "--steps", "10000", "--levels", "float,int",
                                 "--json", *([flag] if flag else []))
        assert code == 0, err
        doc = json.loads(out)
        said = "learn, but --frozen: every level runs them with their initial" if flag else "learn at every level"
        assert doc["notes"] and said in doc["notes"][0]
        float_spikes, int_spikes = (level["spikes"] for level in doc["levels"])
        assert float_spikes > 50 and abs(float_spikes - int_spikes) <= 0.1 * float_spikes
        spikes[flag] = (float_spikes, int_spikes)
    assert spikes[""] != spikes["--frozen"]  # learning changed what the neuron does


@pytest.mark.rtl
def test_verify_runs_the_rtl_learning_engine(tmp_path, run_nmc):
    """nmc verify IMAGE --levels int,rtl on a learning image: the RTL core with its learning
    engine, weights and traces compared after the run, and said so."""
    import json
    from pathlib import Path

    song = Path(__file__).resolve().parent.parent / "examples" / "stdp_song.yaml"
    assert run_nmc("compile", song, "--target", "fpga-lif", "-o", tmp_path / "c")[0] == 0
    code, out, err = run_nmc("verify", tmp_path / "c" / "stdp_song.nmc", "--levels", "int,rtl", "--steps", "300",
                             "--json")
    assert code == 0, err
    doc = json.loads(out)["rtl"]
    assert doc["mismatches"] == 0 and doc["learning_mismatches"] == 0 and doc["weights_changed"] > 100
    code, out, err = run_nmc("verify", tmp_path / "c" / "stdp_song.nmc", "--levels", "int,rtl", "--steps", "300")
    assert code == 0 and "RTL learning:" in out and "as the bit-accurate simulator's" in out
