"""1 million LIF neurons x 1000 random synapses each (10^9 synapses) in the bit-accurate simulator.

800,000 excitatory and 200,000 inhibitory neurons (tau 20 ms, threshold 20 mV, reset 10 mV,
refractory 2 ms, dt 0.1 ms), each projecting onto 1000 targets drawn uniformly at random
(multapses allowed), J = 0.1 mV, inhibitory -g J with g = 5, delay 1.5 ms, driven by a constant
bias. Neuron parameters and the two integer weights come from quantizing the same network
(populations, models, weights) with a few synapses per neuron onto ``--target`` (the
quantization depends on the weights and neuron parameters, not on the synapse count); the 10^9
synapse table is then written directly as a ``SimProgram`` (int32 targets, int16 weights, one
delay), because the IR and the quantization pass keep 8-byte per-synapse arrays at this size.

Goal (issue "Benchmark suite"): fits in 24 GB and 1 biological second in <= 150 s.
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
from nmcompiler.passes import Quantize
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.lowered import SynapseTable, program_from_fixed_point


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def template(n_e: int, n_i: int, bias: float, g: float, j: float, delay: int) -> Network:
    """The network with 4 synapses per neuron: same populations, models and weights."""
    net = Network("million", dt=1e-4, seed=0)
    model = LIF(tau_mem=20e-3, v_threshold=20e-3, v_reset=10e-3, refractory=2e-3, bias=bias)
    rng = np.random.default_rng(0)
    for name, n in (("E", n_e), ("I", n_i)):
        net.add(Population(name=name, size=n, model=model, initial={"v": rng.uniform(0, 20e-3, n)}))
    for pre, n_pre, w in (("E", n_e, j), ("I", n_i, -g * j)):
        for post, n_post in (("E", n_e), ("I", n_i)):
            src = np.repeat(np.arange(n_pre), 2)
            net.connect(Projection(name=f"{pre}_{post}", pre=pre, post=post, connectivity=Connectivity.from_coo(
                n_pre, n_post, src, rng.integers(0, n_post, src.size), w, delay)))
    return net


def big_table(n: int, n_e: int, k: int, w_e: int, w_i: int, delay: int, seed: int) -> SynapseTable:
    """``k`` uniform random targets per neuron (sorted within the row), written row block by row
    block into int32/int16."""
    rng = np.random.default_rng(seed)
    target = np.empty(n * k, dtype=np.int32)
    weight = np.empty(n * k, dtype=np.int16)
    rows = max(1, (1 << 24) // k)
    for a in range(0, n, rows):
        b = min(n, a + rows)
        block = rng.integers(0, n, ((b - a), k), dtype=np.int32)
        block.sort(axis=1)  # ascending targets per row: the same sums, fewer cache and TLB misses
        target[a * k:b * k] = block.reshape(-1)
    weight[:n_e * k] = w_e
    weight[n_e * k:] = w_i
    return SynapseTable(indptr=np.arange(n + 1, dtype=np.int64) * k, target=target, weight=weight,
                        delay=np.array(delay), max_delay=delay)


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
    n_e = n * 4 // 5
    delay = 15
    t0 = time.perf_counter()
    fx = Quantize(fmt=load_format(args.target)).run(template(n_e, n - n_e, args.bias * 20e-3, 5.0, 0.1e-3, delay))
    small = program_from_fixed_point(fx)
    # the template's integer weights: one for all excitatory synapses, one for all inhibitory ones
    w = small.synapses.weight
    pre = np.repeat(np.arange(small.synapses.indptr.size - 1), np.diff(small.synapses.indptr))
    w_e, w_i = int(w[pre < n_e][0]), int(w[pre >= n_e][0])
    assert np.all(w[pre < n_e] == w_e) and np.all(w[pre >= n_e] == w_i)
    quantize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    table = big_table(n, n_e, k, w_e, w_i, delay, seed=1)
    from dataclasses import replace

    prog = replace(small, synapses=table)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = BitAccurateSimulator(prog, threads=args.threads)
    threads = args.threads or __import__("numba").get_num_threads()
    sim.run(2)  # compile (cached on disk after the first run)
    setup_s = time.perf_counter() - t0
    steps = round(args.duration / prog.dt)
    res = sim.run(steps)
    rates = res.rates()
    print(json.dumps({
        "case": "million", "variant": f"bit-accurate {args.target} (numba, {threads} thread{'s' * (threads > 1)})",
        "simulator": "ours-bit", "neurons": n, "synapses": int(table.target.size),
        "bytes_per_synapse": round((table.target.nbytes + table.weight.nbytes) / table.target.size, 2),
        "weights": [w_e, w_i], "quantize_s": round(quantize_s, 2), "build_s": round(build_s, 2),
        "setup_s": round(setup_s, 2), "bio_s": args.duration, "wall_s": round(res.wall_time, 2),
        "s_per_bio_s": round(res.wall_time / args.duration, 2), "synaptic_events": res.synaptic_events,
        "events_per_s": round(res.synaptic_events / res.wall_time),
        "rate_hz": round(sum(res.spike_counts().values()) / n / args.duration, 2),
        "rates_hz": {k: round(v, 2) for k, v in rates.items()}, "peak_rss_gb": round(peak_rss_gb(), 2),
        "steps": steps, "traffic": sim.traffic().to_dict()}))


if __name__ == "__main__":
    main()
