"""``nmc sweep`` as a library call: the spec's points (and the float network's accuracy at each
seed) through an engine, cached per point in ``OUTDIR/points/``, then the table, the Pareto plot
and ``sweep.json`` written as one output set."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..fileio import OutputSet
from contextlib import nullcontext

from ..executor import ExecutorChoice
from .engine import PointCache, Task, float_key, pending, point_key, run_points
from .point import SweepInputs
from .spec import SweepSpec
from .table import SweepTable, build_table

__all__ = ["SweepRun", "prepare_inputs", "run_sweep"]


@dataclass(frozen=True, kw_only=True, eq=False)
class SweepRun:
    spec: SweepSpec
    table: SweepTable
    computed: int  # tasks run now (points and float references)
    cached: int  # tasks read from OUTDIR/points
    engine: str
    seconds: float
    files: tuple[str, ...]


def prepare_inputs(spec: SweepSpec) -> SweepInputs:
    """Load the spec's network, samples and base targets once, checked before any point runs."""
    from ..datapath.format import read_target_document
    from ..flow.load import load_model_file
    from ..flow.verify import response_lag
    from ..frontends import NirOptions
    from ..sim.data import SampleData

    opts = NirOptions.from_preset(spec.preset) if spec.preset else None
    net = load_model_file(spec.network, nir_options=opts)
    data = SampleData.load(spec.data, spec.encode)
    if spec.samples is not None:
        data = SampleData.of(data.x[:spec.samples], data.y[:spec.samples], data.encode, where=data.where)
    source = data.pick_source(net.sources, spec.input_source)
    output = spec.output or net.populations[-1].name
    if output not in {p.name for p in net.populations}:
        raise UserError(f"{spec.file}: output: '{output}' is not a population of {net.name}")
    data.check_labels(net.node(output).size, output)
    if spec.steps is None and data.sample_steps is None:
        raise UserError(f"{spec.file}: steps: rate-coded samples need steps (ticks per sample)")
    steps = spec.steps or data.sample_steps + response_lag(net, source, output)
    targets = {t: read_target_document(t)[1] for t in spec.targets()}
    return SweepInputs(network=net, data=data, steps=steps, source=source, output=output, targets=targets)


def run_sweep(spec: SweepSpec, outdir: str | Path, executor, *, retry_failed: bool = False,
              progress: Callable[[int, int], None] | None = None, evaluate: Callable | None = None) -> SweepRun:
    """Run every point of ``spec`` not yet in ``outdir`` on ``executor`` (a started one of
    :func:`nmcompiler.executor.open_executor`, or an :class:`nmcompiler.executor.ExecutorChoice`,
    started only when a point is not cached), then write the table (``sweep.csv``,
    ``sweep.parquet``), ``pareto.png`` and ``sweep.json``.
    ``progress(done, total)`` follows the tasks; ``retry_failed`` runs failed points again;
    ``evaluate(inputs, kind, arg)`` replaces the task function (tests)."""
    start = time.perf_counter()
    outdir = Path(outdir)
    inputs = prepare_inputs(spec)
    digest = inputs.digest()
    points = spec.points()
    keys = {p.index: point_key(digest, inputs.targets, p) for p in points}
    seeds = sorted({p.seed for p in points})
    tasks: list[Task] = [(float_key(digest, s), "float", s) for s in seeds]
    tasks += [(keys[p.index], "point", p) for p in points]
    cache = PointCache(outdir)
    todo, done = pending(tasks, cache)
    if retry_failed:
        again = {k for k, r in done.items() if r.status == "failed"}
        todo += [t for t in tasks if t[0] in again]
        done = {k: r for k, r in done.items() if k not in again}
    cached = len(done)
    if progress is not None:
        progress(len(done), len(tasks))
    description, workers = _run_tasks(executor, inputs, todo, cache, done, tasks, progress, evaluate)
    floats = {s: done[float_key(digest, s)] for s in seeds}
    table = build_table(spec, points, {p.index: done[keys[p.index]] for p in points}, keys, floats)
    seconds = time.perf_counter() - start
    peak = max((r.peak_rss_bytes for r in done.values()), default=0)
    files = _write(outdir, spec, table, description, workers, computed=len(done) - cached, cached=cached,
                   seconds=seconds, peak=peak)
    return SweepRun(spec=spec, table=table, computed=len(done) - cached, cached=cached, engine=description,
                    seconds=seconds, files=files)


def _run_tasks(executor, inputs: SweepInputs, todo: list[Task], cache: PointCache, done: dict, tasks: list[Task],
               progress, evaluate) -> tuple[str, int]:
    """Run ``todo`` (starting ``executor`` only if there is any), storing each result in ``cache``
    and ``done`` as it arrives; the executor's description and its workers."""
    if not todo:
        return "none (every point cached)", 0
    labels = {key: _label(kind, arg) for key, kind, arg in todo}
    kwargs = {} if evaluate is None else {"evaluate": evaluate}
    with executor.open() if isinstance(executor, ExecutorChoice) else nullcontext(executor) as running:
        for key, result in run_points(running, inputs, todo, **kwargs):
            cache.store(key, labels[key], result)
            done[key] = result
            if progress is not None:
                progress(len(done), len(tasks))
        return running.description, running.workers


def _label(kind: str, arg) -> dict:
    return {"float": arg} if kind == "float" else {"index": arg.index, **dict(arg.values)}


def _write(outdir: Path, spec: SweepSpec, table: SweepTable, engine: str, workers: int, *, computed: int,
           cached: int, seconds: float, peak: int) -> tuple[str, ...]:
    from ..report.sweep_plot import pareto_png

    doc = table.to_json() | {"sweep": spec.name, "spec": str(spec.file), "network": str(spec.network),
                             "grid_points": spec.grid_size, "engine": engine, "workers": workers,
                             "computed": computed, "cached": cached, "seconds": seconds,
                             "peak_worker_memory_bytes": peak}
    output = OutputSet(outdir)
    output.add("sweep.csv", table.csv_bytes())
    output.add("sweep.parquet", table.parquet_bytes())
    output.add("pareto.png", pareto_png(doc))
    output.add_json("sweep.json", doc)
    return output.commit()
