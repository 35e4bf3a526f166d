"""``nmc validate | info | simulate | import | compare | targets | check | schema``: the commands on
networks and targets."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import UserError, ValidationError
from ..fileio import write_bytes

from . import image_commands
from .app import cli, load_source, log, network_options, out, time_option

__all__ = ["check", "compare", "import_", "info", "schema", "simulate", "targets", "validate"]


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print {ok, problems: [{where, message}], ...} as JSON.")
@network_options
def validate(network: Path, as_json: bool, source_options) -> None:
    """Check NETWORK (YAML, NIR or saved IR) and list every problem (exit 2 if there are any)."""
    try:
        stats = load_source(network, source_options).stats()
    except ValidationError as exc:
        if not as_json:
            raise
        problems = [{"where": d.where, "message": d.message} for d in exc.diagnostics]
        click.echo(json.dumps({"ok": False, "problems": problems}, indent=2))
        raise click.exceptions.Exit(2) from None
    if as_json:
        click.echo(json.dumps({"ok": True, "problems": [], "neurons": stats.neurons, "synapses": stats.synapses}))
    else:
        click.echo(f"{network}: ok ({stats.neurons} neurons, {stats.synapses} synapses)")


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@network_options
def info(network: Path, as_json: bool, source_options) -> None:
    """Summarize NETWORK: populations, projections, fan-in and fan-out."""
    stats = load_source(network, source_options).stats()
    if as_json:
        click.echo(json.dumps(stats.to_json(), indent=2, sort_keys=True))
        return
    console = out()
    console.print(f"[bold]{stats.name}[/]: {stats.neurons} neurons, {stats.synapses} synapses, "
                  f"{stats.sources} source channels, dt = {stats.dt * 1e3:g} ms")
    table = Table("node", "kind", "size", "syn in", "fan-in mean/max", "syn out", "fan-out mean/max")
    for p in stats.populations:
        table.add_row(p.name, (p.kind + " (source)") if p.is_source else p.kind, str(p.size), str(p.synapses_in),
                      f"{p.fan_in_mean:.1f} / {p.fan_in_max}", str(p.synapses_out),
                      f"{p.fan_out_mean:.1f} / {p.fan_out_max}")
    console.print(table)
    if stats.projections:
        ptable = Table("projection", "pre -> post", "receptor", "synapses", "delay min..max")
        for r in stats.projections:
            ptable.add_row(r["name"], f"{r['pre']} -> {r['post']}", r["receptor"] or "-", str(r["synapses"]),
                           f"{r['delay_min']} .. {r['delay_max']}" if r["synapses"] else "-")
        console.print(ptable)


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--duration", callback=time_option, help="Simulated time, e.g. '1 s' or '250ms'.")
@click.option("--steps", type=click.IntRange(min=1), help="Number of time steps (instead of --duration).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the network's).")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--plot/--no-plot", default=True, help="Write raster.png (default: yes).")
@click.option("--input", "inputs", multiple=True, metavar="SOURCE=FILE.npy",
              help="Spikes for a spike source (e.g. a NIR Input; for images, one of its host sources): a "
                   "(steps, channels) 0/1 array. Repeatable.")
@click.option("--target", default=None, help="Images: fail unless IMAGE was compiled for this target.")
@network_options
def simulate(network: Path, duration, steps, seed, outdir: Path, as_json: bool, plot: bool, inputs, target,
             source_options) -> None:
    """Simulate NETWORK in floating point, or a configuration image (NETWORK.nmc) bit-accurately from
    its own tables; write spikes.npz, summary.json and raster.png to OUTDIR."""
    from ..report import raster_png
    from ..sim import FloatSimulator
    from ..sim.stimulus import apply_spike_arrays

    if duration is not None and steps is not None:
        raise UserError("give either --duration or --steps, not both")
    if network.suffix == ".nmc":  # a configuration image: bit-accurate simulation of its tables
        result = image_commands.simulate_image(network, steps, duration, seed, target, inputs)
    else:
        if target is not None:
            raise UserError("--target applies to images (.nmc); use nmc compare for fixed-point simulation")
        net = load_source(network, source_options)
        if inputs:
            net = apply_spike_arrays(net, inputs)
        if steps is None:
            length = duration if duration is not None else net.duration
            if length is None:
                raise UserError(f"{network}: no simulation length: give --duration or --steps, or set 'duration' "
                                "in the file")
            steps = max(1, int(round(length / net.dt)))
        sim = FloatSimulator(net, seed=seed)
        err = Console(stderr=True)
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                      TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("sim", total=steps)
            result = sim.run(steps, progress=lambda k: bar.advance(task, k))
    png = raster_png(result) if plot else None
    result.save(outdir)
    if png is not None:
        write_bytes(outdir / "raster.png", png)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    console = out()
    table = Table("population", "size", "spikes", "rate (Hz)", title=f"{result.network}: {result.duration:g} s simulated")
    for name, row in summary["populations"].items():
        table.add_row(name, str(row["size"]), str(row["spikes"]), f"{row['rate_hz']:.2f}")
    console.print(table)
    console.print(f"wall time {result.wall_time:.2f} s ({summary['realtime_factor']:.2f} s per simulated s), "
                  f"{result.synaptic_events} synaptic events "
                  f"({summary['synaptic_events_per_second'] or 0:.3g}/s)")
    console.print(f"wrote {outdir}/spikes.npz, summary.json" + (", raster.png" if plot else ""))


@cli.command(name="import")
@click.argument("network", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="net.yaml (YAML + .npy arrays), net.npz or a folder (IR checkpoint), or net.nir.")
@network_options
def import_(network: Path, output: Path, source_options) -> None:
    """Convert NETWORK (NIR, YAML or saved IR) to YAML, a saved IR, or NIR."""
    from ..frontends.nir import export_nir
    from ..frontends.yaml_writer import save_yaml_network
    from ..ir import save_network

    net = load_source(network, source_options)
    if output.suffix in (".yaml", ".yml"):
        save_yaml_network(net, output)
    elif output.suffix == ".nir":
        import nir

        graph = export_nir(net)
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.tmp")
        try:
            nir.write(tmp, graph)
            tmp.replace(output)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        save_network(net, output)
    stats = net.stats()
    click.echo(f"wrote {output} ({stats.neurons} neurons, {stats.synapses} synapses)")


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="Target whose numeric format to use (see hwtargets/), or a target .yaml.")
@click.option("--weight-bits", "weight_bits_option", metavar="BITS|A..B",
              help="Override the format's weight mantissa bits; with --data, A..B also gives the hardware accuracy "
                   "for each width from A to B (accuracy_vs_weight_bits, accuracy_bits.png).")
@click.option("--duration", callback=time_option, help="Simulated time (default: the network's).")
@click.option("--steps", type=click.IntRange(min=1), help="Time steps per run (per sample with --data).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the network's).")
@click.option("--data", "data_file", type=click.Path(path_type=Path),
              help="Labelled inputs: an .npz with x (samples x features in [0, 1]; events: samples x steps x "
                   "channels of 0/1) and y (labels). The summaries and plot show the first sample's run.")
@click.option("--encode", type=click.Choice(["rate", "current", "events"]), default="rate",
              help="rate: Bernoulli spikes with probability x per step; current: x as constant current; "
                   "events: x are the spikes themselves.")
@click.option("--input-source", help="Source that receives the data (default: the one of matching size).")
@click.option("--output", "output_pop", help="Population read out by spike count (default: the last one).")
@click.option("--calibrate", is_flag=True, help="Calibrate the quantizer with the float run's observed ranges.")
@click.option("--clip", default="max", show_default=True,
              help="Weight range the mantissa must hold: 'max' or a percentile of |w| such as 99.9 (larger weights clip).")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout.")
@network_options
def compare(network: Path, target: str, weight_bits_option, duration, steps, seed, data_file, encode, input_source,
            output_pop, calibrate: bool, clip: str, outdir: Path, as_json: bool, source_options) -> None:
    """Simulate NETWORK in float and bit-accurately for TARGET's format; report what fixed point costs."""
    import dataclasses

    import numpy as np

    from ..analysis import compare_networks
    from ..drc.rules import target_for
    from ..fileio import write_json
    from ..report.compare_plot import accuracy_bits_png, compare_png, confusion_png
    from ..targets import load_target

    if clip != "max":
        try:
            clip = float(clip)
        except ValueError:
            raise UserError(f"--clip must be 'max' or a percentile in (0, 100], not '{clip}'") from None
        if not 0 < clip <= 100:
            raise UserError(f"--clip must be 'max' or a percentile in (0, 100], not {clip:g}")
    weight_bits, curve = _weight_bits(weight_bits_option)
    if curve and data_file is None:
        raise UserError(f"--weight-bits {weight_bits_option}: a range needs --data (accuracy per width)")
    tgt = load_target(target)
    net = load_source(network, source_options)
    fmt = target_for(net, tgt).format  # multi-compartment neurons where the target chains them
    if weight_bits is not None:
        fmt = dataclasses.replace(fmt, weight_bits=weight_bits)
    if duration is not None and steps is not None:
        raise UserError("give either --duration or --steps, not both")
    if steps is None:
        length = duration if duration is not None else net.duration
        if length is None:
            raise UserError(f"{network}: no simulation length: give --duration or --steps")
        steps = max(1, int(round(length / net.dt)))
    data = None
    if data_file is not None:
        try:
            with np.load(data_file, allow_pickle=False) as f:
                data = {"x": f["x"], "y": f["y"]}
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"{data_file}: need an .npz with arrays x and y ({exc})") from None
    err = Console(stderr=True)
    total = len(data["y"]) if data is not None else 0
    with Progress(TextColumn("comparing"), BarColumn(), TextColumn("{task.completed}/{task.total} samples"),
                  console=err, transient=True, disable=not err.is_terminal or not total) as bar:
        task = bar.add_task("cmp", total=total)
        cmp = compare_networks(net, fmt, steps=steps, seed=seed, data=data, encode=encode, calibrate=calibrate, clip=clip,
                               input_source=input_source, output=output_pop, progress=lambda k: bar.advance(task, k),
                               weight_bits_curve=curve)
    report = cmp.to_json()
    image = _image_accuracy(net, tgt, fmt, data, encode, input_source, output_pop, steps, seed)
    if image is not None:
        report |= image.to_json()
    png = compare_png(cmp)
    confusion = confusion_png(cmp) if cmp.confusion is not None else None
    write_json(outdir / "compare.json", report)
    write_bytes(outdir / "compare.png", png)
    if confusion is not None:
        write_bytes(outdir / "confusion.png", confusion)
    if cmp.accuracy_vs_weight_bits:
        write_bytes(outdir / "accuracy_bits.png", accuracy_bits_png(cmp))
    for w in cmp.warnings:
        log.warning("%s", w)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    console = out()
    table = Table("population", "float spikes", f"{fmt.name} spikes", "rate error", "count corr", "van Rossum",
                  title=f"{net.name}: float vs {fmt.name} ({steps} steps)")
    for name, row in report["populations"].items():
        rate_err = "-" if row["rate_error"] is None else f"{100 * row['rate_error']:+.1f} %"
        corr = "-" if row["count_correlation"] is None else f"{row['count_correlation']:.3f}"
        table.add_row(name, str(row["float_spikes"]), str(row["hw_spikes"]), rate_err, corr,
                      f"{row['van_rossum_mean']:.2f}")
    console.print(table)
    fd = report["first_divergence"]
    console.print("identical spikes" if fd is None else
                  f"first divergence: step {fd['step']}, population '{fd['population']}', neuron {fd['neuron']}")
    if cmp.float_accuracy is not None:
        first = "none" if cmp.first_diverging_sample is None else str(cmp.first_diverging_sample)
        console.print(f"accuracy on {cmp.samples} samples: float {cmp.float_accuracy:.4f}, "
                      f"{fmt.name} {cmp.hw_accuracy:.4f} (same class on {100 * cmp.agreement:.1f} %, same output "
                      f"spike counts on {100 * cmp.count_agreement:.1f} %; first sample classified differently: {first})")
    if image is not None:
        console.print(f"the compiled image ({image.cores} cores, its own tables): accuracy {image.accuracy:.4f}")
    console.print(f"wrote {outdir}/compare.json, compare.png" + (", confusion.png" if confusion is not None else ""))


def _image_accuracy(net, target, fmt, data, encode, input_source, output_pop, steps, seed):
    """With spike data, the accuracy of the compiled image itself (None otherwise)."""
    from ..flow.image_accuracy import image_accuracy
    from ..ir import SpikeSource

    if data is None or encode == "current":
        return None
    channels = data["x"].shape[-1]
    source = input_source or next(s.name for s in net.sources if isinstance(s, SpikeSource) and s.size == channels)
    try:
        return image_accuracy(net, target, fmt, data["x"], data["y"], encode=encode, source=source,
                              output=output_pop or net.populations[-1].name, steps=steps,
                              seed=net.seed if seed is None else seed)
    except UserError as exc:  # the comparison of formats stands; the chip cannot hold the network
        log.warning("no accuracy of the compiled image: %s", exc)
        return None


def _weight_bits(value: str | None) -> tuple[int | None, tuple[int, ...]]:
    """``--weight-bits``: one width, or a range ``A..B`` (the curve; the target's own width stays)."""
    if value is None:
        return None, ()
    low, sep, high = value.partition("..")
    try:
        bits = (int(low), int(high)) if sep else (int(low),)
    except ValueError:
        raise UserError(f"--weight-bits must be a width such as 6 or a range such as 2..8, not '{value}'") from None
    if not all(2 <= b <= 32 for b in bits) or bits[0] > bits[-1]:
        raise UserError(f"--weight-bits {value}: widths must be in 2..32, the range ascending")
    return (None, tuple(range(bits[0], bits[1] + 1))) if sep else (bits[0], ())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--derive", "base", default=None, metavar="TARGET",
              help="Write a target file derived from TARGET (a shipped name or a .yaml) with the --set fields.")
@click.option("--set", "settings", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="With --derive: a field to change, e.g. chip.mesh=[6,6] or core.neurons=512 (repeatable).")
@click.option("--name", default=None, help="With --derive: the new target's name (default: the output file's stem).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="With --derive: the .yaml to write.")
def targets(as_json: bool, base: str | None, settings: tuple[str, ...], name: str | None, output: Path | None) -> None:
    """List the shipped targets and their limits, or derive a target file from one."""
    from ..targets import load_target, target_names

    if base is None and (settings or name or output):
        raise UserError("--set, --name and -o go with --derive TARGET")
    if base is not None:
        from ..fileio import write_bytes
        from ..targets.derive import derive_target, target_yaml

        if output is None or output.suffix not in (".yaml", ".yml"):
            raise UserError("--derive needs -o FILE.yaml: the target file to write")
        doc, derived = derive_target(base, settings, output, name)
        write_bytes(output, target_yaml(doc, base, settings).encode())
        found = [derived]
    else:
        found = [load_target(name) for name in target_names()]
    if as_json:
        click.echo(json.dumps([t.to_json() for t in found], indent=2, sort_keys=True))
        return
    table = Table("target", "cores/chip", "max chips", "neurons/core", "axons in/out", "synapse memory",
                  "weights", "delays", "models")
    for t in found:
        f = t.format
        weights = f"{f.weight_bits}-bit" + (f" << {f.exponent_min}..{f.exponent_max}" if f.exponent_scope != "none" else "")
        table.add_row(t.name, str(t.chip.cores_per_chip), str(t.chip.max_chips), str(t.core.neurons),
                      f"{t.core.input_axons}/{t.core.output_axons}",
                      f"{t.core.synapse_memory_bits // 8192} KiB ({t.core.synapse_storage})", weights,
                      f"1..{f.delay_max}", ", ".join(t.core.models))
    console = out()
    console.print(table)
    for t in found:
        if (sz := t.sizing) is not None:
            console.print(f"{t.name} is generated to fit: nmc compile --size chooses {min(sz.neurons)}-"
                          f"{max(sz.neurons)} neurons and {min(sz.input_axons)}-{max(sz.input_axons)} input axons "
                          f"per core, the synapse memory and up to {sz.max_cores} cores")


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="A shipped target (nmc targets) or a target .yaml file.")
@click.option("--split", is_flag=True, help="Accept what legalization passes will fix (split populations, relays).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@network_options
def check(network: Path, target: str, split: bool, as_json: bool, source_options) -> None:
    """Check NETWORK against TARGET's design rules; list every violation (exit 2 if it cannot map)."""
    from ..drc import check as run_rules
    from ..drc import cores_lower_bound
    from ..targets import load_target

    tgt = load_target(target)
    net = load_source(network, source_options)
    violations = run_rules(net, tgt)
    blocking = [v for v in violations if not (split and v.legalizable)]
    bound = cores_lower_bound(net, tgt)
    if as_json:
        click.echo(json.dumps({"target": tgt.name, "fits": not blocking, "cores_lower_bound": bound,
                               "violations": [v.to_json() for v in violations]}, indent=2, sort_keys=True))
    else:
        for v in violations:
            label = "error" if v in blocking else "note"
            click.echo(f"{label}: {network}: {v}", err=True)
        if not blocking:
            pending = f"; {len(violations)} need legalization (listed as notes)" if violations else ""
            click.echo(f"{network}: no blocking design-rule violations for {tgt.name}{pending} "
                       f"(at least {bound} cores)")
    if blocking:
        raise click.exceptions.Exit(2)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the YAML network format."""
    from ..frontends import network_schema

    click.echo(json.dumps(network_schema(), indent=2))
