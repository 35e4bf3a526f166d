"""A 24-point design-space sweep of the digits classifier (2 targets x 2 core sizes x 3 weight
widths x 2 seeds, 200 rate-coded samples of 30 ticks per point) run three ways from an empty
output folder: in this process (``--workers 0``), on a local Dask cluster of 1 worker process and
of 2. Reports wall time (cluster start included), the speed-up of 2 workers over 1, and the peak
memory of a worker; checks that the three tables are byte-identical. Prints JSON records for the
suite and writes benchmarks/results/sweep_scaling.md.

    python benchmarks/sweep_scaling.py [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from nmcompiler.executor import ExecutorChoice
from nmcompiler.sweep import load_spec, run_sweep

ROOT = Path(__file__).resolve().parent.parent
POINTS = 24
OUT = ROOT / "benchmarks" / "results" / "sweep_scaling.md"
SPEC = """version: 1
name: digits-24
network: digits.yaml
target: loihi-like
data: d.npz
encode: rate
steps: 30
axes:
  target: [loihi-like, spinnaker-like]
  target.core.neurons: [16, 64]
  target.format.weight_bits: [3, 4, 8]
  seed: [0, 1]
"""


def _folder(root: Path, samples: int) -> Path:
    for name in ("digits.yaml", "w_in_hidden.npy", "w_hidden_out.npy"):
        shutil.copy(ROOT / "examples" / "digits" / name, root / name)
    data = np.load(ROOT / "examples" / "digits" / "digits_test.npz")
    np.savez(root / "d.npz", x=data["x"][:samples], y=data["y"][:samples])
    (root / "sweep.yaml").write_text(SPEC)
    return root / "sweep.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nmc-sweep-bench-") as tmp:
        spec = load_spec(_folder(Path(tmp), args.samples))
        runs = {}
        for workers in (0, 1, 2):
            out = Path(tmp) / f"w{workers}"
            t0 = time.perf_counter()
            run = run_sweep(spec, out, ExecutorChoice(workers=workers))
            seconds = time.perf_counter() - t0
            doc = json.loads((out / "sweep.json").read_text())
            runs[workers] = {"seconds": seconds, "peak_gb": doc["peak_worker_memory_bytes"] / 2**30,
                             "csv": (out / "sweep.csv").read_bytes(), "counts": run.table.counts()}
            print(json.dumps({"case": "sweep", "variant": f"workers-{workers}", "workers": workers,
                              "points": len(run.table.rows), "counts": runs[workers]["counts"],
                              "seconds": round(seconds, 2),
                              "peak_worker_gb": round(runs[workers]["peak_gb"], 3)}), flush=True)
    same = runs[0]["csv"] == runs[1]["csv"] == runs[2]["csv"]
    every = all(r["counts"].get("ok", 0) == POINTS for r in runs.values())
    speedup = runs[1]["seconds"] / runs[2]["seconds"]
    print(json.dumps({"case": "sweep_speedup", "speedup_2_over_1": round(speedup, 2), "tables_identical": same,
                      "every_point_ok": every}))
    rows = [f"| {'this process' if w == 0 else f'{w} worker process' + ('es' if w > 1 else '')} | "
            f"{r['seconds']:.1f} | {r['peak_gb']:.2f} |" for w, r in runs.items()]
    OUT.write_text("\n".join([
        "# 24-point sweep of the digits classifier: 1 and 2 Dask workers", "",
        f"2 targets (loihi-like, spinnaker-like) x core neurons (16, 64) x weight bits (3, 4, 8) x seeds (0, 1); "
        f"each point compiles, builds the image and runs it on {args.samples} rate-coded samples of 30 ticks "
        "(accuracy, energy and latency per inference); 2 float references. From an empty output folder each time, "
        "the local cluster's start included. Points: " + json.dumps(runs[2]["counts"]) + ".", "",
        "| engine | wall time (s) | peak memory of a worker (GB) |", "|---|---|---|", *rows, "",
        f"Speed-up of 2 workers over 1: **{speedup:.2f}x** on this 2-core machine"
        f"{'' if every else ' (NOT every point ran: the speed-up means nothing)'}. The three tables "
        f"(sweep.csv) are {'byte-identical' if same else 'DIFFERENT'}.", ""]))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
