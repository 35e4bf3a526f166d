"""Targets derived from another one by setting some of its fields.

``nmc targets --derive fpga-lif --set chip.mesh=[6,6] -o fpga36.yaml`` writes a complete target
file: the base target's document with each ``KEY=VALUE`` applied (``KEY`` a dotted path such as
``core.neurons`` or ``format.weight_bits``, ``VALUE`` parsed as YAML), validated like any target
file before it is written. The derived file is then passed to ``--target`` like any other.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import yaml

from ..datapath.format import NumericFormat, read_target_document
from ..errors import UserError
from ..yamlio import parse_yaml
from .target import Target, target_from_document

__all__ = ["derive_target", "set_field", "target_yaml"]


def _fields(section: str) -> set[str]:
    """The keys a target file may hold under ``section`` (the format's come from its dataclass)."""
    if section == "format":
        return {f.name for f in dataclasses.fields(NumericFormat)} - {"name"}
    schema = json.loads(resources.files(__package__).joinpath("target.schema.json").read_text())
    return set(schema["properties"][section].get("properties", {}))


def derive_target(base: str, settings: Sequence[str], output: Path, name: str | None = None) -> tuple[dict, Target]:
    """The document and target of ``base`` with ``settings`` applied, named ``name`` (default: the
    output file's stem). Raises :class:`UserError` naming the setting that is wrong."""
    _, doc = read_target_document(base)
    doc = copy.deepcopy(doc)
    for setting in settings:
        key, sep, text = setting.partition("=")
        if not sep:
            raise UserError(f"--set '{setting}': write SECTION.FIELD=VALUE, e.g. chip.mesh=[6,6] or core.neurons=512")
        value = parse_yaml(text, f"--set '{setting}'").data  # bounded as every YAML read
        set_field(doc, key.strip(), value, f"--set '{setting}'")
    doc["name"] = name or output.stem
    return doc, target_from_document(output, doc)


def set_field(doc: dict, key: str, value, where: str) -> None:
    """Set ``key`` (``SECTION.FIELD``) of the target document ``doc`` to ``value``; a
    :class:`UserError` names ``where`` when the section or field does not exist."""
    sections = {k for k, v in doc.items() if isinstance(v, dict)}
    parts = key.split(".")
    if len(parts) != 2 or not all(parts):
        raise UserError(f"{where}: write SECTION.FIELD=VALUE, e.g. chip.mesh=[6,6] or core.neurons=512")
    section, field = parts
    if section not in sections:
        raise UserError(f"{where}: no section '{section}' (a target has {', '.join(sorted(sections))})")
    allowed = _fields(section)
    if field not in allowed:
        raise UserError(f"{where}: {section} has no field '{field}' (it has {', '.join(sorted(allowed))})")
    doc[section][field] = value


def target_yaml(doc: dict, base: str, settings: Sequence[str]) -> str:
    """The derived document as a target file, with a header saying where it comes from."""
    header = f"# Derived from target '{base}' by nmc targets --derive" + "".join(
        f" --set {s}" for s in settings) + "\n"
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)
