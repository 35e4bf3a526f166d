"""Golden traces from Sinabs' own forward pass (run once, in a throwaway venv; see
requirements-sinabs.txt). As make_snntorch.py: small ``Linear``/``IAF`` and ``Linear``/``LIF``
stacks with fixed seeded weights, exported with Sinabs' ``to_nir`` and run by Sinabs (its layers
take the whole (batch, time, features) sequence, each layer in turn) on fixed input spikes;
``<model>.nir`` and ``<model>.npz`` are stored here.

``sinabs_ff_iaf`` and ``sinabs_ff_lif`` use ``SingleSpike`` (at most one spike per step, as a
chip emits); ``sinabs_ff_iaf_multi`` keeps IAF's default ``MultiSpike`` (``floor(v / threshold)``
spikes in one step), which the float simulator reproduces and compiling refuses. ``LIF`` needs per-neuron ``spike_threshold`` tensors for its export to pass nir's
shape check, and the sample data of ``to_nir`` needs a time axis ((1, 1, features)).

    python tests/golden/frameworks/make_sinabs.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nir
import numpy as np
import sinabs
import sinabs.layers as sl
import torch
from sinabs.activation import SingleSpike
from sinabs.nir import to_nir

HERE = Path(__file__).parent
SAMPLES, STEPS = 4, 40


def _seed(model: torch.nn.Module, seed: int, gain: float) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                for p in layer.parameters():
                    p.copy_((torch.rand(p.shape, generator=g, dtype=p.dtype) * 2 - 1.1) * gain)


def iaf(n: int) -> sl.IAF:
    return sl.IAF(spike_threshold=torch.full((n,), 1.0), spike_fn=SingleSpike, record_states=True)


def lif(n: int, tau: float) -> sl.LIF:
    return sl.LIF(tau_mem=torch.full((n,), tau), spike_threshold=torch.full((n,), 1.0), spike_fn=SingleSpike,
                  record_states=True)


def ff_iaf() -> torch.nn.Sequential:
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), iaf(16), torch.nn.Linear(16, 6), iaf(6))
    _seed(net, 1, 1.0)
    return net


def ff_lif() -> torch.nn.Sequential:
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), lif(16, 4.0), torch.nn.Linear(16, 6), lif(6, 5.0))
    _seed(net, 2, 6.0)
    return net


def ff_iaf_multi() -> torch.nn.Sequential:  # IAF's default spike_fn, MultiSpike: floor(v / threshold) per step
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), sl.IAF(record_states=True), torch.nn.Linear(16, 6),
                              sl.IAF(record_states=True))
    _seed(net, 3, 2.5)
    return net


MODELS = {"sinabs_ff_iaf": ff_iaf, "sinabs_ff_lif": ff_lif, "sinabs_ff_iaf_multi": ff_iaf_multi}


def main() -> None:
    for name, build in MODELS.items():
        net = build()
        rng = np.random.default_rng(30 + sorted(MODELS).index(name))
        x = (rng.random((SAMPLES, STEPS, 10)) < 0.3).astype(np.float32)
        with torch.no_grad():
            graph = to_nir(copy.deepcopy(net), torch.zeros(1, 1, 10))
            for layer in net:
                if hasattr(layer, "reset_states"):
                    layer.reset_states()
            traces, h = {}, torch.from_numpy(x)
            for k, layer in enumerate(net):
                h = layer(h)
                if isinstance(layer, (sl.IAF, sl.LIF)):
                    traces[f"{k}.spikes"] = h.numpy().copy()
                    traces[f"{k}.v"] = layer.recordings["v_mem"].numpy().copy()
        nir.write(HERE / f"{name}.nir", graph)
        meta = {"framework": "sinabs", "version": sinabs.__version__, "torch": torch.__version__, "nir": nir.version,
                "steps": STEPS, "samples": SAMPLES, "nodes": sorted(graph.nodes), "dtype": "float32",
                "conventions": {"spike_fn": "MultiSpike" if name.endswith("_multi") else "SingleSpike"},
                "layers": sorted(k[: -len(".spikes")] for k in traces if k.endswith(".spikes"))}
        np.savez_compressed(HERE / f"{name}.npz", input=x.astype(np.uint8), meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float64 if k.endswith(".v") else np.uint8) for k, v in traces.items()})
        print(name, sorted(graph.nodes), {k: int(v.sum()) for k, v in traces.items() if k.endswith(".spikes")})


if __name__ == "__main__":
    main()
