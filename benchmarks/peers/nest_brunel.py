"""Brunel (2000) regime C in NEST 3.10, the definition of ``brian2_brunel.py`` (Brian2's example)
written with NEST's own primitives: 12,500 ``iaf_psc_delta`` neurons (tau 20 ms, threshold 20 mV,
reset 10 mV, refractory 2 ms, input during refractoriness discarded as Brian2's ``unless
refractory`` does), Bernoulli connectivity p = 0.1 from the 10,000 excitatory and 2,500 inhibitory
neurons (J = 0.1 mV, g = 5, delay 1.5 ms), and the external drive as one ``poisson_generator`` at
C_E x nu_ext (each target draws its own train), weight J. Recurrent synaptic events are counted
as spikes x the mean out-degree (``nest_common.mean_out_degree``). Prints one JSON record.

    python benchmarks/peers/nest_brunel.py [--threads 2] [--duration 0.5]
"""

from __future__ import annotations

import json
import time

from nest_common import arguments, mean_out_degree, nest_variant, setup_kernel, timed_run


def main() -> None:
    args = arguments(0.5)
    nest = setup_kernel(args.threads, args.seed)
    n_e, n_i, epsilon = 10000, 2500, 0.1
    c_e = int(epsilon * n_e)
    tau, theta, v_r, tau_rp, j, d, g, eta = 20.0, 20.0, 10.0, 2.0, 0.1, 1.5, 5.0, 2.0
    nu_thr = theta / (j * c_e * tau) * 1000.0  # Hz
    t0 = time.perf_counter()
    neurons = nest.Create("iaf_psc_delta", n_e + n_i, params={
        "tau_m": tau, "V_th": theta, "V_reset": v_r, "t_ref": tau_rp, "E_L": 0.0, "V_m": 0.0, "C_m": 1.0,
        "refractory_input": False})
    rule = {"rule": "pairwise_bernoulli", "p": epsilon, "allow_autapses": True}
    nest.Connect(neurons[:n_e], neurons, rule, {"weight": j, "delay": d})
    nest.Connect(neurons[n_e:], neurons, rule, {"weight": -g * j, "delay": d})
    noise = nest.Create("poisson_generator", params={"rate": eta * nu_thr * c_e})
    nest.Connect(noise, neurons, syn_spec={"weight": j, "delay": 0.1})
    senders, setup, wall = timed_run(nest, neurons, args.duration, t0)
    n = n_e + n_i
    degree = mean_out_degree(nest, n, other=2 * n)  # the generator's and the recorder's
    recurrent = round(degree * senders.size)
    external = float(n * c_e * eta * nu_thr * args.duration)
    rates = {"exc": senders[senders < n_e].size / n_e / args.duration,
             "inh": senders[senders >= n_e].size / n_i / args.duration}
    print(json.dumps({"case": "brunel", "variant": nest_variant(nest, args.threads), "simulator": "nest",
                      "threads": args.threads, "bio_s": args.duration, "setup_s": round(setup, 2),
                      "wall_s": round(wall, 3), "s_per_bio_s": round(wall / args.duration, 3),
                      "recurrent_events": recurrent, "recurrent_events_per_s": round(recurrent / wall),
                      "external_events_expected": round(external),
                      "events_per_s": round((recurrent + external) / wall),
                      "rate_hz": round(senders.size / n / args.duration, 2),
                      "rates_hz": {k: round(v, 2) for k, v in rates.items()}, "synapses": round(degree * n)}))


if __name__ == "__main__":
    main()
