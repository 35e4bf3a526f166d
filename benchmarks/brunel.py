"""Brunel (2000) regime C (examples/brunel.py: 12,500 LIF neurons, ~15.6 M recurrent synapses,
20 kHz of external Poisson input per neuron, dt 0.1 ms) in our float and bit-accurate
simulators. The external input is the peers' own: C_E = 1000 Poisson inputs at nu_ext summed
into one channel per neuron (``build(k=None)``, a Binomial(1000, nu_ext dt) count per step, as
Brian2's ``PoissonInput``; NEST's ``poisson_generator`` draws the Poisson count of that mean). Records seconds per biological second (including drawing the Poisson input) and
synaptic events per second, both all events (external ones included) and recurrent ones only
(what ``benchmarks/peers/brian2_brunel.py`` counts exactly for Brian2).

Goal (issue "Benchmark suite"): >= 1e8 synaptic events per second.

    python benchmarks/brunel.py [--duration 0.5] [--scale 1] [--skip-float]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from brunel import build  # noqa: E402

from nmcompiler.datapath import load_format  # noqa: E402
from nmcompiler.passes import Quantize  # noqa: E402
from nmcompiler.sim import FloatSimulator  # noqa: E402
from nmcompiler.sim.bit_sim import BitAccurateSimulator  # noqa: E402


def out_degrees(net) -> dict[str, np.ndarray]:
    deg = {p.name: np.zeros(p.size, np.int64) for p in net.populations}
    for proj in net.projections:
        if proj.pre in deg:
            deg[proj.pre] += np.diff(proj.connectivity.indptr)
    return deg


def record(variant, simulator, res, setup, deg, **extra) -> dict:
    recurrent = sum(int(deg[pop][ids].sum()) for pop, ids in res.spike_ids.items() if pop in deg)
    wall = res.wall_time
    return {"case": "brunel", "variant": variant, "simulator": simulator, "bio_s": res.duration,
            "setup_s": round(setup, 2), "wall_s": round(wall, 3), "s_per_bio_s": round(wall / res.duration, 3),
            "synaptic_events": res.synaptic_events, "events_per_s": round(res.synaptic_events / wall),
            "recurrent_events": recurrent, "recurrent_events_per_s": round(recurrent / wall),
            "rate_hz": round(sum(res.spike_counts().values()) / sum(res.sizes.values()) / res.duration, 2),
            "rates_hz": {k: round(v, 2) for k, v in res.rates().items()}, **extra}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=0.5, help="biological seconds")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--skip-float", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = build(g=5.0, eta=2.0, scale=args.scale, k=None)
    build_s = time.perf_counter() - t0
    stats = net.stats()
    deg = out_degrees(net)
    steps = round(args.duration / net.dt)
    common = {"neurons": stats.neurons, "synapses": stats.synapses, "build_s": round(build_s, 2)}
    if not args.skip_float:
        t0 = time.perf_counter()
        sim = FloatSimulator(net)
        sim.run(2)  # compile (cached on disk after the first run)
        setup = time.perf_counter() - t0
        res = sim.run(steps)
        print(json.dumps(record("float (numba)", "ours-float", res, setup, deg, traffic=sim.traffic().to_dict(),
                                steps=steps, **common)), flush=True)
    for target, threads in (("fpga-lif", 1), ("fpga-lif", 2)):
        t0 = time.perf_counter()
        fx = Quantize(fmt=load_format(target)).run(net)
        sim = BitAccurateSimulator(fx, threads=threads)
        sim.run(2)  # compile (cached on disk after the first run)
        setup = time.perf_counter() - t0
        res = sim.run(steps)
        print(json.dumps(record(f"bit-accurate {target} (numba, {threads} thread{'s' * (threads > 1)})", "ours-bit",
                                res, setup, deg, format=target, threads=threads, traffic=sim.traffic().to_dict(),
                                steps=steps, **common)), flush=True)


if __name__ == "__main__":
    main()
