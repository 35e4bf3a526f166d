"""Placement and routing above the swap refinement's range: sparse traffic, a depth-first order on
a snake, hops and link loads without a dense core x core matrix."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from nmcompiler.ir import LIF, Connectivity, Network, Population, Projection
from nmcompiler.compiler import compile_network
from nmcompiler.mapping.place import hop_matrix, slot_positions
from nmcompiler.mapping.place_large import (SnakePlacement, bisection_positions, pair_hops, placement_cost_sparse,
                                            snake_positions)
from nmcompiler.mapping.place_refine import SparseSwapRefinement
from nmcompiler.mapping.route import route_dimension_order
from nmcompiler.targets import load_target


def test_snake_neighbours_are_one_hop_apart_across_chips():
    target = load_target("spinnaker-like")
    k = 600  # several board rows of chips
    pos = snake_positions(k, target)
    assert len({tuple(p) for p in pos.tolist()}) == k
    assert np.all(pair_hops(pos, np.arange(k - 1), np.arange(1, k), target) == 1)


def test_pair_hops_agree_with_the_hop_matrix():
    for name in ("spinnaker-like", "loihi-like", "fpga-lif"):
        target = load_target(name)
        pos = slot_positions(min(40, target.chip.cores_per_chip * target.chip.max_chips), target)
        a, b = np.divmod(np.arange(len(pos) ** 2), len(pos))
        assert np.array_equal(pair_hops(pos, a, b, target), hop_matrix(pos, target)[a, b])


def test_a_ring_of_cores_is_laid_out_in_sequence():
    target = load_target("spinnaker-like")
    k = 2000
    perm = np.random.default_rng(0).permutation(k)
    traffic = sparse.csr_matrix((np.ones(k), (perm, np.roll(perm, -1))), shape=(k, k))
    snake = placement_cost_sparse(traffic, SnakePlacement().run(traffic, target), target)
    index = placement_cost_sparse(traffic, slot_positions(k, target), target)
    assert snake <= 1.05 * k and index > 10 * k


def test_bisection_places_every_core_once_and_is_deterministic():
    target = load_target("spinnaker-like")
    rng = np.random.default_rng(3)
    k = 300
    a, b = rng.integers(0, k, 900), rng.integers(0, k, 900)
    traffic = sparse.csr_matrix((np.ones(900), (a, b)), shape=(k, k))
    p1, p2 = bisection_positions(traffic, target), bisection_positions(traffic, target)
    assert np.array_equal(p1, p2)
    assert sorted(map(tuple, p1.tolist())) == sorted(map(tuple, snake_positions(k, target).tolist()))


def test_sparse_and_dense_routing_agree():
    target = load_target("spinnaker-like")
    rng = np.random.default_rng(1)
    dense = (rng.random((30, 30)) < 0.2) * rng.integers(1, 5, (30, 30)).astype(float)
    pos = slot_positions(30, target)
    a, b = route_dimension_order(pos, dense, target), route_dimension_order(pos, sparse.csr_matrix(dense), target)
    assert np.array_equal(a.horizontal, b.horizontal) and np.array_equal(a.vertical, b.vertical)


def test_compile_above_256_cores_places_and_routes():
    net = Network("ring", dt=1e-3)
    idx = np.arange(3000)
    for k in range(30):
        net.add(Population(name=f"p{k}", size=3000, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    for k in range(30):
        net.connect(Projection(name=f"e{k}", pre=f"p{k}", post=f"p{(k + 1) % 30}",
                               connectivity=Connectivity.from_coo(3000, 3000, idx, idx, 1.5, 1)))
    _, _, report = compile_network(net, load_target("spinnaker-like"), partitioner="index-order")
    assert report.fits and report.cores_used > 256
    pl = report.placement.to_json()
    # the best of index order, the depth-first snake and recursive bisection, then refined; hops and
    # link loads exist
    costs = {k[:-5]: v for k, v in pl.items() if k.endswith("_cost") and k != "unrefined_cost"}
    assert set(costs) == {"index-order", "dfs-snake", "bisection"}
    best, refinement = pl["method"].split("+")
    assert refinement == "centre-swaps" and pl["unrefined_cost"] == min(costs.values()) == costs[best]
    assert pl["cost"] <= pl["unrefined_cost"]
    assert pl["bisection_cost"] < pl["index-order_cost"]  # the ring's cores form a cylinder: 2-D wins
    assert report.max_link_load is not None and 0 < report.average_hops < report.average_hops_index_order


def test_routing_tables_from_sparse_traffic_equal_dense_and_grow_the_board():
    from nmcompiler.mapping.tables import build_tables

    target = load_target("spinnaker-like")  # 8 x 8 chips on the default board
    rng = np.random.default_rng(2)
    k = 40
    dense = (rng.random((k, k)) < 0.1).astype(float)
    np.fill_diagonal(dense, 0.0)
    pos = slot_positions(k, target)
    a, b = build_tables(dense, pos, target), build_tables(sparse.csr_matrix(dense), pos, target)
    assert a.entries == b.entries and a.entries_before == b.entries_before
    big = snake_positions(1200, target)  # 75 chips: beyond the 64 of the board, which grows
    chain = sparse.csr_matrix((np.ones(1199), (np.arange(1199), np.arange(1, 1200))), shape=(1200, 1200))
    tables = build_tables(chain, big, target)
    assert tables.max_entries >= 1 and max(tables.entries) >= 64


def _random_grid_graph(side: int, seed: int = 0) -> sparse.csr_matrix:
    """A side x side grid of cores numbered at random (a convolution's core graph, say)."""
    idx = np.random.default_rng(seed).permutation(side * side).reshape(side, side)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return sparse.csr_matrix((np.ones(a.size), (a, b)), shape=(side * side,) * 2)


def test_centre_swaps_never_raise_the_cost_and_keep_positions_distinct():
    for name in ("loihi-like", "spinnaker-like"):
        target = load_target(name)
        traffic = _random_grid_graph(40)
        k = traffic.shape[0]
        for start in (slot_positions(k, target), SnakePlacement().run(traffic, target),
                      bisection_positions(traffic, target)):
            refined = SparseSwapRefinement().run(traffic, start, target)
            assert len({tuple(p) for p in refined.tolist()}) == k
            assert refined[:, 0].max() <= start[:, 0].max()  # only the chips in use
            before, after = placement_cost_sparse(traffic, start, target), placement_cost_sparse(traffic, refined, target)
            assert after <= before
        # from index order, a grid numbered at random: at least 2x cheaper
        start = slot_positions(k, target)
        refined = SparseSwapRefinement().run(traffic, start, target)
        assert placement_cost_sparse(traffic, refined, target) * 2 <= placement_cost_sparse(traffic, start, target)
        assert np.array_equal(refined, SparseSwapRefinement().run(traffic, start, target))  # deterministic


def test_the_bisections_subgraph_equals_scipys_slicing():
    """The compiled induced subgraph gives scipy's ``sym[nodes][:, nodes]`` arrays exactly (METIS
    then sees the same graph), for ascending node sets of random graphs."""
    from nmcompiler.mapping.place_large import _subgraph

    rng = np.random.default_rng(7)
    for n, density in ((40, 0.2), (500, 0.01), (3, 0.0)):
        a = sparse.random(n, n, density=density, random_state=rng, format="csr")
        sym = (a + a.T).tocsr()
        local = np.full(n, -1, dtype=np.int64)
        for _ in range(10):
            nodes = np.flatnonzero(rng.random(n) < rng.random())
            want, got = sym[nodes][:, nodes].tocsr(), _subgraph(sym, nodes, local)
            assert np.array_equal(want.indptr, got.indptr) and np.array_equal(want.indices, got.indices)
            assert np.array_equal(want.data, got.data) and (local == -1).all()
        assert sym.nnz == 0 or _subgraph(sym, np.arange(n), local).nnz == sym.nnz
