"""Compile CUBA and the NIR paper's CNN onto every target that accepts them: time per pass,
cores against the lower bound, inter-core traffic against index-order placement. Targets whose
core is generated to fit (fpga-lif) are also sized to each network first (``nmc compile --size``):
its row says which core was chosen and how many memory bits its chip has.

Goals (mapping milestone): under 5 s each; cores within 1.1x of the bound; traffic >= 2x lower.

    python benchmarks/mapping.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from nmcompiler import load_network
from nmcompiler.errors import UserError
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.compiler import compile_network
from nmcompiler.compiler import compile_sized
from nmcompiler.targets import load_target, target_names

ROOT = Path(__file__).resolve().parent.parent
CNN = ROOT.parent / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir"


def _ratio(index_order, ours):
    """Index order's traffic over ours; None where there is none, or no index order to compare
    (layer-, port- and CAM-structured targets map by their structure)."""
    return round(index_order / ours, 2) if index_order is not None and ours else None


def main() -> None:
    nets = {"cuba": load_network(ROOT / "examples" / "cuba.yaml")}
    if CNN.exists():
        nets["cnn_sinabs"] = load_nir(CNN, NirOptions(dt=1e-3))
    from nmcompiler.rtl.chip import chip_memory_bits

    for name, net in nets.items():
        for target in target_names():
            tgt = load_target(target)
            runs = [(target, lambda: compile_network(net, tgt))]
            if tgt.sizing is not None:
                runs.append((f"{target} --size", lambda: compile_sized(net, tgt, chip_memory_bits)))
            for label, run in runs:
                t0 = time.perf_counter()
                try:
                    *sized, _, _, r = run()
                except UserError as exc:
                    print(json.dumps({"case": "mapping", "variant": f"{name} -> {label}: does not fit",
                                      "network": name, "target": label, "fits": False,
                                      "reason": str(exc).splitlines()[0]}))
                    continue
                rec = {"case": "mapping", "variant": f"{name} -> {label}", "network": name, "target": label,
                       "fits": r.fits, "seconds": round(time.perf_counter() - t0, 2),
                       "cores_used": r.cores_used, "cores_lower_bound": r.cores_lower_bound,
                       "cores_over_bound": round(r.cores_used / r.cores_lower_bound, 3), "partitioner": r.partitioner,
                       "traffic_reduction_vs_index_order": _ratio(r.inter_core_spikes_index_order, r.inter_core_spikes),
                       "average_hops": round(r.average_hops, 3),
                       "average_hops_index_order": round(r.average_hops_index_order, 3), "passes": r.passes}
                if sized:
                    c = sized[0].chosen
                    rec["sized"] = {"cores": c.cores, "mesh": list(sized[0].target.chip.mesh), "neurons": c.neurons,
                                    "input_axons": c.input_axons, "synapse_memory_kib": c.synapse_memory_bits / 8192,
                                    "chip_memories_mib": round(c.memory_bits / 2**23, 3),
                                    "choices": len(sized[0].candidates)}
                print(json.dumps(rec))


if __name__ == "__main__":
    main()
