"""A mapping on disk (``<name>.map.npz``): its arrays, and its target, offsets, partial-sum sizes
and routing tables as JSON in ``meta``. No pickles: loading needs ``allow_pickle=False`` only."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fileio import UnreadableArray, open_npz, write_bytes
from ..targets.convolution import ConvCore
from ..targets.target import target_from_json
from .conv_assign import LayerPart
from .mapping import CoreUsage, Mapping, Routes
from .partial_sums import PartialSums
from .route import LinkLoads
from .tables import RoutingTables

__all__ = ["MAPPING_VERSION", "load_mapping", "save_mapping"]

MAPPING_VERSION = 1
_PS_ARRAYS = {"compartment_table": "compartment", "compartment_target": "target", "compartment_core": "core",
              "compartment_synapses": "synapses", "compartment_soma_core": "soma_core"}
_PS_SIZES = ("block_size", "n", "channels", "first_core", "soma_cores", "cores", "late_synapses", "payload_overflow")


def save_mapping(mapping: Mapping, path: str | Path | None) -> bytes:
    u = mapping.usage
    arrays = {"core_of": mapping.core_of, "position": mapping.position, "neurons": u.neurons,
              "synapse_bits": u.synapse_bits, "input_axons": u.input_axons, "output_axons": u.output_axons}
    meta = {"version": MAPPING_VERSION, "target": mapping.target.to_json(), "offsets": mapping.offsets}
    ps = mapping.partial_sums
    if ps is not None:
        arrays |= {key: getattr(ps, name) for key, name in _PS_ARRAYS.items()}
        meta["partial_sums"] = {k: int(getattr(ps, k)) for k in _PS_SIZES}
    if mapping.axon_types:
        cores = sorted(mapping.axon_types)
        arrays |= {"axon_type_core": np.concatenate([np.full(mapping.axon_types[c][0].size, c) for c in cores]),
                   "axon_type_key": np.concatenate([mapping.axon_types[c][0] for c in cores]),
                   "axon_type": np.concatenate([mapping.axon_types[c][1] for c in cores])}
    if mapping.cam_bases is not None:
        arrays["cam_bases"] = mapping.cam_bases
    if mapping.layer_parts:
        meta["layer_parts"] = [p.to_json() for p in mapping.layer_parts]
    links = mapping.routes.links
    if links is not None:
        arrays |= {"link_load_horizontal": links.horizontal, "link_load_vertical": links.vertical}
    tables = mapping.routes.tables
    if tables is not None:
        meta["tables"] = {"key_bits_neuron": tables.key_bits_neuron,
                          "entries": {str(c): [[k, m, sorted(o)] for k, m, o in e] for c, e in tables.entries.items()},
                          "entries_before": {str(c): v for c, v in tables.entries_before.items()}}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    data = buf.getvalue()
    if path is not None:
        write_bytes(Path(path), data)
    return data


def load_mapping(path: str | Path) -> Mapping:
    try:
        with open_npz(path) as z:
            a = {k: z[k] for k in z.files}
        meta = json.loads(str(a.pop("meta")))
        if meta.get("version") != MAPPING_VERSION:
            raise UserError(f"{path}: mapping version {meta.get('version')}, this nmcompiler reads {MAPPING_VERSION}")
        return _mapping(a, meta)
    except (OSError, KeyError, ValueError, TypeError, UnreadableArray) as exc:
        raise UserError(f"{path}: not a mapping file of this nmcompiler ({type(exc).__name__}: {exc})") from None


def _mapping(a: dict, meta: dict) -> Mapping:
    usage = CoreUsage(neurons=a["neurons"], synapse_bits=a["synapse_bits"], input_axons=a["input_axons"],
                      output_axons=a["output_axons"])
    ps = None
    if "partial_sums" in meta:
        ps = PartialSums(**{name: a[key] for key, name in _PS_ARRAYS.items()}, **meta["partial_sums"])
    axon_types = {}
    if "axon_type_core" in a:
        for c in np.unique(a["axon_type_core"]):
            sel = a["axon_type_core"] == c
            axon_types[int(c)] = (a["axon_type_key"][sel], a["axon_type"][sel])
    links = (LinkLoads(horizontal=a["link_load_horizontal"], vertical=a["link_load_vertical"])
             if "link_load_horizontal" in a else None)
    tables = None
    if "tables" in meta:
        t = meta["tables"]
        tables = RoutingTables(key_bits_neuron=t["key_bits_neuron"],
                               entries={int(c): [(k, m, frozenset(o)) for k, m, o in e] for c, e in t["entries"].items()},
                               entries_before={int(c): v for c, v in t["entries_before"].items()})
    parts = tuple(LayerPart(layer=p["layer"], channels=tuple(p["channels"]), core=p["core"],
                            memory=ConvCore(kernel_words=p["kernel_words"], neuron_words=p["neuron_words"],
                                            bias_words=p["bias_words"])) for p in meta.get("layer_parts", ()))
    return Mapping(target=target_from_json(meta["target"]), core_of=a["core_of"], position=a["position"], usage=usage,
                   offsets=meta["offsets"], axon_types=axon_types, partial_sums=ps,
                   routes=Routes(links=links, tables=tables), layer_parts=parts, cam_bases=a.get("cam_bases"))
