"""The sweep file (``nmc sweep SPEC.yaml``): one network, labelled samples, and the axes to vary.

    version: 1
    network: digits.yaml          # any network file nmc reads; paths are relative to this file
    target: loihi-like            # the base target (a shipped name or a target .yaml)
    data: digits_test.npz         # x (and labels y): every point's accuracy, energy and latency
    encode: rate                  # optional: events for 3-D x, rate for 2-D (as nmc compare)
    steps: 30                     # ticks per sample (rate-coded samples need it)
    samples: 100                  # optional: the first 100 samples only
    axes:                         # every combination (a grid), in this order
      target.core.neurons: [16, 32, 64]     # any SECTION.FIELD of the target (nmc targets --derive)
      target.format.weight_bits: [4, 8]
      seed: [0, 1]
    sample: {points: 8, seed: 1}  # optional: a seeded random sample of the grid instead

Axes: ``target`` (base targets), ``target.SECTION.FIELD``, the compile options ``partitioner``,
``placer``, ``fan_in`` and ``crossbar_weights``, the quantization options ``clip`` and
``headroom``, ``seed`` (compile, rate coding and simulation), and for targets with device
variation ``instance`` (a chip instance's seed) and ``calibrated``. A scalar fixes an option for
every point. A list is always an axis' values: fix a field whose value is a list with a list of
one (``target.chip.mesh: [[2, 2]]``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np

from ..errors import Diagnostic, UserError, ValidationError
from ..yamlio import YamlDocument, read_yaml

__all__ = ["AXES", "Point", "SweepSpec", "load_spec"]

COMPILE_AXES = ("partitioner", "placer", "fan_in", "crossbar_weights")
QUANTIZE_AXES = ("clip", "headroom")
AXES = ("target", *COMPILE_AXES, *QUANTIZE_AXES, "seed", "instance", "calibrated")
MAX_POINTS = 100_000
_PATH = {"type": "string", "minLength": 1}
_SCALAR = {"type": ["string", "number", "boolean", "array"]}
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["version", "network", "target", "data", "axes"],
    "properties": {
        "version": {"const": 1}, "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
        "network": _PATH, "from": {"type": "string"}, "target": _PATH, "data": _PATH,
        "encode": {"enum": ["rate", "events"]}, "steps": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "samples": {"type": "integer", "minimum": 1}, "input_source": {"type": "string"},
        "output": {"type": "string"},
        "axes": {"type": "object", "minProperties": 1,
                 "additionalProperties": {"anyOf": [_SCALAR, {"type": "array", "minItems": 1, "maxItems": 10_000}]}},
        "sample": {"type": "object", "additionalProperties": False, "required": ["points"],
                   "properties": {"points": {"type": "integer", "minimum": 1}, "seed": {"type": "integer", "minimum": 0}}},
    },
}


@dataclass(frozen=True)
class Point:
    """One combination of axis values (``values``: (axis, value) in the spec's axis order);
    ``index``: its place in the whole grid."""

    index: int
    values: tuple[tuple[str, object], ...]

    def get(self, axis: str, default=None):
        return next((v for k, v in self.values if k == axis), default)

    @property
    def settings(self) -> tuple[tuple[str, object], ...]:
        """The target fields set: (``SECTION.FIELD``, value)."""
        return tuple((k.removeprefix("target."), v) for k, v in self.values if k.startswith("target."))

    @property
    def options(self) -> dict:
        """Compile and quantization options (those of :class:`nmcompiler.compiler.CompileOptions`)."""
        out = {k: v for k, v in self.values if k in COMPILE_AXES or k in QUANTIZE_AXES}
        return out | {"seed": self.seed}

    @property
    def seed(self) -> int:
        return int(self.get("seed", 0))

    def label(self) -> str:
        return ", ".join(f"{k}={json.dumps(v)}" for k, v in self.values)


@dataclass(frozen=True, kw_only=True)
class SweepSpec:
    file: Path
    name: str
    network: Path
    preset: str | None  # NIR: the exporting framework (the spec's ``from``)
    target: str  # the base target when no ``target`` axis is given
    data: Path
    encode: str | None
    steps: int | None
    samples: int | None
    input_source: str | None
    output: str | None
    axes: tuple[tuple[str, tuple], ...]  # (axis, its values), in the file's order
    sample_points: int | None = None
    sample_seed: int = 0

    @property
    def grid_size(self) -> int:
        return int(np.prod([len(v) for _, v in self.axes], dtype=np.int64))

    def points(self) -> list[Point]:
        """Every point of the grid, or the seeded random sample of ``sample_points`` of them (in
        grid order)."""
        names = [a for a, _ in self.axes]
        total = self.grid_size
        chosen = range(total)
        if self.sample_points is not None and self.sample_points < total:
            rng = np.random.default_rng(self.sample_seed)
            chosen = sorted(int(k) for k in rng.choice(total, size=self.sample_points, replace=False))
        sizes = [len(v) for _, v in self.axes]
        return [Point(index=k, values=tuple((name, values[i]) for name, (_, values), i in
                                            zip(names, self.axes, np.unravel_index(k, sizes))))
                for k in chosen]

    def targets(self) -> tuple[str, ...]:
        """The base targets the points use."""
        return tuple(dict(self.axes).get("target", (self.target,)))


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; every problem is one ``file:line: field: problem`` line."""
    path = Path(path)
    doc = read_yaml(path)
    problems = [doc.diagnostic(tuple(e.absolute_path), f"{'.'.join(map(str, e.absolute_path)) or 'top level'}: "
                                                      f"{e.message}")
                for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc.data)]
    if problems:
        raise ValidationError(problems)
    d = doc.data
    axes = tuple((name, tuple(v) if isinstance(v, list) else (v,)) for name, v in d["axes"].items())
    problems = [p for name, values in axes for p in _axis_problems(doc, name, values)]
    if problems:
        raise ValidationError(problems)
    axes = tuple((n, tuple(_target_ref(doc, t, ("axes", "target")) for t in v) if n == "target" else v)
                 for n, v in axes)
    sample = d.get("sample", {})
    spec = SweepSpec(file=path, name=d.get("name", path.stem), network=_inside(doc, d["network"], "network"),
                     preset=d.get("from"), target=_target_ref(doc, d["target"], ("target",)),
                     data=_inside(doc, d["data"], "data"), encode=d.get("encode"), steps=d.get("steps"),
                     samples=d.get("samples"), input_source=d.get("input_source"), output=d.get("output"),
                     axes=axes, sample_points=sample.get("points"), sample_seed=sample.get("seed", 0))
    if spec.grid_size > MAX_POINTS and spec.sample_points is None:
        raise UserError(f"{doc.where(('axes',))}: axes: {spec.grid_size} points; a grid holds at most {MAX_POINTS} "
                        "(sample some with 'sample: {points: N}')")
    return spec


def _axis_problems(doc: YamlDocument, name: str, values: tuple) -> list[Diagnostic]:
    where = ("axes", name)
    if name not in AXES and not (name.startswith("target.") and name.count(".") == 2):
        return [doc.diagnostic(where, f"axes: unknown axis '{name}' (use {', '.join(AXES)} or target.SECTION.FIELD, "
                                      "e.g. target.core.neurons)")]
    out = []
    if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
        out.append(doc.diagnostic(where, f"axes: {name}: a value is listed twice"))
    if name in ("seed", "instance", "headroom") and not all(_whole(v) for v in values):
        out.append(doc.diagnostic(where, f"axes: {name}: values must be whole numbers >= 0"))
    if name == "calibrated" and not all(isinstance(v, bool) for v in values):
        out.append(doc.diagnostic(where, "axes: calibrated: values must be true or false"))
    if name in COMPILE_AXES and not all(isinstance(v, str) for v in values):
        out.append(doc.diagnostic(where, f"axes: {name}: values must be option names (as nmc compile takes them)"))
    return out


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _inside(doc: YamlDocument, ref: str, field: str) -> Path:
    """A file the sweep file names, relative to its folder, and inside it unless outside paths are allowed."""
    folder = doc.folder.resolve()
    path = (folder / ref).resolve()
    if os.environ.get("NMC_ALLOW_OUTSIDE_PATHS") != "1" and not path.is_relative_to(folder):
        raise UserError(f"{doc.where((field,))}: {field}: '{ref}' lies outside the sweep file's folder "
                        "(move it inside, or pass nmc --allow-outside-paths)")
    if not path.is_file():
        raise UserError(f"{doc.where((field,))}: {field}: '{ref}' is not a file")
    return path


def _target_ref(doc: YamlDocument, ref, where: tuple) -> str:
    """A shipped target's name as it is; a target file relative to the sweep file's folder."""
    if not isinstance(ref, str):
        raise UserError(f"{doc.where(where)}: target: give target names or .yaml files, not {ref!r}")
    if ref.endswith((".yaml", ".yml")):
        return str(_inside(doc, ref, "target"))
    return ref
