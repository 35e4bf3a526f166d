"""Side by side with Rockpool 3.1's own Xylo deployment (goldens made once with Rockpool and
xylosim installed: tests/golden/frameworks/make_rockpool_xylo.py; Rockpool is not needed here).

For a feed-forward, a recurrent and a two-synapse network, the xylo-like target's quantization
gives Rockpool's ``mapper`` + ``channel_quantize`` integers (weights, thresholds, dashes), and
the bit-accurate simulation of the quantized network gives ``XyloSim``'s spikes, membranes and
currents on the same input, exactly. Xylo's input reaches the hidden neurons in the step it
arrives, where every IR connection takes one tick: tick ``t + 1`` here is XyloSim's step ``t``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from xylo_goldens import GOLDEN, NAMES, hidden_order, load, network, rockpool_matrices, spikes_per_step

XYLO = load_target("xylo-like")


def _quantized(name: str, membranes: bool = False):
    meta, arrays = load(name)
    net = network(meta, arrays, membranes)
    return meta, arrays, Quantize(fmt=XYLO.format, spikes_per_step=spikes_per_step(meta, XYLO)).run(net)


def _stack(fx, names, field):
    return np.concatenate([np.asarray(getattr(fx.populations[n].params, field)) for n in names], axis=-1)


@pytest.mark.parametrize("name", NAMES)
def test_quantized_integers_are_rockpools(name):
    meta, golden, fx = _quantized(name)
    hidden, out = hidden_order(meta), f"l{len(meta['layers']) - 1}"
    assert sum(fx.populations[h].size for h in hidden) == meta["hidden"]
    for key, ours in rockpool_matrices(fx, meta).items():
        assert ours.shape == golden[f"q_{key}"].shape, key
        assert np.array_equal(ours, golden[f"q_{key}"]), (key, int(np.sum(ours != golden[f"q_{key}"])))
    assert all(np.count_nonzero(golden[f"q_{k}"]) for k in ("weights_in", "weights_out"))
    assert (np.count_nonzero(golden["q_weights_rec"]) > 0) == (name != "xylo_syn2")  # ff: the layer-to-layer block
    assert np.array_equal(_stack(fx, hidden, "threshold"), golden["q_threshold"])
    assert np.array_equal(fx.populations[out].params.threshold, golden["q_threshold_out"])
    assert np.array_equal(_stack(fx, hidden, "decay_v"), golden["q_dash_mem"])
    assert np.array_equal(fx.populations[out].params.decay_v, golden["q_dash_mem_out"])
    dash_i = _stack(fx, hidden, "decay_i")
    assert np.array_equal(dash_i[0], golden["q_dash_syn"])
    if name == "xylo_syn2":  # the second synapse's own time constant
        assert np.array_equal(dash_i[1], golden["q_dash_syn_2"]) and len(set(golden["q_dash_syn_2"])) == 1
        assert golden["q_dash_syn_2"][0] != golden["q_dash_syn"][0]
    assert np.array_equal(fx.populations[out].params.decay_i[0], golden["q_dash_syn_out"])
    notes = " ".join(w for r in fx.report.values() for w in r.warnings)
    assert "becomes bit shift" in notes  # each time constant's shift and the error it makes


@pytest.mark.parametrize("name", NAMES)
def test_bit_accurate_simulation_is_xylosims(name):
    meta, golden, fx = _quantized(name, membranes=True)
    hidden, out = hidden_order(meta), f"l{len(meta['layers']) - 1}"
    steps = meta["steps"]
    sim = BitAccurateSimulator(fx, backend="numpy")
    res = sim.run(steps + 1, count_saturation=True)
    counts = {}
    for pop in hidden + [out]:
        c = np.zeros((steps + 1, fx.populations[pop].size), np.int64)
        np.add.at(c, (res.spike_steps[pop], res.spike_ids[pop]), 1)
        counts[pop] = c[1:]
    ours_hidden = np.concatenate([counts[h] for h in hidden], axis=1)
    assert golden["hidden_spikes"].sum() > 1000 and golden["out_spikes"].sum() > 100  # something happened
    assert golden["hidden_spikes"].max() >= 2  # several spikes in one step, subtracting each time
    assert np.array_equal(ours_hidden, golden["hidden_spikes"])
    assert np.array_equal(counts[out], golden["out_spikes"])
    for field, key in (("v", "hidden_v"), ("i", "hidden_i")):  # the states XyloSim records, step by step
        ours = np.concatenate([res.traces[f"{h}.{field}"].values[1:] for h in hidden], axis=-1)
        ours = ours if field == "v" else ours[:, 0]
        assert np.array_equal(ours, golden[key].T if golden[key].shape[0] != steps else golden[key]), field
    assert np.array_equal(res.traces[f"{out}.v"].values[1:], golden["out_v"])
    if name == "xylo_syn2":
        second = np.concatenate([res.traces[f"{h}.i"].values[1:, 1] for h in hidden], axis=-1)
        assert np.array_equal(second, golden["hidden_i2"]) and np.any(second)
    v_sat = sum(s["v"] for s in res.saturation.values())
    assert (v_sat > 0) == (name == "xylo_syn2")  # where the 16-bit membrane saturates, it still agrees
    # no current saturates within a tick, where the chip's event-by-event additions would differ from one sum
    assert sum(s["i"] + s["acc"] for s in res.saturation.values()) == 0


def _stack_of(n_in: int, hidden: list[int], n_out: int):
    """The layered network of a fit case: LinearTorch/LIFTorch pairs, as the golden script built it."""
    from nmcompiler.ir import Connectivity, CubaLIF, Network, Population, Projection, SpikeSource

    net = Network("fit", dt=1e-3)
    net.add(SpikeSource(name="in", size=n_in, ids=[0], times=[0.0]))
    pre = "in"
    for k, n in enumerate([*hidden, n_out]):
        net.add(Population(name=f"l{k}", size=n, model=CubaLIF(tau_mem=0.02, tau_syn=[0.02], r=20.0, v_threshold=1.0,
                                                               reset="subtract", integration="exp_euler",
                                                               compare=">=")))
        size = net.node(pre).size
        pi, qi = np.divmod(np.arange(size * n), n)
        net.connect(Projection(name=f"{pre}_l{k}", pre=pre, post=f"l{k}", receptor="syn",
                               connectivity=Connectivity.from_coo(size, n, pi, qi, np.full(pi.size, 0.1),
                                                                  np.ones(pi.size, np.int64))))
        pre = f"l{k}"
    return net


def test_fit_decisions_are_rockpools():
    """Where Rockpool's mapper places a network, ours fits with the same hidden and readout counts;
    where it refuses, or warns that Xylo supports fewer channels, ours refuses (Rockpool 3.1's
    mapper only warns about 17 input channels and maps them anyway; the chip has 16)."""
    from nmcompiler.drc import check

    golden = json.loads((GOLDEN / "fit_decisions.json").read_text())
    assert set(golden["decisions"]) == {"fits_full", "inputs_17", "hidden_1001", "outputs_9", "single_layer"}
    for name, decision in golden["decisions"].items():
        n_in, hidden, n_out = golden["cases"][name]
        violations = check(_stack_of(n_in, hidden, n_out), XYLO)
        rockpool_fits = decision["fits"] and not decision["warnings"]
        assert (not violations) == rockpool_fits, (name, [str(v) for v in violations], decision)
        if rockpool_fits:
            assert (sum(hidden), n_out) == (decision["hidden"], decision["outputs"]) == (XYLO.ports.hidden,
                                                                                         XYLO.ports.outputs)
        else:
            assert len(violations) == 1, [str(v) for v in violations]
