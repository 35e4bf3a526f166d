"""A core's plastic rows as the learning engine's memory words (:mod:`rtl.learn_params`).

:func:`learn_load` takes one core of an image with plastic synapses (format version 3) and gives
the words of ``lrow``, ``psyn``, ``pinptr``, ``pin``, ``lunit`` and ``lctrl`` and the row words of
its plastic rows (``start``: the plastic row, ``length``: its delay). The order of every memory
is the contract's order (docs/datapath.md, "Learning"): plastic rows by delay, then source (the
arrivals); a unit's pre traces and synapses by source, each row's entries in the image's order
(decays, rewards and potentiation). Learning unit ``u`` of a core is its ``u``-th plastic
projection (meta order); its LFSR seed is that of the bit-accurate simulator's unit for the same
(projection, core) (:func:`nmcompiler.sim.bit_plasticity.lfsr_seed`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmcompiler.errors import UserError
from nmcompiler.sim.bit_plasticity import lfsr_seed

from .learn_params import LearnParams

__all__ = ["LearnLoad", "learn_load", "unit_numbers"]


@dataclass(frozen=True, kw_only=True, eq=False)
class LearnLoad:
    """The learning memories' words, and per plastic synapse of the core (``psyn`` order) the unit
    and the index of the synapse within its unit's own order; per pre trace its source."""
    memories: dict[str, list[int]]
    rows: dict[int, dict]  # image row -> its row word's fields
    units: list[int]  # plastic projection (meta index) of each unit
    unit_of_synapse: np.ndarray
    x_source: np.ndarray  # presynaptic index of each pre trace (xtr address)
    x_unit: np.ndarray
    layouts_psyn: object  # the psyn word layout (to read the words back)


def unit_numbers(contents) -> dict[tuple[int, int], int]:
    """(projection, core) -> the learning unit's index in the bit-accurate simulator (projections
    in meta order, then cores ascending)."""
    out, n = {}, 0
    for k in range(len(contents.meta.get("plastic", []))):
        for c in contents.cores:
            if np.any(c.plastic["projection"] == k):
                out[(k, c.core)] = n
                n += 1
    return out


def _entries(image, layout, fields, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neuron, delay and mantissa of row ``r``'s entries (``layout``: the image's storage layout)."""
    a, b = int(image.rows["start"][r]), int(image.rows["start"][r] + image.rows["length"][r])
    neuron, _, delay, mant = layout.unpack(fields, image.synapses[a:b])
    return neuron, delay, mant


def learn_load(contents, image, lp: LearnParams, layout, fields, numbers: dict) -> LearnLoad:
    """The learning memories of core ``image`` of ``contents`` (``numbers``: :func:`unit_numbers`)."""
    meta, L = contents.meta, lp.layouts
    plastic = meta["plastic"]
    if meta["learning"] != vars(lp.fmt):
        diff = sorted(k for k in vars(lp.fmt) if meta["learning"].get(k) != getattr(lp.fmt, k))
        raise UserError(f"the image learns with another learning format than this RTL core's ({', '.join(diff)} "
                        "differ): generate the RTL for the image's target")
    rows, proj = image.plastic["row"].astype(np.int64), image.plastic["projection"].astype(np.int64)
    units = sorted(set(proj.tolist()))
    if len(units) > lp.units:
        raise UserError(f"core {image.core} learns for {len(units)} plastic projections; the RTL core's learning "
                        f"engine has {lp.units} units: generate it with more (CoreParams.of(..., learn_units=N))")
    unit = np.array([units.index(k) for k in proj], dtype=np.int64)
    src = image.rows["source"].astype(np.int64)[rows]
    parts = [_entries(image, layout, fields, r) for r in rows]
    delays = []
    for r, (_, d, _) in zip(rows, parts):
        if d.size and np.any(d != d[0]):
            raise UserError(f"core {image.core}: plastic row {int(r)} has several delays; a learning engine's row "
                            "has one")
        delays.append(int(d[0]) if d.size else 1)
    delays = np.array(delays, dtype=np.int64)
    order = np.lexsort((src, unit))  # unit-major, sources ascending: traces and synapses
    lengths = np.array([p[0].size for p in parts], dtype=np.int64)
    first = np.zeros(rows.size, dtype=np.int64)
    first[order] = np.concatenate([[0], np.cumsum(lengths[order])[:-1]]) if rows.size else []
    xa = np.empty(rows.size, dtype=np.int64)
    xa[order] = np.arange(rows.size)
    arrival = np.lexsort((unit, src, delays))  # the scan: delay, then source
    p_of = np.empty(rows.size, dtype=np.int64)
    p_of[arrival] = np.arange(rows.size)
    total = int(lengths.sum())
    _check_sizes(image.core, lp, rows.size, total)
    psyn, syn_unit = [0] * total, np.zeros(total, dtype=np.int64)
    neuron_of = np.zeros(total, dtype=np.int64)
    for i in order:
        neuron, _, mant = parts[i]
        for e in range(neuron.size):
            s = int(first[i]) + e
            psyn[s] = _pack(L.psyn, {"neuron": int(neuron[e]), "unit": int(unit[i]), "xa": int(xa[i]),
                                     "m": int(mant[e]) << lp.fmt.weight_frac_bits, "c": 0}, image.core)
            syn_unit[s], neuron_of[s] = unit[i], neuron[e]
    lrow = [0] * rows.size
    for i in range(rows.size):
        lrow[int(p_of[i])] = _pack(L.lrow, {"first": int(first[i]), "length": int(lengths[i]), "unit": int(unit[i]),
                                            "xa": int(xa[i])}, image.core)
    pinptr, pin = _pins(image, lp, neuron_of, units, meta)
    lunit = [_unit_word(L, plastic[k], image, k, u, unit, order, first, lengths, numbers, int(meta["seed"]))
             for u, k in enumerate(units)]
    row_words = {int(r): {"start": int(p_of[i]), "length": int(delays[i]),
                          "exponent": int(image.rows["exponent"][r]), "plastic": 1} for i, r in enumerate(rows)}
    return LearnLoad(memories={"lrow": lrow, "psyn": psyn, "pinptr": pinptr, "pin": pin, "lunit": lunit,
                               "lctrl": [rows.size], "reward": []},
                     rows=row_words, units=units, unit_of_synapse=syn_unit, x_source=src[order], x_unit=unit[order],
                     layouts_psyn=L.psyn)


def _check_sizes(core: int, lp: LearnParams, n_rows: int, n_syn: int) -> None:
    over = [f"{k} {have} > {limit}" for k, (have, limit) in
            {"plastic rows": (n_rows, lp.rows), "plastic synapses": (n_syn, lp.entries)}.items() if have > limit]
    if over:
        raise UserError(f"core {core}: {', '.join(over)} of the RTL core's learning engine: generate it with more "
                        "(CoreParams.of(..., plastic_rows=..., plastic_entries=...))")


def _pack(layout, value: dict, core: int) -> int:
    from .load import pack

    try:
        return pack(layout, value)
    except ValueError as exc:
        raise UserError(f"core {core}: a learning value does not fit the RTL core's widths ({exc}): generate the "
                        "RTL for the image's target") from None


def _pins(image, lp: LearnParams, neuron_of: np.ndarray, units: list[int], meta: dict):
    """Per local neuron: its plastic synapses (ascending) and the units with a post trace for it."""
    L = lp.layouts
    pops = {name: (int(lo), int(size)) for name, lo, size in meta["populations"]}
    ids = image.neurons["neuron"].astype(np.int64)
    by_neuron = np.argsort(neuron_of, kind="stable")
    counts = np.bincount(neuron_of, minlength=ids.size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ptr = []
    for j in range(ids.size):
        mask = 0
        for u, k in enumerate(units):
            lo, size = pops[meta["plastic"][k]["post"]]
            mask |= int(lo <= ids[j] < lo + size) << u
        ptr.append(_pack(L.pinptr, {"first": int(starts[j]), "count": int(counts[j]), "mask": mask}, image.core))
    return ptr, [int(s) for s in by_neuron]


def _unit_word(L, proj: dict, image, k: int, u: int, unit, order, first, lengths, numbers, seed: int) -> int:
    rule = proj["rule"]
    mine = order[unit[order] == u]
    x_lo = int(np.flatnonzero(unit[order] == u)[0])
    s_lo = int(first[mine[0]])
    s_hi = int(first[mine[-1]] + lengths[mine[-1]])
    return _pack(L.lunit, {
        "inc": rule["trace_inc"], "d_pre": rule["decay_pre"], "d_post": rule["decay_post"],
        "d_elig": rule["decay_eligibility"], "a_plus": rule["a_plus"], "a_minus": rule["a_minus"], "q": rule["shift"],
        "m_min": rule["m_min"], "m_max": rule["m_max"], "inv": rule["inv_span"], "mult": int(rule["multiplicative"]),
        "nearest": int(rule["nearest"]), "elig": int(rule["rule"] == "reward_stdp"),
        "rf": rule.get("reward_frac_bits", 0), "epoch": rule["epoch"], "exp": int(proj["exponent"]),
        "channel": int(proj["channel"]), "x_lo": x_lo, "x_hi": x_lo + mine.size, "s_lo": s_lo, "s_hi": s_hi,
        "seed": lfsr_seed(seed, numbers[(k, image.core)])}, image.core)
