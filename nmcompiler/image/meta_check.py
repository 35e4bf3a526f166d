"""The image's ``meta`` section checked before anything uses it: a JSON Schema for its types and
ranges, then what a schema cannot say (``dt`` a finite positive number, spike ids and times
numbers in range, populations and sources adding up to the neuron and presynaptic counts). An
image re-signed after its meta was edited is refused here, by field, instead of failing later
(``dt: 0``, a ``NaN`` time step, a bogus storage kind, sizes beyond what indices hold).
"""

from __future__ import annotations

import math

import dataclasses

import jsonschema
import numpy as np

from ..datapath.format import NumericFormat
from ..datapath.learning import LearningFormat

__all__ = ["meta_problems"]

_COUNT = {"type": "integer", "minimum": 0, "maximum": 2**40}


def _record(cls) -> dict:
    """The schema of a dataclass of ints, booleans and strings given as a JSON object (the numeric
    and learning formats): every field of its type, no others; ranges are the record's own problems()."""
    kinds = {"int": {"type": "integer", "minimum": -(2**16), "maximum": 2**16}, "bool": {"type": "boolean"}}
    props = {f.name: kinds.get(f.type, {"type": "string", "maxLength": 64}) for f in dataclasses.fields(cls)}
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


_SIZE = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
_SOURCE = {
    "type": "object", "required": ["kind", "name", "size"],
    "properties": {
        "kind": {"enum": ["spikes", "poisson"]}, "name": {"type": "string"}, "size": _SIZE,
        "ids": {"type": "array"}, "times": {"type": "array"}, "rate": {"type": ["array", "number"]},
        "start": {"type": "string"}, "stop": {"type": "string"}, "mirror_of": {"type": "string"},
    },
    "allOf": [{"if": {"properties": {"kind": {"const": "spikes"}}},
               "then": {"required": ["ids", "times"]}, "else": {"required": ["rate", "start", "stop"]}}],
}
SCHEMA = {
    "type": "object",
    "required": ["compiler", "target", "target_sha256", "format", "network", "dt", "seed", "neurons", "presynaptic",
                 "cores", "populations", "sources", "probes", "synapse_storage", "synapse_fields", "max_delay"],
    "properties": {
        "compiler": {"type": "string"}, "target": {"type": "string"},
        "target_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "format": _record(NumericFormat), "network": {"type": "string"}, "dt": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "neurons": _COUNT, "presynaptic": _COUNT, "cores": {"type": "integer", "minimum": 0, "maximum": 2**24},
        "populations": {"type": "array", "items": {"type": "array", "prefixItems": [
            {"type": "string"}, _COUNT, _SIZE], "minItems": 3, "maxItems": 3}},
        "sources": {"type": "array", "items": _SOURCE},
        "probes": {"type": "array", "items": {"type": "object", "required": ["target", "variable", "neurons"],
                                              "properties": {"target": {"type": "string"},
                                                             "variable": {"enum": ["spikes", "v", "i"]},
                                                             "neurons": {"type": ["array", "null"]}}}},
        "synapse_storage": {"enum": ["sparse", "word32", "crossbar", "convolution", "cam"]},
        "synapse_fields": {"type": "object", "required": ["index", "delay", "channel", "weight"],
                           "additionalProperties": False,
                           "properties": {k: {"type": "integer", "minimum": 0, "maximum": 32}
                                          for k in ("index", "delay", "channel", "weight")}},
        "max_delay": {"type": "integer", "minimum": 0, "maximum": 2**16},
        "compartments": _COUNT, "payload_bits": {"type": "integer", "minimum": 1, "maximum": 64},
        "plastic": {"type": "array"}, "learning": _record(LearningFormat),
        "spikes_per_step": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 255},
                            "maxItems": 2**16},
        "cam": {"type": "object", "required": ["synapse_types", "tags", "board_columns", "mesh"],
                "additionalProperties": False,
                "properties": {"synapse_types": {"type": "array", "minItems": 1, "maxItems": 16, "items": {
                                   "type": "array", "prefixItems": [{"enum": [1, -1]},
                                                                    {"type": "integer", "minimum": 0, "maximum": 63}],
                                   "minItems": 2, "maxItems": 2}},
                               "tags": {"type": "integer", "minimum": 1, "maximum": 2**16},
                               "board_columns": {"type": "integer", "minimum": 1, "maximum": 2**16},
                               "mesh": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 2**16},
                                        "minItems": 2, "maxItems": 2}}},
    },
}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def meta_problems(meta: object) -> list[str]:
    """Every problem of an image's meta, as ``field: problem`` (empty: it can be used)."""
    errors = sorted(_VALIDATOR.iter_errors(meta), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        return [f"{'.'.join(str(p) for p in e.absolute_path) or 'meta'}: {e.message[:200]}" for e in errors[:5]]
    out = [f"format: {p}" for p in NumericFormat(**meta["format"]).problems()]
    if "learning" in meta:
        out += [f"learning: {p}" for p in LearningFormat(**meta["learning"]).problems()]
    try:
        dt = float(meta["dt"])
    except ValueError:
        dt = math.nan
    if not (math.isfinite(dt) and dt > 0):
        out.append(f"dt: {meta['dt']!r} is not a finite positive time step")
    for k, src in enumerate(meta["sources"]):
        out += [f"sources.{k}: {p}" for p in _source_problems(src)]
    sizes = [p[2] for p in meta["populations"]]
    if sum(sizes) != meta["neurons"]:
        out.append(f"populations: they hold {sum(sizes)} neurons, meta says {meta['neurons']}")
    if meta["neurons"] + sum(s["size"] for s in meta["sources"]) != meta["presynaptic"]:
        out.append("presynaptic: not the neurons plus the source channels")
    return out


def _source_problems(src: dict) -> list[str]:
    if src["kind"] == "poisson":
        rate = _numbers(src["rate"])
        bad = rate is None or rate.shape not in ((), (src["size"],)) or not np.all(np.isfinite(rate)) or np.any(rate < 0)
        return ["rate: finite non-negative rates, one per channel"] if bad else []
    ids, times = _numbers(src["ids"]), _numbers(src["times"])
    if ids is None or times is None or ids.shape != times.shape or ids.ndim != 1:
        return ["ids and times: two lists of numbers of one length"]
    if ids.size and (np.any(ids != np.round(ids)) or ids.min() < 0 or ids.max() >= src["size"]):
        return [f"ids: channel numbers in [0, {src['size']})"]
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        return ["times: finite and >= 0"]
    return []


def _numbers(values) -> np.ndarray | None:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    return out
