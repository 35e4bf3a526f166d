"""Legalization for crossbar cores: one axon type per input axon, consistent across the core.

On a TrueNorth-like core an input axon (a presynaptic source at one delay) has a single type
``t(a)`` among ``T``, and neuron ``j`` has one weight per type: the synapse ``a -> j`` weighs
``W[j, t(a)]``. Clustering each neuron's weights into ``T`` values (:class:`ClusterWeights`) is
necessary but not sufficient: the types must also agree across the core's neurons. After
partitioning, this pass assigns types core by core on the integer weights:

1. first fit: axons in ascending (source, delay) order take the first type whose weights so far
   agree with theirs, trying the type ``hints`` names for their source first (the planes of
   :class:`.AxonPlanes`); if every axon finds one, the weights are kept exactly;
2. otherwise k-means over axons: axon ``a`` is the vector of its weights to the core's neurons
   (absent synapses ignored); types start from quantiles of the axons' mean weight; ``W[j, t]`` is
   the mean of the weights of type-``t`` axons into ``j``, each axon moves to the type with the
   smallest squared error; then ``W`` is rounded and every synapse takes ``W[j, t(a)]``.

The report gives per core the synapses changed and the RMS and largest weight error, so the cost
is visible (``nmc compare`` shows it in spikes). Deterministic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..ir.fixed_point import FixedPointNetwork
from ..lowered import program_from_fixed_point
from ..targets.encoding import axon_key_stride, axon_keys
from .results import WeightChange, weight_change

__all__ = ["AssignAxonTypes", "AxonTypes"]


def _first_fit(w: np.ndarray, mask: np.ndarray, types: int, hint: np.ndarray) -> np.ndarray | None:
    """Types by first fit, each axon trying its ``hint`` (>= 0) first."""
    n_axons, n = w.shape
    table, known = np.zeros((types, n), dtype=np.int64), np.zeros((types, n), dtype=bool)
    out = np.zeros(n_axons, dtype=np.int64)
    for a in range(n_axons):
        m = mask[a]
        order = range(types) if hint[a] < 0 else [int(hint[a])] + [t for t in range(types) if t != hint[a]]
        for t in order:
            if np.all(~known[t, m] | (table[t, m] == w[a, m])):
                break
        else:
            return None
        table[t, m], known[t, m], out[a] = w[a, m], True, t
    return out


def _kmeans(w: np.ndarray, mask: np.ndarray, types: int, iterations: int = 30) -> np.ndarray:
    wf, mf = w.astype(np.float64), mask.astype(np.float64)
    mean = (wf * mf).sum(axis=1) / np.maximum(mf.sum(axis=1), 1)
    ranks = np.argsort(np.argsort(mean, kind="stable"), kind="stable")
    label = ranks * types // max(len(mean), 1)
    for _ in range(iterations):
        onehot = np.eye(types)[label]  # (axons, types)
        count = onehot.T @ mf  # (types, n)
        centre = (onehot.T @ (wf * mf)) / np.maximum(count, 1)
        defined = count > 0
        cost = np.stack([(((wf - centre[t]) ** 2) * mf * defined[t]).sum(axis=1) for t in range(types)], axis=1)
        new = np.argmin(cost, axis=1)
        if np.array_equal(new, label):
            break
        label = new
    return label


@dataclass(frozen=True, kw_only=True, eq=False)
class AxonTypes:
    fixed_point: FixedPointNetwork  # with every crossbar core's weights consistent with its types
    assignment: dict[int, tuple[np.ndarray, np.ndarray]]  # core -> (sorted axon keys, type of each)
    changes: dict[int, WeightChange]  # core -> how its weights changed


@dataclass(frozen=True, kw_only=True)
class AssignAxonTypes:
    name: ClassVar[str] = "assign-axon-types"
    types: int
    hints: dict[str, int] = dataclasses.field(default_factory=dict)  # sending node -> the type to try first

    def run(self, fxp: FixedPointNetwork, core_of: np.ndarray) -> AxonTypes:
        """``fxp`` with every crossbar core's weights consistent with one type per axon."""
        prog = program_from_fixed_point(fxp, synapses=False)  # the neuron offsets only
        offsets, n = prog.offsets, prog.n
        pieces = []  # per projection: global pre, post, delay, weight
        for name, q in fxp.projections.items():
            rows = np.repeat(np.arange(q.indptr.size - 1), np.diff(q.indptr))
            delay = np.broadcast_to(q.delays, q.indices.shape)
            pieces.append((name, rows + offsets[q.pre], q.indices + offsets[q.post], delay, q.weights.astype(np.int64)))
        if not pieces:
            return AxonTypes(fixed_point=fxp, assignment={}, changes={})
        proj_of = np.concatenate([np.full(p[1].size, k) for k, p in enumerate(pieces)])
        pre, post, delay, weight = (np.concatenate([p[i] for p in pieces]) for i in range(1, 5))
        sizes = {p.name: p.size for p in prog.populations} | {s.name: s.size for s in prog.sources}
        hint = np.full(n + sum(s.size for s in prog.sources), -1, dtype=np.int64)
        for name, t in self.hints.items():
            if name in offsets:
                hint[offsets[name]:offsets[name] + sizes[name]] = t
        new_weight = weight.copy()
        assignment, changes = {}, {}
        core = core_of[post] if n else post
        for c in np.unique(core):
            sel = np.flatnonzero(core == c)
            keys, a_idx = np.unique(axon_keys(pre[sel], delay[sel], fxp.format.delay_max), return_inverse=True)
            neurons, j_idx = np.unique(post[sel], return_inverse=True)
            w = np.zeros((keys.size, neurons.size), dtype=np.int64)
            mask = np.zeros_like(w, dtype=bool)
            w[a_idx, j_idx], mask[a_idx, j_idx] = weight[sel], True
            label = _first_fit(w, mask, self.types, hint[keys // axon_key_stride(fxp.format.delay_max)])
            if label is None:
                label = _kmeans(w, mask, self.types)
                onehot = np.eye(self.types)[label]
                count = onehot.T @ mask
                centre = np.rint((onehot.T @ (w * mask)) / np.maximum(count, 1)).astype(np.int64)
                new_weight[sel] = centre[label[a_idx], j_idx]
            assignment[int(c)] = (keys, label.astype(np.int64))
            changes[int(c)] = weight_change(weight[sel], new_weight[sel])
        if np.array_equal(new_weight, weight):
            return AxonTypes(fixed_point=fxp, assignment=assignment, changes=changes)
        projections = dict(fxp.projections)
        for k, (name, *_rest) in enumerate(pieces):
            q = projections[name]
            mine = new_weight[proj_of == k]
            projections[name] = dataclasses.replace(q, mantissa=(mine >> q.exponent).astype(q.mantissa.dtype))
        return AxonTypes(fixed_point=dataclasses.replace(fxp, projections=projections), assignment=assignment,
                         changes=changes)
