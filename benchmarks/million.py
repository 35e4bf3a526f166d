"""1 million LIF neurons x 1000 random synapses each (10^9 synapses) through the IR, the
quantization and the bit-accurate simulator.

800,000 excitatory and 200,000 inhibitory neurons (tau 20 ms, threshold 20 mV, reset 10 mV,
refractory 2 ms, dt 0.1 ms); each neuron projects onto 800 excitatory and 200 inhibitory targets
drawn uniformly at random (multapses allowed), J = 0.1 mV, inhibitory -g J with g = 5, delay
1.5 ms, driven by a constant bias. The network is an ordinary IR network (four projections of
fixed out-degree, one weight and one delay each), quantized onto ``--target`` by ``Quantize``
and lowered by ``program_from_fixed_point``: the IR holds the targets once (int32, 4 GB), the
quantization keeps one mantissa per projection (its weights are all equal), the lowered program
reads the projections' own arrays, and the simulator's compact table is made from them directly.

Goals (issue 32): 1 biological second in <= 30 s and <= 8 GB.
For scale: a GPU simulator reports about 70 s per biological second for 1M AdEx neurons x 1000
synapses on an RTX 2080 Ti.

    python benchmarks/million.py [--neurons 1000000] [--fan-out 1000] [--duration 0.1]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from nmcompiler.datapath import load_format
from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection
from nmcompiler.lowered import program_from_fixed_point
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def out_degree(n_pre: int, n_post: int, k: int, weight: float, delay: int, rng) -> Connectivity:
    """``k`` uniform random targets per presynaptic neuron (ascending within a row: the same sums,
    fewer cache and TLB misses), written row block by row block into one int32 array."""
    indices = np.empty(n_pre * k, dtype=np.int32)
    rows = max(1, (1 << 24) // max(k, 1))
    for a in range(0, n_pre, rows):
        b = min(n_pre, a + rows)
        block = rng.integers(0, n_post, (b - a, k), dtype=np.int32)
        block.sort(axis=1)
        indices[a * k:b * k] = block.reshape(-1)
    return Connectivity(n_pre=n_pre, n_post=n_post, indptr=np.arange(n_pre + 1, dtype=np.int64) * k,
                        indices=indices, weights=weight, delays=delay)


def network(n: int, k: int, bias: float, g: float, j: float, delay: int, seed: int) -> Network:
    """The 1M x 1000 network: 4/5 of the neurons and of each neuron's targets excitatory."""
    n_e = n * 4 // 5
    k_e = k * 4 // 5
    net = Network("million", dt=1e-4, seed=0)
    model = LIF(tau_mem=20e-3, v_threshold=20e-3, v_reset=10e-3, refractory=2e-3, bias=bias)
    rng = np.random.default_rng(seed)
    for name, size in (("E", n_e), ("I", n - n_e)):
        net.add(Population(name=name, size=size, model=model, initial={"v": rng.uniform(0, 20e-3, size)}))
    for pre, n_pre, w in (("E", n_e, j), ("I", n - n_e, -g * j)):
        for post, n_post, k_post in (("E", n_e, k_e), ("I", n - n_e, k - k_e)):
            net.connect(Projection(name=f"{pre}_{post}", pre=pre, post=post,
                                   connectivity=out_degree(n_pre, n_post, k_post, w, delay, rng)))
    return net


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--fan-out", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=0.1, help="biological seconds")
    ap.add_argument("--target", default="fpga-lif")
    ap.add_argument("--bias", type=float, default=1.0, help="constant drive in units of the threshold")
    ap.add_argument("--threads", type=int, default=None, help="default: numba's thread count")
    args = ap.parse_args()
    n, k = args.neurons, args.fan_out
    t0 = time.perf_counter()
    net = network(n, k, args.bias * 20e-3, 5.0, 0.1e-3, 15, seed=1)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fx = Quantize(fmt=load_format(args.target)).run(net)
    prog = program_from_fixed_point(fx)
    quantize_s = time.perf_counter() - t0
    weights = [int(fx.projections[name].mantissa[0]) << fx.projections[name].exponent for name in ("E_E", "I_E")]
    t0 = time.perf_counter()
    sim = BitAccurateSimulator(prog, threads=args.threads)
    threads = args.threads or __import__("numba").get_num_threads()
    sim.run(2)  # builds the compact table, compiles (cached on disk after the first run)
    setup_s = time.perf_counter() - t0
    steps = round(args.duration / prog.dt)
    res = sim.run(steps)
    rates = res.rates()
    traffic = sim.traffic()
    print(json.dumps({
        "case": "million", "variant": f"bit-accurate {args.target} (numba, {threads} thread{'s' * (threads > 1)})",
        "simulator": "ours-bit", "neurons": n, "synapses": prog.synapses.nnz,
        "table_bytes_per_synapse": round(traffic.bytes_per_synapse, 2), "weights": weights,
        "build_s": round(build_s, 2), "quantize_s": round(quantize_s, 2), "setup_s": round(setup_s, 2),
        "bio_s": args.duration, "wall_s": round(res.wall_time, 2),
        "s_per_bio_s": round(res.wall_time / args.duration, 2), "synaptic_events": res.synaptic_events,
        "events_per_s": round(res.synaptic_events / res.wall_time),
        "rate_hz": round(sum(res.spike_counts().values()) / n / args.duration, 2),
        "rates_hz": {k: round(v, 2) for k, v in rates.items()}, "peak_rss_gb": round(peak_rss_gb(), 2),
        "steps": steps, "traffic": traffic.to_dict()}))


if __name__ == "__main__":
    main()
