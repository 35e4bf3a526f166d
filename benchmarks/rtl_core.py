"""The RTL core on Verilator: cycles per tick, synaptic operations per cycle, simulation speed,
and (with --synth) iCE40 resources of the 256-neuron fpga-lif core.

Cases (every run is also checked bit for bit against the bit-accurate simulator):
* cuba-slice: one 256-neuron core of the CUBA network (examples/cuba.yaml parameters, 2 %
  connectivity inside the core); the other 3744 CUBA neurons are replaced by Poisson sources with
  the same input rate per neuron (760 channels at 29.6 Hz instead of 3744 at 6 Hz).
* free-run: the simulator's own speed on the cuba-slice core (tick held high, no events, no
  Python in the loop).
* dense-rows: 24 sources each connected to all 256 neurons (rows of 256 synapses), 8 events per
  tick: the streaming throughput of the event phase.

* lanes (--lanes 1,2,4): the core with N synapse lanes on dense-rows (rows of 256 synapses, each
  event's row a run of consecutive neurons: every bank takes a lane each cycle) and on cuba-slice
  (sparse 2 % rows: lanes wait for their bank); synaptic operations per event-phase cycle against N.

* chips (--chips): image-initialized multi-core chips, their memories read from the image's
  ``$readmemh`` files: CUBA on 8 loihi-like and on 16 spinnaker-like cores, synfire on 9
  truenorth-like (crossbar) cores; Verilog, a cold Verilator build (an empty cache folder) and the
  run, each timed.

    python benchmarks/rtl_core.py [--ticks 2000] [--synth] [--chips] [--lanes 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from nmcompiler.image import build_contents
from nmcompiler.ir import Connectivity, CubaLIF, Network, PoissonSource, Population, Projection, SpikeSource
from nmcompiler.compiler import compile_network
from nmcompiler.targets import load_target
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.load import core_load
from nmcompiler.rtl.runner import build, free_run
from nmcompiler.rtl.verify import verify_image

MV = 1e-3


def cuba_slice(seed: int = 1) -> Network:
    rng = np.random.default_rng(seed)
    net = Network("cuba_slice", dt=1e-4, seed=seed)
    model = CubaLIF(tau_mem=20e-3, tau_syn=[5e-3, 10e-3], v_leak=-49 * MV, v_threshold=-50 * MV, v_reset=-60 * MV,
                    refractory=5e-3, receptor_names=("exc", "inh"))
    sizes = {"exc": 205, "inh": 51}
    for name, n in sizes.items():
        net.add(Population(name=name, size=n, model=model, initial={"v": rng.uniform(-60 * MV, -50 * MV, n)}))
    net.add(PoissonSource(name="ext_e", size=608, rate=29.6))
    net.add(PoissonSource(name="ext_i", size=152, rate=29.6))
    for pre, w, rec in (("exc", 1.62 * MV, "exc"), ("inh", -9 * MV, "inh"), ("ext_e", 1.62 * MV, "exc"),
                        ("ext_i", -9 * MV, "inh")):
        n_pre = net.node(pre).size
        for post, n_post in sizes.items():
            pi, qi = np.nonzero(rng.random((n_pre, n_post)) < 0.02)
            net.connect(Projection(name=f"{pre}_{post}", pre=pre, post=post, receptor=rec,
                                   connectivity=Connectivity.from_coo(n_pre, n_post, pi, qi, np.full(pi.size, w), 1)))
    return net


def dense_rows(ticks: int) -> Network:
    net = Network("dense_rows", dt=1e-3, seed=2)
    t = np.repeat(np.arange(ticks), 8)
    ids = (np.arange(t.size) * 7) % 24
    net.add(SpikeSource(name="in", size=24, ids=ids, times=t * 1e-3))
    net.add(Population(name="p", size=256, model=CubaLIF(tau_mem=20e-3, tau_syn=[5e-3], v_threshold=1.0,
                                                         receptor_names=("syn",))))
    pi, qi = np.divmod(np.arange(24 * 256), 256)
    w = np.random.default_rng(0).normal(0.02, 0.05, pi.size)
    net.connect(Projection(name="in_p", pre="in", post="p", receptor="syn",
                           connectivity=Connectivity.from_coo(24, 256, pi, qi, w, 1 + qi % 16)))
    return net


def run_case(name: str, net: Network, ticks: int, params, target) -> dict:
    mapping, fx, report = compile_network(net, target, partitioner="index-order")
    assert report.fits, report.misfits
    contents = build_contents(mapping, fx)
    t0 = time.perf_counter()
    res = verify_image(contents, params, ticks)
    wall = time.perf_counter() - t0
    neuron, event = np.array(res.neuron_cycles), np.array(res.event_cycles)
    cycles = int(neuron.sum() + event.sum())
    return {"case": name, "ticks": ticks, "neurons": int(contents.meta["neurons"]), "mismatches": res.mismatches,
            "spikes": res.rtl_spikes, "synops": res.synops, "cycles": cycles,
            "cycles_per_tick": round(cycles / ticks, 1), "neuron_phase_cycles_per_tick": round(float(neuron.mean()), 1),
            "event_phase_cycles_per_tick": round(float(event.mean()), 1),
            "synops_per_event_cycle": round(res.synops / max(1, int(event.sum())), 3),
            "rtl_seconds": round(res.seconds["rtl"], 2), "simulated_cycles_per_s": round(cycles / res.seconds["rtl"]),
            "verify_wall_s": round(wall, 2), "realtime_factor_at_100MHz": round(
                net.dt / (cycles / ticks / 100e6), 1)}


def lane_cases(ticks: int, lanes: list[int], target) -> None:
    """Synaptic operations per event-phase cycle with N lanes (``ratio_to_lanes``: of N)."""
    for name, net, steps in (("dense-rows", dense_rows(ticks // 10), ticks // 10), ("cuba-slice", cuba_slice(), ticks)):
        for n in lanes:
            rec = run_case(name, net, steps, CoreParams.of(target, lanes=n), target)
            print(json.dumps(rec | {"case": "lanes", "network": name, "lanes": n,
                                    "ratio_to_lanes": round(rec["synops_per_event_cycle"] / n, 3)}))


def chip_cases(ticks: int) -> None:
    """Image-initialized chips from cold: Verilog, Verilator build and run, checked bit for bit."""
    import tempfile
    from pathlib import Path

    from nmcompiler import load_network
    from nmcompiler.rtl.chip import ChipParams
    from nmcompiler.rtl.load import chip_load
    from nmcompiler.rtl.runner import simulation_verilog

    examples = Path(__file__).resolve().parent.parent / "examples"
    for example, target_name, steps in (("cuba.yaml", "loihi-like", ticks), ("cuba.yaml", "spinnaker-like", ticks),
                                        ("synfire.yaml", "truenorth-like", 10 * ticks)):
        mapping, fx, report = compile_network(load_network(examples / example), load_target(target_name),
                                              partitioner="index-order")
        assert report.fits, report.misfits
        contents = build_contents(mapping, fx)
        params = CoreParams.of(mapping.target)
        chip = ChipParams.of(params, len(contents.cores))
        t0 = time.perf_counter()
        text = simulation_verilog(chip, chip_load(contents, chip), "nmc_chip_init")
        verilog_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory(prefix="nmc-bench-rtl-") as cache:
            res = verify_image(contents, params, steps, build_root=Path(cache), load="files")
        print(json.dumps({"case": "chip-from-files", "network": example, "target": target_name,
                          "cores": len(contents.cores), "storage": params.storage, "ticks": steps,
                          "mismatches": res.mismatches, "spikes": res.rtl_spikes, "synops": res.synops,
                          "verilog_kb": round(len(text) / 1e3), "verilog_s": round(verilog_s, 1),
                          "build_s": round(res.seconds["build"], 1), "run_s": round(res.seconds["rtl"], 1)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=2000)
    ap.add_argument("--synth", action="store_true", help="also synthesize for iCE40 (about 3 minutes)")
    ap.add_argument("--chips", action="store_true", help="also build and run image-initialized chips (about 4 minutes)")
    ap.add_argument("--lanes", default="", help="comma-separated lane counts to measure (e.g. 1,2,4)")
    args = ap.parse_args()
    target = load_target("fpga-lif")
    params = CoreParams.of(target)
    t0 = time.perf_counter()
    b = build(params)
    print(json.dumps({"case": "build", "seconds": round(time.perf_counter() - t0, 1), "digest": b.digest}))
    for name, net in (("cuba-slice", cuba_slice()), ("dense-rows", dense_rows(args.ticks // 10))):
        ticks = args.ticks if name == "cuba-slice" else args.ticks // 10
        print(json.dumps(run_case(name, net, ticks, params, target)))
    # the simulator alone: tick held high, one timer, no Python per cycle, event or spike
    mapping, fx, _ = compile_network(cuba_slice(), target, partitioner="index-order")
    load = core_load(build_contents(mapping, fx).cores[0], params)
    cycles = 2_000_000
    r = free_run(b, load, cycles)
    print(json.dumps({"case": "free-run", "core_neurons": params.neurons, "cycles": cycles,
                      "seconds": round(r["seconds"], 2), "cycles_per_s": round(cycles / r["seconds"]),
                      "ticks": r["counters"]["ticks"], "spikes": r["counters"]["spikes"]}))
    if args.lanes:
        lane_cases(args.ticks, [int(n) for n in args.lanes.split(",")], target)
    if args.chips:
        chip_cases(max(1, args.ticks // 20))
    if args.synth:
        from nmcompiler.rtl.synth import synth_ice40

        t0 = time.perf_counter()
        from nmcompiler.rtl.runner import TOPLEVEL, verilog

        # the Verilog `nmc rtl` writes (zero initial values included), not the simulation build's
        stats = synth_ice40(verilog(params), TOPLEVEL)
        stats.pop("cells")
        print(json.dumps({"case": "ice40", "core": params.describe(), **stats,
                          "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
