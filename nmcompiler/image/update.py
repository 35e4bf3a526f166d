"""Learned weights into an image (``nmc image update IMAGE --weights weights.npz``): the plastic
rows' mantissas are rewritten, nothing else changes (the mapping, the routes, the other rows).

A weights file of an image run (``nmc simulate IMAGE --learn``) carries the learning units
(``P/mantissa``): a synapse then delivers ``R(m / 2^wf)``, as it did at the end of that run. A file
of a float or network run carries weights (``P/final``): they become ``round(w unit / 2^wf)``,
kept inside the rule's bounds. Synapses are matched by their (pre, post) neurons in the projection.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import UserError
from ..targets.encoding import storage_layout
from .contents import ImageContents, SynapseFields

__all__ = ["update_weights"]


def update_weights(contents: ImageContents, weights: dict[str, dict[str, np.ndarray]]) -> ImageContents:
    """``contents`` with the plastic projections named in ``weights`` (``{P: {"pre", "post",
    "final"[, "mantissa"]}}``) holding those weights. Refuses names the image does not learn,
    and synapses the file does not have."""
    meta = contents.meta
    plastic = {p["name"]: k for k, p in enumerate(meta.get("plastic", []))}
    unknown = sorted(set(weights) - set(plastic))
    if unknown:
        raise UserError(f"projection '{unknown[0]}' has learned weights, but the image does not learn it (its plastic "
                        f"projections: {', '.join(plastic) or 'none'})")
    frac = int(meta["learning"]["weight_frac_bits"]) if plastic else 0
    offsets = {a: int(b) for a, b, _ in meta["populations"]}
    firsts = np.cumsum([int(meta["neurons"])] + [int(s["size"]) for s in meta["sources"]])
    offsets |= {s["name"]: int(f) for s, f in zip(meta["sources"], firsts)}
    lookup = {name: _mantissas(weights[name], meta["plastic"][plastic[name]], frac) for name in weights}
    f, layout = SynapseFields(**meta["synapse_fields"]), storage_layout(meta["synapse_storage"])
    cores, done = [], {name: 0 for name in weights}
    for c in contents.cores:
        if not c.plastic.size:
            cores.append(c)
            continue
        j, ch, d, m = layout.unpack(f, c.synapses)
        lengths = c.rows["length"].astype(np.int64)
        row_of = np.repeat(np.arange(c.rows.size), lengths)
        ids = c.neurons["neuron"].astype(np.int64)
        for rec in c.plastic:
            p = meta["plastic"][int(rec["projection"])]
            if p["name"] not in lookup:
                continue
            sel = np.flatnonzero(row_of == int(rec["row"]))
            pre = int(c.rows["source"][rec["row"]]) - offsets[p["pre"]]
            post = ids[j[sel]] - offsets[p["post"]]
            m[sel] = lookup[p["name"]](pre, post, c.core)
            done[p["name"]] += sel.size
        cores.append(dataclasses.replace(c, synapses=layout.pack(f, j, ch, d, m)))
    for name, count in done.items():
        if count != np.asarray(weights[name]["pre"]).size:
            raise UserError(f"projection '{name}': the weights file has {np.asarray(weights[name]['pre']).size} "
                            f"synapses, the image {count}")
    return dataclasses.replace(contents, cores=tuple(cores))


def _mantissas(w: dict[str, np.ndarray], p: dict, frac: int):
    """A lookup ``(pre, posts, core) -> delivered mantissas`` over one projection's learned weights."""
    rule = p["rule"]
    if "mantissa" in w:
        half = (1 << (frac - 1)) if frac else 0
        delivered = (np.asarray(w["mantissa"], dtype=np.int64) + half) >> frac
    else:
        delivered = np.rint(np.asarray(w["final"], dtype=np.float64) * rule["unit"] / 2 ** frac).astype(np.int64)
    delivered = np.clip(delivered, rule["m_min"] >> frac, rule["m_max"] >> frac)
    pre, post = np.asarray(w["pre"], dtype=np.int64), np.asarray(w["post"], dtype=np.int64)
    keys = (pre << 32) + post  # neuron indices stay below 2^32
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    if np.any(sorted_keys[1:] == sorted_keys[:-1]):
        raise UserError(f"projection '{p['name']}': the weights file repeats a (pre, post) pair; which weight is "
                        "whose cannot be told")
    def lookup(pre_row: int, posts: np.ndarray, core: int) -> np.ndarray:
        wanted = (np.int64(pre_row) << 32) + posts
        at = np.searchsorted(sorted_keys, wanted)
        found = (at < sorted_keys.size) & (sorted_keys[np.minimum(at, sorted_keys.size - 1)] == wanted)
        if not np.all(found):
            raise UserError(f"projection '{p['name']}': core {core} holds a synapse from {pre_row} to "
                            f"{int(posts[~found][0])} that the weights file does not have")
        return delivered[order[at]]

    return lookup
