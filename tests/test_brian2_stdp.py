"""Brian2 scripts that learn (issue 26): STDP written as Brian2's documentation writes it converts
to the IR's STDP. Brian2's own STDP example (examples/brian2/stdp.py), converted and run in our
float simulator for 100 s, learns what Brian2 learns (the golden of tests/test_stdp_song.py:
weights within 10 % of gmax within 5 points, bimodal); rules of another form are refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="Brian2 is not installed (pip install 'nmcompiler[brian2]')")

from nmcompiler.analysis import weight_distribution  # noqa: E402
from nmcompiler.errors import UserError  # noqa: E402
from nmcompiler.frontends.brian2 import from_brian2, load_brian2_script  # noqa: E402
from nmcompiler.sim import FloatSimulator  # noqa: E402
from test_stdp_song import GOLDEN  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "brian2"


@pytest.fixture(autouse=True)
def _numpy_codegen():
    brian2.prefs.codegen.target = "numpy"
    brian2.start_scope()
    yield


def test_brian2s_stdp_example_converts_and_learns_as_brian2_does():
    net = load_brian2_script(EXAMPLES / "stdp.py")
    proj = net.projections[0]
    rule = proj.learning
    scale = 0.06  # ge enters v as (Ee - vr) ge: weights, amplitudes and bounds in volts
    assert (rule.tau_pre, rule.tau_post, rule.pairing, rule.dependence) == (0.02, 0.02, "all_to_all", "additive")
    assert rule.A_plus == pytest.approx(1e-4 * scale) and rule.A_minus == pytest.approx(1.05e-4 * scale)
    assert (rule.w_min, rule.w_max) == (0.0, pytest.approx(0.01 * scale))
    w = proj.connectivity.synapse_weights()
    assert w.size == 1000 and 0 <= w.min() and w.max() <= rule.w_max and w.std() > 0.1 * rule.w_max  # rand() * gmax
    dists = []
    for seed in (1, 2, 3):
        result = FloatSimulator(net, seed=seed).run(round(net.duration / net.dt))
        dists.append(weight_distribution(result.weights["S"].final, rule.w_min, rule.w_max))
        assert dists[-1].bimodal, dists[-1].histogram
    theirs = np.mean([r["near_max"] for r in GOLDEN])
    assert abs(np.mean([d.near_max for d in dists]) - theirs) <= 0.05


def _synapses(on_pre: str, on_post: str, model: str | None = None):
    G = brian2.NeuronGroup(2, "dv/dt = -v/(10*ms) : 1", threshold="v > 1", reset="v = 0", name="g")
    model = model or """w : 1
                        dApre/dt = -Apre / (20*ms) : 1 (event-driven)
                        dApost/dt = -Apost / (20*ms) : 1 (event-driven)"""
    S = brian2.Synapses(G, G, model, on_pre=on_pre, on_post=on_post, name="learn")
    S.connect()
    S.w = 0.1
    return [G, S]


def test_other_learning_rules_are_refused_with_the_form():
    good_pre, good_post = "v += w\nApre += 0.01\nw = clip(w + Apost, 0, 1)", "Apost -= 0.01\nw = clip(w + Apre, 0, 1)"
    objects = _synapses(good_pre, "Apost += -0.01\nw = clip(w + Apre, 0, 1)")
    rule = from_brian2(objects, namespace={}).projections[0].learning
    assert rule.A_plus == pytest.approx(0.01) and rule.A_minus == pytest.approx(0.01)
    brian2.start_scope()
    cases = [(good_pre, "Apost += -0.01\nw = clip(w * (1 + Apre), 0, 1)", "are not of the form"),  # multiplicative
             ("Apre += 0.01\nv += w\nw = clip(w + Apost, 0, 1)", "Apost += -0.01\nw = clip(w + Apre, 0, 1)",
              "are not of the form"),  # delivery not first
             ("v += w\nApre += -0.01\nw = clip(w + Apost, 0, 1)", "Apost += 0.01\nw = clip(w + Apre, 0, 1)",
              "anti-Hebbian"),
             ("v += 2*w\nApre += 0.01\nw = clip(w + Apost, 0, 1)", "Apost += -0.01\nw = clip(w + Apre, 0, 1)",
              "must deliver its weight as it is")]
    for on_pre, on_post, message in cases:
        with pytest.raises(UserError, match=f"'learn'.*{message}"):
            from_brian2(_synapses(on_pre, on_post), namespace={})
        brian2.start_scope()
