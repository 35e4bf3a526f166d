"""``nmc compare``: what fixed point costs. A network against its target's format (``--target``),
or a compiled image's own tables against the network it came from (``IMAGE.nmc --network``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ..errors import UserError
from ..fileio import OutputSet

from .app import (cli, data_options, estimate_line, executor_for, executor_options, load_source, log, network_options,
                  out, output_folder, steps_of, time_option)

__all__ = ["compare"]


@cli.command()
@click.argument("network", type=click.Path(path_type=Path))
@click.option("--target", default=None,
              help="Target whose numeric format to use (see hwtargets/), or a target .yaml; with IMAGE.nmc: fail "
                   "unless the image was compiled for it.")
@click.option("--network", "float_network", type=click.Path(path_type=Path),
              help="With IMAGE.nmc: the network it was compiled from (the float meaning; --from etc. apply to it).")
@click.option("--weight-bits", "weight_bits_option", metavar="BITS|A..B",
              help="Override the format's weight mantissa bits; with --data, A..B also gives the hardware accuracy "
                   "for each width from A to B (accuracy_vs_weight_bits, accuracy_bits.png).")
@click.option("--duration", callback=time_option, help="Simulated time (default: the network's).")
@click.option("--steps", type=click.IntRange(min=1), help="Time steps per run (per sample with --data).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the network's).")
@data_options("Labelled inputs: an .npz with x (samples x features in [0, 1]; events: samples x steps x channels "
              "of 0/1) and y (labels). The summaries and plot show the first sample's run.")
@click.option("--calibrate", is_flag=True, help="Calibrate the quantizer with the float run's observed ranges.")
@click.option("--clip", default="max", show_default=True,
              help="Weight range the mantissa must hold: 'max' or a percentile of |w| such as 99.9 (larger weights clip).")
@click.option("--instances", type=click.IntRange(min=1, max=10_000),
              help="Analog targets (a 'variation' section): simulate this many seeded chip instances and report "
                   "accuracy and rates as mean, spread and worst case (variation.json, variation.png).")
@click.option("--calibrated", is_flag=True, help="With --instances: each chip after calibration (the residual CVs).")
@click.option("--cv", type=float, help="With --instances: set every parameter's coefficient of variation (e.g. 0.1).")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), callback=output_folder, required=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout.")
@executor_options
@network_options
def compare(network: Path, target, float_network, weight_bits_option, duration, steps, seed, data_file, encode,
            input_source, output_pop, calibrate: bool, clip: str, instances, calibrated: bool, cv, outdir: Path,
            as_json: bool, executor, source_options) -> None:
    """Simulate NETWORK in float and bit-accurately for TARGET's format, or IMAGE.nmc's own tables
    against the float network it was compiled from (--network, --data); report what fixed point costs.
    With --instances N (analog targets): N seeded chip instances of TARGET's device variation."""
    from ..sim.data import SampleData

    if duration is not None and steps is not None:
        raise UserError("give either --duration or --steps, not both")
    if instances is None and (calibrated or cv is not None):
        raise UserError("--calibrated and --cv apply to chip instances: give --instances N")
    if instances is not None:
        from .compare_instances import compare_instances_command

        if (target is None or network.suffix == ".nmc" or float_network is not None or weight_bits_option or calibrate
                or executor is not None):
            raise UserError("compare NETWORK --target ANALOG --instances N [--calibrated] [--cv X] [--data FILE.npz] "
                            "(no image, --network, --weight-bits, --calibrate or --workers)")
        data = SampleData.load(data_file, encode) if data_file is not None else None
        compare_instances_command(network, target, source_options, instances=instances, calibrated=calibrated, cv=cv,
                                  steps=steps, duration=duration, seed=seed, data=data, input_source=input_source,
                                  output_pop=output_pop, outdir=outdir, as_json=as_json)
        return
    is_image = network.suffix == ".nmc"
    extra = [o for o, v in (("--weight-bits", weight_bits_option), ("--calibrate", calibrate), ("--clip", clip != "max"))
             if v]
    if is_image and (extra or float_network is None or data_file is None):
        raise UserError(f"{network}: an image is compared on labelled data with the network it was compiled from: "
                        "give --network NET --data FILE.npz" + (f" (and drop {', '.join(extra)}: the image fixes its "
                                                                "format)" if extra else ""))
    if not is_image and (target is None or float_network is not None):
        raise UserError("compare NETWORK --target TARGET, or compare IMAGE.nmc --network NET --data FILE.npz")
    data = SampleData.load(data_file, encode) if data_file is not None else None
    with executor_for(executor, data) as ex:
        if is_image:
            (cmp, est), image = _compare_image(network, float_network, source_options, data, target, input_source,
                                               output_pop, steps, duration, seed, ex), None
        else:
            cmp, image, readouts = _compare_network(network, target, source_options, weight_bits_option, duration,
                                                    steps, seed, data, input_source, output_pop, calibrate,
                                                    _clip(clip), ex)
            est = image.estimate if image is not None else None
    report = cmp.to_json() | (image.to_json() if image is not None else {})
    if not is_image and readouts:
        report["readouts"] = readouts
    if est is not None:
        report["estimate"] = est.to_json()
    _write(outdir, cmp, report)
    for w in cmp.warnings:
        log.warning("%s", w)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    _print(cmp, report, image, outdir)


def _clip(clip: str):
    if clip == "max":
        return clip
    try:
        value = float(clip)
    except ValueError:
        raise UserError(f"--clip must be 'max' or a percentile in (0, 100], not '{clip}'") from None
    if not 0 < value <= 100:
        raise UserError(f"--clip must be 'max' or a percentile in (0, 100], not {value:g}")
    return value


def _progress(total: int):
    err = Console(stderr=True)
    return Progress(TextColumn("comparing"), BarColumn(), TextColumn("{task.completed}/{task.total} samples"),
                    console=err, transient=True, disable=not err.is_terminal or not total)


def _compare_network(network, target, source_options, weight_bits_option, duration, steps, seed, data, input_source,
                     output_pop, calibrate, clip, executor):
    import dataclasses

    from ..analysis import compare_networks
    from ..drc.rules import target_for
    from ..targets import load_target

    weight_bits, curve = _weight_bits(weight_bits_option)
    if curve and data is None:
        raise UserError(f"--weight-bits {weight_bits_option}: a range needs --data (accuracy per width)")
    tgt = load_target(target)
    net = load_source(network, source_options)
    fmt = target_for(net, tgt).format  # multi-compartment neurons where the target chains them
    if weight_bits is not None:
        fmt = dataclasses.replace(fmt, weight_bits=weight_bits)
    steps = steps or steps_of(duration, net)
    if steps is None and data is not None and data.sample_steps is not None:  # events: the samples and the lag
        from ..flow.verify import response_lag

        source = data.pick_source(net.sources, input_source)
        steps = data.sample_steps + response_lag(net, source, output_pop or net.populations[-1].name)
    if steps is None:
        raise UserError(f"{network}: no simulation length: give --duration or --steps")
    with _progress(len(data) if data is not None else 0) as bar:
        task = bar.add_task("cmp", total=len(data) if data is not None else 0)
        cmp = compare_networks(net, fmt, steps=steps, seed=seed, data=data, calibrate=calibrate, clip=clip,
                               input_source=input_source, output=output_pop, progress=lambda k: bar.advance(task, k),
                               weight_bits_curve=curve, learning=tgt.learning, spikes_per_step=_spikes(net, tgt),
                               executor=executor)
    readouts = {}
    if net.readouts:  # NEF decoded values: fixed point against float in the represented space
        from ..analysis.readouts import compare_readouts

        readouts = compare_readouts(net.readouts, cmp.float_result, cmp.hw_result)
    return cmp, _image_accuracy(net, tgt, fmt, data, input_source, output_pop, steps, seed, executor), readouts


def _spikes(net, target) -> dict[str, int] | None:
    """Port targets: the spikes per tick of each population's port (None elsewhere)."""
    if target.ports is None:
        return None
    from ..drc.ports import port_roles

    return port_roles(net).spikes_per_step(target)


def _compare_image(image: Path, float_network: Path, source_options, data, target, input_source, output_pop, steps,
                   duration, seed, executor):
    from ..flow.estimate import RunRecorder, image_placement, image_target, recording_program
    from ..flow.image_accuracy import compare_image
    from ..image import decode
    from .image_commands import check_target, read_image

    contents = decode(read_image(image), str(image))
    check_target(image, contents.meta, target)
    try:
        tgt = image_target(contents, target, str(image))
    except UserError as exc:  # the comparison stands without an estimate
        log.warning("no estimate: %s", exc)
        tgt = None
    cost = tgt.cost if tgt is not None else None
    net = load_source(float_network, source_options)
    steps = steps or (max(1, int(round(duration / net.dt))) if duration is not None else None)
    if data.encode == "current":
        raise UserError(f"{image}: an image's inputs are spike sources: use --encode rate or events")
    program = recording_program(contents)  # every spike: the estimate counts them all
    recorder = RunRecorder(output_pop or net.populations[-1].name) if cost is not None else None
    with _progress(len(data)) as bar:
        task = bar.add_task("cmp", total=len(data))
        cmp = compare_image(net, program, data, target=contents.meta["target"], source=input_source,
                            output=output_pop, steps=steps, seed=seed, progress=lambda k: bar.advance(task, k),
                            on_run=recorder, executor=executor)
    if recorder is None:
        return cmp, None
    return cmp, recorder.estimate(program, image_placement(contents, tgt, program.n, str(image)), cost)[0]


def _write(outdir: Path, cmp, report: dict) -> None:
    from ..report.compare_plot import accuracy_bits_png, compare_png, confusion_png

    output = OutputSet(outdir)  # one set: a killed run leaves the old set whole or no valid set
    output.add_json("compare.json", report)
    output.add("compare.png", compare_png(cmp))
    if cmp.confusion is not None:
        output.add("confusion.png", confusion_png(cmp))
    if cmp.accuracy_vs_weight_bits:
        output.add("accuracy_bits.png", accuracy_bits_png(cmp))
    output.commit()


def _print(cmp, report: dict, image, outdir: Path) -> None:
    console = out()
    table = Table("population", "float spikes", f"{cmp.target} spikes", "rate error", "count corr", "van Rossum",
                  title=f"float vs {cmp.target} ({cmp.steps} steps" + (", the first sample)" if cmp.samples else ")"))
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
                      f"{cmp.target} {cmp.hw_accuracy:.4f} (same class on {100 * cmp.agreement:.1f} %, same output "
                      f"spike counts on {100 * cmp.count_agreement:.1f} %; first sample classified differently: {first})")
        console.print("per population, samples with identical counts / mean |count difference| per neuron: " + ", ".join(
            f"{name} {100 * row['count_agreement']:.1f} % / {row['mean_abs_difference']:.3f}"
            for name, row in cmp.population_agreement.items()))
    if image is not None:
        console.print(f"the compiled image ({image.cores} cores, its own tables): accuracy {image.accuracy:.4f}")
    if "estimate" in report:
        console.print(estimate_line(report["estimate"], "compare.json"))
    for name, r in report.get("readouts", {}).items():
        console.print(f"readout '{name}' ({r['dims']} dims): {cmp.target} against float, RMSE {r['rmse']:.4g} "
                      f"(float rms {r['float_rms']:.4g}, {cmp.target} rms {r['hw_rms']:.4g})")
    for name, w in (cmp.learning or {}).items():
        console.print(f"projection '{name}' learned: mean weight float {w['float']['mean']:.3f}, fixed point "
                      f"{w['hw']['mean']:.3f} (of the range); within 10 % of w_max {w['float']['near_max']:.3f} / "
                      f"{w['hw']['near_max']:.3f}; bimodal {w['float']['bimodal']} / {w['hw']['bimodal']}")
    console.print(f"wrote {outdir}/compare.json, compare.png" + (", confusion.png" if cmp.confusion is not None else ""))


def _image_accuracy(net, target, fmt, data, input_source, output_pop, steps, seed, executor):
    """With spike data, the accuracy of the compiled image itself (None otherwise)."""
    from ..flow.image_accuracy import image_accuracy

    if data is None or data.encode == "current":
        return None
    source = data.pick_source(net.sources, input_source)
    try:
        return image_accuracy(net, target, fmt, data.x, data.y, encode=data.encode, source=source,
                              output=output_pop or net.populations[-1].name, steps=steps,
                              seed=net.seed if seed is None else seed, executor=executor)
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
