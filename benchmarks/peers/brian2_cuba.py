"""Brian2's own CUBA example (Vogels & Abbott 2005 as in Brian2's documentation: 4000 neurons,
2 % connectivity, dt 0.1 ms), timed on one code-generation target. Prints one JSON record.

    python benchmarks/peers/brian2_cuba.py --target numpy|cython [--duration 1]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    ap.add_argument("--duration", type=float, default=1.0)
    args = ap.parse_args()
    import brian2 as b2
    from brian2 import ms, mV

    b2.prefs.codegen.target = args.target
    # the names below look unused: Brian2 resolves them from this namespace in its equation strings
    b2.seed(1)
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    eqs = """dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
             dge/dt = -ge/taue : volt
             dgi/dt = -gi/taui : volt"""
    t0 = time.perf_counter()
    P = b2.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge, P.gi = 0 * mV, 0 * mV
    we, wi = (60 * 0.27 / 10) * mV, (-20 * 4.5 / 10) * mV
    Ce = b2.Synapses(P, P, on_pre="ge += we")
    Ci = b2.Synapses(P, P, on_pre="gi += wi")
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    mon = b2.SpikeMonitor(P)
    net = b2.Network(b2.collect())
    net.run(1 * ms)  # code generation and compilation (cython), not timed below
    setup = time.perf_counter() - t0
    before = mon.num_spikes
    t0 = time.perf_counter()
    net.run(args.duration * b2.second)
    wall = time.perf_counter() - t0
    out_degree = np.bincount(np.asarray(Ce.i[:]), minlength=4000) + np.bincount(np.asarray(Ci.i[:]), minlength=4000)
    spikes = np.asarray(mon.i[:])[before:]
    events = int(out_degree[spikes].sum())
    print(json.dumps({"case": "cuba", "variant": f"brian2 {b2.__version__} ({args.target})", "simulator": "brian2",
                      "target": args.target, "bio_s": args.duration, "setup_s": round(setup, 2),
                      "wall_s": round(wall, 3), "s_per_bio_s": round(wall / args.duration, 3),
                      "synaptic_events": events, "events_per_s": round(events / wall),
                      "rate_hz": round(spikes.size / 4000 / args.duration, 2),
                      "synapses": int(len(Ce) + len(Ci))}))


if __name__ == "__main__":
    main()
