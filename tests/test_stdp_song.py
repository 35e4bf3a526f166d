"""STDP against Brian2 (issue 26): Brian2's own STDP example (Song, Miller & Abbott 2000; 1000
Poisson inputs at 15 Hz onto one neuron, additive STDP) and examples/stdp_song.yaml in our float
simulator, 100 s of biological time each, seeds 1-3. Brian2's outcome is a golden made by
``benchmarks/peers/brian2_stdp.py --golden`` (Brian2 is not needed here): in both the final weights
are bimodal, and the fraction of weights within 10 % of gmax agrees within 5 points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmcompiler import load_network
from nmcompiler.analysis import weight_distribution
from nmcompiler.sim import FloatSimulator

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "golden" / "brian2_stdp.json").read_text())["runs"]


@pytest.fixture(scope="module")
def ours():
    net = load_network(ROOT / "examples" / "stdp_song.yaml")
    rule = net.projections[0].learning
    out = []
    for seed in (1, 2, 3):
        result = FloatSimulator(net, seed=seed).run(round(100.0 / net.dt), record_weights=round(50.0 / net.dt))
        out.append((result, weight_distribution(result.weights["plastic"].final, rule.w_min, rule.w_max)))
    return out


def test_the_golden_is_brian2s_100_s_outcome():
    assert [r["seed"] for r in GOLDEN] == [1, 2, 3] and all(r["bio_s"] == 100 for r in GOLDEN)
    assert all(r["bimodal"] and r["rate_hz"] > 10 for r in GOLDEN)


def test_weights_become_bimodal_as_in_brian2(ours):
    for result, dist in ours:
        w = result.weights["plastic"]
        assert w.steps.tolist() == [0, 500_000, 1_000_000]
        assert dist.bimodal, dist.histogram
        assert np.mean(w.history[0] != w.final) > 0.99  # nearly every weight moved
    brian2 = {key: np.mean([r[key] for r in GOLDEN]) for key in ("near_max", "near_min", "mean", "rate_hz")}
    mine = {key: np.mean([getattr(d, key) for _, d in ours]) for key in ("near_max", "near_min", "mean")}
    assert abs(mine["near_max"] - brian2["near_max"]) <= 0.05, (mine, brian2)
    assert abs(mine["near_min"] - brian2["near_min"]) <= 0.05, (mine, brian2)
    assert abs(mine["mean"] - brian2["mean"]) <= 0.05, (mine, brian2)
    rate = np.mean([r.rates()["neuron"] for r, _ in ours])
    assert rate == pytest.approx(brian2["rate_hz"], rel=0.2)


def test_fixed_point_learns_the_same_at_8_bit_traces(ours):
    """The same example on fpga-lif's learning engine (8-bit traces, 8+8-bit plastic weights,
    stochastic rounding), bit-accurate: bimodal too, the mean weight within 5 % of the float run's."""
    from nmcompiler.passes import Quantize
    from nmcompiler.sim.bit_sim import BitAccurateSimulator
    from nmcompiler.targets import load_target

    net = load_network(ROOT / "examples" / "stdp_song.yaml")
    target = load_target("fpga-lif")
    assert target.learning.trace_bits == 8
    fx = Quantize(fmt=target.format, learning=target.learning).run(net)
    for seed, (floating, dist) in zip((1, 2, 3), ours):
        result = BitAccurateSimulator(fx, seed=seed).run(round(100.0 / net.dt))
        fixed = weight_distribution(result.weights["plastic"].final, 0.0, 0.01)
        assert fixed.bimodal, fixed.histogram
        assert abs(fixed.mean - dist.mean) <= 0.05 * dist.mean, (fixed.mean, dist.mean)
        assert abs(fixed.near_max - dist.near_max) <= 0.05
        assert result.rates()["neuron"] == pytest.approx(floating.rates()["neuron"], rel=0.2)  # Brian2: 28-32 Hz
