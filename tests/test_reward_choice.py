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
