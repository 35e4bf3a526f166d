"""The figures of docs/nengo.md: each example of models.py in nengo.Simulator, in our float
simulator and as loihi-like and fpga-lif images (bit-accurate), RMSE of the decoded output to the
ideal function, mean of seeds 0-2, and each image's quantization error (RMSE against our float
run). Prints a Markdown table.

    python examples/nengo/measure.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from models import EXAMPLES  # noqa: E402

TARGETS = ("loihi-like", "fpga-lif")


def _rmse(x, y) -> float:
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


def measure(name: str, seed: int) -> dict[str, float]:
    """One example on one seed: RMSE of Nengo, ours and each image; quantization errors."""
    import nengo

    import nmcompiler
    from nmcompiler.errors import UserError
    from nmcompiler.frontends.nengo import from_nengo
    from nmcompiler.sim.float_sim import FloatSimulator

    model, duration, ideal, probe = EXAMPLES[name](seed)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run(duration)
    ideal_out = ideal(sim.trange())
    p = next(p for p in model.all_probes if p.label == probe)
    ours = from_nengo(model, duration=duration)
    floats = ours.decode(FloatSimulator(ours.network).run(len(ideal_out)))[probe][:, 0]
    out = {"nengo": _rmse(sim.data[p][:, 0], ideal_out), "float": _rmse(floats, ideal_out)}
    for target in TARGETS:
        try:
            chip = nmcompiler.compile(ours.network, target)
        except UserError:  # does not fit the target's default machine
            continue
        hw = ours.decode(chip.simulate(steps=len(ideal_out)))[probe][:, 0]
        out[target], out[f"{target} q"] = _rmse(hw, ideal_out), _rmse(hw, floats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("nmcompiler").setLevel(logging.ERROR)  # unseeded Piecewise inputs warn
    columns = ["nengo", "float"] + [c for t in TARGETS for c in (t, f"{t} q")]
    print("| example | Nengo | ours, float | " + " | ".join(f"{t} image | its quantization error" for t in TARGETS) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in EXAMPLES:
        runs = [measure(name, seed) for seed in range(args.seeds)]
        cells = [f"{np.mean([r[c] for r in runs]):.4g}" if all(c in r for r in runs) else "-" for c in columns]
        print(f"| {name.replace('_', ' ')} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
