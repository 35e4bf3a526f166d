"""CNNs on convolution cores against Sinabs' DYNAP-CNN mapping and against synapse lists.

For the NIR paper's CNN and the five CNNs of tests/golden/sinabs_dynapcnn (Sinabs' own exports
and its recorded mapping, tests/golden/frameworks/make_sinabs_dynapcnn.py): Sinabs' fit and
layer-to-core map, ours on speck-like (cores, split layers, compile time, image bytes), and the
cores loihi-like needs with a synapse entry per synapse against loihi-like-conv with each kernel
stored once. Writes benchmarks/results/conv_mapping.md.

    python benchmarks/conv_mapping.py
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from pathlib import Path

from nmcompiler.compiler import compile_network
from nmcompiler.errors import UserError
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.image import build_contents, encode
from nmcompiler.targets import load_target

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "sinabs_dynapcnn"
PAPER = ROOT.parent / "shared" / "data" / "nir-paper" / "cnn_sinabs.nir"
OUT = ROOT / "benchmarks" / "results" / "conv_mapping.md"


def _net(name: str, tmp: Path):
    if name == "cnn_sinabs":
        return load_nir(PAPER, NirOptions.from_preset("sinabs", max_spikes=1)) if PAPER.exists() else None
    path = tmp / f"{name}.nir"
    path.write_bytes(gzip.decompress((GOLDEN / f"{name}.nir.gz").read_bytes()))
    return load_nir(path, NirOptions.from_preset("sinabs", max_spikes=1))


def _ours(net, target: str) -> tuple[str, float, int | None]:
    t0 = time.perf_counter()
    try:
        mapping, fx, report = compile_network(net, load_target(target))
    except UserError as exc:
        return f"refused ({str(exc).splitlines()[0][:60]})", time.perf_counter() - t0, None
    seconds = time.perf_counter() - t0
    if not report.fits:
        return "no fit", seconds, None
    image = len(encode(build_contents(mapping, fx))) if mapping.layer_parts else None
    if not mapping.layer_parts:
        return f"{report.cores_used} cores", seconds, image
    split = sorted({p.layer for p in mapping.layer_parts if p.channels != (0, _channels(mapping, p.layer))})
    cores = ",".join(str(p.core) for p in mapping.layer_parts)
    return f"{report.cores_used} cores ({cores})" + (f", split {','.join(split)}" if split else ""), seconds, image


def _channels(mapping, layer: str) -> int:
    return max(p.channels[1] for p in mapping.layer_parts if p.layer == layer)


def main() -> None:
    record = json.loads((GOLDEN / "sinabs_dynapcnn.json").read_text())
    rows = ["| CNN | Sinabs 3.1.3 (DYNAP-CNN) | ours, speck-like | compile s | image bytes | loihi-like (synapses) | "
            "loihi-like-conv (kernels) |", "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in record["networks"].items():
            net = _net(name, Path(tmp))
            if net is None:
                continue
            theirs = (f"{len(entry['layer_to_core'])} cores ({','.join(map(str, entry['layer_to_core'].values()))})"
                      if entry["fits"] else "no valid mapping")
            speck, seconds, image = _ours(net, "speck-like")
            sparse = _ours(net, "loihi-like")[0] if name == "cnn_sinabs" else "-"
            conv = _ours(net, "loihi-like-conv")[0].split(" (")[0]
            rows.append(f"| {name} | {theirs} | {speck} | {seconds:.2f} | {image} | {sparse} | {conv} |")
            print(rows[-1])
    OUT.write_text("# CNNs on convolution cores (benchmarks/conv_mapping.py)\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
