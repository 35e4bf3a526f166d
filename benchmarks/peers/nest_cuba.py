"""Brian2's CUBA example (``brian2_cuba.py``: Vogels & Abbott 2005, 4000 neurons, 2 %
connectivity, dt 0.1 ms) in NEST 3.10 with NEST's own primitives: ``iaf_psc_exp`` neurons (tau_m
20 ms, exponential currents of 5 ms and 10 ms, threshold -50 mV, reset -60 mV, rest -49 mV,
refractory 5 ms, exact integration as Brian2's ``method="exact"``), ``pairwise_bernoulli``
connections from the first 3200 (excitatory) and the last 800 (inhibitory) neurons, initial
potentials uniform in [reset, threshold]. Brian2 writes the currents in volts
(``dv/dt = (ge + gi - (v - El)) / taum``), so a jump of ``we`` volts is a current of
``we x C_m / tau_m``. Prints one JSON record.

    python benchmarks/peers/nest_cuba.py [--threads 2] [--duration 1]
"""

from __future__ import annotations

import json
import time

from nest_common import arguments, mean_out_degree, nest_variant, setup_kernel, timed_run


def main() -> None:
    args = arguments(1.0)
    nest = setup_kernel(args.threads, args.seed)
    n, n_e = 4000, 3200
    c_m, tau_m, v_t, v_r = 250.0, 20.0, -50.0, -60.0
    we, wi = 60 * 0.27 / 10, -20 * 4.5 / 10  # mV, Brian2's
    t0 = time.perf_counter()
    neurons = nest.Create("iaf_psc_exp", n, params={
        "C_m": c_m, "tau_m": tau_m, "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "t_ref": 5.0, "E_L": -49.0,
        "V_th": v_t, "V_reset": v_r, "I_e": 0.0})
    neurons.V_m = nest.random.uniform(v_r, v_t)
    rule = {"rule": "pairwise_bernoulli", "p": 0.02, "allow_autapses": True}
    nest.Connect(neurons[:n_e], neurons, rule, {"weight": we * c_m / tau_m, "delay": 0.1})
    nest.Connect(neurons[n_e:], neurons, rule, {"weight": wi * c_m / tau_m, "delay": 0.1})
    senders, setup, wall = timed_run(nest, neurons, args.duration, t0)
    degree = mean_out_degree(nest, n, other=n)  # the recorder's
    events = round(degree * senders.size)
    print(json.dumps({"case": "cuba", "variant": nest_variant(nest, args.threads), "simulator": "nest",
                      "threads": args.threads, "bio_s": args.duration, "setup_s": round(setup, 2),
                      "wall_s": round(wall, 3), "s_per_bio_s": round(wall / args.duration, 3),
                      "synaptic_events": events, "events_per_s": round(events / wall),
                      "rate_hz": round(senders.size / n / args.duration, 2), "synapses": round(degree * n)}))


if __name__ == "__main__":
    main()
