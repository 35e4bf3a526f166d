"""The Potjans & Diesmann (2014) cortical microcircuit as an nmcompiler network.

Eight populations (layers 2/3, 4, 5, 6; excitatory and inhibitory) of CUBA LIF neurons with
77,169 neurons and about 0.3 billion synapses at full scale. Population sizes and the connection
probabilities are those of the paper (Table 5), as in NEST's ``Potjans_2014/network_params.py``;
neuron parameters: tau_m 10 ms, tau_syn 0.5 ms, V_th -50 mV, V_reset -65 mV, E_L -65 mV,
refractory 2 ms, C 250 pF (r = tau_m / C); weights 87.8 pA (x2 from L4E to L23E), inhibitory
-4 x that; delays 1.5 ms (exc) and 0.75 ms (inh). The background input (K_ext synapses at 8 Hz)
is its mean, a constant synaptic input (the paper's DC-input variant), because K_ext x 8 Hz
exceeds one spike per 0.1 ms step.
Here synapses are drawn per pair with the given probability (no multapses), so the synapse count
is slightly below the paper's. ``scale`` shrinks every population without compensating the
smaller in-degrees, so down-scaled circuits fire faster than the full one.

    from examples.microcircuit import build          # or: python examples/microcircuit.py 0.1
    net = build(scale=0.1)
"""

from __future__ import annotations

import sys

import numpy as np

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
SIZES = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]
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


def build(scale: float = 1.0, seed: int = 0, dt: float = 1e-4):
    from nmcompiler.frontends import connectors
    from nmcompiler.streams import stream
    from nmcompiler.ir import Connectivity, CubaLIF, CurrentSource, Network, Population, Projection

    net = Network(f"microcircuit_{scale:g}", dt=dt, seed=seed)
    tau_m, c_m = 10e-3, 250e-12
    model = CubaLIF(tau_mem=tau_m, tau_syn=0.5e-3, v_leak=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                    refractory=2e-3, r=tau_m / c_m)
    sizes = [max(1, int(round(n * scale))) for n in SIZES]
    for name, n in zip(POPULATIONS, sizes):
        net.add(Population(name=name, size=n, model=model, initial={"v": -58e-3}))
    w = 87.8e-12
    for t, target in enumerate(POPULATIONS):
        for s, source in enumerate(POPULATIONS):
            p = CONN_PROBS[t][s]
            if p == 0:
                continue
            pre, post = connectors.fixed_probability(stream(seed, "mc", source, target), sizes[s], sizes[t], p)
            excitatory = source.endswith("E")
            weight = w * (2.0 if (source, target) == ("L4E", "L23E") else 1.0) if excitatory else -4 * w
            delay = int(round((1.5e-3 if excitatory else 0.75e-3) / dt))
            net.connect(Projection(name=f"{source}_{target}", pre=source, post=target,
                                   connectivity=Connectivity.from_coo(sizes[s], sizes[t], pre, post, weight, delay)))
        bg = f"bg_{target}"  # K_ext inputs at 8 Hz: on average K_ext * 8 Hz * dt spikes of weight w per step
        net.add(CurrentSource(name=bg, size=1, amplitude=K_EXT[t] * 8.0 * dt))
        net.connect(Projection(name=f"{bg}_{target}", pre=bg, post=target,
                               connectivity=Connectivity.from_coo(1, sizes[t], np.zeros(sizes[t], int),
                                                                  np.arange(sizes[t]), w)))
    return net


if __name__ == "__main__":
    net = build(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
    stats = net.stats()
    print(f"{net.name}: {stats.neurons} neurons, {stats.synapses} synapses")
