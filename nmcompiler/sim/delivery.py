"""Delays shared by a table row (the plastic synapses' layout reads them; the compiled kernels'
static synapses are in the compact table of :mod:`.rows`, which marks its rows the same way).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..arrays import one_value

__all__ = ["row_delays", "shared_row_delays"]


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
    if one_value(delay):
        return np.full(indptr.size - 1, int(delay.flat[0]), dtype=np.int32)
    return row_delays(indptr, delay)
