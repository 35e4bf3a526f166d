"""``nmc validate | info | simulate | import | targets | check | schema``: the commands on networks
and targets."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import UserError, ValidationError

from . import image_commands
from .app import cli, data_options, load_source, network_options, out, output_file, output_folder, time_option

__all__ = ["check", "import_", "info", "schema", "simulate", "targets", "validate"]


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
@click.option("-o", "--outdir", type=click.Path(path_type=Path), callback=output_folder, required=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--plot/--no-plot", default=True, help="Write raster.png (default: yes).")
@click.option("--input", "inputs", multiple=True, metavar="SOURCE=FILE.npy",
              help="Spikes for a spike source (e.g. a NIR Input; for images, one of its host sources): a "
                   "(steps, channels) 0/1 array. Repeatable.")
@click.option("--target", default=None, help="Images: fail unless IMAGE was compiled for this target.")
@click.option("--record-weights", "record_every", callback=time_option, metavar="EVERY",
              help="Networks that learn: also snapshot the plastic weights every EVERY (e.g. '1 s') into "
                   "weights.npz (which holds the final weights in any case).")
@click.option("--learn", is_flag=True, help="Images: run the learning engine on the image's plastic synapses "
                                             "(default: they keep the weights the image holds) and write weights.npz.")
@data_options("Run every sample of an .npz with x (and labels y, optional): counts.npz (spike counts per sample and "
              "population), samples.json (spikes, rates, accuracy); spikes.npz and the plot: the first sample.")
@network_options
def simulate(network: Path, duration, steps, seed, outdir: Path, as_json: bool, plot: bool, inputs, target,
             record_every, learn, data_file, encode, input_source, output_pop, source_options) -> None:
    """Simulate NETWORK in floating point, or a configuration image (NETWORK.nmc) bit-accurately from
    its own tables; write spikes.npz, summary.json and raster.png to OUTDIR (and weights.npz when
    projections learn)."""
    from ..report import raster_png
    from ..sim import FloatSimulator
    from ..sim.activity import float_activity, program_activity
    from ..sim.stimulus import apply_spike_arrays

    if duration is not None and steps is not None:
        raise UserError("give either --duration or --steps, not both")
    if record_every is not None and (data_file is not None or (network.suffix == ".nmc" and not learn)):
        raise UserError("--record-weights applies to a network simulated in floating point or an image run with "
                        "--learn (not to --data runs)")
    if learn and (network.suffix != ".nmc" or data_file is not None):
        raise UserError("--learn applies to images (.nmc) without --data; a network learns whenever it has rules")
    if data_file is not None:
        if inputs:
            raise UserError("give either --data or --input, not both")
        return _simulate_data(network, data_file, encode, input_source, output_pop, steps, duration, seed, target,
                              outdir, as_json, plot, source_options)
    if network.suffix == ".nmc":  # a configuration image: bit-accurate simulation of its tables
        result, program = image_commands.simulate_image(network, steps, duration, seed, target, inputs, learn,
                                                         record_every)
        activity = _activity(lambda: program_activity(program, result, result.steps), program.probes,
                             [s.name for s in program.populations], bool(result.weights))
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
        every = None if record_every is None else max(1, int(round(record_every / net.dt)))
        if every is not None and not any(p.learning is not None for p in net.projections):
            raise UserError(f"{network}: --record-weights: no projection learns (add 'learning' to a projection)")
        sim = FloatSimulator(net, seed=seed)
        err = Console(stderr=True)
        with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                      TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("sim", total=steps)
            result = sim.run(steps, progress=lambda k: bar.advance(task, k), record_weights=every)
        activity = _activity(lambda: float_activity(net, result, steps), net.probes, [p.name for p in net.populations],
                             any(p.learning is not None for p in net.projections))
    png = raster_png(result) if plot else None
    extra = {"raster.png": png} if png is not None else {}
    decoded = _decoded(net if network.suffix != ".nmc" else None, result, extra)
    if activity is not None:
        extra["activity.json"] = (json.dumps(activity.to_json(), indent=2, sort_keys=True) + "\n").encode()
    result.save(outdir, extra=extra)
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
    if activity is not None:
        console.print(f"activity: {activity.synaptic_ops} synaptic operations, {activity.neuron_updates} neuron "
                      f"updates, {activity.spikes} spikes, {activity.source_spikes} input spikes")
    for name, row in decoded.items():
        console.print(f"readout '{name}': {row['dims']} dims, rms {row['rms']:.4g}, last value "
                      + ", ".join(f"{v:.4g}" for v in row["last"]))
    console.print(f"wrote {outdir}/spikes.npz, summary.json" + (", raster.png" if plot else "")
                  + (", weights.npz" if result.weights else "") + (", activity.json" if activity is not None else "")
                  + (", decoded.npz, decoded.json" if decoded else ""))


def _decoded(net, result, extra: dict) -> dict:
    """A network's readouts (NEF decoded values) of the run: decoded.npz and decoded.json into
    ``extra``; their summary (empty without readouts)."""
    from ..analysis.readouts import decoded_npz, decoded_values, readout_summary

    if net is None or not net.readouts:
        return {}
    values = decoded_values(net.readouts, result)
    summary = readout_summary(values)
    extra["decoded.npz"] = decoded_npz(values)
    extra["decoded.json"] = (json.dumps({"readouts": summary}, indent=2, sort_keys=True) + "\n").encode()
    return summary


def _activity(count, probes, populations, learns: bool):
    """The run's activity (:mod:`nmcompiler.sim.activity`) when its spikes are all recorded and
    its synapses fixed (plastic ones are delivered apart), else None."""
    from ..sim.activity import records_every_spike

    if learns or not records_every_spike(probes, populations):
        return None
    return count()


def _simulate_data(network: Path, data_file: Path, encode, input_source, output_pop, steps, duration, seed, target,
                   outdir: Path, as_json: bool, plot: bool, source_options) -> None:
    """``simulate --data``: every sample through the network (float) or the image's own tables."""
    from ..flow.samples import run_samples
    from ..report import raster_png
    from ..sim.data import SampleData

    data = SampleData.load(data_file, encode, labels=False)
    if network.suffix == ".nmc":
        from ..image import decode, to_program

        contents = decode(image_commands.read_image(network), str(network))
        image_commands.check_target(network, contents.meta, target)
        model = to_program(contents)
    else:
        if target is not None:
            raise UserError("--target applies to images (.nmc); use nmc compare for fixed-point simulation")
        model = load_source(network, source_options)
    source = data.pick_source(model.sources, input_source)
    output = output_pop or model.populations[-1].name
    steps = steps or (max(1, int(round(duration / model.dt))) if duration else None) or _data_steps(model, data, source,
                                                                                                   output, network)
    err = Console(stderr=True)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed}/{task.total} samples"),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("sim", total=len(data))
        counts = run_samples(model, data, source=source, output=output, steps=steps, seed=seed,
                             progress=lambda k: bar.advance(task, k))
    if data.y is not None:
        data.check_labels(counts.counts.shape[1], output)
    doc = {"data": str(data_file), "encode": data.encode, "source": source} | counts.to_json(data.y)
    png = raster_png(counts.first) if plot else None
    extra = {"counts.npz": counts.counts_npz_bytes(), "samples.json": (json.dumps(doc, indent=2, sort_keys=True)
                                                                      + "\n").encode()}
    counts.first.save(outdir, extra=extra | ({"raster.png": png} if png is not None else {}))
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    console = out()
    table = Table("population", "size", "spikes", "rate (Hz)", "silent samples",
                  title=f"{model.name}: {len(data)} samples of {steps} steps")
    for name, row in doc["populations"].items():
        table.add_row(name, str(row["size"]), str(row["spikes"]), f"{row['rate_hz']:.2f}", str(row["silent_samples"]))
    console.print(table)
    if "accuracy" in doc:
        console.print(f"accuracy (most spikes of '{output}'): {doc['accuracy']:.4f} on {len(data)} samples")
    console.print(f"wrote {outdir}/counts.npz, samples.json, spikes.npz and summary.json (the first sample)"
                  + (", raster.png" if plot else ""))


def _data_steps(model, data, source: str, output: str, where: Path) -> int:
    """Steps per sample when none are given: an event sample's length plus the output's lag
    (networks), or the network's duration."""
    from ..flow.verify import response_lag
    from ..ir import Network

    if data.sample_steps is not None and isinstance(model, Network):
        return data.sample_steps + response_lag(model, source, output)
    if isinstance(model, Network) and model.duration is not None:
        return max(1, int(round(model.duration / model.dt)))
    length = f" (the samples have {data.sample_steps}; add the output's lag)" if data.sample_steps else ""
    raise UserError(f"{where}: no simulation length per sample: give --steps{length}")


@cli.command(name="import")
@click.argument("network", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=output_file, required=True,
              help="net.yaml (YAML + .npy arrays), net.npz or a folder (IR checkpoint), or net.nir.")
@click.option("--weights", "weights_file", type=click.Path(path_type=Path), default=None,
              help="Learned weights (a weights.npz of nmc simulate) to put into the projections that learned; "
                   "their learning rules are dropped (fixed weights, ready to compile) unless --keep-learning.")
@click.option("--keep-learning", is_flag=True, help="With --weights: keep the learning rules (learn on from there).")
@network_options
def import_(network: Path, output: Path, weights_file: Path | None, keep_learning: bool, source_options) -> None:
    """Convert NETWORK (NIR, YAML or saved IR) to YAML, a saved IR, or NIR; with --weights, deploy
    the weights a learning run found."""
    from ..frontends.nir import export_nir
    from ..frontends.yaml_writer import save_yaml_network
    from ..ir import save_network, with_weights
    from ..sim.result import read_weights_npz

    if keep_learning and weights_file is None:
        raise UserError("--keep-learning goes with --weights")
    net = load_source(network, source_options)
    if weights_file is not None:
        learned = read_weights_npz(weights_file)
        net = with_weights(net, {n: w["final"] for n, w in learned.items()}, freeze=not keep_learning,
                           synapses={n: (w["pre"], w["post"]) for n, w in learned.items()})
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--derive", "base", default=None, metavar="TARGET",
              help="Write a target file derived from TARGET (a shipped name or a .yaml) with the --set fields.")
@click.option("--set", "settings", multiple=True, metavar="SECTION.FIELD=VALUE",
              help="With --derive: a field to change, e.g. chip.mesh=[6,6] or core.neurons=512 (repeatable).")
@click.option("--name", default=None, help="With --derive: the new target's name (default: the output file's stem).")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=output_file, default=None, help="With --derive: the .yaml to write.")
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
