"""What ``nmc report`` bundles: the outputs that ``nmc compile``, ``compare``, ``verify``,
``estimate``, ``simulate``, ``rtl`` and ``sweep`` wrote into one or more folders (each folder and its direct
subfolders are searched), read back as they were written. Nothing is recomputed here: the report
shows what the runs found."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..mapping import Mapping

__all__ = ["CompileOutput", "ReportBundle", "find_outputs"]

# file name -> the command that writes it
RUN_FILES = {"compare.json": "nmc compare", "estimate.json": "nmc estimate", "activity.json": "nmc estimate",
             "verify.json": "nmc verify", "summary.json": "nmc simulate", "rtl.json": "nmc rtl",
             "sweep.json": "nmc sweep"}


@dataclass(frozen=True, kw_only=True, eq=False)
class CompileOutput:
    stem: str  # the network's file stem: <stem>.map.json, <stem>.map.npz
    report: dict  # <stem>.map.json
    mapping: Mapping  # <stem>.map.npz


@dataclass(frozen=True, kw_only=True, eq=False)
class ReportBundle:
    folders: tuple[Path, ...]
    compiled: CompileOutput | None = None
    runs: dict[str, dict] = field(default_factory=dict)  # file name (RUN_FILES) -> its JSON
    files: dict[str, str] = field(default_factory=dict)  # path read -> its SHA-256

    def run(self, name: str) -> dict | None:
        return self.runs.get(name)

    @property
    def empty(self) -> bool:
        return self.compiled is None and not self.runs


def _candidates(folders: tuple[Path, ...]) -> list[Path]:
    """The folders searched: each given folder, then its direct subfolders (sorted)."""
    seen: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"{folder}: not a folder (give the -o folders of nmc compile, compare, verify, estimate)")
        for path in (folder, *sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))):
            if path.resolve() not in {s.resolve() for s in seen}:
                seen.append(path)
    return seen


def _one(found: dict[str, list[Path]], name: str) -> Path | None:
    paths = found.get(name, [])
    if len(paths) > 1:
        raise UserError(f"{name} is in {len(paths)} folders ({', '.join(str(p.parent) for p in paths)}): a report "
                        "bundles one run of each command; give the folders of one")
    return paths[0] if paths else None


def _read_json(path: Path, files: dict[str, str]) -> dict:
    try:
        data = path.read_bytes()
        doc = json.loads(data)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc}); write it again with {RUN_FILES.get(path.name, 'nmc compile')}") from None
    if not isinstance(doc, dict):
        raise UserError(f"{path}: expected a JSON object, as {RUN_FILES.get(path.name, 'nmc compile')} writes")
    files[str(path)] = hashlib.sha256(data).hexdigest()
    return doc


def _compiled(found: dict[str, list[Path]], files: dict[str, str]) -> CompileOutput | None:
    from ..mapping.mapping_io import load_mapping

    maps = found.get("*.map.json", [])
    if len(maps) > 1:
        raise UserError(f"{len(maps)} compiled networks ({', '.join(map(str, maps))}): a report shows one; give "
                        "the folders of one compile")
    if not maps:
        return None
    report_path = maps[0]
    stem = report_path.name[:-len(".map.json")]
    npz = report_path.with_name(f"{stem}.map.npz")
    if not npz.is_file():
        raise UserError(f"{report_path}: its mapping {npz.name} is missing: compile again (nmc compile -o "
                        f"{report_path.parent})")
    report = _read_json(report_path, files)
    mapping = load_mapping(npz)
    files[str(npz)] = hashlib.sha256(npz.read_bytes()).hexdigest()
    return CompileOutput(stem=stem, report=report, mapping=mapping)


def find_outputs(folders: list[Path] | tuple[Path, ...]) -> ReportBundle:
    """Read what the commands wrote in ``folders`` (and their direct subfolders). Two runs of one
    command, or two compiled networks, are refused: a report bundles one of each."""
    folders = tuple(Path(f) for f in folders)
    found: dict[str, list[Path]] = {}
    for folder in _candidates(folders):
        for name in RUN_FILES:
            if (folder / name).is_file():
                found.setdefault(name, []).append(folder / name)
        found.setdefault("*.map.json", []).extend(sorted(folder.glob("*.map.json")))
    files: dict[str, str] = {}
    runs = {name: _read_json(path, files) for name in RUN_FILES if (path := _one(found, name)) is not None}
    bundle = ReportBundle(folders=folders, compiled=_compiled(found, files), runs=runs, files=files)
    if bundle.empty:
        raise UserError(f"{', '.join(map(str, folders))}: no output of nmc compile, compare, verify, estimate, simulate "
                        "or rtl here (nor in the folders directly below)")
    return bundle
