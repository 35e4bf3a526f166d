"""Potjans-Diesmann microcircuit (examples/microcircuit.py) onto loihi-like: build and compile
time, peak memory, cores against the bound, traffic against index order.

Goal (mapping milestone): full scale (77,169 neurons, ~0.3 billion synapses) in <= 120 s and
<= 12 GB, cores within 1.1x of the lower bound. Fan-in (up to 5,868 inputs per neuron against
4,096 input axons) goes through partial-sum compartments.

    python benchmarks/microcircuit.py [--scale 1.0] [--target loihi-like] [--simulate-ms 0]
                                      [--image] [--image-check-ms 0]

``--image`` also builds the configuration image (partial-sum compartments included) and reports
its seconds and bytes; ``--image-check-ms`` then runs the bit-accurate simulator on the decoded
image and on the unmapped network and reports whether their spikes are identical.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from microcircuit import build_simplified as build  # noqa: E402  (the mapping figures rest on it)

from nmcompiler.compiler import compile_network  # noqa: E402
from nmcompiler.targets import load_target  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--target", default="loihi-like")
    ap.add_argument("--partitioner", default="auto", help="as nmc compile --partitioner")
    ap.add_argument("--simulate-ms", type=float, default=0.0, help="also run the float simulator this long")
    ap.add_argument("--image", action="store_true", help="also build and encode the configuration image")
    ap.add_argument("--image-check-ms", type=float, default=0.0,
                    help="simulate the image and the unmapped network this long and compare the spikes")
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = build(args.scale)
    stats = net.stats()  # counts each projection's fan-in, which the compile's design rules reuse: timed
    build_s = time.perf_counter() - t0
    out = {"case": "microcircuit", "scale": args.scale, "neurons": stats.neurons, "synapses": stats.synapses, "build_s": round(build_s, 2)}
    if args.simulate_ms:
        from nmcompiler.sim import simulate

        t0 = time.perf_counter()
        res = simulate(net, duration=args.simulate_ms * 1e-3)
        out["simulate_s"] = round(time.perf_counter() - t0, 2)
        out["rates_hz"] = {k: round(v, 2) for k, v in res.rates().items()}
    t0 = time.perf_counter()
    mapping, fx, r = compile_network(net, load_target(args.target), partitioner=args.partitioner)
    out.update({"target": args.target, "compile_s": round(time.perf_counter() - t0, 2), "cores_used": r.cores_used,
                "cores_lower_bound": r.cores_lower_bound, "partitioner": r.partitioner,
                "cores_over_bound": round(r.cores_used / max(r.cores_lower_bound, 1), 3),
                "inter_core_spikes": r.inter_core_spikes,
                "inter_core_spikes_index_order": r.inter_core_spikes_index_order,
                "traffic_reduction_vs_index_order": (round(r.inter_core_spikes_index_order / max(r.inter_core_spikes, 1), 2)
                                                     if r.inter_core_spikes_index_order is not None else None),
                "partial_sums": r.to_json()["partial_sums"], "fits": r.fits, "misfits": r.misfits,
                # spikes plus partial-sum messages against index order's spikes (messages are packets too)
                "packets_reduction_vs_index_order": (round(r.inter_core_spikes_index_order / max(
                    r.inter_core_spikes + r.partial_sums.messages_per_second, 1), 2)
                    if r.partial_sums and r.inter_core_spikes_index_order is not None else None),
                "average_hops": round(r.average_hops, 3), "max_link_load": r.max_link_load,
                "passes": r.passes,
                "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)})
    if args.image or args.image_check_ms:
        del net  # the image and the check need the mapping and the fixed-point network only
        with tempfile.TemporaryDirectory() as tmp:
            image = Path(tmp) / "microcircuit.nmc"
            out.update(_image(mapping, fx, image))
            del mapping
            if args.image_check_ms:
                out.update(_check(image, fx, args.image_check_ms))
    print(json.dumps(out))


def _image(mapping, fx, path: Path) -> dict:
    from nmcompiler.fileio import write_bytes
    from nmcompiler.image import build_contents, encode_image

    t0 = time.perf_counter()
    data = encode_image(build_contents(mapping, fx))
    write_bytes(path, data)  # as nmc compile writes it: piece by piece, into a temporary file renamed
    return {"image_s": round(time.perf_counter() - t0, 2), "image_bytes": data.size,
            "image_peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def _check(path: Path, fx, check_ms: float) -> dict:
    """Simulate the image read back from ``path`` and the unmapped network; same spikes?"""
    import numpy as np

    from nmcompiler.image import decode, to_program
    from nmcompiler.sim.bit_sim import BitAccurateSimulator

    t0 = time.perf_counter()
    prog = to_program(decode(path.read_bytes()))
    out = {"image_decode_s": round(time.perf_counter() - t0, 2)}
    steps = max(1, int(round(check_ms * 1e-3 / prog.dt)))
    t0 = time.perf_counter()
    a = BitAccurateSimulator(prog).run(steps)
    out["image_simulate_s"] = round(time.perf_counter() - t0, 2)
    del prog  # one simulation at a time holds its tables
    t0 = time.perf_counter()
    b = BitAccurateSimulator(fx).run(steps)
    out["network_simulate_s"] = round(time.perf_counter() - t0, 2)
    out["check_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    out["image_check_steps"] = steps
    out["image_spikes"] = int(sum(a.spike_counts().values()))
    out["image_spikes_identical"] = all(np.array_equal(a.spike_ids[p], b.spike_ids[p])
                                        and np.array_equal(a.spike_steps[p], b.spike_steps[p])
                                        for p in b.spike_ids)
    return out


if __name__ == "__main__":
    main()
