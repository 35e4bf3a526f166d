"""Golden traces from Norse's own forward pass (run once, in a throwaway venv; see
requirements-norse.txt). As make_snntorch.py: each small model is built with fixed seeded
weights, exported with Norse's ``to_nir`` (dt = 1e-3, its default) and run by Norse step by step
on fixed input spikes; ``<model>.nir`` and ``<model>.npz`` (``input``, ``<layer>.spikes``,
``<layer>.v`` after the step, ``meta``) are stored here, and tests/test_framework_goldens.py
compares nmcompiler's float simulation with them.

    python tests/golden/frameworks/make_norse.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nir
import norse
import norse.torch as nt
import numpy as np
import torch
from norse.torch.functional.lif import LIFParameters
from norse.torch.functional.lif_box import LIFBoxParameters
from norse.torch.utils.export_nir import to_nir

HERE = Path(__file__).parent
SAMPLES, STEPS, DT = 4, 40, 1e-3


def _seed(model: torch.nn.Module, seed: int, gain: float) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=g, dtype=p.dtype) * 2 - 1.1) * gain)


def box(n: int, tau: float, threshold: float) -> nt.LIFBoxCell:
    """Per-neuron parameters (scalars export nodes whose types nir 1.0.8 refuses)."""
    return nt.LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.full((n,), 1 / tau), v_leak=torch.zeros(n),
                                          v_th=torch.full((n,), threshold), v_reset=torch.zeros(n)), dt=DT)


def cuba(n: int, tau_mem: float, tau_syn: float, threshold: float) -> nt.LIFCell:
    return nt.LIFCell(LIFParameters(tau_mem_inv=torch.full((n,), 1 / tau_mem), tau_syn_inv=torch.full((n,), 1 / tau_syn),
                                    v_leak=torch.zeros(n), v_th=torch.full((n,), threshold),
                                    v_reset=torch.zeros(n)), dt=DT)


def ff_box() -> nt.SequentialState:
    net = nt.SequentialState(torch.nn.Linear(10, 16), box(16, 0.01, 0.3), torch.nn.Linear(16, 6), box(6, 0.02, 0.2))
    _seed(net, 1, 2.0)
    return net


def ff_cuba() -> nt.SequentialState:
    net = nt.SequentialState(torch.nn.Linear(10, 12), cuba(12, 0.01, 0.005, 0.2), torch.nn.Linear(12, 5),
                             cuba(5, 0.02, 0.004, 0.1))
    _seed(net, 2, 1.0)
    return net


MODELS = {"norse_ff_box": ff_box, "norse_ff_cuba": ff_cuba}
CELLS = (nt.LIFBoxCell, nt.LIFCell)


def _run(net, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Norse's forward pass, step by step, each module in the SequentialState's own order."""
    out: dict[str, list] = {}
    states = [None] * len(net)
    for t in range(x.shape[0]):
        h = x[t]
        for k, module in enumerate(net):
            if isinstance(module, CELLS):
                h, states[k] = module(h, states[k])
                h = h.to(x.dtype)
                out.setdefault(f"{k}.spikes", []).append(h.detach().numpy().copy())
                out.setdefault(f"{k}.v", []).append(states[k].v.detach().numpy().copy())
            else:
                h = module(h)
    return {k: np.stack(v, axis=1) for k, v in out.items()}


def main() -> None:
    for name, build in MODELS.items():
        net = build()
        rng = np.random.default_rng(sorted(MODELS).index(name) + 10)
        x = (rng.random((STEPS, SAMPLES, 10)) < 0.3).astype(np.float64)
        with torch.no_grad():
            for value in net.state_dict().values():  # float32 values: the exporter traces in float32
                value.copy_(value.float().double())
            graph = to_nir(copy.deepcopy(net).float(), torch.zeros(1, 10), dt=DT)
            traces = _run(net.double(), torch.from_numpy(x))
        nir.write(HERE / f"{name}.nir", graph)
        meta = {"framework": "norse", "version": norse.__version__, "torch": torch.__version__, "nir": nir.version,
                "steps": STEPS, "samples": SAMPLES, "nodes": sorted(graph.nodes), "dt": DT, "dtype": "float64",
                "conventions": {"reset": "value"},
                "layers": sorted(k.split(".")[0] for k in traces if k.endswith(".spikes"))}
        np.savez_compressed(HERE / f"{name}.npz", input=np.moveaxis(x, 0, 1).astype(np.uint8),
                            meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float64 if k.endswith(".v") else np.uint8) for k, v in traces.items()})
        print(name, sorted(graph.nodes), {k: int(v.sum()) for k, v in traces.items() if k.endswith(".spikes")})


if __name__ == "__main__":
    main()
