"""Import a large convolutional NIR graph: time and peak memory.

The graph: Input 2x128x128 -> Conv2d(2->16, k3, p1) -> IF -> SumPool2d(2) -> Conv2d(16->32, k3, p1)
-> IF -> SumPool2d(2) -> Flatten -> Affine(32*32*32 -> 10) -> IF. The pool+conv and pool+flatten+affine
chains are folded into single sparse projections. Goal (issue "NIR frontend"): seconds, bounded memory.

    python benchmarks/nir_import.py [--size 128]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import nir
import numpy as np

from nmcompiler.frontends.nir import NirOptions, load_nir


def build(size: int) -> nir.NIRGraph:
    rng = np.random.default_rng(0)

    def if_(shape):
        return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))

    s2, s4 = size // 2, size // 4
    nodes = {
        "input": nir.Input(np.array([2, size, size])),
        "conv1": nir.Conv2d((size, size), rng.normal(size=(16, 2, 3, 3)), 1, 1, 1, 1, np.zeros(16)),
        "if1": if_((16, size, size)),
        "pool1": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "conv2": nir.Conv2d((s2, s2), rng.normal(size=(32, 16, 3, 3)), 1, 1, 1, 1, np.zeros(32)),
        "if2": if_((32, s2, s2)),
        "pool2": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        "flat": nir.Flatten({"input": np.array([32, s4, s4])}, 0, -1),
        "fc": nir.Affine(rng.normal(size=(10, 32 * s4 * s4)), np.zeros(10)),
        "if3": if_((10,)),
        "output": nir.Output(np.array([10])),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    graph = build(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conv.nir"
        nir.write(path, graph)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        net = load_nir(path, NirOptions(dt=1e-3))
        elapsed = time.perf_counter() - t0
    stats = net.stats()
    out = {
        "input": [2, args.size, args.size],
        "neurons": stats.neurons,
        "synapses": stats.synapses,
        "projections": len(stats.projections),
        "import_s": round(elapsed, 2),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "rss_before_import_gb": round(rss0 / 2**20, 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
