"""The digits MLP (examples/digits: 64-32-10 IF, its 450 held-out samples) on 20 chip instances of
brainscales2-like: every parameter at 10 % and 20 % variation and at the target's own CVs,
uncalibrated and after calibration (the same chips). Accuracy as mean, spread and worst case,
against the float network and the nominal chip (digital weights, no variation). Writes
benchmarks/results/variation_digits.md.

    python benchmarks/variation_digits.py
"""

from __future__ import annotations

import time
from pathlib import Path

from nmcompiler import load_network
from nmcompiler.flow.variation import compare_instances
from nmcompiler.sim.data import SampleData
from nmcompiler.targets import load_target

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "variation_digits.md"
INSTANCES, STEPS = 20, 100


def main() -> None:
    net = load_network(ROOT / "examples" / "digits" / "digits.yaml")
    data = SampleData.load(ROOT / "examples" / "digits" / "digits_test.npz", None)
    target = load_target("brainscales2-like")
    rows, first = [], None
    for cv in (0.1, 0.2, None):
        for calibrated in (False, True):
            t0 = time.perf_counter()
            r = compare_instances(net, target, instances=INSTANCES, cv=cv, calibrated=calibrated, data=data,
                                  source="pixels", output="out", steps=STEPS)
            first = first or r
            s = r.summary()["accuracy"]
            label = f"{cv:.0%}" if cv is not None else "target's own"
            rows.append(f"| {label} | {'calibrated' if calibrated else 'uncalibrated'} | {100 * s['mean']:.2f} | "
                        f"{100 * s['std']:.2f} | {100 * s['min']:.2f} | {100 * s['max']:.2f} | "
                        f"{time.perf_counter() - t0:.1f} |")
            print(rows[-1], flush=True)
    text = [f"# digits MLP on {INSTANCES} brainscales2-like chip instances", "",
            f"{len(data)} held-out samples, {STEPS} steps each, rate-coded input; float network "
            f"{100 * first.network.accuracy:.2f} %, nominal chip (7-bit signed digital weights, no variation) "
            f"{100 * first.nominal.accuracy:.2f} %. Variation: threshold distance (normal), tau_mem and tau_syn "
            "(lognormal), bias (normal) per neuron, weight gain (normal) per synapse; calibrated: the same chips with "
            "each deviation scaled to the residual CV (the target's ratios: threshold 1/10, taus 3/20, bias 1/5, "
            "weights 1/2). The digits MLP's IF neurons have no time constants or biases, so here the thresholds "
            "and the synaptic gains vary.", "",
            "| CV | mode | accuracy mean (%) | spread, std (%) | worst (%) | best (%) | seconds |",
            "|---|---|---|---|---|---|---|", *rows, ""]
    OUT.write_text("\n".join(text))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
