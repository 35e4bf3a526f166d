"""The sweep's table: one row per point in grid order, its axis values, what it gave, the float
network's accuracy at its seed, and whether it lies on a Pareto front (accuracy against cores,
accuracy against energy). Written as CSV and Parquet; the same results give the same bytes.
Timings are not columns (they vary from run to run): each point's lies in ``points/<key>.json``."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .point import PointResult
from .spec import Point, SweepSpec

__all__ = ["RESULT_COLUMNS", "SweepTable", "build_table", "pareto_front"]

# result columns and their Parquet types (axis columns come before them, typed by their values)
RESULT_COLUMNS = {"status": "string", "error": "string", "cores": "int64", "cores_lower_bound": "int64",
                  "chips": "int64", "image_bytes": "int64", "image_sha256": "string", "accuracy": "float64",
                  "float_accuracy": "float64", "accuracy_loss": "float64", "energy_j": "float64",
                  "wall_time_s": "float64", "decision_ticks": "float64", "decision_s": "float64",
                  "synaptic_ops": "float64", "inter_core_spikes": "float64", "average_hops": "float64",
                  "instance_accuracy": "float64", "pareto_cores": "bool", "pareto_energy": "bool"}


_ARROW = {"string": "string", "int64": "int64", "float64": "float64", "bool": "bool_"}


@dataclass(frozen=True, kw_only=True, eq=False)
class SweepTable:
    axes: tuple[str, ...]
    rows: tuple[dict, ...]  # column -> value (None: empty)
    results: tuple[tuple[Point, PointResult], ...]
    float_accuracy: dict[int, float | None]  # seed -> the float network's accuracy

    @property
    def columns(self) -> list[str]:
        return ["point", "key", *self.axes, *RESULT_COLUMNS]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.rows if r["status"] == s) for s in ("ok", "misfit", "failed")}

    def pareto(self, kind: str) -> list[dict]:
        return [r for r in self.rows if r[f"pareto_{kind}"]]

    def to_json(self) -> dict:
        return {"axes": list(self.axes), "columns": self.columns, "rows": list(self.rows), "counts": self.counts(),
                "float_accuracy": {str(k): v for k, v in sorted(self.float_accuracy.items())},
                "pareto": {k: [r["point"] for r in self.pareto(k)] for k in ("cores", "energy")}}

    def csv_bytes(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if row[c] is None else _cell(row[c]) for c in self.columns])
        return buf.getvalue().encode()

    def parquet_bytes(self) -> bytes:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            from ..errors import UserError

            raise UserError("the sweep's Parquet table needs pyarrow: pip install 'nmcompiler[sweep]'") from None
        types = {"point": "int64", "key": "string"} | {a: _axis_type(self.rows, a) for a in self.axes} | RESULT_COLUMNS
        arrays = {c: pa.array([_parquet_value(r[c], types[c]) for r in self.rows], type=getattr(pa, _ARROW[types[c]])())
                  for c in self.columns}
        buf = io.BytesIO()
        pq.write_table(pa.table(arrays), buf, compression="zstd")
        return buf.getvalue()


def _cell(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _axis_type(rows, axis: str) -> str:
    values = [r[axis] for r in rows if r[axis] is not None]
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int64"
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float64"
    return "string"


def _parquet_value(v, kind: str):
    if v is None:
        return None
    return str(v) if kind == "string" else float(v) if kind == "float64" else v


def _axis_value(axis: str, v):
    """An axis value as a cell: lists as JSON, target files by their file name."""
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    if axis == "target" and str(v).endswith((".yaml", ".yml")):
        return Path(v).name
    return v


def build_table(spec: SweepSpec, points: list[Point], results: dict[int, PointResult], keys: dict[int, str],
                floats: dict[int, PointResult]) -> SweepTable:
    """The table of ``points`` (their ``results`` and ``keys`` by grid index; ``floats``: the float
    network's result per seed)."""
    axes = tuple(a for a, _ in spec.axes)
    float_acc = {s: r.accuracy for s, r in floats.items()}
    rows = []
    for p in points:
        r = results[p.index]
        row = {"point": p.index, "key": keys[p.index][:16]} | {a: _axis_value(a, p.get(a)) for a in axes}
        row |= {f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name in RESULT_COLUMNS}
        ref = float_acc.get(p.seed)
        row["float_accuracy"] = ref
        row["accuracy_loss"] = None if ref is None or r.accuracy is None else ref - r.accuracy
        rows.append(row)
    ok = [k for k, r in enumerate(rows) if r["status"] == "ok" and r["accuracy"] is not None]
    for kind, column in (("cores", "cores"), ("energy", "energy_j")):
        usable = [k for k in ok if rows[k][column] is not None]
        front = set(pareto_front([rows[k]["accuracy"] for k in usable], [rows[k][column] for k in usable]))
        on_front = {usable[j] for j in front}
        for k, row in enumerate(rows):
            row[f"pareto_{kind}"] = k in on_front
    return SweepTable(axes=axes, rows=tuple({c: row.get(c) for c in ["point", "key", *axes, *RESULT_COLUMNS]}
                                            for row in rows),
                      results=tuple((p, results[p.index]) for p in points), float_accuracy=float_acc)


def pareto_front(accuracy, cost) -> list[int]:
    """Indices of the points no other point beats: at least as accurate and at most as costly, and
    better in one (ties: the first of equal points only)."""
    a, c = np.asarray(accuracy, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    front = []
    for k in range(a.size):
        better = (a >= a[k]) & (c <= c[k]) & ((a > a[k]) | (c < c[k]))
        same = (a == a[k]) & (c == c[k])
        if not better.any() and not same[:k].any():
            front.append(k)
    return front
