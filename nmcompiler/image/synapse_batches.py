"""Every synapse of a mapped network in its core's terms, a batch of cores at a time.

:func:`synapse_batches` reads the fixed-point projections directly (no global synapse table),
finds each synapse's core once (one ``int32`` per synapse) and then yields the synapses of
consecutive cores in batches of about ``batch_synapses``, so building the image of 0.3 billion
synapses never holds more than one batch in ``int64`` arrays. Per synapse a batch holds:

* ``pre``: presynaptic index (neurons, then source channels; ``presynaptic + k`` for the
  message row of partial-sum compartment ``k``);
* ``chan``, ``post``: the channel and global neuron it finally feeds (row grouping);
* ``core``, ``slot``: the core and local slot that stores it (a neuron, or for a synapse through
  a compartment the compartment's slot after the core's neurons);
* ``field``: the channel written into the entry (0 onto a compartment);
* ``delay``: stored delay (``max(d - 1, 1)`` into a compartment, 1 for a message row);
* ``weight``: integer weight (1 for a message row).

Within a batch, synapses come projection by projection in CSR order, then the message rows,
which is the order of the simulators' synapse table restricted to the batch, so a stable sort of
a batch gives the same bytes as sorting everything at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..arrays import distinct
from ..ir.fixed_point import FixedPointNetwork

__all__ = ["SynapseBatch", "synapse_batches"]

BATCH_SYNAPSES = 1 << 24


@dataclass(frozen=True, kw_only=True, eq=False)
class SynapseBatch:
    cores: range  # the cores whose synapses this batch holds (all of them)
    arrays: dict[str, np.ndarray]  # pre, chan, post, core, slot, field, delay, weight (int64)


@dataclass(frozen=True, kw_only=True, eq=False)
class _Projection:
    pre_base: int
    post_base: int  # first global neuron of the post population
    channel: int
    indptr: np.ndarray
    indices: np.ndarray
    mantissa: np.ndarray  # (nnz,) or (1,)
    exponent: int
    delays: np.ndarray  # (nnz,) or (1,)
    core: np.ndarray  # int32 (nnz,): core storing each synapse


def _pre(indptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.searchsorted(indptr, idx, side="right") - 1


def synapse_batches(fx: FixedPointNetwork, offsets: dict[str, int], n: int, n_pre: int, core_of: np.ndarray,
                    local: np.ndarray, neurons_on: np.ndarray, ps=None, batch_synapses: int = BATCH_SYNAPSES,
                    ) -> tuple[Iterator[SynapseBatch], np.ndarray, dict]:
    """``(batches, destination pairs, compartment layout)``: the batches (an iterator), the
    distinct ``sending core * K + receiving core`` pairs of spikes and messages, and for partial
    sums ``slot`` (of each compartment), ``by_core`` (compartment ids core by core), ``first``
    (where each core's start in ``by_core``), ``core``, ``soma`` and ``channel`` (of each
    compartment); empty without compartments."""
    K = int(neurons_on.size)
    width = max(K, 1)
    comp_layout: dict = {}
    if ps is not None and ps.compartments:
        comp_core = np.asarray(ps.core, dtype=np.int64)
        by_core = np.argsort(comp_core, kind="stable")  # compartments core by core, ascending id
        first = np.searchsorted(comp_core[by_core], np.arange(K + 1))
        slot = np.empty(ps.compartments, dtype=np.int64)  # after the core's neurons
        slot[by_core] = np.arange(ps.compartments) - first[comp_core[by_core]] + neurons_on[comp_core[by_core]]
        comp_layout = {"slot": slot, "by_core": by_core, "first": first, "core": comp_core,
                       "soma": np.asarray(ps.target, dtype=np.int64) % n,
                       "channel": np.asarray(ps.target, dtype=np.int64) // n}
    projections, pairs = [], []
    for q in fx.projections.values():
        indptr = np.asarray(q.indptr, dtype=np.int64)
        indices = np.asarray(q.indices, dtype=np.int64)
        pre_base, post_base = offsets[q.pre], offsets[q.post]
        pre = pre_base + np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
        post = post_base + indices
        core = core_of[post]
        if comp_layout:
            comp = ps.compartment[pre // ps.block_size, q.channel * n + post]
            core = np.where(comp >= 0, comp_layout["core"][np.maximum(comp, 0)], core)
            del comp
        spikes = pre < n
        pairs.append(distinct(core_of[pre[spikes]] * width + core[spikes]))
        projections.append(_Projection(pre_base=pre_base, post_base=post_base, channel=int(q.channel), indptr=indptr,
                                       indices=np.asarray(q.indices), mantissa=np.asarray(q.mantissa).reshape(-1),
                                       exponent=int(q.exponent), delays=np.asarray(q.delays).reshape(-1),
                                       core=core.astype(np.int32)))
    per_core = sum((np.bincount(p.core, minlength=K) for p in projections), np.zeros(K, dtype=np.int64))
    if comp_layout:
        soma_core = core_of[comp_layout["soma"]]
        per_core += np.bincount(soma_core, minlength=K)
        pairs.append(comp_layout["core"] * width + soma_core)
    dest_pairs = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.int64)
    return _batches(projections, per_core, batch_synapses, n, n_pre, core_of, local, ps, comp_layout), dest_pairs, \
        comp_layout


def _batches(projections, per_core, batch_synapses, n, n_pre, core_of, local, ps, comp_layout):
    K = per_core.size
    c0 = 0
    while c0 < K:
        c1, total = c0 + 1, int(per_core[c0])
        while c1 < K and total + per_core[c1] <= batch_synapses:
            total += int(per_core[c1])
            c1 += 1
        yield SynapseBatch(cores=range(c0, c1), arrays=_gather(projections, c0, c1, n, n_pre, core_of, local, ps,
                                                               comp_layout))
        c0 = c1


def _gather(projections, c0, c1, n, n_pre, core_of, local, ps, comp_layout) -> dict[str, np.ndarray]:
    parts: list[dict[str, np.ndarray]] = []
    for p in projections:
        idx = np.flatnonzero((p.core >= c0) & (p.core < c1))
        if not idx.size:
            continue
        pre = p.pre_base + _pre(p.indptr, idx)
        post = p.post_base + p.indices[idx].astype(np.int64)
        chan = np.full(idx.size, p.channel, dtype=np.int64)
        weight = (p.mantissa[0] if p.mantissa.size == 1 else p.mantissa[idx]).astype(np.int64) << p.exponent
        delay = (p.delays[0] if p.delays.size == 1 else p.delays[idx]).astype(np.int64)
        core = p.core[idx].astype(np.int64)
        part = {"pre": pre, "chan": chan, "post": post, "core": core, "slot": local[post], "field": chan,
                "delay": np.broadcast_to(delay, idx.shape), "weight": np.broadcast_to(weight, idx.shape)}
        if comp_layout:
            comp = ps.compartment[pre // ps.block_size, p.channel * n + post]
            through = comp >= 0
            safe = np.maximum(comp, 0)
            part["slot"] = np.where(through, comp_layout["slot"][safe], part["slot"])
            part["field"] = np.where(through, 0, chan)
            part["delay"] = np.where(through, np.maximum(part["delay"] - 1, 1), part["delay"])
        parts.append(part)
    if comp_layout:  # message rows of the compartments whose neuron lives in the batch
        soma, channel = comp_layout["soma"], comp_layout["channel"]
        k = np.flatnonzero((core_of[soma] >= c0) & (core_of[soma] < c1))
        one = np.ones(k.size, dtype=np.int64)
        parts.append({"pre": n_pre + k, "chan": channel[k], "post": soma[k], "core": core_of[soma[k]],
                      "slot": local[soma[k]], "field": channel[k], "delay": one, "weight": one})
    keys = ("pre", "chan", "post", "core", "slot", "field", "delay", "weight")
    if not parts:
        return {key: np.zeros(0, dtype=np.int64) for key in keys}
    return {key: np.concatenate([np.asarray(part[key], dtype=np.int64) for part in parts]) for key in keys}
