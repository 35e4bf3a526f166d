"""The synapse graph that partitioners cut, built without per-synapse sorting.

Undirected, without host sources and self-loops, one edge per connected pair of nodes, both
directions stored (CSR, as METIS and :func:`reverse_cuthill_mckee` read it). A node is a neuron,
or a group of neurons (``group``: the node of each neuron; METIS on large networks cuts runs of
consecutive neurons). An edge weighs the synapses between its two nodes, or their presynaptic
firing rates summed.

Two compiled passes place each synapse under both of its nodes (each pass on numba's threads,
every thread owning a range of nodes and reading every synapse, so a node's entries keep synapse
order); a third merges a node's repeated neighbours in place, with one marker array of ``nodes``
entries. The neighbours are
int32: 8 bytes per synapse for the pattern (the microcircuit's 0.29 billion synapses: 2.3 GB),
where sorting int64 pair keys needed several times that. A graph of a few thousand groups is
accumulated as a dense matrix instead (:func:`dense_graph`), in one pass without placing each
synapse, and coarsened by merging neighbouring groups (:func:`merge_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

__all__ = ["SynapseGraph", "synapse_graph", "edge_entries", "dense_graph", "merge_pairs", "reverse_cuthill_mckee"]


@dataclass(frozen=True)
class SynapseGraph:
    xadj: np.ndarray  # (nodes + 1,) int64: neighbours of node u are adjncy[xadj[u]:xadj[u + 1]]
    adjncy: np.ndarray  # (entries,) int32
    weight: np.ndarray | None  # (entries,) float64: synapses (or rates) on each edge; None: pattern only

    @property
    def nodes(self) -> int:
        return self.xadj.size - 1

    @property
    def entries(self) -> int:
        return int(self.xadj[-1])

    @classmethod
    def from_dense(cls, matrix: np.ndarray) -> SynapseGraph:
        """The graph of a symmetric weight matrix with a zero diagonal (rows in index order)."""
        rows, cols = np.nonzero(matrix)
        xadj = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=xadj[1:])
        return cls(xadj=xadj, adjncy=cols.astype(np.int32), weight=matrix[rows, cols])


def dense_graph(n: int, pre: np.ndarray, post: np.ndarray, group: np.ndarray, nodes: int,
                rates: np.ndarray | None = None) -> np.ndarray:
    """(nodes, nodes) symmetric weights between groups of neurons, zero diagonal: what
    :func:`synapse_graph` gives for ``group``, as a matrix (for a few thousand groups)."""
    matrix = np.zeros((nodes, nodes))
    use_rates = rates is not None
    _accumulate(pre, post, n, np.asarray(group, dtype=np.int64),
                np.asarray(rates, dtype=np.float64) if use_rates else np.ones(1), use_rates, matrix)
    return matrix + matrix.T


@njit(cache=True, nogil=True)
def _accumulate(pre, post, n, group, rates, use_rates, matrix):
    for s in range(pre.size):
        a = pre[s]
        if a >= n:
            continue
        u, v = group[a], group[post[s]]
        if u != v:
            matrix[u, v] += rates[a] if use_rates else 1.0


def merge_pairs(matrix: np.ndarray) -> np.ndarray:
    """The graph of groups ``2k, 2k + 1`` merged: block sums, without the weight now inside a group."""
    k = matrix.shape[0]
    padded = np.zeros((k + k % 2, k + k % 2))
    padded[:k, :k] = matrix
    half = padded.reshape(padded.shape[0] // 2, 2, padded.shape[0] // 2, 2).sum(axis=(1, 3))
    np.fill_diagonal(half, 0.0)
    return half


def edge_entries(n: int, pre: np.ndarray, post: np.ndarray) -> int:
    """Adjacency entries before merging: two per synapse between distinct neurons."""
    return 2 * int(_between_neurons(pre, post, n))


@njit(cache=True, nogil=True, parallel=True)
def _between_neurons(pre, post, n):
    """Synapses from a neuron (``pre < n``) to another neuron."""
    count = 0
    for s in prange(pre.size):
        if pre[s] < n and pre[s] != post[s]:
            count += 1
    return count


def synapse_graph(n: int, pre: np.ndarray, post: np.ndarray, *, group: np.ndarray | None = None,
                  nodes: int | None = None, rates: np.ndarray | None = None, weighted: bool = True) -> SynapseGraph:
    """The graph of neurons ``0 .. n-1`` (``pre >= n`` are host sources, left out), or of their
    ``group``s (``nodes`` of them). Synapses inside one node are left out. ``rates`` (per neuron)
    weigh each synapse by its presynaptic rate; ``weighted=False`` builds the pattern only."""
    if group is None:
        group, nodes = np.arange(n, dtype=np.int64), n
    group = np.asarray(group, dtype=np.int64)
    use_rates = rates is not None
    degree = np.zeros(nodes, dtype=np.int64)
    _degrees(pre, post, n, group, degree, even_splits(nodes))
    xadj = np.zeros(nodes + 1, dtype=np.int64)
    np.cumsum(degree, out=xadj[1:])
    del degree
    adjncy = np.empty(int(xadj[-1]), dtype=np.int32)
    weight = np.empty(adjncy.size if weighted else 0)
    _place(pre, post, n, group, np.asarray(rates, dtype=np.float64) if use_rates else np.ones(1), use_rates,
           weighted, xadj[:-1].copy(), adjncy, weight, balanced_splits(xadj))
    merged = np.zeros(nodes + 1, dtype=np.int64)
    _merge(xadj, adjncy, weight, weighted, nodes, merged)
    end = int(merged[-1])  # views: a copy would briefly hold both (the microcircuit's pattern: 2 x 2.2 GB)
    return SynapseGraph(xadj=merged, adjncy=adjncy[:end], weight=weight[:end] if weighted else None)


def balanced_splits(indptr: np.ndarray, parts: int | None = None) -> np.ndarray:
    """Boundaries of ``parts`` (default: numba's threads) consecutive node ranges holding about
    equal numbers of the CSR ``indptr``'s entries."""
    parts = max(1, numba.get_num_threads() if parts is None else parts)
    nodes = indptr.size - 1
    cuts = np.searchsorted(indptr, np.linspace(0, indptr[-1], parts + 1)[1:-1])
    return np.concatenate([[0], np.clip(cuts, 0, nodes), [nodes]]).astype(np.int64)


@njit(cache=True, nogil=True, parallel=True)
def _degrees(pre, post, n, group, degree, splits):
    """Entries per node before merging; part ``k`` (a thread) counts nodes ``splits[k] ..
    splits[k + 1] - 1``, reading every synapse."""
    for part in prange(splits.size - 1):
        lo, hi = splits[part], splits[part + 1]
        for s in range(pre.size):
            a = pre[s]
            if a >= n:
                continue
            u, v = group[a], group[post[s]]
            if u != v:
                if lo <= u < hi:
                    degree[u] += 1
                if lo <= v < hi:
                    degree[v] += 1


def even_splits(nodes: int) -> np.ndarray:
    """Equal consecutive node ranges, one per thread."""
    return np.linspace(0, nodes, max(1, numba.get_num_threads()) + 1).round().astype(np.int64)


@njit(cache=True, nogil=True, parallel=True)
def _place(pre, post, n, group, rates, use_rates, weighted, at, adjncy, weight, splits):
    """Each synapse under both of its nodes, in synapse order. Part ``k`` writes the entries of
    the nodes ``splits[k] .. splits[k + 1] - 1`` only (every part reads every synapse): the parts
    run on separate threads and each node gets its entries in the same order as in one pass."""
    for part in prange(splits.size - 1):
        lo, hi = splits[part], splits[part + 1]
        for s in range(pre.size):
            a = pre[s]
            if a >= n:
                continue
            u, v = group[a], group[post[s]]
            if u == v:
                continue
            w = rates[a] if use_rates else 1.0
            if lo <= u < hi:
                adjncy[at[u]] = v
                if weighted:
                    weight[at[u]] = w
                at[u] += 1
            if lo <= v < hi:
                adjncy[at[v]] = u
                if weighted:
                    weight[at[v]] = w
                at[v] += 1


@njit(cache=True, nogil=True)
def _merge(xadj, adjncy, weight, weighted, nodes, merged):
    """Per node, repeated neighbours become one entry (weights added), compacted in place."""
    slot = np.full(nodes, -1, dtype=np.int64)  # where neighbour v went in the current row
    out = 0
    for u in range(nodes):
        start = out
        for k in range(xadj[u], xadj[u + 1]):
            v = adjncy[k]
            if slot[v] >= start:  # an earlier row's slots are all below ``start``
                if weighted:
                    weight[slot[v]] += weight[k]
            else:
                slot[v] = out
                adjncy[out] = v
                if weighted:
                    weight[out] = weight[k]
                out += 1
        merged[u + 1] = out


def reverse_cuthill_mckee(xadj: np.ndarray, adjncy: np.ndarray) -> np.ndarray:
    """The reverse Cuthill-McKee order of the graph ``(xadj, adjncy)`` (CSR, both directions
    stored): each connected component breadth first from its node of least degree, a node's
    unvisited neighbours in order of degree, the whole order then reversed. Ties go to the lower
    node index, so the order is the same on every machine (scipy's, through numpy's unstable
    sort, was not: its ties fell differently with and without AVX2)."""
    return _rcm(np.asarray(xadj, dtype=np.int64), np.asarray(adjncy))


@njit(cache=True)
def _rcm(xadj, adjncy):
    n = xadj.size - 1
    degree = np.diff(xadj)
    starts = np.argsort(degree * n + np.arange(n))  # unique keys: (degree, index)
    order = np.empty(n, np.int64)
    seen = np.zeros(n, np.bool_)
    keys = np.empty(n, np.int64)
    head = tail = 0
    for s in starts:
        if seen[s]:
            continue
        seen[s] = True
        order[tail] = s
        tail += 1
        while head < tail:
            u = order[head]
            head += 1
            m = 0
            for e in range(xadj[u], xadj[u + 1]):
                w = adjncy[e]
                if not seen[w]:
                    seen[w] = True
                    keys[m] = degree[w] * n + w
                    m += 1
            for w in np.sort(keys[:m]):
                order[tail] = w % n
                tail += 1
    return order[::-1].copy()
