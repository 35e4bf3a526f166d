"""Learning rules in the IR and the network format (issue 26, first slice): STDP and reward-modulated
STDP on projections, YAML format version 2 (version 1 files still load and are still written when
nothing learns), the IR checkpoint, and clear refusals where learning does not run: NIR export,
targets without a learning engine; learned weights deployed back into a network."""

from __future__ import annotations

import numpy as np
import pytest

from nmcompiler.errors import UserError, ValidationError
from nmcompiler.frontends import load_network
from nmcompiler.frontends.yaml_writer import save_yaml_network
from nmcompiler.ir import STDP, RewardSTDP, load_network_file, save_network

NETWORK = """\
version: 2
dt: 0.1 ms
populations:
  out: {{model: lif, size: 2, params: {{tau_mem: 20 ms}}}}
stimuli:
  inputs: {{kind: poisson, size: 10, rate: 15 Hz}}
  reward: {{kind: spikes, times: [[50 ms, 90 ms]]}}
projections:
  plastic:
    pre: inputs
    post: out
    connector: all_to_all
    weight: 0.5
    learning: {learning}
"""
STDP_SPEC = "{rule: stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.0105, w_max: 1.0}"
REWARD_SPEC = ("{rule: reward_stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01, "
               "tau_eligibility: 1 s, reward: reward, reward_amount: 0.5, dependence: multiplicative, pairing: nearest}")


def write(tmp_path, learning: str, version: int = 2):
    path = tmp_path / "net.yaml"
    path.write_text(NETWORK.format(learning=learning).replace("version: 2", f"version: {version}"))
    return path


@pytest.mark.parametrize("spec, rule", [(STDP_SPEC, STDP), (REWARD_SPEC, RewardSTDP)])
def test_rules_load_and_round_trip(tmp_path, spec, rule):
    net = load_network(write(tmp_path, spec))
    learning = net.projections[0].learning
    assert type(learning) is rule and learning.tau_pre == pytest.approx(0.02) and learning.A_minus > 0
    if rule is RewardSTDP:
        assert (learning.reward, learning.tau_eligibility, learning.dependence) == ("reward", 1.0, "multiplicative")
    again = load_network(save_yaml_network(net, tmp_path / "out" / "again.yaml"))
    assert again.projections[0].learning == learning
    assert (tmp_path / "out" / "again.yaml").read_text().count("version: 2") == 1
    assert load_network_file(save_network(net, tmp_path / "ir.npz")).projections[0].learning == learning


def test_explicit_reward_array_and_python_api():
    rule = RewardSTDP(tau_pre=0.02, tau_post=0.02, A_plus=0.01, A_minus=0.01, tau_eligibility=0.5,
                      reward_times=[0.1, 0.2], reward_values=[1.0, -1.0])
    assert rule.problems() == [] and rule.reward_node() is None and rule.reward_times.dtype == np.float64
    both = RewardSTDP(tau_pre=0.02, tau_post=0.02, A_plus=0.01, A_minus=0.01, tau_eligibility=0.5, reward="r",
                      reward_times=[0.1], reward_values=[1.0])
    assert any("exactly one" in p for p in both.problems())


@pytest.mark.parametrize("spec, message", [
    ("{rule: stdp, tau_pre: -20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01}", "tau_pre must be finite and > 0"),
    ("{rule: stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01, w_max: 0.2}",
     "initial weights span [0.5, 0.5], outside [w_min, w_max] = [0, 0.2]"),
    ("{rule: stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: -0.01, A_minus: 0.01}", "A_plus and A_minus are magnitudes"),
    ("{rule: reward_stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01, tau_eligibility: 1 s, "
     "reward: nowhere}", "reward node 'nowhere' is not a population or spike source"),
    ("{rule: reward_stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01}", "needs tau_eligibility"),
    ("{rule: stdp, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01, reward: reward}",
     "belong to rule 'reward_stdp'"),
    ("{rule: stdp, tau_pre: 20 mV, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01}", "tau_pre"),
    ("{rule: hebb, tau_pre: 20 ms, tau_post: 20 ms, A_plus: 0.01, A_minus: 0.01}", "unknown rule 'hebb'"),
])
def test_bad_rules_name_the_projection(tmp_path, spec, message):
    with pytest.raises(ValidationError) as err:
        load_network(write(tmp_path, spec))
    text = str(err.value)
    assert message in text and ("plastic" in text or "net.yaml:" in text), text


def test_versions(tmp_path):
    with pytest.raises(ValidationError, match="learning rules need network format version 2"):
        load_network(write(tmp_path, STDP_SPEC, version=1))
    with pytest.raises(ValidationError, match=r"version 3 is not supported \(this nmcompiler reads versions 1 and 2\)"):
        load_network(write(tmp_path, STDP_SPEC, version=3))


def test_refused_where_learning_does_not_run(tmp_path, run_nmc):
    from nmcompiler.frontends.nir import export_nir

    path = write(tmp_path, STDP_SPEC)
    net = load_network(path)
    with pytest.raises(UserError, match="NIR has no plasticity"):
        export_nir(net)
    code, _, err = run_nmc("compile", path, "--target", "truenorth-like", "-o", tmp_path / "out")
    assert code == 2 and "projection 'plastic' learns (stdp); truenorth-like's cores run no learning rule" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_nmc_simulate_learns_and_writes_weights(tmp_path, run_nmc):
    path = write(tmp_path, STDP_SPEC)
    code, out, err = run_nmc("simulate", path, "--duration", "1 s", "--record-weights", "250 ms", "--no-plot",
                             "-o", tmp_path / "out")
    assert code == 0, err
    assert "weights.npz" in out
    with np.load(tmp_path / "out" / "weights.npz") as z:
        assert z["plastic/steps"].tolist() == [0, 2500, 5000, 7500, 10000]
        history = z["plastic/history"]
        assert history.shape == (5, 20) and np.all(history[0] == 0.5)
        assert np.all(history[-1] == z["plastic/final"]) and not np.array_equal(history[-1], history[0])
        assert np.all((history >= 0.0) & (history <= 1.0))
    code, _, err = run_nmc("simulate", path, "--steps", "10", "--record-weights", "0.5 ms", "--data",
                           tmp_path / "x.npz", "-o", tmp_path / "o2")
    assert code == 2 and "--record-weights applies to a network simulated in floating point" in err


def test_reward_amount_per_channel(tmp_path):
    spec = REWARD_SPEC.replace("reward_amount: 0.5", "reward_amount: [1, -1]")
    path = write(tmp_path, spec)
    path.write_text(path.read_text().replace("[[50 ms, 90 ms]]", "[[50 ms], [90 ms]]"))  # two reward channels
    net = load_network(path)
    assert net.projections[0].learning.reward_amount.tolist() == [1.0, -1.0]
    again = load_network(save_yaml_network(net, tmp_path / "out" / "again.yaml"))
    assert again.projections[0].learning == net.projections[0].learning
    with pytest.raises(ValidationError, match=r"net.yaml:9: projection 'plastic': learning: 2 reward amounts, but "
                                              r"reward node 'reward' has 1 channel \(give one amount, or one per"):
        load_network(write(tmp_path, spec))


def test_learned_weights_deploy_to_a_target(tmp_path, run_nmc):
    """simulate (learn) -> import --weights (frozen) -> compile: the image holds the learned weights."""
    from nmcompiler.ir import with_weights
    from nmcompiler.sim import simulate

    path = write(tmp_path, STDP_SPEC)
    code, _, err = run_nmc("simulate", path, "--duration", "1 s", "--no-plot", "-o", tmp_path / "run")
    assert code == 0, err
    learned_file = tmp_path / "run" / "weights.npz"
    code, out, err = run_nmc("import", path, "--weights", learned_file, "-o", tmp_path / "frozen.yaml")
    assert code == 0, err
    frozen = load_network(tmp_path / "frozen.yaml")
    with np.load(tmp_path / "run" / "weights.npz") as z:
        learned = z["plastic/final"]
    assert frozen.projections[0].learning is None and not np.all(learned == 0.5)
    assert np.array_equal(frozen.projections[0].connectivity.synapse_weights(), learned)
    assert "version: 1" in (tmp_path / "frozen.yaml").read_text()  # nothing learns any more
    code, _, err = run_nmc("compile", tmp_path / "frozen.yaml", "--target", "loihi-like", "-o", tmp_path / "map")
    assert code == 0, err
    net = load_network(path)
    kept = with_weights(net, {"plastic": learned}, freeze=False)
    assert kept.projections[0].learning == net.projections[0].learning
    again = simulate(kept, steps=100)  # learning goes on from the learned weights
    assert not np.array_equal(again.weights["plastic"].final, np.zeros(20))


def test_learned_weights_that_do_not_fit_are_refused(tmp_path, run_nmc):
    from nmcompiler.ir import with_weights

    net = load_network(write(tmp_path, STDP_SPEC))
    with pytest.raises(ValidationError, match=r"projection 'plastic': 3 learned weights for its 20 synapses"):
        with_weights(net, {"plastic": np.ones(3)})
    with pytest.raises(ValidationError, match="projection 'nope': has learned weights but is not in network"):
        with_weights(net, {"nope": np.ones(3)})
    c = net.projections[0].connectivity
    with pytest.raises(ValidationError, match="the learned weights belong to other synapses"):
        with_weights(net, {"plastic": np.ones(20)}, synapses={"plastic": (np.zeros(20, int), c.indices)})
    order = np.arange(20)[::-1]  # the same synapses listed in another order: matched pair by pair
    moved = with_weights(net, {"plastic": np.arange(20.0)[order]},
                         synapses={"plastic": (c.pre_indices()[order], c.indices[order])})
    assert moved.projections[0].connectivity.synapse_weights().tolist() == list(range(20))
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.ones(2))
    code, _, err = run_nmc("import", tmp_path / "net.yaml", "--weights", bad, "-o", tmp_path / "o.yaml")
    assert code == 2 and "no learned weights in it" in err and "Traceback" not in err
    assert not (tmp_path / "o.yaml").exists()
