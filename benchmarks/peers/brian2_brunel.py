"""Brian2's Brunel (2000) example (``examples/frompapers/Brunel_2000.py`` in Brian2's
documentation), regime C: g = 5, nu_ext / nu_thr = 2, dt 0.1 ms, on one code-generation target.
Recurrent synaptic events are counted exactly (out-degree of every spike); the external
PoissonInput has no explicit events: its expected count is reported separately.

    python benchmarks/peers/brian2_brunel.py --target numpy|cython [--duration 0.5]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    ap.add_argument("--duration", type=float, default=0.5)
    args = ap.parse_args()
    import brian2 as b2
    from brian2 import Hz, ms, mV

    b2.prefs.codegen.target = args.target
    # the names below look unused: Brian2 resolves them from this namespace in its equation strings
    b2.seed(1)
    b2.defaultclock.dt = 0.1 * ms
    N_E, N_I, epsilon = 10000, 2500, 0.1
    C_E = int(epsilon * N_E)
    tau, theta, V_r, tau_rp, J, D = 20 * ms, 20 * mV, 10 * mV, 2 * ms, 0.1 * mV, 1.5 * ms
    g, eta = 5.0, 2.0
    nu_thr = theta / (J * C_E * tau)
    t0 = time.perf_counter()
    neurons = b2.NeuronGroup(N_E + N_I, "dv/dt = -v/tau : volt (unless refractory)", threshold="v > theta",
                             reset="v = V_r", refractory=tau_rp, method="exact")
    exc = b2.Synapses(neurons[:N_E], target=neurons, on_pre="v += J", delay=D)
    exc.connect(p=epsilon)
    inh = b2.Synapses(neurons[N_E:], target=neurons, on_pre="v += -g*J", delay=D)
    inh.connect(p=epsilon)
    nu_ext = eta * nu_thr
    ext = b2.PoissonInput(target=neurons, target_var="v", N=C_E, rate=nu_ext, weight=J)
    mon = b2.SpikeMonitor(neurons)
    net = b2.Network(neurons, exc, inh, ext, mon)
    net.run(1 * ms)  # code generation and compilation (cython), not timed below
    setup = time.perf_counter() - t0
    before = mon.num_spikes
    t0 = time.perf_counter()
    net.run(args.duration * b2.second)
    wall = time.perf_counter() - t0
    n = N_E + N_I
    out_degree = np.bincount(np.asarray(exc.i[:]), minlength=n) + np.bincount(np.asarray(inh.i[:]) + N_E, minlength=n)
    spikes = np.asarray(mon.i[:])[before:]
    recurrent = int(out_degree[spikes].sum())
    external = float(n * C_E * nu_ext / Hz * args.duration)
    print(json.dumps({"case": "brunel", "variant": f"brian2 {b2.__version__} ({args.target})", "simulator": "brian2",
                      "target": args.target, "bio_s": args.duration, "setup_s": round(setup, 2),
                      "wall_s": round(wall, 3), "s_per_bio_s": round(wall / args.duration, 3),
                      "recurrent_events": recurrent, "recurrent_events_per_s": round(recurrent / wall),
                      "external_events_expected": round(external),
                      "events_per_s": round((recurrent + external) / wall),
                      "rate_hz": round(spikes.size / n / args.duration, 2),
                      "synapses": int(len(exc) + len(inh))}))


if __name__ == "__main__":
    main()
