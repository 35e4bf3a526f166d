"""Compile to a directory: what ``nmc compile`` writes, as a library call that returns a dataclass.

``OUTDIR/<name>.nmc`` (the image), ``<name>.map.npz`` (the typed mapping), ``<name>.map.json`` (the
report, the offsets, the image's memory map), ``<name>.placement.png``; sized targets add
``target.yaml`` and ``<name>.sizing.png``; ``--dump-after`` adds ``stages/``. Every file's bytes
are made before the first is written, and each is written whole (temp file and rename).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..compiler import Checkpoints, CompileOptions, CompileReport, compile_network, compile_pipeline, compile_sized
from ..compiler.pipeline import check_dump_names
from ..errors import UserError
from ..fileio import Chunks, OutputSet, file_stem
from ..image import EncodedImage, build_contents, encode_image, memory_map, read_header
from ..ir import Network
from ..ir.fixed_point import FixedPointNetwork
from ..mapping import Mapping
from ..mapping.sizing import Sizing
from ..sim.data import SampleData
from ..targets import Target

__all__ = ["CompiledDirectory", "Samples", "compile_to_directory", "rtl_memory_cost", "write_directory"]


@dataclass(frozen=True, kw_only=True, eq=False)
class CompiledDirectory:
    outdir: Path
    mapping: Mapping
    fixed_point: FixedPointNetwork
    report: CompileReport
    sizing: Sizing | None
    stem: str  # the network's name: <stem>.nmc, <stem>.map.json, ...
    document: dict  # <stem>.map.json
    files: tuple[str, ...]  # written, relative to outdir
    image_bytes: int | None = None  # None: no image (with_image False)


def rtl_memory_cost():
    """The cost sizing minimizes: the generated chip's memory bits (the RTL package)."""
    try:
        from ..rtl.chip import chip_memory_bits
    except ImportError as exc:
        raise UserError(f"--size sizes the generated RTL core, and the RTL tools are not installed ({exc.name}): "
                        "pip install 'nmcompiler[rtl]'") from None
    return chip_memory_bits


def compile_to_directory(net: Network, target: Target, outdir: Path, *, with_image: bool = True, size: bool = False,
                         dump_after: Sequence[str] = (), sized_header: str = "", where: str | None = None,
                         progress: Callable[[str], None] | None = None, samples: Samples | None = None,
                         **options) -> CompiledDirectory:
    """Compile ``net`` onto ``target`` (sized first with ``size``) and write the results to ``outdir``.
    ``options``: those of :class:`nmcompiler.compiler.CompileOptions`. Raises :class:`UserError`
    naming ``where`` (the network's file) when the mapping does not fit: nothing is written then
    but the checkpoints of ``dump_after`` (requested to look into a compile, so kept and named in
    the error). With ``samples`` and a target with a cost model, the report holds the image's
    energy and latency estimate per inference on them (``estimate``)."""
    cost = rtl_memory_cost() if size else None
    opts = CompileOptions(**options)
    pipeline = compile_pipeline(target, opts, size_cost=cost)
    check_dump_names(dump_after, pipeline.names)
    callbacks = [Checkpoints(outdir / "stages", frozenset(dump_after), pipeline.names)] if dump_after else []
    sizing = None
    if size:
        sizing, mapping, fx, report = compile_sized(net, target, cost, progress=progress, callbacks=callbacks,
                                                    **options)
    else:
        mapping, fx, report = compile_network(net, target, progress=progress, callbacks=callbacks, **options)
    if not report.fits:
        kept = f" (the checkpoints of --dump-after are in {outdir / 'stages'})" if dump_after else ""
        raise UserError(f"{where or net.name}: the mapping does not fit {mapping.target.name}: "
                        + "; ".join(report.misfits) + kept)
    if progress is not None and with_image:
        progress("image")
    contents = build_contents(mapping, fx) if with_image else None
    extra = {}
    if samples is not None and contents is not None and mapping.target.cost is not None:
        if progress is not None:
            progress("estimate")
        extra["estimate"] = _estimate(contents, mapping.target, samples, where or net.name)
    return write_directory(outdir, net.name, mapping, fx, report, sizing, with_image=with_image,
                           title_target=target.name, sized_header=sized_header,
                           image=encode_image(contents) if contents is not None else None, extra=extra)


@dataclass(frozen=True)
class Samples:
    """Samples for the compile report's estimate: ``data`` fed to ``source``, ``steps`` ticks each."""

    data: SampleData
    source: str | None
    steps: int
    seed: int | None = None


def _estimate(contents, target: Target, samples: Samples, where: str) -> dict:
    from .estimate import estimate_contents

    run = estimate_contents(contents, target, target.cost, where=where, steps=samples.steps, seed=samples.seed,
                            data=samples.data, source=samples.source)
    return run.estimate.to_json() | {"output": run.output, "accuracy": run.accuracy}


def write_directory(outdir: Path, stem: str, mapping: Mapping, fx: FixedPointNetwork, report: CompileReport,
                    sizing: Sizing | None = None, *, with_image: bool = True, title_target: str = "",
                    sized_header: str = "", image: bytes | EncodedImage | None = None,
                    extra: dict | None = None) -> CompiledDirectory:
    """Write a compiled network's files to ``outdir`` (see the module docstring); ``image``: its
    encoded image when already made (as pieces, :func:`encode_image`, it is written without
    being joined into one object). ``stem`` (the network's name) is made a file name that stays in
    ``outdir`` (:func:`nmcompiler.fileio.file_stem`)."""
    from ..report.placement import placement_png

    stem = file_stem(stem)
    if with_image and image is None:
        image = encode_image(build_contents(mapping, fx))  # host sources keep the network's seed
    files: dict[str, bytes | Chunks] = {}
    doc = report.to_json() | {"offsets": mapping.offsets, "image": None} | (extra or {})
    if with_image:
        files[f"{stem}.nmc"] = image
        size, entries = ((image.size, image.entries) if isinstance(image, EncodedImage)
                         else (len(image), read_header(image, f"{stem}.nmc")[1]))
        doc["image"] = {"file": f"{stem}.nmc", "bytes": size, "memory_map": memory_map(entries)}
    if sizing is not None:
        from ..report.sizing_plot import sizing_png

        doc["sizing"] = sizing.to_json() | {"target_file": "target.yaml", "plot": f"{stem}.sizing.png"}
        files["target.yaml"] = _sized_yaml(sizing, sized_header).encode()
        files[f"{stem}.sizing.png"] = sizing_png(sizing, f"{stem}: {title_target or sizing.target.name} sized")
    files[f"{stem}.map.npz"] = mapping.save(None)
    files[f"{stem}.placement.png"] = placement_png(mapping, f"{stem} on {mapping.target.name}: "
                                                            f"{report.cores_used} cores")
    output = OutputSet(outdir)  # a whole set: a killed run leaves no mix of old and new files
    for name, data in files.items():
        output.add(name, data)
    output.add_json(f"{stem}.map.json", doc)
    output.commit()
    return CompiledDirectory(outdir=outdir, mapping=mapping, fixed_point=fx, report=report, sizing=sizing,
                             document=doc, files=(*files, f"{stem}.map.json"),
                             image_bytes=size if with_image else None, stem=stem)


def _sized_yaml(sizing: Sizing, header: str) -> str:
    import yaml

    c = sizing.chosen
    return (f"# Sized by nmc compile --size {header}: {c.cores} cores, {c.memory_bits} bits of chip memories\n"
            + yaml.safe_dump(sizing.document, sort_keys=False, default_flow_style=None))
