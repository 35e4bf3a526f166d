"""``nmc sweep SPEC.yaml -o OUTDIR``: a design-space sweep on Dask (:mod:`nmcompiler.sweep`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import UserError
from ..units import format_si
from .app import cli, out, output_folder

__all__ = ["sweep"]


@cli.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), callback=output_folder, required=True,
              help="Output folder: sweep.csv, sweep.parquet, sweep.json, pareto.png, and points/ (one file per "
                   "finished point: a sweep run again resumes from them).")
@click.option("--workers", type=click.IntRange(min=0, max=1024), default=None,
              help="Worker processes of the local Dask cluster (default: one per core); 0 runs every point in "
                   "this process, one after another.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Use an existing Dask cluster (e.g. tcp://10.0.0.5:8786) instead of a local one; its workers need "
                   "nmcompiler installed.")
@click.option("--memory-limit", metavar="SIZE", default=None,
              help="Memory per worker of the local cluster, e.g. 6G (default: the machine's memory shared out); a "
                   "worker above it is restarted and its point retried, then recorded as failed.")
@click.option("--retry-failed", is_flag=True, help="Run the points recorded as failed again.")
@click.option("--json", "as_json", is_flag=True, help="Print sweep.json.")
def sweep(spec: Path, outdir: Path, workers: int | None, scheduler: str | None, memory_limit: str | None,
          retry_failed: bool, as_json: bool) -> None:
    """Compile, run and estimate every point of the sweep in SPEC (a grid or random sample over target
    fields, compile and quantization options, seeds and chip instances): accuracy, cores, energy and
    latency per point, Pareto fronts, one table."""
    from ..executor import ExecutorChoice
    from ..sweep import load_spec, run_sweep

    limit = _memory_limit(memory_limit, scheduler)
    plan = load_spec(spec)
    with _progress() as bar:
        task = bar.add_task(f"{plan.name}: points", total=None)
        run = run_sweep(plan, outdir, ExecutorChoice(workers, scheduler, limit), retry_failed=retry_failed,
                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        click.echo((outdir / "sweep.json").read_text(), nl=False)
        return
    _print(run, outdir)


def _memory_limit(text: str | None, scheduler: str | None) -> int | None:
    from ..sim.budget import parse_bytes

    if text is None:
        return None
    if scheduler is not None:
        raise UserError("--memory-limit sizes the local cluster's workers; an existing cluster (--scheduler) has its own")
    try:
        return parse_bytes(text)
    except ValueError:
        raise UserError(f"--memory-limit {text!r}: give bytes, e.g. 6G or 512M") from None


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=None, transient=True, redirect_stdout=False, redirect_stderr=False,
                    disable=not sys.stderr.isatty())


def _print(run, outdir: Path) -> None:
    console = out()
    t = run.table
    c = t.counts()
    console.print(f"[bold]{run.spec.name}[/]: {len(t.rows)} points ({c['ok']} ran, {c['misfit']} do not fit, "
                  f"{c['failed']} failed); {run.computed} computed, {run.cached} from {outdir}/points; "
                  f"{run.engine}, {run.seconds:.1f} s")
    refs = ", ".join(f"{a:.4f} (seed {s})" for s, a in sorted(t.float_accuracy.items()) if a is not None)
    console.print(f"float network accuracy: {refs or '-'}")
    for kind, column, label in (("cores", "cores", "cores"), ("energy", "energy_j", "energy per inference")):
        front = sorted(t.pareto(kind), key=lambda r: r[column])
        if not front:
            continue
        table = Table("point", *t.axes, "accuracy", label, title=f"Pareto front: accuracy against {label}")
        for r in front:
            value = format_si(r[column], "J") if kind == "energy" else str(r[column])
            table.add_row(str(r["point"]), *(json.dumps(r[a]) if not isinstance(r[a], str) else r[a] for a in t.axes),
                          f"{r['accuracy']:.4f}", value)
        console.print(table)
    for point, result in t.results:
        if result.status == "failed":
            console.print(f"failed: point {point.index} ({point.label()}): {result.error}")
    console.print(f"wrote {outdir}/sweep.csv, sweep.parquet, sweep.json, pareto.png")
