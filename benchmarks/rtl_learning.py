"""The RTL learning engine on Verilator: clock cycles per plastic synapse event, per tick, and
against the same image on the inference core (weights frozen).

Cases (every run is also checked bit for bit against the bit-accurate simulator, weights and
traces included):
* song: examples/stdp_song.yaml (1000 plastic rows onto one neuron, 15 Hz inputs), epoch 1;
* dense-e1 / dense-e4: 64 Poisson inputs at 100 Hz onto 32 LIF neurons through 2048 plastic
  synapses (all to all), learning epoch 1 and 4.

A plastic synapse event is one synapse walked at an arrival (delivery and depression) or at a
potentiation; ``cycles_per_plastic_event`` divides the cycles of arrivals and potentiation by
them; ``tick_end_cycles_per_tick`` is the rewards and epoch decays.

    python benchmarks/rtl_learning.py [--ticks 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.image import build_contents
from nmcompiler.ir import LIF, STDP, Connectivity, Network, PoissonSource, Population, Projection
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.verify import verify_image
from nmcompiler.targets import load_target

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def dense(seed: int = 1) -> Network:
    rng = np.random.default_rng(seed)
    net = Network("dense_plastic", dt=1e-4, seed=seed)
    net.add(PoissonSource(name="in", size=64, rate=100.0))
    net.add(Population(name="p", size=32, model=LIF(tau_mem=0.01, v_threshold=1.0, v_reset=0.0)))
    rule = STDP(tau_pre=0.02, tau_post=0.02, A_plus=0.01, A_minus=0.0105, w_min=0.0, w_max=0.5)
    net.connect(Projection(name="in_p", pre="in", post="p", learning=rule,
                           connectivity=Connectivity.from_dense(rng.uniform(0.05, 0.3, (64, 32)), delays=1)))
    return net


def run_case(name: str, net: Network, ticks: int, target, params: CoreParams, frozen: CoreParams, epoch: int) -> dict:
    mapping, fx, report = compile_network(net, target, partitioner="index-order", learning_epoch=epoch)
    assert report.fits and report.cores_used == 1, report.misfits
    contents = build_contents(mapping, fx)
    t0 = time.perf_counter()
    res = verify_image(contents, params, ticks)
    wall = time.perf_counter() - t0
    base = verify_image(contents, frozen, ticks)  # the same image, plastic synapses as fixed ones
    cycles = int(np.sum(res.neuron_cycles) + np.sum(res.event_cycles) + np.sum(res.end_cycles))
    fixed = int(np.sum(base.neuron_cycles) + np.sum(base.event_cycles))
    return {"case": name, "ticks": ticks, "epoch": epoch, "mismatches": res.mismatches,
            "learning_mismatches": res.learning_mismatches, "spikes": res.rtl_spikes,
            "weights_changed": res.weights_changed, "plastic_events": res.learn_events,
            "cycles_per_plastic_event": round(res.learn_cycles / max(1, res.learn_events), 2),
            "tick_end_cycles_per_tick": round(float(np.mean(res.end_cycles)), 1),
            "cycles_per_tick": round(cycles / ticks, 1), "frozen_cycles_per_tick": round(fixed / ticks, 1),
            "frozen_mismatches": base.mismatches, "realtime_factor_at_100MHz": round(net.dt / (cycles / ticks / 100e6), 1),
            "rtl_seconds": round(res.seconds["rtl"], 2), "verify_wall_s": round(wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=2000)
    args = ap.parse_args()
    target = load_target("fpga-lif")
    depths = dict(neurons=32, axons=1024, entries=2048)
    params = CoreParams.of(target, **depths, learn=True, learn_units=1, plastic_rows=1024, plastic_entries=2048)
    frozen = CoreParams.of(target, **depths)
    song = load_network(str(EXAMPLES / "stdp_song.yaml"))
    for name, net, epoch in (("song", song, 1), ("dense-e1", dense(), 1), ("dense-e4", dense(), 4)):
        print(json.dumps(run_case(name, net, args.ticks, target, params, frozen, epoch)), flush=True)


if __name__ == "__main__":
    main()
