"""Compile CUBA and the NIR paper's CNN onto every target that accepts them: time per pass,
cores against the lower bound, inter-core traffic against index-order placement.

Goals (mapping milestone): under 5 s each; cores within 1.1x of the bound; traffic >= 2x lower.

    python benchmarks/mapping.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from nmcompiler import load_network
from nmcompiler.errors import UserError
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.mapping import compile_network
from nmcompiler.targets import load_target, target_names

ROOT = Path(__file__).resolve().parent.parent
CNN = ROOT.parent / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir"


def main() -> None:
    nets = {"cuba": load_network(ROOT / "examples" / "cuba.yaml")}
    if CNN.exists():
        nets["cnn_sinabs"] = load_nir(CNN, NirOptions(dt=1e-3))
    for name, net in nets.items():
        for target in target_names():
            t0 = time.perf_counter()
            try:
                _, _, r = compile_network(net, load_target(target))
            except UserError as exc:
                print(json.dumps({"case": "mapping", "variant": f"{name} -> {target}: does not fit", "network": name,
                                  "target": target, "fits": False,
                                  "reason": str(exc).splitlines()[0]}))
                continue
            print(json.dumps({
                "case": "mapping", "variant": f"{name} -> {target}", "network": name, "target": target, "fits": r.fits, "seconds": round(time.perf_counter() - t0, 2),
                "cores_used": r.cores_used, "cores_lower_bound": r.cores_lower_bound,
                "cores_over_bound": round(r.cores_used / r.cores_lower_bound, 3), "partitioner": r.partitioner,
                "traffic_reduction_vs_index_order": round(r.inter_core_spikes_index_order / r.inter_core_spikes, 2)
                if r.inter_core_spikes else None, "average_hops": round(r.average_hops, 3),
                "average_hops_index_order": round(r.average_hops_index_order, 3), "passes": r.passes}))


if __name__ == "__main__":
    main()
