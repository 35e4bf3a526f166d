"""The synapse table of the lowered form: one CSR over presynaptic indices (neurons, then
spike-source channels), each synapse targeting ``channel * n + neuron`` of the input buffer (or
a partial-sum compartment beyond it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["SynapseTable", "incoming_weight", "synapse_table"]


@dataclass(frozen=True, kw_only=True)
class SynapseTable:
    indptr: np.ndarray  # (n_pre_total + 1,) int64
    target: np.ndarray  # (nnz,) int (int64 here, int32 from fixed point and images): channel * N + post
    weight: np.ndarray  # (nnz,) float64 here, int from fixed point and images
    delay: np.ndarray  # (nnz,) int steps, or () when all delays are equal
    max_delay: int

    @property
    def nnz(self) -> int:
        return int(self.target.size)


@njit(cache=True, nogil=True)
def _place(pre, cursor, target, weight, delay, out_target, out_weight, out_delay, with_delay):
    """Counting sort's second pass for one piece: synapse ``s`` goes to ``cursor[pre[s]]``."""
    for s in range(pre.size):
        r = pre[s]
        at = cursor[r]
        cursor[r] = at + 1
        out_target[at] = target[s]
        out_weight[at] = weight[s]
        if with_delay:
            out_delay[at] = delay[s]


@njit(cache=True, nogil=True)
def incoming_weight(target, weight, lo, hi):
    """Total absolute (integer) weight of the synapses onto each target in ``[lo, hi)``, exactly
    in int64: it bounds every sum those targets can receive in a tick from single spikes."""
    total = np.zeros(hi - lo, dtype=np.int64)
    for s in range(target.size):
        k = target[s] - lo
        if 0 <= k < hi - lo:
            total[k] += abs(np.int64(weight[s]))
    return total


def synapse_table(n_pre_total: int, pres, targets, weights, delays) -> SynapseTable:
    """CSR by presynaptic index from per-piece lists of synapse arrays, in the order of a stable
    sort (within a presynaptic index, pieces in order, synapses in order). A counting sort: no
    order array. The lists are emptied as their pieces are placed, so a piece's memory can go
    back as soon as it is in the table. Targets, weights and delays keep their pieces' common
    dtype; delays become one number when all are equal."""
    if not pres:
        empty = np.zeros(0, dtype=np.int64)
        return SynapseTable(indptr=np.zeros(n_pre_total + 1, dtype=np.int64), target=empty,
                            weight=np.zeros(0), delay=np.array(1), max_delay=1)
    counts = np.zeros(n_pre_total, dtype=np.int64)
    lo, hi = None, None
    for pre, d in zip(pres, delays):
        counts += np.bincount(pre, minlength=n_pre_total)
        if np.size(pre):
            d = np.asarray(d)
            lo = int(d.min()) if lo is None else min(lo, int(d.min()))
            hi = int(d.max()) if hi is None else max(hi, int(d.max()))
    indptr = np.zeros(n_pre_total + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    uniform = lo is None or lo == hi
    d_type = np.result_type(*delays)
    out_target = np.empty(nnz, dtype=np.result_type(*targets))
    out_weight = np.empty(nnz, dtype=np.result_type(*weights))
    out_delay = np.empty(0 if uniform else nnz, dtype=d_type)
    cursor = indptr[:-1].copy()
    for k in range(len(pres)):
        pre, t, w, d = pres[k], targets[k], weights[k], delays[k]
        pres[k] = targets[k] = weights[k] = delays[k] = None  # each piece's memory goes as the table fills
        if not np.size(pre):
            continue
        d = np.zeros(1, dtype=d_type) if uniform else np.ascontiguousarray(np.broadcast_to(d, np.shape(pre)), d_type)
        _place(np.ascontiguousarray(pre), cursor, np.ascontiguousarray(t, out_target.dtype),
               np.ascontiguousarray(w, out_weight.dtype), d, out_target, out_weight, out_delay, not uniform)
        del pre, t, w, d
    return SynapseTable(indptr=indptr, target=out_target, weight=out_weight,
                        delay=np.array(lo if lo is not None else 1) if uniform else out_delay,
                        max_delay=hi if hi is not None else 1)
