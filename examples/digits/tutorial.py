"""From a framework's NIR export to a chip image, its accuracy and an RTL check, in Python.

The model is snnTorch's own export of the digits classifier (``train_snntorch.py``); the test
samples are the spikes snnTorch was given, and ``counts`` its own output spike counts.

    python examples/digits/tutorial.py [--target loihi-like] [--samples 450] [--rtl]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import nmcompiler

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="loihi-like")
    ap.add_argument("--samples", type=int, default=450)
    ap.add_argument("--rtl", action="store_true", help="also run one sample on the generated RTL (fpga-lif)")
    ap.add_argument("-o", "--outdir", default="out/tutorial")
    args = ap.parse_args()

    data = np.load(HERE / "digits_snntorch_test.npz")
    samples = np.unpackbits(data["spikes"], axis=-1)[: args.samples, :, :64]  # (samples, 25 steps, 64)
    labels, steps = data["y"][: args.samples], int(data["steps"]) + 2  # the output layer lags 2 steps

    # 1. import with snnTorch's conventions and compile: the report says what fits and what changed
    chip = nmcompiler.compile(HERE / "digits_snntorch.nir", target=args.target, preset="snntorch")
    print(f"{args.target}: {chip.report.cores_used} core(s), image {len(chip.image)} bytes")
    for note in chip.report.notes:
        print("  note:", note)
    chip.save(args.outdir)

    # 2. accuracy: the float network, and the image's own tables; snnTorch's own for reference
    acc = chip.accuracy(samples, labels, output="3", steps=steps)
    same = np.mean(np.all(acc.float_counts.counts == data["counts"][: args.samples], axis=1))
    print(f"accuracy: snnTorch {np.mean(np.argmax(data['counts'][: args.samples], 1) == labels):.4f}, "
          f"float {acc.float_accuracy:.4f} (same spike counts as snnTorch: {100 * same:.1f} % of samples), "
          f"{args.target} {acc.hw_accuracy:.4f}")

    # 3. the verification ladder on one sample: float, bit-accurate image, and the RTL core
    levels = ("float", "int", "rtl") if args.rtl else ("float", "int")
    rtl_chip = nmcompiler.compile(HERE / "digits_snntorch.nir", target="fpga-lif", preset="snntorch") if args.rtl \
        else chip
    ladder = rtl_chip.verify(levels, {"input": samples[0]}, steps=steps)
    for level in ladder.levels:
        print(f"  {level.level}: {level.spikes} spikes" + (f", {level.mismatches} RTL mismatches"
                                                        if level.level == "rtl" else ""))


if __name__ == "__main__":
    main()
