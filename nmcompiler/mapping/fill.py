"""Filling cores with neurons in a given order, within every input-side limit of a core.

Neurons are taken in ``order``; the current core is closed when the next neuron would take it
over its neurons, its synapse memory or its input axons (the distinct presynaptic sources of
its neurons, counted exactly as :func:`.usage.core_usage` counts them). A neuron that alone
exceeds a limit gets a core of its own (the partitioner's axon check then reports it). Output
axons (destination cores) depend on where the targets go, so they are checked afterwards.

Counting axons while filling packs a core up to its axon limit; splitting over-full cores
afterwards (as an order-only fill must) leaves pieces far below it: the full-scale
microcircuit on spinnaker-like used 1232 cores that way against 1087 for its synapse memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..arrays import counts
from ..targets import Target
from .graph import balanced_splits

__all__ = ["fan_in", "fill_by_groups", "fill_in_order", "incoming"]


def fan_in(n: int, post: np.ndarray) -> np.ndarray:
    """Synapses onto each of ``n`` neurons (:func:`arrays.counts <nmcompiler.arrays.counts>`: no
    int64 copy of ``post``; 0.34 s for 0.285 billion random targets, where two threads each
    reading every synapse took 1.34 s)."""
    return counts(post, n)


def incoming(n: int, pre: np.ndarray, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The presynaptic index of every synapse, grouped by postsynaptic neuron (CSR: ``indptr``
    (n + 1,) int64, ``sources`` in ``pre``'s dtype), in synapse order within a neuron."""
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(fan_in(n, post), out=indptr[1:])
    sources = np.empty(pre.size, dtype=pre.dtype)
    _group(pre, post, indptr[:-1].copy(), sources, balanced_splits(indptr))
    return indptr, sources


@njit(cache=True, nogil=True, parallel=True)
def _group(pre, post, at, sources, splits):
    """Part ``k`` (a thread) places the synapses onto neurons ``splits[k] .. splits[k + 1] - 1``,
    in synapse order; every part reads every synapse."""
    for part in prange(splits.size - 1):
        lo, hi = splits[part], splits[part + 1]
        for s in range(pre.size):
            i = post[s]
            if lo <= i < hi:
                sources[at[i]] = pre[s]
                at[i] += 1


def fill_in_order(order: np.ndarray, n: int, pre: np.ndarray, post: np.ndarray, target: Target,
                  csr: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Core of each neuron of ``order`` (in that order: ``out[k]`` is the core of ``order[k]``).
    ``csr``: :func:`incoming` of the same synapses, when the caller fills more than once."""
    c = target.core
    indptr, sources = csr if csr is not None else incoming(n, pre, post)
    n_pre = int(pre.max(initial=n - 1)) + 1
    bits = target.synapse_bits()  # 0 for a crossbar, whose memory is the crossbar itself: neurons and axons decide
    return _fill(np.asarray(order, dtype=np.int64), indptr, sources, n_pre, c.neurons,
                 c.synapse_memory_bits if bits else 0, bits, c.input_axons)


@njit(cache=True, nogil=True)
def _fill(order, indptr, sources, n_pre, cap_n, cap_bits, bits, cap_axons):
    out = np.empty(order.size, dtype=np.int64)
    in_core = np.zeros(n_pre, dtype=np.int64)  # stamp: core + 1 when the source has an axon there
    seen = np.zeros(n_pre, dtype=np.int64)  # stamp: k + 1 while neuron k's sources are counted
    core, used_n, used_b, used_a = 0, 0, 0, 0
    for k in range(order.size):
        i = order[k]
        new = 0
        for s in range(indptr[i], indptr[i + 1]):
            g = sources[s]
            if in_core[g] != core + 1 and seen[g] != k + 1:
                seen[g] = k + 1
                new += 1
        syn = indptr[i + 1] - indptr[i]
        if used_n and (used_n + 1 > cap_n or (used_b + syn) * bits > cap_bits or used_a + new > cap_axons):
            core, used_n, used_b, used_a = core + 1, 0, 0, 0
            new = 0
            for s in range(indptr[i], indptr[i + 1]):  # every source is new on a fresh core
                g = sources[s]
                if seen[g] != -(k + 1):
                    seen[g] = -(k + 1)
                    new += 1
        for s in range(indptr[i], indptr[i + 1]):
            in_core[sources[s]] = core + 1
        out[k] = core
        used_n += 1
        used_b += syn
        used_a += new
    return out


def fill_by_groups(starts: np.ndarray, n: int, pre: np.ndarray, post: np.ndarray, target: Target,
                   csr: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Core of each neuron, in index order, a group (a population, from ``starts``) at a time: a
    group that does not fit what is left of the current core but fits a fresh one starts a fresh
    core, so that a population's senders reach it on one core (targets whose neurons reach one
    axon need no splitters for it); a group larger than a core is filled neuron by neuron."""
    c = target.core
    indptr, sources = csr if csr is not None else incoming(n, pre, post)
    bits = target.synapse_bits()
    out = np.empty(n, dtype=np.int64)
    held = np.zeros(int(pre.max(initial=n - 1)) + 1, dtype=bool)  # sources with an axon on the current core
    core, used_n, used_b = 0, 0, 0
    bounds = np.append(np.asarray(starts, dtype=np.int64), n)
    for a, b in zip(bounds[:-1], bounds[1:]):
        src = np.unique(sources[indptr[a]:indptr[b]])
        syn = int(indptr[b] - indptr[a])

        def fits(neurons: int, memory: int, axons: int) -> bool:
            return (neurons + b - a <= c.neurons and (memory + syn) * bits <= c.synapse_memory_bits
                    and axons <= c.input_axons)

        if used_n and fits(used_n, used_b, int(np.count_nonzero(held)) + int(np.count_nonzero(~held[src]))):
            out[a:b] = core
        elif fits(0, 0, src.size):
            core, used_n, used_b = core + (used_n > 0), 0, 0
            held[:] = False
            out[a:b] = core
        else:  # larger than a core: neuron by neuron, from a fresh core; the next group starts afresh
            filled = fill_in_order(np.arange(a, b), n, pre, post, target, (indptr, sources))
            out[a:b] = filled + core + (used_n > 0)
            core, used_n, used_b = int(out[b - 1]) + 1, 0, 0
            held[:] = False
            continue
        used_n, used_b = used_n + b - a, used_b + syn
        held[src] = True
    return out
