"""The Potjans-Diesmann microcircuit of examples/microcircuit.py (``build``, the published model)
in NEST 3.10, the same definition written with NEST's own primitives: ``iaf_psc_exp`` neurons,
``fixed_total_number`` connections with multapses and without autapses, normally distributed
weights and delays redrawn to their sign and above dt / 2, initial potentials N(-58 mV, 10 mV),
and the background as a DC current of K_ext x 8 Hz x w x tau_syn (``--background dc``) or as
one ``poisson_generator`` per population at K_ext x 8 Hz, connected to every neuron with the mean
weight and a 1.5 ms delay (``--background poisson``; each target gets its own train). Prints (or writes) each
population's rate after a 0.1 s transient, per seed.

    python -m venv /tmp/nest && /tmp/nest/bin/pip install nest-simulator==3.10 "numpy<2.4"
    /tmp/nest/bin/python benchmarks/peers/nest_microcircuit.py --scale 0.1 --seeds 1 2 3 \\
        --output tests/golden/nest_microcircuit_0.1.json

tests/test_microcircuit_rates.py compares our float simulation with the rates recorded so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nest
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from microcircuit import (BACKGROUND_DELAY, BACKGROUND_RATE, CONN_PROBS, DELAY_MEAN, DELAY_REL_SD, G,  # noqa: E402
                          K_EXT, POPULATIONS, SIZES, V0_MEAN, V0_SD, W_MEAN, W_REL_SD, synapse_count)

DT_MS, TRANSIENT_MS, MEASURE_MS = 0.1, 100.0, 1000.0


def run(scale: float, seed: int, threads: int = 1, background: str = "dc", timing: dict | None = None) -> dict[str, float]:
    """Each population's rate; ``timing`` (if given) gets the simulation's wall seconds."""
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus({"resolution": DT_MS, "rng_seed": seed, "local_num_threads": threads})
    sizes = _sizes(scale)
    params = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0, "E_L": -65.0,
              "V_th": -50.0, "V_reset": -65.0}
    pops = []
    for t, n in enumerate(sizes):
        pop = nest.Create("iaf_psc_exp", n, params=params)
        pop.V_m = nest.random.normal(mean=V0_MEAN * 1e3, std=V0_SD * 1e3)
        if background == "dc":  # pA: the mean of K_ext Poisson inputs at 8 Hz
            pop.I_e = K_EXT[t] * BACKGROUND_RATE * (W_MEAN * 1e12) * 0.5e-3
        else:
            gen = nest.Create("poisson_generator", params={"rate": K_EXT[t] * BACKGROUND_RATE})
            nest.Connect(gen, pop, "all_to_all", {"synapse_model": "static_synapse", "weight": W_MEAN * 1e12,
                                                  "delay": BACKGROUND_DELAY * 1e3})
        pops.append(pop)
    for t, target in enumerate(POPULATIONS):
        for s, source in enumerate(POPULATIONS):
            k = synapse_count(CONN_PROBS[t][s], sizes[s], sizes[t])
            if k == 0:
                continue
            kind = source[-1]
            mean = W_MEAN * 1e12 * (2.0 if (source, target) == ("L4E", "L23E") else 1.0) * (1.0 if kind == "E" else G)
            bounds = {"min": 0.0, "max": np.inf} if kind == "E" else {"min": -np.inf, "max": 0.0}
            delay = DELAY_MEAN[kind] * 1e3
            nest.Connect(pops[s], pops[t], {"rule": "fixed_total_number", "N": k, "allow_autapses": False,
                                            "allow_multapses": True},
                         {"synapse_model": "static_synapse",
                          "weight": nest.math.redraw(nest.random.normal(mean=mean, std=abs(mean) * W_REL_SD), **bounds),
                          "delay": nest.math.redraw(nest.random.normal(mean=delay, std=delay * DELAY_REL_SD),
                                                    min=DT_MS / 2, max=np.inf)})
    recorders = []
    for pop in pops:
        rec = nest.Create("spike_recorder", params={"start": TRANSIENT_MS})
        nest.Connect(pop, rec)
        recorders.append(rec)
    t0 = time.perf_counter()
    nest.Simulate(TRANSIENT_MS + MEASURE_MS)
    if timing is not None:
        timing["simulate_s"] = time.perf_counter() - t0
        timing["neurons"] = sum(sizes)
    return {name: rec.n_events / (n * MEASURE_MS / 1e3) for name, rec, n in zip(POPULATIONS, recorders, sizes)}


def _sizes(scale: float) -> list[int]:
    return [max(1, int(round(n * scale))) for n in SIZES]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--output", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1,
                    help="NEST threads (full scale needs 3 or more: NEST holds at most 2^27 connections per thread)")
    ap.add_argument("--background", choices=["dc", "poisson"], default="dc")
    ap.add_argument("--record", action="store_true", help="one JSON record per seed (the benchmark suite's)")
    args = ap.parse_args()
    runs = {}
    for seed in args.seeds:
        t0, timing = time.perf_counter(), {}
        runs[str(seed)] = run(args.scale, seed, args.threads, args.background, timing)
        if args.record:
            bio_s = (TRANSIENT_MS + MEASURE_MS) / 1e3
            rates = runs[str(seed)]
            print(json.dumps({
                "case": "microcircuit_sim", "variant": f"nest {nest.__version__} ({args.threads} threads)",
                "simulator": "nest", "threads": args.threads, "scale": args.scale, "seed": seed,
                "build_s": round(time.perf_counter() - t0 - timing["simulate_s"], 2), "bio_s": bio_s,
                "wall_s": round(timing["simulate_s"], 2), "s_per_bio_s": round(timing["simulate_s"] / bio_s, 3),
                "rate_hz": round(sum(r * n for r, n in zip(rates.values(), _sizes(args.scale))) / timing["neurons"], 3),
                "rates_hz": {k: round(v, 3) for k, v in rates.items()}}), flush=True)
            continue
        print(f"seed {seed} ({time.perf_counter() - t0:.1f} s):",
              ", ".join(f"{k} {v:.2f}" for k, v in runs[str(seed)].items()), flush=True)
    doc = {"nest": nest.__version__, "scale": args.scale, "background": args.background, "threads": args.threads, "dt_ms": DT_MS, "transient_ms": TRANSIENT_MS,
           "measure_ms": MEASURE_MS, "rates_hz": runs}
    if args.output is not None:
        args.output.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
