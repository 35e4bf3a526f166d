"""Digits classification accuracy: float vs every target format at its native, 8-bit and 4-bit weights.

Goals (issue "Fixed-point datapath"): float -> 8-bit drop <= 0.5 points, float -> 4-bit <= 2 points.
The network is examples/digits/digits.yaml (rate-coded input, 100 steps per sample).

    python benchmarks/digits_accuracy.py [--samples 450] [--steps 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from nmcompiler import load_network
from nmcompiler.analysis import compare_networks
from nmcompiler.datapath import load_format, target_names

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=450)
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    net = load_network(ROOT / "examples" / "digits" / "digits.yaml")
    with np.load(ROOT / "examples" / "digits" / "digits_test.npz") as f:
        data = {"x": f["x"][: args.samples], "y": f["y"][: args.samples]}
    rows = []
    for target in target_names():
        base = load_format(target)
        for bits in sorted({base.weight_bits, 8, 4}, reverse=True):
            fmt = dataclasses.replace(base, weight_bits=bits)
            t0 = time.perf_counter()
            cmp = compare_networks(net, fmt, steps=args.steps, data=data, encode="rate")
            rows.append({"target": target, "weight_bits": bits, "float_accuracy": cmp.float_accuracy,
                         "hw_accuracy": cmp.hw_accuracy, "drop_points": round(100 * (cmp.float_accuracy - cmp.hw_accuracy), 2),
                         "agreement": cmp.agreement, "seconds": round(time.perf_counter() - t0, 1)})
            print(json.dumps(rows[-1]), flush=True)
    worst8 = max(r["drop_points"] for r in rows if r["weight_bits"] == 8)
    worst4 = max(r["drop_points"] for r in rows if r["weight_bits"] == 4)
    print(json.dumps({"samples": len(data["y"]), "steps": args.steps, "worst_drop_8bit_points": worst8,
                      "goal_8bit": 0.5, "worst_drop_4bit_points": worst4, "goal_4bit": 2.0}))


if __name__ == "__main__":
    main()
