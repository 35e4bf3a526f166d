"""The Potjans-Diesmann microcircuit (examples/microcircuit.py ``build``, the published model, DC
background) simulated by our float simulator: each population's rate over 1 s after a 0.1 s
transient, as ``benchmarks/peers/nest_microcircuit.py --record`` measures NEST on the same
definition; the suite puts the two side by side (case group ``microcircuit-sim``).

    python benchmarks/microcircuit_sim.py [--scale 1.0] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from microcircuit import POPULATIONS, build  # noqa: E402

from nmcompiler.sim import FloatSimulator  # noqa: E402

TRANSIENT_S, MEASURE_S = 0.1, 1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = build(args.scale, seed=args.seed)
    build_s = time.perf_counter() - t0
    sim = FloatSimulator(net)
    sim.run(2)  # compile (cached on disk after the first run)
    steps, skip = round((TRANSIENT_S + MEASURE_S) / net.dt), round(TRANSIENT_S / net.dt)
    res = sim.run(steps)
    rates = {p: float(np.sum(res.spike_steps[p] >= skip)) / (net.node(p).size * MEASURE_S) for p in POPULATIONS}
    neurons = sum(net.node(p).size for p in POPULATIONS)
    print(json.dumps({
        "case": "microcircuit_sim", "variant": "float (numba)", "simulator": "ours-float", "scale": args.scale,
        "seed": args.seed, "neurons": neurons, "synapses": net.stats().synapses, "build_s": round(build_s, 2),
        "bio_s": res.duration, "wall_s": round(res.wall_time, 2), "s_per_bio_s": round(res.wall_time / res.duration, 3),
        "synaptic_events": res.synaptic_events, "events_per_s": round(res.synaptic_events / res.wall_time),
        "rate_hz": round(sum(r * net.node(p).size for p, r in rates.items()) / neurons, 3),
        "rates_hz": {p: round(r, 3) for p, r in rates.items()}, "steps": steps, "traffic": sim.traffic().to_dict(),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}), flush=True)


if __name__ == "__main__":
    main()
