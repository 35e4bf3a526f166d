"""``nmc inspect`` and simulation of configuration images (``nmc simulate IMAGE.nmc``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
import numpy as np
from rich.table import Table

from ..errors import UserError
from ..image import ImageError, compiled_target, decode, read_header, target_digest
from ..image import memory_map
from ..image.cam import EMPTY
from .app import cli, out, output_file

__all__ = ["check_target", "read_image", "simulate_image"]

def read_image(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


def check_target(path: Path, meta: dict, target: str | None) -> None:
    if target is None:
        return
    from ..targets import load_target

    tgt = compiled_target(load_target(target), meta)
    digest = target_digest(tgt, learns=bool(meta.get("plastic")))
    if tgt.name != meta["target"] or digest != meta["target_sha256"]:
        raise ImageError(f"{path}: compiled for target '{meta['target']}' (description sha256 "
                         f"{meta['target_sha256'][:12]}), not for '{tgt.name}' ({digest[:12]}): "
                         "recompile for this target")


def _section_json(contents, kind: str, core: int | None):
    if kind == "meta":
        return contents.meta
    if kind == "chip_table":
        table = contents.chip_tables.get(core)
        if table is None:
            raise UserError(f"no chip_table for chip {core} (chips with tables: {sorted(contents.chip_tables)})")
        return [{"key": int(k), "mask": int(m), "route": int(r)} for k, m, r in table]
    if core is None or not 0 <= core < len(contents.cores):
        raise UserError(f"section '{kind}' needs a core: --section {kind}:CORE with CORE in [0, {len(contents.cores)})")
    c = contents.cores[core]
    if kind == "neurons":
        rows = [{name: int(rec[name]) for name in rec.dtype.names if name != "reserved"} for rec in c.neurons]
        for k, row in enumerate(rows):
            row["decay_i"], row["i0"] = c.decay_i[:, k].tolist(), c.i0[:, k].tolist()
        return rows
    if kind == "rows":
        return [{name: int(rec[name]) for name in rec.dtype.names if name != "reserved"} for rec in c.rows]
    if kind == "synapses":
        return c.synapses.tolist()
    if kind == "type_weights":
        return c.type_weights.tolist()
    if kind == "routes":
        return {"key": c.key, "mask": c.mask, "destinations": c.destinations.tolist()}
    if kind == "compartments":
        return [{name: int(rec[name]) for name in rec.dtype.names if name != "reserved"} for rec in c.compartments]
    if kind == "layer":
        if c.layer is None:
            raise UserError(f"core {core} has no layer section (not a convolution core)")
        return c.layer.to_json()
    if kind in ("cam", "sram"):
        if c.cam is None:
            raise UserError(f"core {core} has no {kind} section (not a CAM core)")
        return _cam_json(c.cam, kind)
    if kind == "host_routes" and contents.host_routes is not None:
        return [{name: int(r[name]) for name in r.dtype.names} for r in contents.host_routes]
    raise UserError(f"unknown section '{kind}' (meta, neurons, rows, synapses, type_weights, routes, compartments, "
                    "layer, cam, sram, host_routes, chip_table)")


def _core_summary(c) -> dict:
    """Per core: its neurons, rows, synapses and destinations (CAM cores: used CAM words and valid
    SRAM entries)."""
    out = {"core": c.core, "position": list(c.position), "neurons": int(c.neurons.size),
           "compartments": int(c.compartments.size), "rows": int(c.rows.size), "synapses": int(c.rows["length"].sum()),
           "destinations": int(c.destinations.size)}
    if c.cam is not None:
        out |= {"synapses": int(np.count_nonzero(c.cam.words["type"] != EMPTY)),
                "destinations": int(np.count_nonzero(c.cam.sram["valid"]))}
    return out


def _cam_json(cam, kind: str):
    """A CAM core's used CAM words (with their base weights) or valid SRAM entries, per neuron."""
    if kind == "cam":
        return {"base_weights": cam.bases.tolist(), "words": [
            [{name: int(w[name]) for name in w.dtype.names} for w in row[row["type"] != EMPTY]] for row in cam.words]}
    return [[{name: int(e[name]) for name in e.dtype.names if name not in ("reserved", "valid")}
             for e in row[row["valid"] > 0]] for row in cam.sram]


@cli.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print header, memory map and core summary as JSON.")
@click.option("--section", "sections", multiple=True, metavar="KIND[:CORE]",
              help="Print a section as JSON, e.g. meta, neurons:0, synapses:3, layer:0, chip_table:0. Repeatable.")
@click.option("--target", default=None, help="Fail unless the image was compiled for this target.")
def inspect(image: Path, as_json: bool, sections, target) -> None:
    """Check IMAGE (every checksum) and print its header, memory map and a per-core summary."""
    data = read_image(image)
    header, entries = read_header(data, str(image))
    contents = decode(data, str(image))
    check_target(image, contents.meta, target)
    summary = [_core_summary(c) for c in contents.cores]
    if sections:
        picked = {}
        for spec in sections:
            kind, _, core = spec.partition(":")
            try:
                index = int(core) if core else None
            except ValueError:
                raise UserError(f"--section {spec}: CORE must be an integer") from None
            picked[spec] = _section_json(contents, kind, index)
        click.echo(json.dumps(picked if len(picked) > 1 else next(iter(picked.values())), indent=1, sort_keys=True))
        return
    meta = contents.meta
    sections_map = memory_map(entries)
    doc = {"header": header, "image_sha256": hashlib.sha256(data).hexdigest(), "compiler": meta["compiler"],
           "target": meta["target"], "target_sha256": meta["target_sha256"], "network": meta["network"],
           "cores": summary, "chip_tables": {str(k): int(v.shape[0]) for k, v in contents.chip_tables.items()},
           "memory_map": sections_map}
    if as_json:
        click.echo(json.dumps(doc, indent=1, sort_keys=True))
        return
    console = out()
    console.print(f"[bold]{image}[/]: nmcompiler image v{header['format_version']}, {header['file_bytes']} bytes, "
                  f"{header['sections']} sections, checksums ok; image sha256 {doc['image_sha256'][:16]}")
    console.print(f"network '{meta['network']}' for target '{meta['target']}' (target description sha256 "
                  f"{meta['target_sha256'][:16]}), "
                  f"{meta['compiler']}; {meta['neurons']} neurons on {len(contents.cores)} cores, "
                  f"synapse layout {meta['synapse_storage']}"
                  + (f"; {meta['compartments']} partial-sum compartments ({meta['payload_bits']}-bit messages)"
                     if meta.get("compartments") else ""))
    columns = ["core", "position", "neurons"] + (["compartments"] if meta.get("compartments") else []) + [
        "rows", "synapses", "destinations"]
    table = Table(*columns)
    for row in summary:
        table.add_row(*(str(row[k]) for k in columns))
    console.print(table)
    if contents.chip_tables:
        console.print("routing-table entries per chip: " + ", ".join(
            f"{k}: {v.shape[0]}" for k, v in sorted(contents.chip_tables.items())))
    console.print(_memory_map_table(sections_map))
    if len(sections_map) > _MAP_ROWS:
        console.print(f"memory map: {len(sections_map)} sections, shown by kind (--json lists each section)")


def _where(section: dict) -> str:
    place = section.get("core", section.get("chip"))
    return "-" if place is None else str(place)


_MAP_ROWS = 48  # sections listed one by one; more are summed by kind


def _memory_map_table(sections_map: list[dict]) -> Table:
    """Every section (offset, size, CRC-32, what it holds), or for a large image one row per kind."""
    if len(sections_map) <= _MAP_ROWS:
        table = Table("section", "core/chip", "offset", "bytes", "crc32", "holds", title="memory map")
        for s in sections_map:
            table.add_row(s["kind"], _where(s), f"0x{s['offset']:08x}", str(s["size"]),
                          f"{s['crc32']:08x}", s["holds"])
        return table
    table = Table("section", "count", "first offset", "bytes", "holds", title="memory map by kind")
    for kind in dict.fromkeys(s["kind"] for s in sections_map):
        rows = [s for s in sections_map if s["kind"] == kind]
        table.add_row(kind, str(len(rows)), f"0x{min(s['offset'] for s in rows):08x}",
                      str(sum(s["size"] for s in rows)), rows[0]["holds"])
    return table


def simulate_image(image: Path, steps: int | None, duration: float | None, seed, target: str | None, inputs=(),
                   learn: bool = False, record_every: float | None = None):
    """Decode IMAGE and run the bit-accurate simulator on exactly its tables, its host spike
    sources replaced by the ``inputs`` (``NAME=FILE.npy``); with ``learn`` its plastic synapses
    learn (``record_every`` seconds: weight snapshots). Returns the result and the program run."""
    from ..image import to_program
    from ..sim.bit_sim import BitAccurateSimulator
    from ..sim.stimulus import drive_program

    contents = decode(read_image(image), str(image))
    check_target(image, contents.meta, target)
    if learn and not contents.meta.get("plastic"):
        raise UserError(f"{image}: --learn: the image holds no plastic synapses")
    program = to_program(contents, learn=learn)
    del contents  # the program holds what the simulation needs (a full-scale microcircuit: 1.6 GB less)
    program, steps = drive_program(program, inputs, steps, duration, str(image))
    every = None if record_every is None else max(1, int(round(record_every / program.dt)))
    return BitAccurateSimulator(program, seed=seed).run(steps, record_weights=every), program



@cli.group(name="image")
def image_group() -> None:
    """Change configuration images (nmc image update)."""


@image_group.command(name="update")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--weights", "weights_file", type=click.Path(path_type=Path), required=True,
              help="Learned weights: a weights.npz of nmc simulate (of the image with --learn, or of the network).")
@click.option("-o", "--output", type=click.Path(path_type=Path), callback=output_file, required=True, help="The updated image (.nmc).")
def update(image: Path, weights_file: Path, output: Path) -> None:
    """Write IMAGE with the learned weights of its plastic projections (mapping and routes unchanged)."""
    from ..fileio import write_bytes
    from ..image import encode_image
    from ..image.update import update_weights
    from ..sim.result import read_weights_npz

    contents = decode(read_image(image), str(image))
    weights = read_weights_npz(weights_file)
    write_bytes(output, encode_image(update_weights(contents, weights)))
    click.echo(f"wrote {output} ({', '.join(weights)} updated)")
