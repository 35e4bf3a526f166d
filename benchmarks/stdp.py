"""Learning in our float simulator, two records:

* ``stdp_song``: examples/stdp_song.yaml (Brian2's STDP example, after Song, Miller & Abbott
  2000) for ``--duration`` biological seconds per seed: the learned weight distribution, the
  output rate and the wall time; ``benchmarks/peers/brian2_stdp.py`` runs Brian2 on the same
  network and ``benchmarks/suite.py`` puts them side by side (goal: the fractions of weights
  within 10 % of gmax agree within 5 points).
* ``stdp_cuba``: examples/cuba.yaml with every excitatory-to-excitatory synapse plastic
  (additive STDP) against the same network with fixed weights, synaptic events per second of
  each in this run, in the float simulator and bit-accurately on fpga-lif's learning engine
  (learning epochs 1 and 4) (goal: plastic >= 1/3 of fixed in both simulators).

    python benchmarks/stdp.py [--duration 100] [--seeds 1 2 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from nmcompiler import load_network
from nmcompiler.analysis import weight_distribution
from nmcompiler.ir import STDP
from nmcompiler.sim import FloatSimulator

ROOT = Path(__file__).resolve().parent.parent


def song(duration: float, seed: int) -> dict:
    net = load_network(ROOT / "examples" / "stdp_song.yaml")
    rule = net.projections[0].learning
    sim = FloatSimulator(net, seed=seed)
    sim.run(10)  # compile (cached on disk after the first run)
    result = sim.run(round(duration / net.dt))
    dist = weight_distribution(result.weights["plastic"].final, rule.w_min, rule.w_max)
    return {"case": "stdp_song", "simulator": "ours-float", "variant": "float (numba)", "seed": seed,
            "bio_s": duration, "wall_s": round(result.wall_time, 3),
            "s_per_bio_s": round(result.wall_time / duration, 4), "rate_hz": round(result.rates()["neuron"], 3),
            **dist.to_json()}


def plastic_cuba():
    """CUBA with e_to_e learning: weights start at 1.62 mV, bounded in [0, 3.24 mV]."""
    from dataclasses import replace

    net = load_network(ROOT / "examples" / "cuba.yaml")
    proj = net.disconnect("e_to_e")
    w = 1.62e-3
    net.connect(replace(proj, learning=STDP(tau_pre=0.02, tau_post=0.02, A_plus=0.01 * w, A_minus=0.0105 * w,
                                            w_min=0.0, w_max=2 * w)))
    return net


def cuba(repeat: int, simulator: str = "float", epoch: int = 1) -> dict:
    out = {}
    for label, net in (("fixed", load_network(ROOT / "examples" / "cuba.yaml")), ("plastic", plastic_cuba())):
        sim = _simulator(net, simulator, epoch)
        sim.run(10)
        t0 = time.perf_counter()
        runs = [sim.run(round(1.0 / net.dt)) for _ in range(repeat)]
        best = min(runs, key=lambda r: r.wall_time)
        out[label] = {"wall_s": round(best.wall_time, 4), "synaptic_events": best.synaptic_events,
                      "events_per_s": round(best.synaptic_events / best.wall_time),
                      "spikes": sum(best.spike_counts().values()), "total_s": round(time.perf_counter() - t0, 2)}
    ratio = out["plastic"]["events_per_s"] / out["fixed"]["events_per_s"]
    variant = "float (numba)" if simulator == "float" else f"bit-accurate fpga-lif (numba), learning epoch {epoch}"
    return {"case": "stdp_cuba", "simulator": f"ours-{simulator}", "variant": variant, "bio_s": 1.0, **out,
            "plastic_over_fixed": round(ratio, 3), "epoch": epoch}


def _simulator(net, simulator: str, epoch: int):
    if simulator == "float":
        return FloatSimulator(net)
    from nmcompiler.passes import Quantize
    from nmcompiler.sim.bit_sim import BitAccurateSimulator
    from nmcompiler.targets import load_target

    target = load_target("fpga-lif")
    return BitAccurateSimulator(Quantize(fmt=target.format, learning=target.learning, learning_epoch=epoch).run(net))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=100.0, help="biological seconds of the STDP example")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for seed in args.seeds:
        print(json.dumps(song(args.duration, seed)), flush=True)
    print(json.dumps(cuba(args.repeat)))
    for epoch in (1, 4):
        print(json.dumps(cuba(args.repeat, "bit", epoch)))


if __name__ == "__main__":
    main()
