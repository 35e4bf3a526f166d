"""A two-choice task learned by reward-modulated STDP, small enough for the test suite.

One LIF neuron listens to two input patterns of 20 Poisson channels each, ``A`` and ``B``, through
plastic synapses that start equal. Trials of 200 ms alternate A, B, A, ...: in an A trial the A
channels fire at 40 Hz and the B channels at 2 Hz, and the other way round. Every pre-post pairing
leaves an eligibility trace (tau 100 ms); potentiation outweighs depression (A_minus = 0.75
A_plus), so the pairings that an input's own spikes cause count more than chance ones. At the end of every trial a reward arrives: +1 after the
rewarded pattern's trials, -1 after the other's. The synapses of the rewarded pattern, which paired
during its trials, grow; the others shrink. After training the neuron answers the rewarded pattern
and hardly the other, and which pattern that is depends only on the reward signal.

The reward is an explicit array here (``reward_times``/``reward_values``); with ``reward_source``
it is a spike source instead, an input port with two channels: a spike on channel 0 pays +1, on
channel 1 -1 (``reward_amount: [1, -1]``).

    python examples/reward_choice.py [--rewarded A|B] [--trials 60]
    from reward_choice import build, selectivity    # with examples/ on sys.path
"""

from __future__ import annotations

import argparse

import numpy as np

TRIAL, N_PATTERN, HIGH, LOW, W0 = 0.2, 20, 40.0, 2.0, 0.12
RULE = dict(tau_pre=0.02, tau_post=0.02, A_plus=0.02, A_minus=0.015, w_min=0.0, w_max=0.5, tau_eligibility=0.1)


def trial_spikes(patterns: list[str], rng: np.random.Generator, dt: float, t0: float = 0.0):
    """Poisson spikes of the 2 x 20 input channels for consecutive trials showing ``patterns``."""
    ids, times = [], []
    for k, pattern in enumerate(patterns):
        rates = np.where(np.arange(2 * N_PATTERN) < N_PATTERN, HIGH, LOW)
        if pattern == "B":
            rates = rates[::-1]
        steps = int(round(TRIAL / dt))
        fired = rng.random((steps, 2 * N_PATTERN)) < rates * dt
        step, channel = np.nonzero(fired)
        ids.append(channel)
        times.append(t0 + k * TRIAL + step * dt)
    return np.concatenate(ids), np.concatenate(times)


def build(rewarded: str = "A", trials: int = 60, seed: int = 0, reward_source: bool = False, dt: float = 1e-4):
    """The training run: ``trials`` alternating trials (A first) with a reward at each trial's end."""
    from nmcompiler.ir import LIF, Connectivity, Network, Population, Probe, Projection, RewardSTDP, SpikeSource

    rng = np.random.default_rng(seed)
    patterns = ["A" if k % 2 == 0 else "B" for k in range(trials)]
    net = Network(f"reward_choice_{rewarded}", dt=dt, seed=seed, duration=trials * TRIAL)
    net.add(Population(name="out", size=1, model=LIF(tau_mem=0.02, v_threshold=1.0, v_reset=0.0, refractory=2e-3)))
    ids, times = trial_spikes(patterns, rng, dt)
    net.add(SpikeSource(name="inputs", size=2 * N_PATTERN, ids=ids, times=times))
    ends = (np.arange(trials) + 1) * TRIAL - dt  # the last step of every trial
    values = np.array([1.0 if p == rewarded else -1.0 for p in patterns])
    if reward_source:
        net.add(SpikeSource(name="reward", size=2, ids=(values < 0).astype(np.int64), times=ends))
        rule = RewardSTDP(**RULE, reward="reward", reward_amount=[1.0, -1.0])
    else:
        rule = RewardSTDP(**RULE, reward_times=ends, reward_values=values)
    net.connect(Projection(name="plastic", pre="inputs", post="out", learning=rule,
                           connectivity=Connectivity.from_dense(np.full((2 * N_PATTERN, 1), W0))))
    net.probe(Probe(target="out"))
    return net


def selectivity(weights: np.ndarray, trials: int = 20, seed: int = 1, dt: float = 1e-4) -> dict[str, float]:
    """Output rate (Hz) for fresh A and B trials with the learned ``weights`` held fixed."""
    from nmcompiler.ir import LIF, Connectivity, Network, Population, Probe, Projection, SpikeSource
    from nmcompiler.sim import FloatSimulator

    out = {}
    for pattern in ("A", "B"):
        net = Network("test", dt=dt, seed=seed)
        net.add(Population(name="out", size=1, model=LIF(tau_mem=0.02, v_threshold=1.0, v_reset=0.0,
                                                         refractory=2e-3)))
        ids, times = trial_spikes([pattern] * trials, np.random.default_rng(seed), dt)
        net.add(SpikeSource(name="inputs", size=2 * N_PATTERN, ids=ids, times=times))
        net.connect(Projection(name="fixed", pre="inputs", post="out",
                               connectivity=Connectivity.from_dense(weights.reshape(-1, 1))))
        net.probe(Probe(target="out"))
        result = FloatSimulator(net).run(int(round(trials * TRIAL / dt)))
        out[pattern] = float(result.rates()["out"])
    return out


def main() -> None:
    from nmcompiler.sim import simulate

    ap = argparse.ArgumentParser()
    ap.add_argument("--rewarded", choices=["A", "B"], default="A")
    ap.add_argument("--trials", type=int, default=60)
    args = ap.parse_args()
    before = selectivity(np.full(2 * N_PATTERN, W0))
    result = simulate(build(args.rewarded, args.trials))
    w = result.weights["plastic"].final
    after = selectivity(w)
    print(f"rewarded {args.rewarded}: mean weight A {w[:N_PATTERN].mean():.3f}, B {w[N_PATTERN:].mean():.3f}; "
          f"output rate A/B before {before['A']:.1f}/{before['B']:.1f} Hz, after {after['A']:.1f}/{after['B']:.1f} Hz")


if __name__ == "__main__":
    main()
