"""Connection generators: synapse index lists from a rule and a seeded random generator.

Each returns ``(pre, post)`` integer index arrays (int32 where the indices fit) ordered by
(pre, post). Random rules draw *distinct* partners: a pair appears at most once per projection.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["one_to_one", "all_to_all", "fixed_probability", "fixed_indegree", "sample_distinct"]


def _as_pairs(keys: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Split sorted keys ``row * n_cols + col`` into (row, col) without a slow 64-bit division."""
    if keys.size == 0:
        return keys.copy(), keys.copy()
    n_rows = int(keys[-1] // n_cols) + 1
    bounds = np.searchsorted(keys, np.arange(n_rows + 1, dtype=np.int64) * n_cols)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(bounds))
    cols = keys - rows * n_cols
    return rows, cols


def sample_distinct(rng: np.random.Generator, counts: np.ndarray, n: int) -> np.ndarray:
    """For row ``i`` draw ``counts[i]`` distinct integers of ``[0, n)`` uniformly.

    Returns sorted keys ``row * n + col``. Duplicates of a draw with replacement are redrawn
    until none remain, which gives uniformly random subsets; rows asking for more than half
    of ``[0, n)`` draw the complement instead so the loop stays short.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if n == 0 or not counts.any():
        if counts.any():
            raise ValueError(f"cannot draw {counts.max()} distinct partners out of {n}")
        return np.zeros(0, dtype=np.int64)
    if counts.max() > n:
        raise ValueError(f"cannot draw {counts.max()} distinct partners out of {n}")
    flip = counts > n // 2
    draw = np.where(flip, n - counts, counts)
    rows = np.repeat(np.arange(counts.size, dtype=np.int64), draw)
    keys = np.sort(rows * n + rng.integers(0, n, size=rows.size))
    while keys.size:
        dup = np.flatnonzero(keys[1:] == keys[:-1]) + 1
        if dup.size == 0:
            break
        keys[dup] = (keys[dup] // n) * n + rng.integers(0, n, size=dup.size)
        keys.sort()
    if not flip.any():
        return keys
    kept = keys[~flip[keys // n]]
    flipped_rows = np.flatnonzero(flip)
    mask = np.ones((flipped_rows.size, n), dtype=bool)
    excluded = keys[flip[keys // n]]
    mask[np.searchsorted(flipped_rows, excluded // n), excluded % n] = False
    r, c = np.nonzero(mask)
    return np.sort(np.concatenate([kept, flipped_rows[r] * n + c]))


def _skip_self(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Map columns drawn from ``[0, n-1)`` onto ``[0, n) minus {row}``."""
    return cols + (cols >= rows).astype(cols.dtype)


def one_to_one(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    if n_pre != n_post:
        raise ValueError(f"one_to_one needs equal sizes, got {n_pre} and {n_post}")
    idx = np.arange(n_pre, dtype=np.int64)
    return idx, idx.copy()


def all_to_all(n_pre: int, n_post: int, *, autapses: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every pair, row by row; without autapses (one population onto itself) the diagonal is left out."""
    index = _index_dtype(max(n_pre, n_post))
    if autapses or n_pre != n_post:
        pre = np.repeat(np.arange(n_pre, dtype=index), n_post)
        post = np.tile(np.arange(n_post, dtype=index), n_pre)
        return (pre, post) if autapses else _without_diagonal(pre, post)
    pre = np.repeat(np.arange(n_pre, dtype=index), max(n_post - 1, 0))
    return pre, _skip_self(pre, np.tile(np.arange(max(n_post - 1, 0), dtype=index), n_pre))


def _without_diagonal(pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = pre != post
    return pre[keep], post[keep]


def fixed_probability(
    rng: np.random.Generator, n_pre: int, n_post: int, p: float, *, autapses: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair is connected independently with probability ``p``.

    The Bernoulli process over the ``n_pre * n_post`` pairs (row-major) is drawn as geometric
    gaps between successes, so the synapses come out sorted and distinct with no sort: O(synapses).
    """
    if not 0 <= p <= 1:
        raise ValueError(f"probability must lie in [0, 1], not {p}")
    cols = n_post if autapses else n_post - 1
    total = n_pre * cols
    if p == 0 or total <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if p == 1:
        pre, post = _as_pairs(np.arange(total, dtype=np.int64), cols)
    else:
        pre, post = _bernoulli_pairs(rng, total, cols, p)
    if not autapses:
        post = _skip_self(pre, post)
    return pre, post


def _bernoulli_pairs(rng: np.random.Generator, total: int, cols: int, p: float, chunk: int = 1 << 22):
    """Successes of a Bernoulli(p) process over ``total`` row-major pairs, as (row, col) int arrays.

    Processed in fixed-size chunks (deterministic for a seed) to keep temporaries small.
    """
    index = _index_dtype(max(total // cols, cols))
    expected = total * p
    chunk = min(chunk, int(expected + 6 * np.sqrt(expected) + 64))
    rows_parts, cols_parts, last = [], [], -1
    while last < total - 1:
        rows, col = np.empty(chunk, dtype=index), np.empty(chunk, dtype=index)
        k, last = _gaps_to_pairs(rng.geometric(p, size=chunk), last, total, cols, rows, col)
        rows_parts.append(rows[:k])
        cols_parts.append(col[:k])
    return np.concatenate(rows_parts), np.concatenate(cols_parts)


@njit(cache=True, nogil=True)
def _gaps_to_pairs(gaps, last, total, cols, rows, col):
    """The successes ``last + gaps[0]``, ``+ gaps[1]``, ... below ``total`` as (row, col) of a
    row-major ``cols``-wide grid; returns how many, and the last position reached (``>= total``
    ends the draw). A gap beyond the pairs left ends it either way: capped at ``total + 1``, tiny
    ``p`` cannot overflow int64."""
    pos = last
    for k in range(gaps.size):
        pos += min(gaps[k], total + 1)
        if pos >= total:
            return k, pos
        r = pos // cols
        rows[k], col[k] = r, pos - r * cols
    return gaps.size, pos


def _index_dtype(total: int):
    return np.int32 if total < 2**31 else np.int64


def fixed_indegree(
    rng: np.random.Generator, n_pre: int, n_post: int, k: int, *, autapses: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Each postsynaptic neuron receives exactly ``k`` synapses from distinct presynaptic ones."""
    choices = n_pre if autapses else n_pre - 1
    if not 0 <= k <= choices:
        raise ValueError(f"in-degree {k} is not possible with {choices} presynaptic candidates")
    post, pre = _as_pairs(sample_distinct(rng, np.full(n_post, k), choices), choices)
    if not autapses:
        pre = _skip_self(post, pre)
    order = np.lexsort((post, pre))
    return pre[order], post[order]
