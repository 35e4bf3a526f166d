"""Sinabs' own DYNAP-CNN mapping of a few CNNs, for the side-by-side test (tests/test_conv_sinabs.py).

Run once in the Sinabs venv of requirements-sinabs.txt (Sinabs 3.1.3). samna, which Sinabs'
DYNAP-CNN backend imports at module level, does not install from PyPI here; nothing used below
calls it (the layers, their memory and the layer-to-core mapping are Sinabs' own Python), so it is
replaced by an empty stand-in module. For each CNN this writes what Sinabs decides:

* every DynapcnnLayer's input shape, neuron shape, pooling and ``memory_summary()`` (kernel,
  neuron and bias words);
* the layer-to-core map of ``map_layers_to_cores`` (Edmonds-Karp max flow over the cores each
  layer fits, Speck 2F's constraints), or the error when there is none;

and each network's NIR export (``sinabs.nir.to_nir``, gzipped) into ``tests/golden/sinabs_dynapcnn/``.
The NIR paper's CNN is rebuilt from ``../shared/data/nir-paper/cnn_sinabs.nir``'s own weights
(its biases are zero; the rebuilt layers have none, so neither side counts bias words).

    /tmp/sinabs/bin/python tests/golden/frameworks/make_sinabs_dynapcnn.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nir
import numpy as np
import torch
import torch.nn as nn
from samna_stand_in import install

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "sinabs_dynapcnn"
PAPER = next((p / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir" for p in HERE.parents
              if (p / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir").exists()), None)


install()

import sinabs  # noqa: E402
import sinabs.layers as sl  # noqa: E402
from sinabs.backend.dynapcnn import DynapcnnNetwork  # noqa: E402
from sinabs.backend.dynapcnn.chip_factory import ChipFactory  # noqa: E402
from sinabs.nir import to_nir  # noqa: E402

DEVICE = "speck2fmodule"


def iaf():
    return sl.IAFSqueeze(batch_size=1, min_v_mem=None)


def _seeded(net: nn.Sequential, seed: int) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                # few distinct values (eighths in [-1, 1]): the gzipped files stay small
                layer.weight.copy_(torch.round(torch.randn(layer.weight.shape, generator=g) * 2.4).clamp(-8, 8) / 8)
    return net


def paper_cnn() -> nn.Sequential:
    graph = nir.read(PAPER)
    net = nn.Sequential(nn.Conv2d(2, 16, 5, stride=2, padding=1, bias=False), iaf(),
                        nn.Conv2d(16, 16, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2),
                        nn.Conv2d(16, 8, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2), nn.Flatten(),
                        nn.Linear(128, 256, bias=False), iaf(), nn.Linear(256, 10, bias=False), iaf())
    with torch.no_grad():
        for layer, key in zip([net[0], net[2], net[5], net[9], net[11]], ["0", "2", "5", "9", "11"]):
            assert not np.any(graph.nodes[key].bias)
            layer.weight.copy_(torch.from_numpy(np.asarray(graph.nodes[key].weight, dtype=np.float32)))
    return net


def k3_pool2() -> nn.Sequential:  # 3x3 kernels, 2x2 sum pooling twice, a dense readout
    return _seeded(nn.Sequential(nn.Conv2d(2, 8, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2),
                                 nn.Conv2d(8, 16, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2), nn.Flatten(),
                                 nn.Linear(16 * 8 * 8, 10, bias=False), iaf()), 1)


def k7_stride2_pool4() -> nn.Sequential:  # a 7x7 stride-2 kernel, 5x5, then 4x4 pooling
    net = _seeded(nn.Sequential(nn.Conv2d(2, 16, 7, stride=2, padding=3, bias=False), iaf(),
                                nn.Conv2d(16, 32, 5, padding=2, bias=False), iaf(), sl.SumPool2d(4), nn.Flatten(),
                                nn.Linear(32 * 4 * 4, 20, bias=False), iaf(), nn.Linear(20, 4, bias=False), iaf()), 2)
    with torch.no_grad():  # the readout layers see few spikes: larger weights, so that they spike too
        net[6].weight.mul_(4)
        net[8].weight.add_(0.5).mul_(4)
    return net


def k1_wide() -> nn.Sequential:  # 1x1 kernels, 64 channels, a 4x4 pooling
    return _seeded(nn.Sequential(nn.Conv2d(1, 64, 1, bias=False), iaf(), sl.SumPool2d(4),
                                 nn.Conv2d(64, 64, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2),
                                 nn.Conv2d(64, 32, 1, bias=False), iaf()), 3)


def wide_map() -> nn.Sequential:  # 96 channels of 32x32 neurons: more than any core's neuron memory
    return _seeded(nn.Sequential(nn.Conv2d(2, 16, 3, padding=1, bias=False), iaf(),
                                 nn.Conv2d(16, 96, 3, padding=1, bias=False), iaf(), sl.SumPool2d(4),
                                 nn.Conv2d(96, 4, 1, bias=False), iaf()), 4)


def big_kernel() -> nn.Sequential:  # a 16 -> 128 channel 7x7 kernel: 128Ki words, no fit
    return _seeded(nn.Sequential(nn.Conv2d(2, 16, 3, padding=1, bias=False), iaf(),
                                 nn.Conv2d(16, 128, 7, padding=3, bias=False), iaf()), 5)


MODELS = {"cnn_sinabs": (paper_cnn, (2, 34, 34)), "k3_pool2": (k3_pool2, (2, 32, 32)),
          "k7_stride2_pool4": (k7_stride2_pool4, (2, 32, 32)), "k1_wide": (k1_wide, (1, 32, 32)),
          "wide_map": (wide_map, (2, 32, 32)), "big_kernel": (big_kernel, (2, 4, 4))}


def sinabs_mapping(net: nn.Sequential, shape) -> dict:
    dyn = DynapcnnNetwork(net, input_shape=shape, discretize=False)
    layers = []
    for index, layer in sorted(dyn.dynapcnn_layers.items()):
        memory = layer.memory_summary()
        layers.append({"index": index, "in_shape": list(layer.in_shape), "neuron_shape": list(layer.get_neuron_shape()),
                       "kernel": list(layer.conv_layer.weight.shape), "pool": [list(p) for p in layer.pool],
                       "memory": {k: int(v) for k, v in memory.items()},
                       "destinations": [int(d) for d in dyn.layer_destination_map.get(index, [])]})
    builder = ChipFactory(DEVICE).get_config_builder()
    try:
        mapping = {str(k): int(v) for k, v in builder.map_layers_to_cores(dyn.dynapcnn_layers).items()}
        error = None
    except ValueError as exc:
        mapping, error = None, str(exc)
    constraints = [{"kernel": c.kernel_memory, "neuron": c.neuron_memory, "bias": c.bias_memory}
                   for c in builder.get_constraints()]
    return {"layers": layers, "layer_to_core": mapping, "error": error, "fits": error is None,
            "constraints": constraints}


def _with_shapes(graph, net: nn.Sequential, shape):
    """Fill the input shapes ``to_nir`` leaves empty on some Conv2d and Flatten nodes (module i is
    node "i"), from a forward pass of a zero sample."""
    x = torch.zeros(1, *shape)
    with torch.no_grad():
        for i, layer in enumerate(net):
            node = graph.nodes[str(i)]
            if isinstance(node, nir.Conv2d) and node.input_shape is None:
                node.input_shape = tuple(x.shape[-2:])
            if isinstance(node, nir.Flatten) and (not node.input_type or node.input_type.get("input") is None):
                node.input_type = {"input": np.array(x.shape[1:])}
            x = layer(x)
    return graph


def main() -> None:
    OUT.mkdir(exist_ok=True)
    result = {"sinabs": sinabs.__version__, "torch": torch.__version__, "nir": nir.version, "device": DEVICE,
              "networks": {}}
    for name, (build, shape) in MODELS.items():
        net = build()
        entry = {"input_shape": list(shape), **sinabs_mapping(net, shape)}
        if name != "cnn_sinabs":  # the paper's file is read from ../shared by the test
            graph = _with_shapes(to_nir(net.eval(), torch.zeros(1, *shape)), net, shape)
            nir.write(OUT / f"{name}.nir", graph)  # gzip: the per-neuron parameter arrays are constant
            (OUT / f"{name}.nir.gz").write_bytes(gzip.compress((OUT / f"{name}.nir").read_bytes(), mtime=0))
            (OUT / f"{name}.nir").unlink()
        result["networks"][name] = entry
        print(name, entry["fits"], entry["layer_to_core"], [la["memory"] for la in entry["layers"]])
    (OUT / "sinabs_dynapcnn.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
