"""Golden traces from Spyx's own forward pass (run once, in a throwaway venv; see
requirements-spyx.txt). As make_snntorch.py: small ``nnx.Linear`` / Spyx neuron stacks with fixed
seeded weights, exported with Spyx's ``spyx.nir.to_nir`` (its default dt = 1) and stepped by Spyx
(``layer(x, state)`` per step, layer by layer, as its ``Sequential`` does) on fixed input spikes;
``<model>.nir`` and ``<model>.npz`` are stored here.

Models: ``LIF`` with a shared and with per-neuron (trained-style) betas, ``IF``, a recurrent
``RLIF`` (exported as a subgraph) and ``CuBaLIF``, all with biases.

    python tests/golden/frameworks/make_spyx.py
"""

from __future__ import annotations

import json
from pathlib import Path

import flax
import jax
import jax.numpy as jnp
import nir
import numpy as np
import spyx
import spyx.nn as snn
from flax import nnx
from spyx.nir import to_nir

HERE = Path(__file__).parent
SAMPLES, STEPS, IN = 4, 40, 10


def _linear(n_in: int, n_out: int, seed: int, gain: float) -> nnx.Linear:
    layer = nnx.Linear(n_in, n_out, rngs=nnx.Rngs(seed))
    rng = np.random.default_rng(seed)
    layer.kernel.value = jnp.asarray((rng.random((n_in, n_out)) * 2 - 0.9) * gain, dtype=jnp.float32)
    layer.bias.value = jnp.asarray((rng.random(n_out) * 2 - 1) * 0.1 * gain, dtype=jnp.float32)
    return layer


def ff_lif():
    return snn.Sequential(_linear(IN, 16, 1, 0.8), snn.LIF((16,), beta=0.8, rngs=nnx.Rngs(2)),
                          _linear(16, 6, 3, 0.6), snn.LIF((6,), beta=0.7, threshold=0.8, rngs=nnx.Rngs(4)))


def ff_lif_trained_beta():  # per-neuron betas, as training leaves them
    return snn.Sequential(_linear(IN, 16, 5, 0.8), snn.LIF((16,), rngs=nnx.Rngs(6)),
                          _linear(16, 6, 7, 0.6), snn.LIF((6,), rngs=nnx.Rngs(8)))


def ff_if():
    return snn.Sequential(_linear(IN, 16, 9, 0.5), snn.IF((16,)), _linear(16, 6, 10, 0.4), snn.IF((6,)))


def recurrent():
    model = snn.Sequential(_linear(IN, 12, 11, 0.8), snn.RLIF((12,), beta=0.8, rngs=nnx.Rngs(12)),
                           _linear(12, 6, 13, 0.6), snn.LIF((6,), beta=0.7, rngs=nnx.Rngs(14)))
    rng = np.random.default_rng(15)
    model.layers[1].recurrent_w.value = jnp.asarray((rng.random((12, 12)) * 2 - 1) * 0.4, dtype=jnp.float32)
    return model


def cuba():
    return snn.Sequential(_linear(IN, 16, 16, 0.5), snn.CuBaLIF((16,), alpha=0.6, beta=0.8, rngs=nnx.Rngs(17)),
                          _linear(16, 6, 18, 0.5), snn.CuBaLIF((6,), alpha=0.5, beta=0.7, rngs=nnx.Rngs(19)))


MODELS = {"spyx_ff_lif": ff_lif, "spyx_ff_lif_trained_beta": ff_lif_trained_beta, "spyx_ff_if": ff_if,
          "spyx_recurrent": recurrent, "spyx_cuba": cuba}


def _run(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Step the model as ``spyx.nn.Sequential`` does, recording each neuron layer's output spikes
    and membrane (its state's ``V``; a CuBaLIF's state is ``[V, I]``)."""
    state = model.initial_state(x.shape[0])
    traces: dict[str, list] = {}
    for t in range(x.shape[1]):
        h = jnp.asarray(x[:, t])
        for k, (layer, s) in enumerate(zip(model.layers, state)):
            if s is None:
                h = layer(h)
                continue
            h, state[k] = layer(h, s)
            v = state[k][..., : state[k].shape[-1] // 2] if isinstance(layer, snn.CuBaLIF) else state[k]
            traces.setdefault(f"layer_{k}.spikes", []).append(np.asarray(h))
            traces.setdefault(f"layer_{k}.v", []).append(np.asarray(v))
    return {k: np.stack(v, axis=1) for k, v in traces.items()}  # (samples, steps, neurons)


def main() -> None:
    for name, build in MODELS.items():
        model = build()
        rng = np.random.default_rng(40 + sorted(MODELS).index(name))
        x = (rng.random((SAMPLES, STEPS, IN)) < 0.3).astype(np.float32)
        n_out = model.layers[-1].hidden_shape[0]
        graph = to_nir(model, {"input": np.array([IN])}, {"output": np.array([n_out])})
        traces = _run(model, x)
        nir.write(HERE / f"{name}.nir", graph)
        meta = {"framework": "spyx", "version": spyx.__version__, "jax": jax.__version__, "flax": flax.__version__,
                "nir": nir.version, "steps": STEPS, "samples": SAMPLES, "nodes": sorted(graph.nodes),
                "dtype": "float32", "conventions": {"to_nir_dt": 1},
                "layers": sorted(k[: -len(".spikes")] for k in traces if k.endswith(".spikes"))}
        np.savez_compressed(HERE / f"{name}.npz", input=x.astype(np.uint8), meta=np.array(json.dumps(meta)),
                            **{k: v.astype(np.float64 if k.endswith(".v") else np.uint8) for k, v in traces.items()})
        print(name, sorted(graph.nodes), {k: int(v.sum()) for k, v in traces.items() if k.endswith(".spikes")})


if __name__ == "__main__":
    main()
