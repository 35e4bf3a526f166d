"""``nmc report FOLDER...``: one self-contained ``report.html`` of what compile, compare, verify,
estimate, simulate and rtl wrote into the folders (and the folders directly below them)."""

from __future__ import annotations

from pathlib import Path

import click

from .app import cli, out, output_file

__all__ = ["report"]


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(path_type=Path), callback=output_file,
              help="The page to write (default: FIRST_FOLDER/report.html).")
def report(folders: tuple[Path, ...], output: Path | None) -> None:
    """Bundle the outputs in FOLDERS into one HTML page (inline plots, no network access): network
    and mapping, populations (resources, quantization error), per-core utilization, link load,
    traffic, accuracy and confusion, energy and latency estimates, verification, pass timings."""
    from ..fileio import write_bytes
    from ..report.bundle import find_outputs
    from ..report.html import render_page
    from ..report.html_sections import sections

    bundle = find_outputs(folders)
    path = output or output_file(None, None, folders[0] / "report.html")  # writable, checked before the page is made
    parts = sections(bundle)
    name = bundle.compiled.report["network"] if bundle.compiled is not None else folders[0].name
    page = render_page(f"nmcompiler report: {name}", parts, bundle.files)
    write_bytes(path, page.encode("utf-8"))
    shown = [s.title for s in parts if s.present]
    out().print(f"wrote {path} ({len(page) // 1024} KiB): {', '.join(shown)}"
                + (f"; not run: {', '.join(s.title for s in parts if not s.present)}" if len(shown) < len(parts) else ""))
