"""``nmc compare NET --target ANALOG --instances N``: accuracy and rates over seeded chip instances
of a substrate with device variation (:mod:`nmcompiler.flow.variation`)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from ..errors import UserError
from ..fileio import OutputSet
from .app import load_source, out, steps_of

__all__ = ["compare_instances_command"]


def compare_instances_command(network: Path, target: str, source_options, *, instances: int, calibrated: bool,
                              cv: float | None, steps: int | None, duration, seed: int | None, data, input_source,
                              output_pop, outdir: Path, as_json: bool) -> None:
    from ..flow.variation import compare_instances
    from ..targets import load_target

    tgt = load_target(target)
    net = load_source(network, source_options)
    steps = steps or steps_of(duration, net)
    if steps is None:
        raise UserError(f"{network}: no simulation length: give --duration or --steps")
    source = output = None
    if data is not None:
        source = data.pick_source(net.sources, input_source)
        output = output_pop or net.populations[-1].name
    report = compare_instances(net, tgt, instances=instances, seed=0 if seed is None else seed, calibrated=calibrated,
                               cv=cv, data=data, source=source, output=output, steps=steps)
    doc = report.to_json()
    _write(outdir, report, doc)
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    _print(report, outdir)


def _write(outdir: Path, report, doc: dict) -> None:
    from ..report.variation_plot import variation_png

    output = OutputSet(outdir)
    output.add_json("variation.json", doc)
    output.add("variation.png", variation_png(report))
    output.commit()


def _print(report, outdir: Path) -> None:
    console = out()
    mode = "after calibration" if report.calibrated else "uncalibrated"
    cv = f", every CV {report.cv:g}" if report.cv is not None else ""
    summary = report.summary()
    table = Table("", "mean", "spread (std)", "min", "max", "float network", "nominal chip",
                  title=f"{len(report.instances)} {report.target} chip instances, {mode}{cv}")
    if "accuracy" in summary:
        s = summary["accuracy"]
        table.add_row("accuracy", f"{s['mean']:.4f}", f"{s['std']:.4f}", f"{s['min']:.4f}", f"{s['max']:.4f}",
                      f"{report.network.accuracy:.4f}", f"{report.nominal.accuracy:.4f}")
    for pop, s in summary["rates"].items():
        table.add_row(f"{pop} rate (Hz)", f"{s['mean']:.2f}", f"{s['std']:.2f}", f"{s['min']:.2f}",
                      f"{s['max']:.2f}", f"{report.network.rates[pop]:.2f}", f"{report.nominal.rates[pop]:.2f}")
    console.print(table)
    if "accuracy" in summary:
        worst = min(report.instances, key=lambda r: r.accuracy)
        console.print(f"worst case: {worst.label}, accuracy {worst.accuracy:.4f}")
    console.print(f"wrote {outdir}/variation.json, variation.png")
