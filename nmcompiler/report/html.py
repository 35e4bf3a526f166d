"""``report.html``: one self-contained page (inline CSS and PNGs, no script, no external URL) of
what the runs in a :class:`nmcompiler.report.bundle.ReportBundle` wrote. Each section is always
present: with its data, or saying which command writes it."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

__all__ = ["Section", "figure", "note", "render_page", "table"]

_CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em;
       color: #222; background: #fff; }
h1 { font-size: 1.6em; border-bottom: 2px solid #4c72b0; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; color: #24437a; }
section { border: 1px solid #dde3ee; border-radius: 6px; padding: .4em 1.2em 1em; margin: 1.2em 0; background: #fbfcfe; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ccd3e0; padding: .25em .6em; text-align: right; }
th { background: #e8edf6; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: .6em 0; }
p.missing { color: #8a5a00; background: #fff6e0; padding: .5em .8em; border-left: 4px solid #e0a800; }
p.estimate { color: #444; font-style: italic; }
nav ul { columns: 3; font-size: .9em; } code { background: #eef1f6; padding: 0 .2em; }
footer { font-size: .8em; color: #666; margin-top: 2em; }
"""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    body: str  # HTML
    present: bool  # False: the outputs it shows were not found (the body says which command writes them)


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def note(text: str, kind: str = "") -> str:
    return f'<p class="{esc(kind)}">{esc(text)}</p>' if kind else f"<p>{esc(text)}</p>"


def missing(what: str, command: str) -> str:
    return note(f"No {what} in these folders: run {command} with -o into one of them.", "missing")


def render_page(title: str, sections: list[Section], sources: dict[str, str]) -> str:
    """The whole page: title, contents, the sections, and the files read (with their SHA-256)."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a>{"" if s.present else " (not run)"}</li>'
                  for s in sections)
    body = "".join(f'<section id="{esc(s.id)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections)
    files = table(["file read", "sha256"], [[path, digest[:16]] for path, digest in sorted(sources.items())])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1><nav><ul>{toc}</ul></nav>{body}"
            f"<footer>{files}<p>Written by nmc report; energy and latency figures are estimates under the "
            f"target's cost model, not measurements.</p></footer></body></html>\n")
