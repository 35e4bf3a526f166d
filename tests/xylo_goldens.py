"""The Rockpool Xylo goldens (tests/golden/rockpool_xylo/, made by
tests/golden/frameworks/make_rockpool_xylo.py) as nmcompiler networks.

Each golden holds a ``LinearTorch`` / ``LIFTorch`` stack's float parameters; :func:`network`
builds the same network through the Python API with the conventions of the NIR importer's
``rockpool`` preset (CubaLIF, ``exp_euler``, ``r = tau_mem / dt`` so the current enters the
membrane with gain 1, a spike adds ``w exp(-dt / tau_syn)`` to the current after it decays,
reset by subtraction at ``v >= threshold``, up to ``max_spikes_per_dt`` = 2^16 spikes per step).
Every connection takes one step (as the importer retimes Rockpool's same-step layers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nmcompiler.ir import Connectivity, CubaLIF, Network, Population, Probe, Projection, SpikeSource

GOLDEN = Path(__file__).parent / "golden" / "rockpool_xylo"
NAMES = ("xylo_ff", "xylo_rec", "xylo_syn2")


def load(name: str) -> tuple[dict, dict]:
    with np.load(GOLDEN / f"{name}.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    return meta, arrays


def _dense(name: str, pre, post, w: np.ndarray, receptor: str) -> Projection:
    pi, qi = np.nonzero(w)
    conn = Connectivity.from_coo(w.shape[0], w.shape[1], pi, qi, w[pi, qi].astype(np.float64),
                                 np.ones(pi.size, dtype=np.int64))
    return Projection(name=name, pre=pre, post=post, receptor=receptor, connectivity=conn)


def network(meta: dict, arrays: dict, membranes: bool = False) -> Network:
    """The golden's network, its spikes probed (and, with ``membranes``, its ``v`` and ``i``)."""
    dt = meta["dt"]
    net = Network("rockpool_" + str(len(meta["layers"])), dt=dt)
    x = arrays["input"]
    steps, channels = np.nonzero(x)
    net.add(SpikeSource(name="in", size=x.shape[1], ids=channels, times=steps * dt))
    pre, layers = "in", meta["layers"]
    for k, layer in enumerate(layers):
        receptors = tuple(f"syn{r}" for r in range(layer["receptors"]))
        tau_syn = np.asarray(layer["tau_syn"], dtype=np.float64)
        model = CubaLIF(tau_mem=layer["tau_mem"], tau_syn=tau_syn, receptor_names=receptors, r=layer["tau_mem"] / dt,
                        v_threshold=1.0, reset="subtract", integration="exp_euler", compare=">=", max_spikes=2 ** 16)
        name = f"l{k}"
        net.add(Population(name=name, size=layer["n"], model=model))
        net.probe(Probe(target=name))
        if membranes:
            net.probe(Probe(target=name, variable="v"))
            net.probe(Probe(target=name, variable="i"))
        w = arrays[f"float_w{k}"]
        for r, receptor in enumerate(receptors):  # LIFTorch's input column 2 j + r feeds synapse r of neuron j
            w_r = w[:, r::layer["receptors"]] * np.exp(-dt / tau_syn[r])
            net.connect(_dense(f"{pre}_{name}_{receptor}", pre, name, w_r, receptor))
        if k == 0 and "float_w_rec" in arrays:
            net.connect(_dense(f"{name}_{name}", name, name, arrays["float_w_rec"] * np.exp(-dt / tau_syn[0]),
                               receptors[0]))
        pre = name
    return net


def hidden_order(meta: dict) -> list[str]:
    """The populations on Xylo's hidden neurons, in the mapper's id order (all but the last)."""
    return [f"l{k}" for k in range(len(meta["layers"]) - 1)]


def spikes_per_step(meta: dict, target) -> dict[str, int]:
    """What each population's neurons emit per tick on ``target``'s ports."""
    hidden = hidden_order(meta)
    out = f"l{len(meta['layers']) - 1}"
    return {h: target.ports.hidden_spikes_per_step for h in hidden} | {out: target.ports.output_spikes_per_step}


def rockpool_matrices(fx, meta: dict) -> dict[str, np.ndarray]:
    """The quantized network's integer weights laid out as Rockpool's Xylo specification:
    ``weights_in`` (inputs, hidden[, 2]), ``weights_rec`` (hidden, hidden[, 2]), ``weights_out``
    (hidden, outputs); hidden ids in the mapper's order."""
    hidden = hidden_order(meta)
    base = dict(zip(hidden, np.cumsum([0] + [fx.populations[h].size for h in hidden[:-1]])))
    n_hidden = sum(fx.populations[h].size for h in hidden)
    out_name = f"l{len(meta['layers']) - 1}"
    syn = max(layer["receptors"] for layer in meta["layers"][:-1])
    w_in = np.zeros((fx.network.node("in").size, n_hidden, syn), np.int64)
    w_rec = np.zeros((n_hidden, n_hidden, syn), np.int64)
    w_out = np.zeros((n_hidden, fx.populations[out_name].size), np.int64)
    for q in fx.projections.values():
        rows = np.repeat(np.arange(q.indptr.size - 1), np.diff(q.indptr))
        w = q.weights
        if q.post == out_name:
            w_out[base[q.pre] + rows, q.indices] = w
        elif q.pre == "in":
            w_in[rows, base[q.post] + q.indices, q.channel] = w
        else:
            w_rec[base[q.pre] + rows, base[q.post] + q.indices, q.channel] = w
    return {"weights_in": w_in, "weights_rec": w_rec, "weights_out": w_out}
