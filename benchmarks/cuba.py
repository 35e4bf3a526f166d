"""CUBA (examples/cuba.yaml: Brian2's CUBA example, 4000 neurons, 320k synapses, dt 0.1 ms) in
our float simulator and in the bit-accurate simulator (numba kernel; the numpy path with
``--numpy``), one JSON record per simulator. ``benchmarks/peers/brian2_cuba.py`` runs Brian2 on
the same network; ``benchmarks/suite.py`` puts them side by side.

Goals: bit-accurate >= 2e7 synaptic events per second (issue "Fixed-point datapath"); CUBA at
least as fast as Brian2's fastest target (issue "Benchmark suite").

    python benchmarks/cuba.py [--duration 1] [--repeat 3] [--numpy]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nmcompiler import load_network
from nmcompiler.datapath import load_format
from nmcompiler.passes import Quantize
from nmcompiler.sim import FloatSimulator
from nmcompiler.sim.bit_sim import BitAccurateSimulator

ROOT = Path(__file__).resolve().parent.parent


def record(variant: str, simulator: str, runs: list, setup: float, **extra) -> dict:
    # best of the repeats: this VM's timings vary by up to 50 % from run to run
    r = min(runs, key=lambda r: r.wall_time)
    return {"case": "cuba", "variant": variant, "simulator": simulator, "bio_s": r.duration,
            "setup_s": round(setup, 3), "wall_s": round(r.wall_time, 4),
            "wall_s_all": [round(x.wall_time, 4) for x in runs], "s_per_bio_s": round(r.wall_time / r.duration, 4),
            "synaptic_events": r.synaptic_events, "events_per_s": round(r.synaptic_events / r.wall_time),
            "rate_hz": round(sum(r.spike_counts().values()) / sum(r.sizes.values()) / r.duration, 2), **extra}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=1.0, help="biological seconds")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--numpy", action="store_true", help="also time the bit-accurate numpy path (slow)")
    args = ap.parse_args()
    net = load_network(ROOT / "examples" / "cuba.yaml")
    steps = round(args.duration / net.dt)
    for backend in ("numba", "numpy"):
        t0 = time.perf_counter()
        sim = FloatSimulator(net, backend=backend)
        sim.run(10)  # compile (cached on disk after the first run)
        setup = time.perf_counter() - t0
        runs = [sim.run(steps) for _ in range(args.repeat if backend == "numba" else 1)]
        extra = {"traffic": sim.traffic().to_dict(), "steps": steps} if backend == "numba" else {}
        print(json.dumps(record(f"float ({backend})", "ours-float", runs, setup, backend=backend, **extra)))
    variants = [("fpga-lif", "numba", 1), ("spinnaker-like", "numba", 1), ("fpga-lif", "numba", 2)]
    if args.numpy:
        variants.append(("fpga-lif", "numpy", None))
    for target, backend, threads in variants:
        t0 = time.perf_counter()
        fx = Quantize(fmt=load_format(target)).run(net)
        sim = BitAccurateSimulator(fx, backend=backend, threads=threads)
        sim.run(10)  # compile (cached on disk after the first run)
        setup = time.perf_counter() - t0
        runs = [sim.run(steps) for _ in range(args.repeat if backend == "numba" else 1)]
        label = f"{backend}, {threads} thread{'s' * (threads > 1)}" if threads else backend
        extra = {"traffic": sim.traffic().to_dict(), "steps": steps} if backend == "numba" else {}
        print(json.dumps(record(f"bit-accurate {target} ({label})", "ours-bit", runs, setup, format=target,
                                backend=backend, threads=threads, **extra)))


if __name__ == "__main__":
    main()
