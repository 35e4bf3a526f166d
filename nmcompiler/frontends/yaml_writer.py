"""Graph IR -> YAML network file (format v1), with large arrays in ``.npy`` files beside it.

Reading the file back with :func:`load_yaml_network` gives the same network: parameters,
weights and delays are written exactly (YAML floats use ``repr``, arrays go to ``.npy``).
Files are written atomically; the arrays go to ``<stem>.data/`` next to the YAML file.
"""

from __future__ import annotations

import dataclasses

import io
from pathlib import Path

import numpy as np
import yaml

from ..fileio import OutputSet, file_stem, write_bytes
from ..ir import CubaLIF, CurrentSource, Network, PoissonSource, Population, SpikeSource
from ..ir.models import Compare, Integration, ResetMode

__all__ = ["save_yaml_network"]

_INLINE = 16  # arrays up to this many values are written inline


class _Writer:
    def __init__(self, path: Path):
        self.path = path
        self.folder = path.parent / f"{path.stem}.data"
        self.files: dict[str, bytes] = {}

    def array(self, value: np.ndarray, name: str, *, as_int: bool = False):
        value = np.asarray(value)
        if value.ndim == 0:
            return int(value) if as_int else float(value)
        if value.size <= _INLINE and value.ndim == 1:
            return [int(v) if as_int else float(v) for v in value]
        buf = io.BytesIO()
        np.save(buf, value)
        base = file_stem(name, "array")  # population and source names stay inside the folder
        rel, k = f"{self.folder.name}/{base}.npy", 1
        while rel in self.files:  # two names made alike
            rel, k = f"{self.folder.name}/{base}.{k}.npy", k + 1
        self.files[rel] = buf.getvalue()
        return {"file": rel}


def _population(w: _Writer, pop: Population) -> dict:
    m = pop.model
    spec: dict = {"model": m.kind, "size": pop.size}
    if isinstance(m, CubaLIF):
        spec["receptors"] = list(m.receptors)
    if m.reset != ResetMode.VALUE:
        spec["reset"] = m.reset
    if m.integration != Integration.EXACT:
        spec["integration"] = m.integration
    if not m.spiking:
        spec["spiking"] = False
    if m.compare != Compare.GT:
        spec["compare"] = m.compare
    if m.max_spikes != 1:
        spec["max_spikes"] = int(m.max_spikes)
    if m.input_before_update:
        spec["input_before_update"] = True
    params = {}
    for name, p in m.PARAMS.items():
        value = getattr(m, name)
        if p.default is None or value.ndim or float(value) != p.default:
            params[name] = w.array(value, f"{pop.name}.{name}")
    spec["params"] = params
    if pop.initial:
        spec["initial"] = {k: w.array(v, f"{pop.name}.initial.{k}") for k, v in pop.initial.items()}
    return spec


def _source(w: _Writer, src, dt: float) -> dict:
    window = {}
    for key in ("start", "stop"):
        value = getattr(src, key, None)
        if value is not None and np.isfinite(value) and not (key == "start" and value == 0):
            window[key] = float(value)
    if isinstance(src, PoissonSource):
        inputs = {"inputs": int(src.inputs)} if src.inputs != 1 else {}
        return {"kind": "poisson", "size": src.size, "rate": w.array(src.rate, f"{src.name}.rate"), **inputs, **window}
    if isinstance(src, CurrentSource):
        return {"kind": "current", "size": src.size, "amplitude": w.array(src.amplitude, f"{src.name}.amplitude"),
                **window}
    assert isinstance(src, SpikeSource)
    if src.ids.size > 200:
        steps = np.rint(src.times / dt).astype(np.int64)
        dense = np.zeros((int(steps.max()) + 1, src.size), dtype=np.uint8)
        dense[steps, src.ids] = 1
        return {"kind": "spikes", "file": w.array(dense, f"{src.name}.spikes")["file"]}
    times = [[float(t) for t in src.times[src.ids == i]] for i in range(src.size)]
    if not any(times):
        return {"kind": "spikes", "size": src.size, "times": []}
    return {"kind": "spikes", "size": src.size, "times": times}


def _projection(w: _Writer, proj, dt: float) -> dict:
    c = proj.connectivity
    pre, post = c.pre_indices(), c.indices.astype(np.int64)
    if c.nnz <= _INLINE:
        connector = {"kind": "list", "pre": pre.tolist(), "post": post.tolist()}
    else:
        connector = {"kind": "list", "file": w.array(np.stack([pre, post], axis=1), f"{proj.name}.pairs")["file"]}
    spec = {"pre": proj.pre, "post": proj.post, "connector": connector,
            "weight": w.array(c.weights, f"{proj.name}.weight"),
            "delay": w.array(c.delays * dt, f"{proj.name}.delay")}
    if proj.receptor is not None:
        spec["receptor"] = proj.receptor
    if proj.learning is not None:
        spec["learning"] = _learning(proj.learning)
    return spec


def _learning(rule) -> dict:
    out = {"rule": rule.kind}
    for f in dataclasses.fields(rule):
        value = getattr(rule, f.name)
        if value is None:
            continue
        out[f.name] = value.tolist() if isinstance(value, np.ndarray) else (
            float(value) if isinstance(value, (float, np.floating)) else value)
    return out


def save_yaml_network(net: Network, path: str | Path) -> Path:
    """Write ``net`` as a YAML network file (and its ``.npy`` arrays); returns the YAML path."""
    path = Path(path)
    w = _Writer(path)
    learns = any(p.learning is not None for p in net.projections)  # version 1 files stay version 1
    doc: dict = {"version": 2 if learns else 1, "name": net.name, "dt": float(net.dt), "seed": net.seed}
    if net.duration is not None:
        doc["duration"] = float(net.duration)
    doc["populations"] = {p.name: _population(w, p) for p in net.populations}
    if net.sources:
        doc["stimuli"] = {s.name: _source(w, s, net.dt) for s in net.sources}
    if net.projections:
        doc["projections"] = {p.name: _projection(w, p, net.dt) for p in net.projections}
    if net.probes:
        doc["probes"] = [{"target": p.target, "variable": p.variable,
                          **({"neurons": p.neurons.tolist()} if p.neurons is not None else {})} for p in net.probes]
    if net.readouts:
        doc["readouts"] = {r.name: {"target": r.target, "decoders": w.array(r.decoders, f"{r.name}.decoders"),
                                    "tau": None if r.tau is None else float(r.tau)} for r in net.readouts}
    text = "# written by nmcompiler; arrays in " + w.folder.name + "/\n" if w.files else ""
    if w.files:  # the arrays as a whole set first; the YAML, written last, names that set
        arrays = OutputSet(w.folder)
        for rel, data in sorted(w.files.items()):
            arrays.add(rel.split("/", 1)[1], data)
        arrays.commit()
        head = {k: v for k, v in doc.items() if k not in _SECTIONS}  # before the sections, for the reader
        head["arrays"] = {"folder": w.folder.name, "sha256": arrays.digest()}
        doc = head | {k: doc[k] for k in _SECTIONS if k in doc}
    text += yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)
    write_bytes(path, text.encode())
    return path


_SECTIONS = ("populations", "stimuli", "projections", "probes", "readouts")
