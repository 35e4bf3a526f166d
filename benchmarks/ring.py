"""The mapping-scale ring: N populations x M LIF neurons, one-to-one projections between
consecutive populations (and the last back to the first). Default 200 x 10,000 = 2 million
neurons onto spinnaker-like, end to end (build, design rules, quantize, partition, place).

Goal (mapping milestone): <= 60 s (PACMAN: 16 min for partition and place alone).

    python benchmarks/ring.py [--populations 200] [--size 10000] [--target spinnaker-like]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection
from nmcompiler.compiler import compile_network
from nmcompiler.targets import load_target


def ring(populations: int, size: int) -> Network:
    net = Network("ring", dt=1e-3)
    model = LIF(tau_mem=0.02, v_threshold=1.0)
    for k in range(populations):
        net.add(Population(name=f"p{k}", size=size, model=model))
    idx = np.arange(size)
    for k in range(populations):
        conn = Connectivity.from_coo(size, size, idx, idx, 1.5, 1)
        net.connect(Projection(name=f"p{k}_p{(k + 1) % populations}", pre=f"p{k}", post=f"p{(k + 1) % populations}",
                               connectivity=conn))
    return net


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--populations", type=int, default=200)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--target", default="spinnaker-like")
    ap.add_argument("--partitioner", default="auto")
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = ring(args.populations, args.size)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, _, r = compile_network(net, load_target(args.target), partitioner=args.partitioner)
    total = time.perf_counter() - t0
    print(json.dumps({"case": "ring", "neurons": args.populations * args.size, "target": args.target, "build_s": round(build, 2),
                      "compile_s": round(total, 2), "cores_used": r.cores_used, "cores_lower_bound": r.cores_lower_bound,
                      "partitioner": r.partitioner, "inter_core_spikes": r.inter_core_spikes,
                      "inter_core_spikes_index_order": r.inter_core_spikes_index_order,
                      "traffic_reduction_vs_index_order": (round(r.inter_core_spikes_index_order
                                                                 / max(r.inter_core_spikes, 1), 2)
                                                           if r.inter_core_spikes_index_order is not None else None),
                      "passes": r.passes,
                      "placement": r.placement.to_json(), "average_hops": round(r.average_hops, 3),
                      "average_hops_index_order": round(r.average_hops_index_order, 3), "max_link_load": r.max_link_load,
                      "routing_table_entries": r.routing_table_entries,
                      "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}))


if __name__ == "__main__":
    main()
