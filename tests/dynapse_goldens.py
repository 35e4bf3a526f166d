"""The networks of the DYNAP-SE2 side-by-side test (tests/test_dynapse_rockpool.py), as Rockpool's
DYNAP-SE2 tools take them: an input weight matrix ``(inputs, neurons)``, a recurrent one
``(neurons, neurons)`` (None: feed-forward) and each neuron's core. numpy only: the golden script
(tests/golden/frameworks/make_rockpool_dynapse.py) imports it in Rockpool's venv; ``network``
builds the same network in nmcompiler's IR (one population per core)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAMES = ("ff", "rec", "fan_in_64", "fan_in_65")
GOLDEN = Path(__file__).resolve().parent / "golden" / "rockpool_dynapse"


def matrices(name: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(w_in, w_rec, core_of)`` of network ``name``."""
    rng = np.random.default_rng(NAMES.index(name) + 11)
    if name == "ff":  # 16 inputs onto 48 neurons, half the pairs connected, weights of both signs
        w_in = rng.uniform(-1, 1, (16, 48)) * (rng.random((16, 48)) < 0.5)
        return w_in, None, np.zeros(48, dtype=np.int64)
    if name == "rec":  # 12 inputs onto 40 excitatory neurons (core 0) and 10 inhibitory ones (core 1)
        n_exc, n = 40, 50
        w_in = np.zeros((12, n))
        w_in[:, :n_exc] = rng.uniform(0.2, 1.0, (12, n_exc)) * (rng.random((12, n_exc)) < 0.6)
        w_rec = np.zeros((n, n))
        w_rec[:n_exc, :n_exc] = rng.uniform(0.05, 0.4, (n_exc, n_exc)) * (rng.random((n_exc, n_exc)) < 0.2)
        np.fill_diagonal(w_rec, 0.0)
        w_rec[:n_exc, n_exc:] = rng.uniform(0.2, 0.8, (n_exc, n - n_exc)) * (rng.random((n_exc, n - n_exc)) < 0.5)
        w_rec[n_exc:, :n_exc] = -rng.uniform(0.2, 0.8, (n - n_exc, n_exc)) * (rng.random((n - n_exc, n_exc)) < 0.5)
        return w_in, w_rec, (np.arange(n) >= n_exc).astype(np.int64)
    k = int(name.rsplit("_", 1)[1])  # k inputs onto every one of 3 neurons
    return rng.uniform(0.1, 1.0, (k, 3)), None, np.zeros(3, dtype=np.int64)


def network(name: str):
    """The network in nmcompiler's IR: spike source 'in', one CUBA LIF population per core
    ('c0', 'c1', ...), projections of the matrices' non-zero entries onto the fast receptor
    (positive weights: AMPA, negative: GABA, as Rockpool's allocator chooses the dendrite)."""
    from nmcompiler.ir import Connectivity, CubaLIF, Network, Population, Projection, SpikeSource

    w_in, w_rec, core_of = matrices(name)
    net = Network(f"dynapse_{name}", dt=1e-3)
    rng = np.random.default_rng(0)
    net.add(SpikeSource(name="in", size=w_in.shape[0], ids=rng.integers(0, w_in.shape[0], 200),
                        times=np.sort(rng.uniform(0, 0.1, 200))))
    groups = [np.flatnonzero(core_of == c) for c in range(int(core_of.max()) + 1)]
    model = CubaLIF(tau_mem=0.02, tau_syn=[0.005, 0.05], receptor_names=("fast", "slow"), v_threshold=1.0,
                    reset="subtract", compare=">=", integration="exp_euler")
    for c, members in enumerate(groups):
        net.add(Population(name=f"c{c}", size=members.size, model=model))
    sources = [("in", w_in, np.arange(w_in.shape[0]))]
    if w_rec is not None:
        sources += [(f"c{c}", w_rec[members], members) for c, members in enumerate(groups)]
    for pre, w, _ in sources:
        for c, members in enumerate(groups):
            block = w[:, members]
            pi, qi = np.nonzero(block)
            if pi.size:
                net.connect(Projection(name=f"{pre}_c{c}", pre=pre, post=f"c{c}", receptor="fast",
                                       connectivity=Connectivity.from_coo(block.shape[0], block.shape[1], pi, qi,
                                                                          block[pi, qi],
                                                                          np.ones(pi.size, dtype=np.int64))))
    return net
