"""Where sweep points run: in this process one after another, or on Dask (a local cluster of
worker processes with a memory limit each, or an existing cluster by its scheduler's address).

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
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..errors import UserError
from ..fileio import write_json
from .point import PointResult, SweepInputs, evaluate_float, evaluate_point
from .spec import Point

__all__ = ["DaskEngine", "EngineChoice", "PointCache", "SerialEngine", "engine", "float_key", "point_key", "run_task"]

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


class SerialEngine:
    """Every task in this process, one after another (``--workers 0``)."""

    description = "serial (this process)"
    workers = 1

    def run(self, inputs: SweepInputs, tasks: list[Task], evaluate: Callable = run_task
            ) -> Iterator[tuple[str, PointResult]]:
        for key, kind, arg in tasks:
            yield key, evaluate(inputs, kind, arg)


class DaskEngine:
    """Tasks on a Dask cluster through ``client``: the shared inputs scattered once to every
    worker, results taken as they complete; what is still pending when the caller stops (an
    interrupt) is cancelled."""

    def __init__(self, client, description: str):
        self.client = client
        self.description = description

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, inputs: SweepInputs, tasks: list[Task], evaluate: Callable = run_task
            ) -> Iterator[tuple[str, PointResult]]:
        from distributed import as_completed

        if not tasks:
            return
        shared = self.client.scatter(inputs, broadcast=True, hash=False)
        futures = {self.client.submit(evaluate, shared, kind, arg, pure=False): key for key, kind, arg in tasks}
        try:
            for future in as_completed(futures):
                yield futures[future], _outcome(future)
        finally:
            self.client.cancel(list(futures))


def _outcome(future) -> PointResult:
    """The future's result; a task whose worker died (every allowed time) or that Dask could not run
    becomes a failed point naming why."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost connection: recorded, not fatal
        name = type(exc).__name__
        why = ("its worker died each time it ran it (out of memory, or killed)" if name == "KilledWorker"
               else "Dask could not run it")
        return PointResult(status="failed", error=f"{why}: {name}: {exc}")


@dataclass(frozen=True)
class EngineChoice:
    """An engine not started yet (:func:`engine`'s arguments): a sweep starts it only when some
    point is not cached."""

    workers: int | None = None
    scheduler: str | None = None
    memory_limit: str | int | None = None

    def open(self):
        return engine(self.workers, self.scheduler, self.memory_limit)


@contextmanager
def engine(workers: int | None, scheduler: str | None = None, memory_limit: str | int | None = None
           ) -> Iterator[SerialEngine | DaskEngine]:
    """The engine for ``--workers`` / ``--scheduler``: ``workers`` 0 runs serially in this
    process; a ``scheduler`` address uses that cluster; else a local cluster of ``workers``
    processes (default: one per core), one thread each, ``memory_limit`` each (default: the
    machine's memory shared out)."""
    if workers == 0 and scheduler is None:
        yield SerialEngine()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UserError(f"sweeps on Dask need dask.distributed: pip install 'nmcompiler[sweep]' ({exc.name})") from None
    if scheduler is not None:
        if workers:
            raise UserError("--workers sizes a local cluster; an existing cluster (--scheduler) has its own")
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield DaskEngine(client, f"Dask cluster at {scheduler}")
        return
    import os

    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit or "auto",
                           dashboard_address=":0", silence_logs=logging.ERROR,
                           env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    with cluster, Client(cluster) as client:
        yield DaskEngine(client, f"local Dask cluster of {n} worker processes")


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
