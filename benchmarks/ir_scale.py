"""Build a 1e6-neuron, 1e8-synapse network in the IR and report time and peak memory.

Goal (issue "Foundation"): fits in a few GB and builds in seconds. Usage:

    python benchmarks/ir_scale.py [--neurons 1000000] [--fan-out 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import time


from nmcompiler.frontends import connectors
from nmcompiler.streams import stream
from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--fan-out", type=int, default=100)
    args = ap.parse_args()
    n, k = args.neurons, args.fan_out
    t0 = time.perf_counter()
    net = Network("scale", dt=1e-4)
    net.add(Population(name="p", size=n, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    pre, post = connectors.fixed_probability(stream(0, "scale"), n, n, k / n)
    t_gen = time.perf_counter() - t0
    conn = Connectivity.from_coo(n, n, pre, post, 0.1, 2)
    del pre, post
    net.connect(Projection(name="rec", pre="p", post="p", connectivity=conn))
    net.validate()
    t_total = time.perf_counter() - t0
    stats = net.stats()
    result = {
        "neurons": stats.neurons, "synapses": stats.synapses,
        "generate_s": round(t_gen, 2), "build_total_s": round(t_total, 2),
        "ir_bytes_per_synapse": round((conn.indices.nbytes + conn.indptr.nbytes) / max(conn.nnz, 1), 2),
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
