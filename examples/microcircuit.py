"""The Potjans & Diesmann (2014) cortical microcircuit as an nmcompiler network.

Eight populations (layers 2/3, 4, 5, 6; excitatory and inhibitory) of CUBA LIF neurons, 77,169
neurons at full scale. Population sizes, connection probabilities (Table 5), neuron parameters
(tau_m 10 ms, tau_syn 0.5 ms, V_th -50 mV, V_reset = E_L = -65 mV, refractory 2 ms, C 250 pF,
r = tau_m / C) and synapses as in NEST's ``Potjans_2014`` example:

``build`` is the published model: per pair of populations a fixed total number of synapses
``K = log(1 - p) / log(1 - 1 / (N_pre N_post))`` drawn with multapses and without autapses;
weights normal with mean 87.8 pA (x2 from L4E to L23E; inhibitory -4 x that) and sd 10 %,
redrawn until their sign is right; delays normal, 1.5 ms +- 0.75 ms (excitatory) and 0.75 ms
+- 0.375 ms (inhibitory), redrawn below dt / 2 and rounded to steps; initial potentials normal,
-58 mV +- 10 mV. The background, K_ext synapses at 8 Hz of the mean weight, is either its mean
(``background="dc"``, the default: a constant input into the synaptic current) or Poisson
(``background="poisson"``: K_ext x 8 Hz is more than one spike per 0.1 ms step, so each neuron's
drive is split into channels of at most 1 % spike probability per step, frontends.drives; delay
1.5 ms as in NEST's example). ``scale`` shrinks every population and, through the
formula, the synapse counts, without compensation (in-degrees shrink with it).
``benchmarks/peers/nest_microcircuit.py`` builds the same definition in NEST.

``build_simplified`` is the earlier variant the mapping benchmarks and compile goldens use: one
synapse per pair drawn with the probability (no multapses), fixed weights and delays, and every
initial potential -58 mV. It is not the paper's model: at full scale it fires at 8-230 Hz.

    from examples.microcircuit import build          # or: python examples/microcircuit.py 0.1
    net = build(scale=0.1)
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SIZES = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
BACKGROUND_RATE, BACKGROUND_DELAY, BACKGROUND_P_MAX = 8.0, 1.5e-3, 0.01  # Hz per input, s, per channel and step
# CONN_PROBS[target][source]
CONN_PROBS = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
]


def _neuron():
    """The paper's neuron: CUBA LIF, tau_m 10 ms, tau_syn 0.5 ms, C 250 pF (r = tau_m / C)."""
    from nmcompiler.ir import CubaLIF

    tau_m, c_m = 10e-3, 250e-12
    return CubaLIF(tau_mem=tau_m, tau_syn=0.5e-3, v_leak=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                   refractory=2e-3, r=tau_m / c_m)


def _background(net, t: int, size: int, weight: float) -> None:
    """K_ext inputs at 8 Hz into population ``t``: on average K_ext * 8 Hz * dt spikes of ``weight``
    per step, a constant input into the synaptic current."""
    from nmcompiler.ir import Connectivity, CurrentSource, Projection

    target = POPULATIONS[t]
    net.add(CurrentSource(name=f"bg_{target}", size=1, amplitude=K_EXT[t] * BACKGROUND_RATE * net.dt))
    net.connect(Projection(name=f"bg_{target}_{target}", pre=f"bg_{target}", post=target,
                           connectivity=Connectivity.from_coo(1, size, np.zeros(size, int), np.arange(size), weight)))


def build_simplified(scale: float = 1.0, seed: int = 0, dt: float = 1e-4):
    from nmcompiler.frontends import connectors
    from nmcompiler.streams import stream
    from nmcompiler.ir import Connectivity, Network, Population, Projection

    net = Network(f"microcircuit_{scale:g}", dt=dt, seed=seed)
    model = _neuron()
    sizes = [max(1, int(round(n * scale))) for n in SIZES]
    for name, n in zip(POPULATIONS, sizes):
        net.add(Population(name=name, size=n, model=model, initial={"v": -58e-3}))
    w = 87.8e-12
    pairs = [(t, s) for t in range(len(POPULATIONS)) for s in range(len(POPULATIONS)) if CONN_PROBS[t][s]]

    def draw(pair):  # each projection has its own stream: drawn on two threads, connected in order
        t, s = pair
        return connectors.fixed_probability(stream(seed, "mc", POPULATIONS[s], POPULATIONS[t]), sizes[s], sizes[t],
                                            CONN_PROBS[t][s])

    with ThreadPoolExecutor(max_workers=2) as pool:
        drawn = pool.map(draw, pairs)
        for t, target in enumerate(POPULATIONS):
            for s, source in enumerate(POPULATIONS):
                if CONN_PROBS[t][s] == 0:
                    continue
                pre, post = next(drawn)
                excitatory = source.endswith("E")
                weight = w * (2.0 if (source, target) == ("L4E", "L23E") else 1.0) if excitatory else -4 * w
                delay = int(round((1.5e-3 if excitatory else 0.75e-3) / dt))
                net.connect(Projection(name=f"{source}_{target}", pre=source, post=target, connectivity=(
                    Connectivity.from_coo(sizes[s], sizes[t], pre, post, weight, delay))))
            _background(net, t, sizes[t], w)
    return net


W_MEAN, W_REL_SD, G = 87.8e-12, 0.1, -4.0
DELAY_MEAN = {"E": 1.5e-3, "I": 0.75e-3}
DELAY_REL_SD = 0.5
V0_MEAN, V0_SD = -58e-3, 10e-3


def synapse_count(p: float, n_pre: int, n_post: int) -> int:
    """NEST's fixed total number for connection probability ``p`` between two populations."""
    return int(round(np.log(1.0 - p) / np.log(1.0 - 1.0 / (n_pre * n_post)))) if p > 0 else 0


def _redrawn(rng, mean: float, sd: float, size: int, low: float = -np.inf, high: float = np.inf) -> np.ndarray:
    """Normal samples, each redrawn until it lies in [low, high] (NEST's ``redraw``)."""
    out = rng.normal(mean, sd, size)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = (out < low) | (out > high)
    return out


def _poisson_background(net, t: int) -> None:
    from nmcompiler.frontends.drives import add_poisson_drive

    target = POPULATIONS[t]
    add_poisson_drive(net, f"bg_{target}", target, K_EXT[t], BACKGROUND_RATE, W_MEAN,
                      delay=int(round(BACKGROUND_DELAY / net.dt)), p_max=BACKGROUND_P_MAX)


def build(scale: float = 1.0, seed: int = 0, dt: float = 1e-4, background: str = "dc"):
    """The published model (module docstring): distributions, multapses, random initial potentials;
    ``background`` "dc" or "poisson"."""
    if background not in ("dc", "poisson"):
        raise ValueError(f"background must be 'dc' or 'poisson', not {background!r}")
    from nmcompiler.ir import Connectivity, Network, Population, Projection
    from nmcompiler.streams import stream

    net = Network(f"microcircuit_pd_{scale:g}" + ("_poisson" if background == "poisson" else ""), dt=dt, seed=seed)
    model = _neuron()
    sizes = [max(1, int(round(n * scale))) for n in SIZES]
    for name, n in zip(POPULATIONS, sizes):
        v0 = stream(seed, "mc-pd", "v0", name).normal(V0_MEAN, V0_SD, n)
        net.add(Population(name=name, size=n, model=model, initial={"v": v0}))
    for t, target in enumerate(POPULATIONS):
        for s, source in enumerate(POPULATIONS):
            k = synapse_count(CONN_PROBS[t][s], sizes[s], sizes[t])
            if k == 0:
                continue
            rng = stream(seed, "mc-pd", source, target)
            pre, post = rng.integers(0, sizes[s], k), rng.integers(0, sizes[t], k)
            while source == target and (auto := pre == post).any():  # no autapses
                pre[auto], post[auto] = rng.integers(0, sizes[s], int(auto.sum())), rng.integers(0, sizes[t], int(auto.sum()))
            kind = source[-1]
            mean = W_MEAN * (2.0 if (source, target) == ("L4E", "L23E") else 1.0) * (1.0 if kind == "E" else G)
            weight = _redrawn(rng, mean, abs(mean) * W_REL_SD, k, *((0.0, np.inf) if kind == "E" else (-np.inf, 0.0)))
            delay = _redrawn(rng, DELAY_MEAN[kind], DELAY_MEAN[kind] * DELAY_REL_SD, k, low=dt / 2)
            steps = np.maximum(1, np.rint(delay / dt)).astype(np.int32)
            net.connect(Projection(name=f"{source}_{target}", pre=source, post=target,
                                   connectivity=Connectivity.from_coo(sizes[s], sizes[t], pre, post, weight, steps)))
        if background == "dc":
            _background(net, t, sizes[t], W_MEAN)
        else:
            _poisson_background(net, t)
    return net


if __name__ == "__main__":
    net = build(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
    stats = net.stats()
    print(f"{net.name}: {stats.neurons} neurons, {stats.synapses} synapses")
