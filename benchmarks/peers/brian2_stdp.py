"""Brian2's own STDP example (``examples/synapses/STDP.py``, after Song, Miller & Abbott 2000):
1000 Poisson inputs at 15 Hz onto one neuron, additive STDP bounded in [0, gmax], run for
``--duration`` seconds of biological time. Prints one JSON record per seed: the final weight
distribution (:func:`nmcompiler.analysis.weight_distribution`: the fractions within 10 % of gmax
and of 0, a 20-bin histogram of w / gmax, bimodal or not), the mean weight every 10 s, the output
rate and the wall time. ``--golden FILE`` also writes the records to FILE (the golden that
``tests/test_stdp_song.py`` compares nmcompiler's float simulator with, without Brian2).

    python benchmarks/peers/brian2_stdp.py [--duration 100] [--seeds 1 2 3] [--target cython|numpy]
                                           [--golden tests/golden/brian2_stdp.json]
"""

from __future__ import annotations

import argparse
import json
import time

from pathlib import Path

import numpy as np

from nmcompiler.analysis import weight_distribution


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="cython", choices=["numpy", "cython"])
    ap.add_argument("--duration", type=float, default=100.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--golden", type=Path, help="also write the records here, as JSON")
    args = ap.parse_args()
    records = [run(args.target, args.duration, seed) for seed in args.seeds]
    for rec in records:
        print(json.dumps(rec))
    if args.golden:
        doc = {"source": "Brian2's examples/synapses/STDP.py, run by benchmarks/peers/brian2_stdp.py "
                         f"--duration {args.duration:g} --seeds {' '.join(map(str, args.seeds))}", "runs": records}
        args.golden.write_text(json.dumps(doc, indent=1) + "\n")


def run(target: str, duration: float, seed: int) -> dict:
    import brian2 as b2
    from brian2 import Hz, ms, mV

    b2.prefs.codegen.target = target
    b2.seed(seed)
    # the names below look unused: Brian2 resolves them from this namespace in its equation strings
    N, taum, taupre, taupost = 1000, 10 * ms, 20 * ms, 20 * ms
    Ee, vt, vr, El, taue, F = 0 * mV, -54 * mV, -60 * mV, -74 * mV, 5 * ms, 15 * Hz
    gmax, dApre = 0.01, 0.01
    dApost = -dApre * taupre / taupost * 1.05 * gmax
    dApre *= gmax
    eqs = """dv/dt = (ge * (Ee-vr) + El - v) / taum : volt
             dge/dt = -ge / taue : 1"""
    t0 = time.perf_counter()
    inputs = b2.PoissonGroup(N, rates=F)
    neuron = b2.NeuronGroup(1, eqs, threshold="v>vt", reset="v = vr", method="euler")
    S = b2.Synapses(inputs, neuron,
                    """w : 1
                       dApre/dt = -Apre / taupre : 1 (event-driven)
                       dApost/dt = -Apost / taupost : 1 (event-driven)""",
                    on_pre="""ge += w
                              Apre += dApre
                              w = clip(w + Apost, 0, gmax)""",
                    on_post="""Apost += dApost
                               w = clip(w + Apre, 0, gmax)""")
    S.connect()
    S.w = "rand() * gmax"
    out = b2.SpikeMonitor(neuron)
    net = b2.Network(b2.collect())
    net.run(1 * ms)  # code generation and compilation (cython), not timed below
    setup = time.perf_counter() - t0
    means = [float(np.mean(S.w[:]))]
    t0 = time.perf_counter()
    chunk = min(10.0, duration)
    done = 0.0
    while done < duration - 1e-9:
        step = min(chunk, duration - done)
        net.run(step * b2.second)
        done += step
        means.append(float(np.mean(S.w[:])))
    wall = time.perf_counter() - t0
    dist = weight_distribution(np.asarray(S.w[:]), 0.0, gmax)
    return {"case": "stdp_song", "simulator": "brian2", "variant": f"brian2 {b2.__version__} ({target})",
            "seed": seed, "bio_s": duration, "setup_s": round(setup, 2), "wall_s": round(wall, 2),
            "s_per_bio_s": round(wall / duration, 4), "rate_hz": round(out.num_spikes / (duration + 1e-3), 3),
            "mean_every_10s": [m / gmax for m in means], **dist.to_json()}


if __name__ == "__main__":
    main()
