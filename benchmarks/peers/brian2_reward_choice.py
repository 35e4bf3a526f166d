"""The two-choice task of examples/reward_choice.py, learned in Brian2: the same input spikes
(``trial_spikes`` with the same seed), an LIF neuron with delta synapses, and reward-modulated
STDP written in Brian2's own terms (event-driven traces and eligibility, rewards applied at the
trial ends by a ``network_operation`` that decays the eligibility from each synapse's
``lastupdate``). Prints one JSON record per rewarded pattern: the mean learned weight of the A
and B synapses and the output rate; ``--golden FILE`` also writes them (the golden that
``tests/test_reward_choice.py`` compares nmcompiler's float simulator with, without Brian2).

    python benchmarks/peers/brian2_reward_choice.py [--trials 60] [--golden tests/golden/brian2_reward_choice.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
from reward_choice import N_PATTERN, RULE, TRIAL, W0, trial_spikes  # noqa: E402


def run(rewarded: str, trials: int, seed: int = 0) -> dict:
    import brian2 as b2
    from brian2 import ms, second

    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 0.1 * ms
    dt = 1e-4
    patterns = ["A" if k % 2 == 0 else "B" for k in range(trials)]
    ids, times = trial_spikes(patterns, np.random.default_rng(seed), dt)
    inputs = b2.SpikeGeneratorGroup(2 * N_PATTERN, ids, np.round(times / dt) * dt * second)
    neuron = b2.NeuronGroup(1, "dv/dt = -v / (20*ms) : 1 (unless refractory)", threshold="v > 1", reset="v = 0",
                            refractory=2 * ms, method="exact")
    namespace = {"taupre": RULE["tau_pre"] * second, "taupost": RULE["tau_post"] * second,
                 "taue": RULE["tau_eligibility"] * second, "Aplus": RULE["A_plus"], "Aminus": RULE["A_minus"]}
    syn = b2.Synapses(inputs, neuron, """w : 1
                                         dApre/dt = -Apre / taupre : 1 (event-driven)
                                         dApost/dt = -Apost / taupost : 1 (event-driven)
                                         dc/dt = -c / taue : 1 (event-driven)""",
                      on_pre="""v_post += w
                                Apre += 1
                                c -= Aminus * Apost""",
                      on_post="""Apost += 1
                                 c += Aplus * Apre""", namespace=namespace)
    syn.connect()
    syn.w = W0
    ends = {int(round(((k + 1) * TRIAL - dt) / dt)): (1.0 if p == rewarded else -1.0) for k, p in enumerate(patterns)}

    @b2.network_operation(when="end")
    def reward(t):
        step = int(round(float(t / second) / dt))
        if step in ends:
            c_now = syn.c[:] * np.exp(-(t - syn.lastupdate[:]) / namespace["taue"])
            syn.w[:] = np.clip(syn.w[:] + ends[step] * c_now, RULE["w_min"], RULE["w_max"])

    spikes = b2.SpikeMonitor(neuron)
    net = b2.Network(inputs, neuron, syn, reward, spikes)
    net.run(trials * TRIAL * second, namespace=namespace)
    w = np.zeros(2 * N_PATTERN)
    w[np.asarray(syn.i[:])] = np.asarray(syn.w[:])
    return {"case": "reward_choice", "simulator": "brian2", "variant": f"brian2 {b2.__version__} (numpy)",
            "rewarded": rewarded, "trials": trials, "mean_w_A": float(w[:N_PATTERN].mean()),
            "mean_w_B": float(w[N_PATTERN:].mean()), "rate_hz": spikes.num_spikes / (trials * TRIAL),
            "weights": w.tolist()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--golden", type=Path)
    args = ap.parse_args()
    records = [run(rewarded, args.trials) for rewarded in ("A", "B")]
    for rec in records:
        print(json.dumps({k: v for k, v in rec.items() if k != "weights"}))
    if args.golden:
        doc = {"source": f"benchmarks/peers/brian2_reward_choice.py --trials {args.trials}", "runs": records}
        args.golden.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
