"""Synaptic delivery shared by the compiled kernels of both simulators: the spikes of one step
add their synapses' weights into a ring buffer of ``n_slots`` slots of ``stride`` entries, at
the slot of their arrival step. Integer or float, the additions happen synapse by synapse in
table order, so the float simulator keeps its order of operations (:mod:`._float_kernel`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["deliver_rows", "row_delays", "shared_row_delays"]


@njit(cache=True)
def deliver_rows(ring, indptr, target, weight, delays, row_delay, rows, sent, n_slots, stride):
    """Add the synapses of table rows ``rows`` (in that order) into the ring slots of their
    arrival steps, ``sent`` being the slot of the sending step (delays lie in ``[1, n_slots)``);
    returns the number of synapses. A row whose synapses share one delay (``row_delay[r] >= 0``)
    adds into one slot without reading a delay per synapse; ``delays`` is read only for the other
    rows. (The row body is written once, here: as a helper called per row, numba counts array
    references per call, and inlined, LLVM's code for it was 2-4x slower.)"""
    events = 0
    for k in range(rows.size):
        r = rows[k]
        first, last = indptr[r], indptr[r + 1]
        d = row_delay[r]
        if d >= 0:
            slot = sent + d
            if slot >= n_slots:
                slot -= n_slots
            off = slot * stride
            for s in range(first, last):
                ring[off + target[s]] += weight[s]
        else:
            for s in range(first, last):
                slot = sent + delays[s]
                if slot >= n_slots:
                    slot -= n_slots
                ring[slot * stride + target[s]] += weight[s]
        events += last - first
    return events


@njit(cache=True)
def row_delays(indptr, delay):
    """Per table row, the delay all its synapses share, or -1 (mixed; also for an empty row)."""
    out = np.full(indptr.size - 1, -1, dtype=np.int32)
    for r in range(indptr.size - 1):
        if indptr[r + 1] > indptr[r]:
            d = delay[indptr[r]]
            same = True
            for s in range(indptr[r] + 1, indptr[r + 1]):
                if delay[s] != d:
                    same = False
                    break
            if same:
                out[r] = d
    return out


def shared_row_delays(indptr: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """:func:`row_delays` for ``delay`` given per synapse, as a zero-stride view (one value for
    all) or as a 0-d array."""
    delay = np.asarray(delay)
    if delay.ndim == 0 or (delay.ndim == 1 and delay.size > 1 and delay.strides == (0,)):
        return np.full(indptr.size - 1, int(delay.flat[0]), dtype=np.int32)
    return row_delays(indptr, delay)
