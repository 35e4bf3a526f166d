"""Golden bytes of the compile flow: the SHA-256 of the image, of the mapping arrays and of the
compile report (timings left out) that every example and every NIR-paper graph produces on every
shipped target, by default, with rates from a float simulation, with partial sums forced (targets with graded messages) and sized
(targets generated to fit). A redesign of the compile core must keep every hash; a fix that
changes bytes names the cases in its commit and records them anew. The hashes must not depend on
the machine: ``tests/test_golden_compile.py`` also recomputes cases with numpy's AVX2 kernels and
OpenBLAS's newer kernels switched off.


    python tests/golden/compile_goldens.py            # print the table
    python tests/golden/compile_goldens.py --record   # write tests/golden/compile_hashes.json

``tests/test_golden_compile.py`` recomputes every case and compares.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples"
HASHES = HERE / "compile_hashes.json"
RATE_STEPS = 200  # the "rates" variant weights traffic by a float simulation of this many steps
NIR_PAPER = next((p / "shared" / "data" / "nir-paper" for p in ROOT.parents
                  if (p / "shared" / "data" / "nir-paper").is_dir()), ROOT.parent / "shared" / "data" / "nir-paper")


@dataclass(frozen=True)
class Case:
    network: str  # examples/... or nir-paper/...
    target: str
    variant: str  # default | rates | partial-sums | sized

    @property
    def key(self) -> str:
        return f"{self.network} -> {self.target} [{self.variant}]"


def networks() -> dict[str, object]:
    """Loaders of every example and NIR-paper graph (those absent here are left out)."""
    from nmcompiler import load_network
    from nmcompiler.frontends.nir import NirOptions, load_nir

    sys.path.insert(0, str(ROOT))
    from examples import brunel, microcircuit

    nets = {f"examples/{f}": (lambda f=f: load_network(EXAMPLES / f))
            for f in ("single_lif.yaml", "synfire.yaml", "mlp.yaml", "cuba.yaml", "digits/digits.yaml")}
    nets["examples/digits/digits.nir"] = lambda: load_nir(EXAMPLES / "digits" / "digits.nir", NirOptions(dt=1e-3))
    nets["examples/brunel.py scale=0.05"] = lambda: brunel.build(scale=0.05)
    nets["examples/microcircuit.py scale=0.02"] = lambda: microcircuit.build_simplified(scale=0.02)
    nets["golden/rockpool_xylo/xylo_rec"] = _rockpool_xylo  # a recurrent CUBA network Rockpool deploys to Xylo
    if NIR_PAPER.is_dir():
        for path in sorted(NIR_PAPER.glob("*.nir")):
            dt = 1e-3 if path.name.startswith("cnn") else 1e-4  # the paper's time steps
            nets[f"nir-paper/{path.name}"] = lambda path=path, dt=dt: load_nir(path, NirOptions(dt=dt))
    return nets


def _rockpool_xylo():
    sys.path.insert(0, str(HERE.parent))
    from xylo_goldens import load, network

    return network(*load("xylo_rec"))


def cases(network: str) -> list[Case]:
    from nmcompiler.targets import load_target, target_names

    out = []
    for name in target_names():
        t = load_target(name)
        out += [Case(network, name, "default"), Case(network, name, "rates")]
        if t.core.partial_sum_bits:
            out.append(Case(network, name, "partial-sums"))
        if t.sizing is not None:
            out.append(Case(network, name, "sized"))
    return out


def _rounded(value):
    """The report's floats to 10 significant digits: figures such as average hops or link loads
    come out of numpy's float functions, whose last bits differ between CPUs (AVX-512 or not);
    the mapping and image hashes stay exact."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _arrays_sha(**arrays) -> str:
    buf = io.BytesIO()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        buf.write(f"{k}:{a.dtype.str}:{a.shape}\n".encode())
        buf.write(a.tobytes())
    return _sha(buf.getvalue())


def run_case(net, case: Case) -> dict:
    """The hashes of one case, or the error it ends in."""
    from nmcompiler.errors import UserError
    from nmcompiler.flow import float_rates
    from nmcompiler.image import build_contents, encode
    from nmcompiler.compiler import compile_network
    from nmcompiler.compiler import compile_sized
    from nmcompiler.targets import load_target
    from nmcompiler.rtl.chip import chip_memory_bits

    target = load_target(case.target)
    try:
        if case.variant == "sized":
            sizing, mapping, fx, report = compile_sized(net, target, chip_memory_bits)
        else:
            fan_in = "partial-sums" if case.variant == "partial-sums" else "auto"
            rates = float_rates(RATE_STEPS) if case.variant == "rates" else None
            sizing, (mapping, fx, report) = None, compile_network(net, target, fan_in=fan_in, rates=rates)
    except UserError as exc:
        return {"error": str(exc)}
    doc = report.to_json() | {"offsets": mapping.offsets}
    doc.pop("passes")
    if sizing is not None:
        doc["sizing"] = sizing.to_json()
    out = {"fits": report.fits, "cores": report.cores_used,
           "report": _sha(json.dumps(_rounded(doc), sort_keys=True, default=repr).encode()),
           "mapping": _arrays_sha(core_of=mapping.core_of, position=mapping.position)}
    if report.fits:
        out["image"] = _sha(encode(build_contents(mapping, fx)))
    return out


def compute(only=None) -> dict[str, dict]:
    results = {}
    for name, load in networks().items():
        mine = [c for c in cases(name) if only is None or c.key in only]
        if not mine:
            continue
        net = load()
        for case in mine:
            results[case.key] = run_case(net, case)
    return results


def main(argv: list[str]) -> None:
    import time

    if argv[:1] == ["--json"]:  # the cases of the networks named, as JSON (the other-kernels test)
        print(json.dumps(compute({c.key for name in argv[1:] for c in cases(name)})))
        return
    t0 = time.perf_counter()
    results = compute()
    print(f"{len(results)} cases in {time.perf_counter() - t0:.1f} s")
    if "--record" in argv:
        HASHES.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    for key, r in results.items():
        print(f"{key}: " + (f"error: {r['error'][:80]}" if "error" in r else
                            f"{r['cores']} cores, fits {r['fits']}, image {r.get('image', '-')[:12]}"))


if __name__ == "__main__":
    main(sys.argv[1:])
