"""Array helpers shared by the compiler's passes.

``np.unique`` on numpy 2.4 counts distinct values through a hash table that is ~40x slower than
sorting when most values are distinct (2.9 million pair keys: 2.1 s against 0.05 s), and mapping
keys (core x source pairs) are mostly distinct: :func:`distinct` sorts instead.
:func:`distinct_per_group` counts distinct pairs without sorting at all, through a bitmap.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["counts", "distinct", "distinct_per_group", "one_value", "values"]

BITMAP_LIMIT = 1 << 33  # bits (1 GiB): larger pair spaces are counted by sorting


def one_value(a: np.ndarray) -> bool:
    """Whether ``a`` holds one value for all its entries without storing it per entry (0-d, or a
    zero-stride view of more than one entry)."""
    a = np.asarray(a)
    return a.ndim == 0 or (a.ndim == 1 and a.size > 1 and a.strides == (0,))


def values(a: np.ndarray) -> np.ndarray:
    """``a`` as a contiguous 1-d array for compiled loops: one element when it holds one value for
    all (:func:`one_value`), else every entry."""
    a = np.asarray(a)
    return a.reshape(-1)[:1].copy() if one_value(a) else np.ascontiguousarray(a).reshape(-1)


def distinct(x: np.ndarray) -> np.ndarray:
    """The sorted distinct values of ``x`` (what ``np.unique(x)`` returns)."""
    s = np.sort(np.asarray(x).reshape(-1))
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def counts(x: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount(x, minlength=n)`` for indices ``x`` in ``[0, n)``, in one compiled pass
    (numpy converts int32 indices to int64 first: 1.8 s against 0.4 s for the microcircuit's
    0.29 billion synapse targets). An index outside ``[0, n)`` raises ValueError."""
    out, bad = _counts(np.asarray(x), n)
    if bad:
        raise ValueError(f"counts: {bad} indices outside [0, {n})")
    return out


@njit(cache=True, nogil=True)
def _counts(x, n):
    out = np.zeros(n, dtype=np.int64)
    bad = 0
    for v in x:
        if 0 <= v < n:
            out[v] += 1
        else:
            bad += 1
    return out, bad


@njit(cache=True, nogil=True)
def _count_bitmap(group, item, items, counts, bitmap):
    for s in range(group.size):
        key = group[s] * items + item[s]
        word, bit = key >> 6, np.uint64(1) << np.uint64(key & 63)
        if not bitmap[word] & bit:
            bitmap[word] |= bit
            counts[group[s]] += 1


def distinct_per_group(group: np.ndarray, item: np.ndarray, groups: int, items: int) -> np.ndarray:
    """For each group ``g < groups``, how many distinct ``item`` values (``< items``) occur with
    it: ``np.bincount(np.unique(group * items + item) // items, minlength=groups)``, counted with
    a bitmap of ``groups x items`` bits (sorting when that exceeds :data:`BITMAP_LIMIT`)."""
    group = np.asarray(group, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    if groups * items > BITMAP_LIMIT:
        pairs = distinct(group * items + item)
        return np.bincount(pairs // items, minlength=groups)
    counts = np.zeros(groups, dtype=np.int64)
    _count_bitmap(group, item, items, counts, np.zeros((groups * items + 63) // 64, dtype=np.uint64))
    return counts
