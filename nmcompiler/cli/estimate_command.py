"""``nmc estimate``: energy, latency and throughput of a configuration image on its target, from
the image's own bit-accurate run and the target's cost model."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from ..fileio import OutputSet
from ..units import format_si, parse_quantity, QuantityError
from .app import cli, out, output_folder, spike_data_options, time_option

__all__ = ["estimate"]


def _clock(ctx, param, value):
    """``--clock``: a frequency, or an rtl.json of ``nmc rtl --pnr`` (its Fmax)."""
    if value is None:
        return None
    if value.endswith(".json"):
        return _fmax(Path(value))
    try:
        hz = parse_quantity(value, "rate")
    except QuantityError as exc:
        raise click.BadParameter(str(exc)) from None
    if hz <= 0:
        raise click.BadParameter(f"{value!r}: a clock needs a positive frequency")
    return hz


def _fmax(path: Path) -> float:
    from ..errors import UserError

    try:
        doc = json.loads(path.read_text())
        return float(doc["pnr"]["fmax_mhz"]) * 1e6
    except OSError as exc:
        raise UserError(f"--clock {path}: cannot read: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise UserError(f"--clock {path}: no place-and-route result (pnr.fmax_mhz): write it with "
                        "nmc rtl IMAGE -o OUTDIR --pnr ecp5") from None


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--duration", callback=time_option, help="Biological time to run, e.g. '100 ms'.")
@click.option("--steps", type=click.IntRange(min=1), help="Ticks to run (instead of --duration).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed of the image's Poisson sources.")
@click.option("--input", "inputs", multiple=True, metavar="SOURCE=FILE.npy",
              help="Spikes for one of the image's host sources: a (steps, channels) 0/1 array. Repeatable.")
@click.option("--output", "output_pop", default=None,
              help="Population whose decision (most spikes so far) the latency follows (default: the last).")
@spike_data_options("Samples (.npz: x, optional labels y): one inference each, fed to --input-source; energy "
                    "and latency per inference, and the image's accuracy with labels.")
@click.option("--target", default=None, help="The target file the image was compiled for (default: the shipped "
                                             "target of the image's name); its cost: section prices the run.")
@click.option("--clock", callback=_clock, metavar="FREQ",
              help="Clock of a cycle-counting model (fpga-lif): a frequency ('48 MHz') or the rtl.json of "
                   "nmc rtl --pnr (its Fmax); default: the target's.")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), callback=output_folder,
              help="Write estimate.json and activity.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
def estimate(image: Path, duration, steps, seed, inputs, output_pop, data_file, encode, input_source, target, clock,
             outdir, as_json) -> None:
    """Estimate the energy, latency and throughput of IMAGE (.nmc) on its target: run it bit-accurately
    from its own tables, count every synaptic operation, neuron update, spike, message and hop per
    tick and core, and price them with the target's cost model (each figure cited in the target file)."""
    from ..errors import UserError
    from ..flow.estimate import estimate_image
    from ..sim.data import SampleData

    if duration is not None and steps is not None:
        raise click.UsageError("give either --duration or --steps, not both")
    if data_file is None and (encode or input_source):
        raise UserError("--encode and --input-source go with --data")
    if data_file is not None and inputs:
        raise UserError("give either --data (one run per sample) or --input (one run), not both")
    data = SampleData.load(data_file, encode) if data_file is not None else None
    run = estimate_image(image, steps=steps, duration=duration, seed=seed, target=target, inputs=inputs,
                         output=output_pop, clock=clock, data=data, source=input_source)
    doc = run.estimate.to_json() | {"image": image.name, "output": run.output, "accuracy": run.accuracy}
    if outdir is not None:
        output = OutputSet(outdir)
        output.add_json("estimate.json", doc)
        output.add_json("activity.json", run.activity.to_json())
        output.commit()
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    _print(doc, outdir)


def _print_energy(console, e: dict) -> None:
    table = Table("energy", "J", "share", title="energy by event kind (estimate)")
    total = e["total_j"] or 1.0
    for kind, joules in e["by_kind_j"].items():
        if joules:
            table.add_row(kind, format_si(joules, "J"), f"{100 * joules / total:.1f} %")
    table.add_row("total", format_si(e["total_j"], "J"), "")
    console.print(table)
    pops = Table("population", "energy", title="events per population")
    for name, joules in e["per_population_j"].items():
        pops.add_row(name, format_si(joules, "J"))
    console.print(pops)
    if e["per_biological_second_j"] is not None:
        console.print(f"energy per biological second {format_si(e['per_biological_second_j'], 'J')}, "
                      f"average power {format_si(e['average_power_w'] or 0.0, 'W')}")


def _print(doc: dict, outdir: Path | None) -> None:
    console = out()
    e, lat, thr = doc["energy"], doc["latency"], doc["throughput"]
    runs = f"{doc['inferences']} inferences of {doc['steps'] // doc['inferences']}" if doc["inferences"] > 1 else doc["steps"]
    console.print(f"estimate for {doc['image']} on {doc['target']}: {runs} ticks of "
                  f"{format_si(doc['dt'], 's')} on {doc['chips']} chip(s); model: {doc['model']['source']}")
    if doc["inferences"] > 1 and e is not None:
        console.print(f"energy per inference {format_si(e['per_inference_j'], 'J')}"
                      + (f" at accuracy {doc['accuracy']:.4f}" if doc.get("accuracy") is not None else ""))
    if e is None:
        console.print("energy: not modelled (the target's cost model has no energy or power figures)")
    else:
        _print_energy(console, e)
    if not lat["wall_time_s"]:
        console.print("wall time: not modelled (the target's cost model has no time figures)")
    else:
        console.print(f"wall time {format_si(lat['wall_time_s'], 's')} ({format_si(lat['tick_mean_s'], 's')} per "
                      f"tick, longest {format_si(lat['tick_max_s'], 's')}); real-time factor "
                      f"{thr['real_time_factor']:.4g}; {thr['inferences_per_s']:.4g} runs per second")
    if lat["cycles_per_tick_mean"] is not None:
        console.print(f"clock cycles per tick: mean {lat['cycles_per_tick_mean']:.1f}, max {lat['cycles_per_tick_max']:g}")
    if lat["overruns"]:
        console.print(f"[bold]{lat['overruns']} ticks overrun the period[/bold] (their work takes longer than "
                      f"{format_si(doc['model']['time']['period']['value'], 's')})")
    if lat["decision_ticks"] is not None:
        mean = (f"; mean over inferences {lat['decision_ticks_mean']:.1f} ticks "
                f"({format_si(lat['decision_s_mean'], 's')})" if "decision_ticks_mean" in lat else "")
        console.print(f"decision of '{doc['output']}' settles after {lat['decision_ticks']} ticks "
                      f"({format_si(lat['decision_s'], 's')} wall time){' at the slowest' if mean else ''}{mean}")
    for line in doc["assumed"]:
        console.print(f"assumed: {line}")
    if doc["not_modelled"]:
        console.print("not modelled: " + ", ".join(doc["not_modelled"]))
    if outdir is not None:
        console.print(f"wrote {outdir}/estimate.json, activity.json")
