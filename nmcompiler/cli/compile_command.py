"""``nmc compile``: map a network onto a target and write the mapping, report and image; with
``--size``, first size a target whose core is generated to fit (fpga-lif)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from .app import cli, estimate_line, load_source, network_options, out, output_folder, spike_data_options, time_option

__all__ = ["compile_"]

#: what the status line says while a stage or sub-step runs (names as in the report's ``passes``)
PASS_LABELS = {
    "size_core": "sizing the core", "image": "writing the configuration image", "routing_tables": "building routing tables",
    "check_legalized": "re-checking design rules", "target": "choosing compartments",
    "bound": "bounding cores", "partition": "partitioning", "sized_mesh": "growing the sized mesh",
    "usage": "counting usage and traffic", "check_fit": "checking every limit",
    "design_rules": "checking design rules", "legalize_delays": "relaying long delays",
    "legalize_weights": "clustering weights", "quantize": "quantizing", "rates": "simulating firing rates",
    "partition_index_order": "partitioning in index order", "partition_rcm_order": "partitioning in RCM order",
    "partition_metis": "partitioning with METIS", "partition_kahypar": "partitioning with Mt-KaHyPar",
    "partition_cp_sat": "partitioning with CP-SAT", "partition_partial_sums": "planning partial sums",
    "partition_per_neuron_trial": "trying dense populations per neuron", "legalize_fan_out": "adding splitter neurons",
    "legalize_axon_types": "assigning axon types", "index_order_baseline": "index-order baseline",
    "usage_traffic": "counting usage and traffic", "place": "placing cores", "route": "routing",
}


@cli.command(name="compile")
@click.argument("network", type=click.Path(path_type=Path), required=False)
@click.option("--target", required=True, help="A shipped target (nmc targets) or a target .yaml file.")
@click.option("--partitioner", type=click.Choice(["auto", "metis", "kahypar", "rcm-order", "index-order", "cp-sat"]),
              default="auto", help="auto: the fewest cores, then the least traffic, of index order, RCM order, "
              "METIS and (networks with locality) Mt-KaHyPar, improved by CP-SAT (small budget) on small networks; "
              "cp-sat: the same with a larger budget.")
@click.option("--placer", type=click.Choice(["auto", "swap", "cp-sat"]), default="auto",
              help="swap: iterated pairwise swap search over compact blocks of the mesh; cp-sat: then OR-Tools "
                   "CP-SAT over every position of the chips used (up to 64 cores); auto: CP-SAT with a small budget "
                   "when the chips used have at most 6 positions.")
@click.option("--fan-in", "fan_in", type=click.Choice(["auto", "partial-sums", "none"]), default="auto",
              help="Partial-sum compartments for fan-in beyond a core's axons (targets with graded messages); "
                   "auto: when a neuron needs them or they need fewer cores.")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Partitioner and simulation seed.")
@click.option("--rates", "rate_duration", callback=time_option, default=None,
              help="Weight traffic by firing rates from a float simulation of this length, e.g. '1s'.")
@spike_data_options("Samples (.npz with x; events or rate-coded): rates from the float network run on them "
                    "weight traffic as --rates does and, on crossbar cores, decide which sources keep more weight "
                    "planes; the image then runs them, one inference each, for the report's energy and latency "
                    "estimate (targets with a cost model). Rate-coded samples need --steps.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="With --data: steps per sample (default: an event sample's length).")
@click.option("--crossbar-weights", type=click.Choice(["planes", "cluster"]), default="planes",
              help="Cores with axon types (truenorth-like): planes (a source reaches a core through up to one axon "
                   "per type, as copies that fire with it, so each weight keeps several bits where the core's axons "
                   "allow; the default) or cluster (one axon per source, each neuron's weights clustered).")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), callback=output_folder, help="Output folder (required unless --stages).")
@click.option("--image/--no-image", "with_image", default=True,
              help="Write the configuration image (default); --no-image writes the mapping and report only "
                   "(the microcircuit's 1.6 GB image takes about two minutes).")
@click.option("--size", "size", is_flag=True,
              help="Targets whose core is generated to fit (fpga-lif): choose the core's neurons, input axons and "
                   "synapse memory, and the mesh, with the fewest memory bits; write the sized target as "
                   "OUTDIR/target.yaml and compile onto it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--stages", "show_stages", is_flag=True,
              help="Print the stages of the compile pipeline chosen for TARGET and these options, and stop.")
@click.option("--dump-after", "dump_after", multiple=True, metavar="STAGE",
              help="Write the state after STAGE to OUTDIR/stages/ (NN-STAGE.json and the network as NN-STAGE.npz); "
                   "repeatable.")
@network_options
def compile_(network: Path, target: str, partitioner: str, placer: str, fan_in: str, seed: int, rate_duration,
             data_file: Path | None, encode: str | None, input_source: str | None, steps: int | None,
             crossbar_weights: str, outdir: Path, with_image: bool, size: bool, as_json: bool, show_stages: bool,
             dump_after: tuple[str, ...], source_options) -> None:
    """Map NETWORK onto TARGET: design rules, quantize, partition, place; write the mapping and a report."""
    from ..compiler import CompileOptions, compile_pipeline
    from ..flow import compile_to_directory, float_rates, rtl_memory_cost
    from ..targets import load_target

    tgt = load_target(target)
    choice = CompileOptions(seed=seed, partitioner=partitioner, placer=placer, fan_in=fan_in,
                            rates=float_rates(1, seed) if rate_duration or data_file else None,
                            crossbar_weights=crossbar_weights)
    choice.check(tgt)
    if show_stages:
        pipeline = compile_pipeline(tgt, choice, size_cost=rtl_memory_cost() if size else None)
        click.echo(f"compile pipeline for {tgt.name}" + (" (sized)" if size else "") + ":\n" + pipeline.describe())
        return
    if network is None or outdir is None:
        raise UserError("nmc compile needs a NETWORK and -o OUTDIR (or --stages to list the pipeline)")
    net = load_source(network, source_options)
    rates, samples = _rates(net, rate_duration, data_file, encode, input_source, steps, seed)
    status = Console(stderr=True).status(f"{net.name}: starting")  # shown on a terminal only
    with status:
        done = compile_to_directory(
            net, tgt, outdir, with_image=with_image, size=size, dump_after=dump_after,
            sized_header=f"from target '{target}' for {network.name}", where=str(network), seed=seed, partitioner=partitioner,
            rates=rates, placer=placer, fan_in=fan_in, crossbar_weights=crossbar_weights, samples=samples,
            progress=lambda name: status.update(f"{net.name}: {PASS_LABELS.get(name, name)}"))
    if as_json:
        click.echo(json.dumps(done.document, indent=2, sort_keys=True))
        return
    _print(done, target)


def _rates(net, rate_duration, data_file, encode, input_source, steps, seed):
    """The rate source of ``--rates`` (the network's own inputs) or ``--data`` (samples), or None;
    and the samples of ``--data`` (for the report's estimate), or None."""
    from ..flow import data_rates, float_rates
    from ..flow.compile_dir import Samples
    from ..sim.data import SampleData

    if data_file is None:
        if encode or input_source or steps:
            raise UserError("--encode, --input-source and --steps go with --data")
        return (float_rates(max(1, int(round(rate_duration / net.dt))), seed) if rate_duration else None), None
    if rate_duration:
        raise UserError("give --rates (the network's own inputs) or --data (samples), not both")
    data = SampleData.load(data_file, encode, labels=False)
    data.pick_source(net.sources, input_source)  # checked before the compile starts
    steps = steps or data.sample_steps
    if steps is None:
        raise UserError(f"{data_file}: rate-coded samples need --steps (steps per sample)")
    return data_rates(data, steps, input_source, seed), Samples(data=data, source=input_source, steps=steps, seed=seed)


def _print(done, base: str) -> None:
    report, sizing, stem, outdir = done.report, done.sizing, done.stem, done.outdir
    console = out()
    if sizing is not None:
        console.print(_sizing_line(sizing, base))
    console.print(f"[bold]{stem}[/] on {done.mapping.target.name}: {report.cores_used} cores (lower bound "
                  f"{report.cores_lower_bound}), partitioner {report.partitioner}")
    if report.layers is not None:  # convolution cores: the layers and their memories, nothing to route
        console.print(_layers_table(report.layers))
        _print_tail(done, report, console)
        return
    basis = "at simulated rates" if report.rates_measured else "at 1 Hz per neuron"
    index_order = ("not computed" if report.inter_core_spikes_index_order is None
                   else f"{report.inter_core_spikes_index_order:.0f}")
    console.print(f"inter-core spikes per second {basis}: {report.inter_core_spikes:.0f} "
                  f"(index order: {index_order}); average hops {report.average_hops:.2f} "
                  f"(index-order placement {report.average_hops_index_order:.2f})"
                  + ("" if report.max_link_load is None else f"; busiest link {report.max_link_load:.0f} spikes/s"))
    table = Table("resource", "max utilization", "mean utilization")
    for name, st in report.utilization.items():
        table.add_row(name, f"{100 * st['max']:.1f} %", f"{100 * st['mean']:.1f} %")
    console.print(table)
    if report.partitioning is not None:
        console.print(_partitioning_line(report.partitioning))
    console.print(_placement_line(report.placement))
    _print_tail(done, report, console)


def _layers_table(layers) -> Table:
    table = Table("layer", "channels", "core", "kernel words", "neuron words", "bias words")
    for use in layers:
        p = use.part
        cells = [f"{getattr(p.memory, m)}" + ("" if use.limit is None else f" / {getattr(use.limit, m)}")
                 for m in ("kernel_words", "neuron_words", "bias_words")]
        table.add_row(p.layer, f"{p.channels[0]}-{p.channels[1] - 1}", "-" if p.core < 0 else str(p.core), *cells)
    return table


def _print_tail(done, report, console) -> None:
    stem, outdir = done.stem, done.outdir
    console.print("passes: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in report.passes.items()))
    if report.partial_sums is not None:
        p = report.partial_sums
        console.print(f"partial sums: {p.compartments} compartments on {p.dendrite_cores} cores feed "
                      f"{p.soma_cores} neuron cores; {p.messages_per_second:.0f} messages per second")
    for note in report.notes:  # what compiling changed in the network's behaviour, and how much
        console.print(f"note: {note}")
    if "estimate" in done.document:  # the image run on the --data samples
        console.print(estimate_line(done.document["estimate"], f"{stem}.map.json"))
    written = ", ".join(f for f in done.files if f != f"{stem}.nmc")
    if done.image_bytes is None:
        console.print(f"wrote {outdir}/{written} (no configuration image: --no-image)")
    else:
        console.print(f"wrote {outdir}/{stem}.nmc ({done.image_bytes} bytes), {written}")


def _placement_line(pl) -> str:
    line = f"placement {pl.method}: traffic x hops {pl.cost:.0f}"
    if pl.cp_sat:
        verdict = "proved optimal" if pl.optimal else pl.solver_status.lower()
        bound = f", lower bound {pl.lower_bound:.0f}" if pl.lower_bound else ""
        line += f" (index order {pl.index_order_cost:.0f}, swap search {pl.swap_cost:.0f}; CP-SAT {verdict}{bound})"
    elif pl.candidate_costs:
        others = ", ".join(f"{k} {v:.0f}" for k, v in pl.candidate_costs.items())
        line += f" (candidates: {others}; before refinement {pl.unrefined_cost:.0f})"
    elif pl.index_order_cost is not None:  # fixed placements (layer or port assignments) have no alternative
        line += f" (index order {pl.index_order_cost:.0f})"
    return line


def _partitioning_line(p) -> str:
    verdict = "proved optimal" if p.optimal else p.solver_status.lower()
    return (f"CP-SAT partitioning from {p.start} ({p.start_cores} cores, {p.start_traffic:.0f} spikes/s): "
            f"{p.cores} cores, {p.traffic:.0f} spikes/s, {verdict}, traffic lower bound "
            f"{p.traffic_lower_bound:.0f}")


def _sizing_line(sizing, base: str) -> str:
    c = sizing.chosen
    tried = len(sizing.candidates)
    rejected = sum(1 for k in sizing.candidates if k.rejected)
    pruned = sum(1 for k in sizing.candidates if k.pruned)
    rows, cols = sizing.target.chip.mesh
    return (f"sized {base}: {c.cores} cores ({rows} x {cols} mesh) of {c.neurons} neurons, {c.input_axons} input "
            f"axons and {c.synapse_memory_bits / 8192:.0f} KiB synapse memory; {c.memory_bits / 2**23:.2f} MiB of chip "
            f"memories in all ({tried} choices tried, {rejected} cannot hold the network, {pruned} cost more by a lower bound)")
