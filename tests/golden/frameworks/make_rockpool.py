"""Golden traces from Rockpool's own forward pass (run once, in a throwaway venv; see
requirements-rockpool.txt). As make_snntorch.py: small ``LinearTorch``/``LIFTorch`` stacks with
fixed seeded weights, exported with Rockpool's ``to_nir`` and run by Rockpool (``record=True``)
on fixed input spikes; ``<model>.nir`` and ``<model>.npz`` are stored here.

``LIFTorch`` emits up to ``max_spikes_per_dt`` spikes per step (default 2^16, i.e. several when
the membrane is several thresholds high); the models here set 1, which is what a chip does.

    python tests/golden/frameworks/make_rockpool.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nir
import numpy as np
import rockpool
import torch
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LIFTorch, LinearTorch
from rockpool.nn.modules.torch.nir import to_nir

HERE = Path(__file__).parent
SAMPLES, STEPS, DT = 4, 40, 1e-3


def _seed(model, seed: int, gain: float) -> None:
    """The Linear layers' weights and biases. LIFTorch's own ``bias`` (a per-neuron membrane bias)
    stays 0: Rockpool's ``to_nir`` drops it (its CubaLIF has v_leak 0 and no bias), so a model
    with one exports a different network."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LinearTorch" in name:
                p.copy_((torch.rand(p.shape, generator=g, dtype=p.dtype) * 2 - 1.1) * gain)


def lif(n: int, tau_mem: float, tau_syn: float, max_spikes: int = 1) -> LIFTorch:
    return LIFTorch(n, tau_mem=tau_mem, tau_syn=tau_syn, threshold=1.0, max_spikes_per_dt=max_spikes, dt=DT)


def feed_forward():
    net = Sequential(LinearTorch((10, 16), has_bias=True), lif(16, 0.02, 0.01),
                     LinearTorch((16, 6), has_bias=True), lif(6, 0.03, 0.005))
    _seed(net, 1, 0.6)
    return net


def multi_spike():  # LIFTorch's default: up to max_spikes_per_dt spikes per step (4 here, reached)
    net = Sequential(LinearTorch((10, 16), has_bias=True), lif(16, 0.02, 0.01, 4),
                     LinearTorch((16, 6), has_bias=True), lif(6, 0.03, 0.005, 4))
    _seed(net, 2, 2.5)
    return net


MODELS = {"rockpool_ff": feed_forward, "rockpool_ff_multi": multi_spike}
MAX_SPIKES = {"rockpool_ff": 1, "rockpool_ff_multi": 4}


def main() -> None:
    for name, build in MODELS.items():
        net = build()
        rng = np.random.default_rng(20)
        x = (rng.random((SAMPLES, STEPS, 10)) < 0.3).astype(np.float32)
        with torch.no_grad():
            graph = to_nir(copy.deepcopy(net), torch.zeros(1, 1, 10))
            net.reset_state()
            _, _, record = net(torch.from_numpy(x), record=True)
        traces = {}
        for key, rec in record.items():
            if isinstance(rec, dict) and "spikes" in rec:
                traces[f"{key}.spikes"] = rec["spikes"].numpy()
                traces[f"{key}.v"] = rec["vmem"].numpy()
        nir.write(HERE / f"{name}.nir", graph)
        meta = {"framework": "rockpool", "version": rockpool.__version__, "torch": torch.__version__,
                "nir": nir.version, "steps": STEPS, "samples": SAMPLES, "nodes": sorted(graph.nodes), "dt": DT,
                "dtype": "float32", "conventions": {"max_spikes_per_dt": MAX_SPIKES[name]},
                "layers": sorted(k[: -len(".spikes")] for k in traces if k.endswith(".spikes"))}
        most = max(float(v.max()) for k, v in traces.items() if k.endswith(".spikes"))
        assert most <= MAX_SPIKES[name] and (most > 1) == (MAX_SPIKES[name] > 1), most
        np.savez_compressed(HERE / f"{name}.npz", input=x.astype(np.uint8), meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float64 if k.endswith(".v") else np.uint8) for k, v in traces.items()})
        print(name, sorted(graph.nodes), {k: int(v.sum()) for k, v in traces.items() if k.endswith(".spikes")})


if __name__ == "__main__":
    main()
