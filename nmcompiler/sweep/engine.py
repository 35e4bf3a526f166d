"""Sweep points on an executor (:mod:`nmcompiler.executor`: this process, or Dask).

Points are content-addressed: a point's key is the SHA-256 of the network, the samples and how
they run, its target's document with the point's fields set, its options and nmcompiler's
version. Each finished point is written to ``OUTDIR/points/<key>.json`` as it arrives (by this
process: workers need no shared folder), so an interrupted sweep resumes and recomputes nothing
that finished. A point that fails, or whose worker dies more often than Dask allows, is recorded
as failed with its error; the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .._version import __version__
from ..fileio import write_json
from .point import PointResult, SweepInputs, evaluate_float, evaluate_point
from .spec import Point

__all__ = ["PointCache", "float_key", "pending", "point_key", "run_points", "run_task"]

KEY_VERSION = 1  # bump when a point's result would change for the same inputs


def point_key(inputs_digest: str, targets: dict[str, dict], point: Point) -> str:
    """The point's content address (see the module)."""
    base = point.get("target", None) or next(iter(targets))
    doc = {"v": KEY_VERSION, "nmcompiler": __version__, "inputs": inputs_digest, "target": targets[base],
           "settings": point.settings, "options": point.options, "instance": point.get("instance"),
           "calibrated": point.get("calibrated")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def float_key(inputs_digest: str, seed: int) -> str:
    """The address of the float network's accuracy at ``seed``."""
    doc = {"v": KEY_VERSION, "nmcompiler": __version__, "inputs": inputs_digest, "float": seed}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


class PointCache:
    """``OUTDIR/points/``: one JSON file per finished point, written whole."""

    def __init__(self, outdir: Path):
        self.folder = outdir / "points"

    def load(self, key: str) -> PointResult | None:
        path = self.folder / f"{key}.json"
        try:
            doc = json.loads(path.read_text())
            return PointResult.from_json(doc["result"]) if doc.get("key") == key else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):  # a damaged entry is computed again
            return None

    def store(self, key: str, label: dict, result: PointResult) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.folder / f"{key}.json", {"key": key, "point": label, "result": result.to_json()})


# a task: (key, "point" or "float", the point or the seed)
Task = tuple[str, str, object]


def run_task(inputs: SweepInputs, kind: str, arg) -> PointResult:
    """A task as a worker runs it: a point (:func:`evaluate_point`) or a float reference."""
    return evaluate_point(inputs, arg) if kind == "point" else evaluate_float(inputs, arg)


def run_points(executor, inputs: SweepInputs, tasks: list[Task], evaluate: Callable = run_task
               ) -> Iterator[tuple[str, PointResult]]:
    """Each task on ``executor`` (:mod:`nmcompiler.executor`), as it finishes; a task whose worker
    died (every time Dask allowed) or that Dask could not run becomes a failed point naming why."""
    keyed = [(key, (kind, arg)) for key, kind, arg in tasks]
    for key, outcome in executor.completed(_task, (inputs, evaluate), keyed):
        yield key, outcome if isinstance(outcome, PointResult) else _failure(outcome)


def _task(shared, item) -> PointResult:
    inputs, evaluate = shared
    return evaluate(inputs, *item)


def _failure(exc: BaseException) -> PointResult:
    name = type(exc).__name__
    why = ("its worker died each time it ran it (out of memory, or killed)" if name == "KilledWorker"
           else "Dask could not run it")
    return PointResult(status="failed", error=f"{why}: {name}: {exc}")


def pending(tasks: Iterable[Task], cache: PointCache) -> tuple[list[Task], dict[str, PointResult]]:
    """The tasks whose result is not in ``cache``, and the cached results of the others."""
    todo, done = [], {}
    for task in tasks:
        cached = cache.load(task[0])
        if cached is None:
            todo.append(task)
        else:
            done[task[0]] = cached
    return todo, done
