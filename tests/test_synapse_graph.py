"""The partitioners' synapse graph against a plain numpy construction of the same graph."""

import numpy as np
import pytest

from nmcompiler.mapping.graph import edge_entries, synapse_graph


def _reference(n, pre, post, group, nodes, rates):
    """Edges as a dict {(u, v): weight} over both directions, by unique pairs."""
    keep = (pre < n)
    a, b = pre[keep].astype(np.int64), post[keep].astype(np.int64)
    u, v = group[a], group[b]
    w = np.ones(a.size) if rates is None else rates[a]
    inside = u != v
    u, v, w = u[inside], v[inside], w[inside]
    edges = {}
    for x, y, z in zip(np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])):
        edges[(int(x), int(y))] = edges.get((int(x), int(y)), 0.0) + z
    return edges


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("with_rates", [False, True])
def test_graph_merges_pairs_and_leaves_out_sources_and_loops(grouped, with_rates):
    rng = np.random.default_rng(3)
    n, sources, m = 60, 5, 900
    pre = rng.integers(0, n + sources, m).astype(np.int32)  # >= n: host sources
    post = rng.integers(0, n, m).astype(np.int32)
    pre[:40] = post[:40]  # self-loops
    pre[40:80], post[40:80] = pre[80:120], post[80:120]  # multapses
    group, nodes = (np.arange(n) // 7, -(-n // 7)) if grouped else (np.arange(n), n)
    rates = rng.uniform(0, 30, n) if with_rates else None
    g = synapse_graph(n, pre, post, group=group if grouped else None, nodes=nodes if grouped else None, rates=rates)
    got = {}
    for u in range(g.nodes):
        row = g.adjncy[g.xadj[u]:g.xadj[u + 1]]
        assert np.unique(row).size == row.size  # one entry per neighbour
        for v, w in zip(row, g.weight[g.xadj[u]:g.xadj[u + 1]]):
            got[(u, int(v))] = w
    expected = _reference(n, pre, post, np.asarray(group), nodes, rates)
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(expected[k]) for k in got)
    assert edge_entries(n, pre, post) == 2 * int(np.count_nonzero((pre < n) & (pre != post)))
    pattern = synapse_graph(n, pre, post, group=group if grouped else None, nodes=nodes if grouped else None,
                            weighted=False)
    assert pattern.weight is None and np.array_equal(pattern.adjncy, g.adjncy)


@pytest.mark.parametrize("with_rates", [False, True])
def test_dense_graph_and_merged_pairs_equal_the_sparse_graph_of_the_same_groups(with_rates):
    from nmcompiler.mapping.graph import SynapseGraph, dense_graph, merge_pairs

    rng = np.random.default_rng(5)
    n, m = 90, 2000
    pre = rng.integers(0, n + 3, m).astype(np.int32)
    post = rng.integers(0, n, m).astype(np.int32)
    rates = rng.uniform(0, 30, n) if with_rates else None
    group = np.arange(n) * 9 // n  # 9 runs: merging pairs leaves an odd one alone

    def edges(g):
        return {(u, int(v)): w for u in range(g.nodes)
                for v, w in zip(g.adjncy[g.xadj[u]:g.xadj[u + 1]], g.weight[g.xadj[u]:g.xadj[u + 1]])}

    dense = dense_graph(n, pre, post, group, 9, rates)
    for matrix, groups in ((dense, group), (merge_pairs(dense), group // 2)):
        got = edges(SynapseGraph.from_dense(matrix))
        expected = edges(synapse_graph(n, pre, post, group=groups, nodes=int(groups.max()) + 1, rates=rates))
        assert got.keys() == expected.keys() and all(got[k] == pytest.approx(expected[k]) for k in got)


def _first_seen(n, pre, post):
    """Each node's neighbours in the order their first synapse comes (what RCM reads)."""
    rows = [[] for _ in range(n)]
    for a, b in zip(pre.tolist(), post.tolist()):
        if a < n and a != b:
            for x, y in ((a, b), (b, a)):
                if y not in rows[x]:
                    rows[x].append(y)
    return rows


def test_graph_and_incoming_csr_keep_synapse_order_on_any_number_of_threads():
    """Threads own consecutive node ranges and read every synapse: same entries, same order."""
    import numba

    from nmcompiler.mapping.fill import incoming
    from nmcompiler.mapping.graph import balanced_splits

    rng = np.random.default_rng(5)
    n, m = 200, 6000
    pre = rng.integers(0, n + 10, m).astype(np.int32)
    post = rng.integers(0, n, m).astype(np.int32)
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only here")
    threads, out = numba.get_num_threads(), []
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            out.append((synapse_graph(n, pre, post, weighted=False), incoming(n, pre, post)))
    finally:
        numba.set_num_threads(threads)
    (g1, (p1, s1)), (g2, (p2, s2)) = out
    rows = _first_seen(n, pre, post)
    assert [g2.adjncy[g2.xadj[u]:g2.xadj[u + 1]].tolist() for u in range(n)] == rows
    assert np.array_equal(g1.xadj, g2.xadj) and np.array_equal(g1.adjncy, g2.adjncy)
    by_post = np.argsort(post, kind="stable")
    assert np.array_equal(p1, p2) and np.array_equal(s2, pre[by_post]) and np.array_equal(s1, s2)
    splits = balanced_splits(g2.xadj, 3)
    assert splits[0] == 0 and splits[-1] == n and np.all(np.diff(splits) >= 0) and splits.size == 4


def test_the_rcm_graph_counts_the_entries_metis_decides_by():
    """RCM order's graph counts its entries before merging: METIS (in auto) reads that count
    instead of counting the synapses again."""
    from nmcompiler.mapping.partition import RcmOrder

    rng = np.random.default_rng(7)
    n = 300
    pre, post = rng.integers(0, n + 20, 5000), rng.integers(0, n, 5000)  # host sources and autapses too
    order, entries = RcmOrder.order_and_entries(n, pre, post)
    assert entries == edge_entries(n, pre, post) > synapse_graph(n, pre, post).entries  # repeats merged after
    assert np.array_equal(order, RcmOrder.order(n, pre, post))
