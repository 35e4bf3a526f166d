"""Golden traces from snnTorch's own forward pass (run once, in a throwaway venv; see
requirements-snntorch.txt). For each small reference model: build it in snnTorch with fixed
seeded weights, export NIR with snnTorch's exporter, run snnTorch on fixed input spikes, and
store ``<model>.nir`` and ``<model>.npz`` here:

* ``input``: (samples, steps, channels...) input spikes, 0/1;
* ``<layer>.spikes`` and ``<layer>.v``: (samples, steps, neurons) of every spiking layer as
  snnTorch computed them (``v`` is snnTorch's ``mem`` after the step: before a delayed reset);
* ``readout.v``: the non-spiking readout's output, where the model has one;
* ``meta``: JSON (snnTorch version, the model's conventions).

The tests (tests/test_framework_goldens.py) compare nmcompiler's float simulation of the NIR
file with these arrays without torch.

    python tests/golden/frameworks/make_snntorch.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import snntorch.utils
import torch
from snntorch.export_nir import export_to_nir

HERE = Path(__file__).parent
_FIRE = snn.SpikingNeuron.fire


def _fire_in_dtype(self, mem):
    """snnTorch's ``fire``, its 0/1 spikes in the membrane's dtype (snnTorch returns float32, which
    RLeaky then feeds to its float64 recurrent weights)."""
    return _FIRE(self, mem).to(mem.dtype)


snn.SpikingNeuron.fire = _fire_in_dtype
SAMPLES, STEPS = 4, 40


def _seed(model: torch.nn.Module, seed: int, gain: float) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad and p.dim() >= 1 and p.numel() > 1:
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1.1) * gain)


def _full(shape, value: float) -> torch.Tensor:
    """Per-neuron parameters: with scalar beta or threshold, snnTorch 1.0's exporter writes nodes
    whose types nir 1.0.8 refuses ("type mismatch: 0.output: [[16]] -> 1.input: []", or "All
    parameters must have the same shape" when only beta is per neuron)."""
    return torch.full(shape if isinstance(shape, tuple) else (shape,), float(value))


def leaky(n, beta: float, threshold: float = 1.0, **kw) -> snn.Leaky:
    return snn.Leaky(beta=_full(n, beta), threshold=_full(n, threshold), init_hidden=True, **kw)


def feed_forward(reset: str, delay: bool) -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(10, 16), leaky(16, 0.85, 1.0, reset_mechanism=reset, reset_delay=delay),
        torch.nn.Linear(16, 6), leaky(6, 0.9, 0.8, reset_mechanism=reset, reset_delay=delay))
    _seed(net, 1, 0.9)
    return net


def synaptic() -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(10, 12), snn.Synaptic(alpha=_full(12, 0.7), beta=_full(12, 0.85), threshold=_full(12, 1.0),
                                              init_hidden=True),
        torch.nn.Linear(12, 5), snn.Synaptic(alpha=_full(5, 0.6), beta=_full(5, 0.9), threshold=_full(5, 0.2),
                                             init_hidden=True))
    _seed(net, 12, 1.0)
    return net


def recurrent() -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Linear(10, 14), snn.RLeaky(beta=_full(14, 0.8), threshold=_full(14, 1.0), linear_features=14,
                                              init_hidden=True),
        torch.nn.Linear(14, 4), leaky(4, 0.9))
    _seed(net, 3, 0.7)
    return net


def readout() -> torch.nn.Sequential:
    net = torch.nn.Sequential(torch.nn.Linear(10, 16), leaky(16, 0.85), torch.nn.Linear(16, 3))
    _seed(net, 4, 0.9)
    return net


def conv() -> torch.nn.Sequential:
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=0), leaky((3, 4, 4), 0.8),
        torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5), leaky(5, 0.9))
    _seed(net, 5, 0.8)
    return net


SUBTRACT = {"reset_mechanism": "subtract", "reset_delay": True}  # snnTorch's defaults
MODELS = {
    "snntorch_ff_subtract": (lambda: feed_forward("subtract", True), (10,), SUBTRACT),
    "snntorch_ff_zero": (lambda: feed_forward("zero", True), (10,), {"reset_mechanism": "zero", "reset_delay": True}),
    "snntorch_ff_subtract_nodelay": (lambda: feed_forward("subtract", False), (10,),
                                     {"reset_mechanism": "subtract", "reset_delay": False}),
    "snntorch_synaptic": (synaptic, (10,), SUBTRACT),
    "snntorch_recurrent": (recurrent, (10,), SUBTRACT),
    "snntorch_readout": (readout, (10,), SUBTRACT),
    "snntorch_conv": (conv, (1, 6, 6), SUBTRACT),
}


def _run(net: torch.nn.Sequential, x: torch.Tensor) -> dict[str, np.ndarray]:
    """snnTorch's forward pass, step by step, recording every layer (the Sequential's own order)."""
    out: dict[str, list] = {}
    snn.utils.reset(net)
    for t in range(x.shape[0]):
        h = x[t]
        for k, layer in enumerate(net):
            h = layer(h).to(x.dtype)  # snnTorch's spikes are float32 ((mem > thr).float()); 0/1 cast exactly
            if isinstance(layer, (snn.Leaky, snn.Synaptic, snn.RLeaky)):
                out.setdefault(f"{k}.spikes", []).append(h.detach().numpy().reshape(h.shape[0], -1).copy())
                out.setdefault(f"{k}.v", []).append(layer.mem.detach().numpy().reshape(h.shape[0], -1).copy())
        if not isinstance(net[-1], (snn.Leaky, snn.Synaptic, snn.RLeaky)):
            out.setdefault("readout.v", []).append(h.detach().numpy().copy())
    return {k: np.stack(v, axis=1) for k, v in out.items()}  # (samples, steps, n)


def main() -> None:
    # double precision: the traces then test the conventions, not float32 rounding (snnTorch's own
    # float32 run agrees with them to about 2e-6 in v and gives the same spikes on these inputs)
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    for name, (build, shape, conventions) in MODELS.items():
        net = build()
        rng = np.random.default_rng(sorted(MODELS).index(name))
        x = (rng.random((STEPS, SAMPLES, *shape)) < 0.3).astype(np.float64)
        with torch.no_grad():
            for value in net.state_dict().values():  # float32 values: the exporter traces in float32
                value.copy_(value.float().double())
            torch.set_default_dtype(torch.float32)
            graph = export_to_nir(copy.deepcopy(net).float(), torch.zeros(1, *shape), ignore_dims=[0])
            torch.set_default_dtype(torch.float64)
            traces = _run(net, torch.from_numpy(x))
        nir.write(HERE / f"{name}.nir", graph)
        meta = {"framework": "snntorch", "version": snn.__version__, "torch": torch.__version__, "nir": nir.version,
                "steps": STEPS, "samples": SAMPLES, "nodes": sorted(graph.nodes), "conventions": conventions,
                "dtype": "float64",
                "layers": sorted(k.split(".")[0] for k in traces if k.endswith(".spikes"))}
        np.savez_compressed(HERE / f"{name}.npz", input=np.moveaxis(x, 0, 1).astype(np.uint8),
                            meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float64 if k.endswith(".v") else np.uint8) for k, v in traces.items()})
        spikes = {k: int(v.sum()) for k, v in traces.items() if k.endswith(".spikes")}
        print(name, sorted(graph.nodes), spikes)


if __name__ == "__main__":
    main()
