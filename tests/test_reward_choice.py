"""Reward-modulated STDP learns what the reward selects (issue 26, example b): in
examples/reward_choice.py one neuron sees alternating trials of input patterns A and B; a reward
of +1 after one pattern's trials and -1 after the other's makes the neuron answer the rewarded
pattern, whichever it is; rewards from a spike source (an input port with a reward and a
punishment channel) do the same."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from reward_choice import N_PATTERN, W0, build, selectivity  # noqa: E402

from nmcompiler.sim import simulate  # noqa: E402


@pytest.fixture(scope="module")
def before():
    return selectivity(np.full(2 * N_PATTERN, W0))


@pytest.mark.parametrize("rewarded, other", [("A", "B"), ("B", "A")])
def test_the_rewarded_pattern_is_learned(before, rewarded, other):
    assert before["A"] > 20 and before["A"] == pytest.approx(before["B"], rel=0.15)  # no preference at first
    w = simulate(build(rewarded)).weights["plastic"].final
    mean = {"A": w[:N_PATTERN].mean(), "B": w[N_PATTERN:].mean()}
    assert mean[rewarded] > 3 * mean[other] and mean[rewarded] > 2 * W0
    after = selectivity(w)
    assert after[rewarded] > 2.5 * after[other], after


def test_reward_from_a_spike_source_port_gives_the_same_weights():
    """The same rewards from a two-channel spike source (reward, punishment): the same bits."""
    explicit = simulate(build("B")).weights["plastic"].final
    port = simulate(build("B", reward_source=True)).weights["plastic"].final
    assert np.array_equal(explicit, port)


def test_brian2_learns_the_same_weights():
    """Brian2 on the same input spikes with reward-modulated STDP in its own terms (event-driven
    traces and eligibility, rewards at the trial ends; benchmarks/peers/brian2_reward_choice.py
    made the golden): the same group means within 0.01 and the same weights synapse by synapse
    (correlation > 0.95, mean difference < 5 % of the weight range)."""
    import json

    golden = json.loads((Path(__file__).resolve().parent / "golden" / "brian2_reward_choice.json").read_text())
    for run in golden["runs"]:
        theirs = np.array(run["weights"])
        ours = simulate(build(run["rewarded"], run["trials"])).weights["plastic"].final
        assert abs(ours[:N_PATTERN].mean() - run["mean_w_A"]) < 0.01
        assert abs(ours[N_PATTERN:].mean() - run["mean_w_B"]) < 0.01
        assert np.corrcoef(ours, theirs)[0, 1] > 0.95 and np.abs(ours - theirs).mean() < 0.025
        assert max(run["mean_w_A"], run["mean_w_B"]) > 3 * min(run["mean_w_A"], run["mean_w_B"])  # Brian2 learned too
