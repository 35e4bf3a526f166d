"""The JSON Schema of an IR file's metadata (``network.json``, or ``__meta__`` of a ``.npz``),
built from the IR's own dataclasses so that it cannot drift from what :mod:`.serialize` writes.

Every record is an object of its fields (those without a default required, no others); a field's
type annotation gives its schema: arrays are references ``{"array": key}`` into the file's
arrays, tuples ``{"tuple": [...]}``, dicts ``{"dict": {...}}``, non-finite floats ``{"float":
"nan"}``; a neuron model is told by its ``kind``, a learning rule by its ``rule``. Checked before
anything is built (:func:`checkpoint_problems`), then every array reference is resolved, so a
damaged or foreign file is one ``field.path: problem`` line per fault.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import jsonschema
import numpy as np

from .connectivity import Connectivity, Projection
from .convolution import Convolution, ConvStage
from .learning import LEARNING_RULES, STDP
from .models import MODELS, NeuronModel
from .nodes import NODE_KINDS, Probe, Readout

__all__ = ["SCHEMA", "checkpoint_problems", "array_references"]

_ARRAY = {"type": "object", "required": ["array"], "additionalProperties": False,
          "properties": {"array": {"type": "string", "maxLength": 1000}}}
_FLOAT = {"anyOf": [{"type": "number"}, {"type": "object", "required": ["float"], "additionalProperties": False,
                                          "properties": {"float": {"enum": ["nan", "inf", "-inf"]}}}]}
_INT = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
_NAME = {"type": "string", "maxLength": 1000}
_MAX_ITEMS = 1 << 20
# free-form notes (Projection.meta): JSON scalars and flat lists of them, nothing nested
_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_NOTE = {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "maxItems": 4096}]}


def _tagged(tag: str, records: dict[str, type]) -> dict:
    """Records told apart by the value of ``tag`` (a model's kind, a rule's name)."""
    return {"type": "object", "required": [tag], "properties": {tag: {"enum": sorted(records)}},
            "allOf": [{"if": {"properties": {tag: {"const": k}}}, "then": _record(cls, {tag: {"const": k}})}
                      for k, cls in sorted(records.items())]}


def _of(tp) -> dict:
    """The schema of a value of annotated type ``tp`` as the encoder writes it."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_of(a) for a in args]}
    if origin is tuple:
        return {"type": "object", "required": ["tuple"], "additionalProperties": False,
                "properties": {"tuple": {"type": "array", "items": _of(args[0]), "maxItems": _MAX_ITEMS}}}
    if origin is dict or tp is dict:
        value = _of(args[1]) if args else _NOTE
        return {"type": "object", "required": ["dict"], "additionalProperties": False,
                "properties": {"dict": {"type": "object", "additionalProperties": value}}}
    simple = {np.ndarray: _ARRAY, str: _NAME, bool: {"type": "boolean"}, int: _INT, float: _FLOAT,
              type(None): {"type": "null"}}
    if tp in simple:
        return simple[tp]
    if tp is NeuronModel:
        return _tagged("kind", MODELS)
    if tp is STDP:
        return _tagged("rule", LEARNING_RULES)
    if tp is Convolution:
        return {"type": "object", "required": ["convolution"], "additionalProperties": False,
                "properties": {"convolution": _record(Convolution)}}
    if tp is ConvStage:
        return {"type": "object", "required": ["stage"], "additionalProperties": False,
                "properties": {"stage": _record(ConvStage)}}
    return _record(tp)


def _record(cls, extra: dict | None = None) -> dict:
    """A dataclass as an object of its fields (and ``extra`` properties)."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    props = {f.name: _of(hints[f.name]) for f in fields} | (extra or {})
    required = [f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    return {"type": "object", "required": required + list(extra or {}), "properties": props,
            "additionalProperties": False}


def _schema() -> dict:
    nodes = {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": sorted(NODE_KINDS)}},
             "allOf": [{"if": {"properties": {"kind": {"const": k}}},
                        "then": _record(cls, {"kind": {"const": k}})} for k, cls in sorted(NODE_KINDS.items())]}
    projection = _record(Projection)
    projection["properties"]["connectivity"] = _record(Connectivity)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "additionalProperties": False,
        "required": ["format", "format_version", "name", "dt", "seed", "duration", "nodes", "projections", "probes"],
        "properties": {
            "format": {"const": "nmcompiler-ir"}, "format_version": {"type": "integer"}, "name": _NAME,
            "dt": {"type": "number"}, "seed": {"anyOf": [_INT, {"type": "null"}]},
            "duration": {"type": ["number", "null"]},
            "nodes": {"type": "array", "items": nodes, "maxItems": _MAX_ITEMS},
            "projections": {"type": "array", "items": projection, "maxItems": _MAX_ITEMS},
            "probes": {"type": "array", "items": _record(Probe), "maxItems": _MAX_ITEMS},
            "readouts": {"type": "array", "items": _record(Readout), "maxItems": _MAX_ITEMS},
        },
    }


SCHEMA = _schema()
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _where(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "metadata"


def checkpoint_problems(meta: object, arrays: dict) -> list[str]:
    """Every problem of an IR file's metadata against :data:`SCHEMA`, then every array reference
    it makes that the file does not hold, as ``field.path: problem`` (at most five; empty: valid)."""
    errors = sorted(_VALIDATOR.iter_errors(meta), key=lambda e: [str(p) for p in e.absolute_path])
    out = [f"{_where(e)}: {_short(e)}" for e in errors[:5]]
    if out:
        return out
    missing = [(path, key) for path, key in array_references(meta) if key not in arrays]
    return [f"{path}: names array '{key[:80]}', which the file does not hold" for path, key in missing[:5]]


def _short(error) -> str:
    """The deepest reason of a schema error (a tagged record's field, not "does not match if/then")."""
    while error.context:
        error = min(error.context, key=lambda e: -len(e.absolute_path))
    return error.message[:200]


def array_references(value: object, path: str = "") -> list[tuple[str, str]]:
    """``(field path, array key)`` of every ``{"array": key}`` in a schema-valid metadata tree."""
    if isinstance(value, dict):
        if set(value) == {"array"} and isinstance(value["array"], str):
            return [(path, value["array"])]
        return [r for k, v in value.items() for r in array_references(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [r for i, v in enumerate(value) for r in array_references(v, f"{path}.{i}")]
    return []
