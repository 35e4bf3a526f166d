"""Mt-KaHyPar partitioning: its hypergraph's connectivity metric is exactly our inter-core traffic,
its partitions fit every per-core limit and repeat exactly, and ``auto`` uses it where the network
has locality (and only there)."""

from __future__ import annotations

from pathlib import Path

import mtkahypar
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, NIR_PAPER
from nmcompiler import load_network
from nmcompiler.drc import cores_lower_bound
from nmcompiler.frontends import NirOptions
from nmcompiler.compiler import compile_network
from nmcompiler.mapping.partition import IndexOrder, RcmOrder, fits
from nmcompiler.mapping.partition_kahypar import KaHyPar, _initializer, spike_hypergraph
from nmcompiler.mapping.sizing import sized_document
from nmcompiler.mapping.usage import core_usage, traffic
from nmcompiler.targets import load_target
from nmcompiler.targets.target import target_from_document
from test_mapping import _arrays, clustered, conv_net


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), blocks=st.integers(2, 6))
def test_km1_of_the_spike_hypergraph_is_the_traffic(seed, blocks):
    """Any assignment: the sum over neurons of (blocks its hyperedge touches - 1) equals
    usage.traffic (one spike per other core with a target), host sources, self-loops and
    multapses included; with rates, the hyperedges weigh the rates scaled to integers."""
    rng = np.random.default_rng(seed)
    n, sources = int(rng.integers(2, 60)), int(rng.integers(0, 5))
    m = int(rng.integers(1, 400))
    pre = rng.integers(0, n + sources, m).astype(np.int32)
    post = rng.integers(0, n, m).astype(np.int32)
    edges, weights, pins = spike_hypergraph(n, pre, post)
    assert pins == sum(map(len, edges)) and set(weights) <= {1}
    assert all(e[0] not in e[1:] and e[1:] == sorted(set(e[1:])) for e in edges)
    part = rng.integers(0, blocks, n)
    km1 = 0
    if edges:
        init = _initializer()
        ctx = init.context_from_preset(mtkahypar.PresetType.DETERMINISTIC)
        ctx.set_partitioning_parameters(blocks, 0.03, mtkahypar.Objective.KM1)
        graph = init.create_hypergraph(ctx, n, len(edges), edges, [1] * n, weights)
        km1 = graph.create_partitioned_hypergraph(ctx, blocks, part.tolist()).km1()  # (context, k, blocks)
    assert km1 == traffic(part, pre, post)
    rates = rng.uniform(0, 30, n)
    rated, rated_weights, _ = spike_hypergraph(n, pre, post, rates)
    senders = np.array([e[0] for e in rated], dtype=np.int64)
    assert rated == edges
    if senders.size:
        top = rates[senders].max()
        assert rated_weights == np.maximum(1, np.rint(rates[senders] / top * 1000)).astype(int).tolist()


@pytest.mark.parametrize("target", ["loihi-like", "spinnaker-like"])
def test_kahypar_fits_every_limit_and_repeats_exactly(target):
    """Anew into the bound's blocks, and refining a start partition (here into as many cores)."""
    net = conv_net()
    tgt = load_target(target)
    n, pre, post = _arrays(net)
    bound = cores_lower_bound(net, tgt)
    index = IndexOrder().run(n, pre, post, tgt)
    for start in (None, index):
        a = KaHyPar().run(n, pre, post, tgt, bound, start=start)
        b = KaHyPar().run(n, pre, post, tgt, bound, start=start)
        assert np.array_equal(a, b)
        k = int(a.max()) + 1
        assert fits(core_usage(a, k, pre, post, tgt), tgt).all()
        assert traffic(a, pre, post) * 2 <= traffic(index, pre, post)
        if start is not None:
            assert k <= int(start.max()) + 1


def test_auto_runs_kahypar_only_where_there_is_locality():
    target = load_target("spinnaker-like")
    _, _, report = compile_network(conv_net(), target)
    assert "partition_kahypar" in report.passes
    # the flow splits populations itself: its note says so, not the checker's "run with --split"
    assert "population 'c1' has 2048 neurons, core limit 256: split across cores" in report.notes
    assert not any("--split" in note for note in report.notes)
    _, _, report = compile_network(load_network(EXAMPLES / "cuba.yaml"), target)  # random 2 %: RCM finds nothing
    assert "partition_kahypar" not in report.passes
    _, _, report = compile_network(clustered(), target, partitioner="kahypar")
    assert report.partitioner == "kahypar" and report.fits and set(report.passes) >= {"partition_kahypar"}
    assert "partition_metis" not in report.passes


def test_auto_cuts_the_bounds_blocks_anew_when_every_candidate_needs_more_cores():
    """Two convolutions (4 channels, 8 x 8) on cores of 48 neurons and 160 input axons: index order
    and METIS need 16 cores, RCM order 12, the bound is 11. Refining RCM order's partition keeps
    its 12 blocks; cut anew into the bound's 11 blocks, every block fits a core."""
    doc = sized_document(yaml.safe_load(Path(load_target("fpga-lif").source).read_text()), "t", 48, 160, 1 << 20,
                         (3, 4))
    target = target_from_document(Path("t.yaml"), doc)
    net = conv_net(4, 8)
    n, pre, post = _arrays(net)
    rcm = RcmOrder().run(n, pre, post, target)
    bound = cores_lower_bound(net, target)
    assert bound == 11 and int(rcm.max()) + 1 == 12
    mapping, _, report = compile_network(net, target)
    assert report.fits and report.partitioner == "kahypar" and report.cores_used == bound, report.notes
    assert fits(core_usage(mapping.core_of, bound, pre, post, target), target).all()
    assert report.inter_core_spikes < traffic(rcm, pre, post)


@pytest.mark.skipif(not NIR_PAPER.is_dir(), reason="../shared/data/nir-paper not present")
def test_the_nir_cnn_on_loihi_like_gets_less_traffic_than_rcm_order():
    net = load_network(NIR_PAPER / "cnn_sinabs.nir", nir_options=NirOptions(dt=1e-3))
    target = load_target("loihi-like")
    mapping, _, report = compile_network(net, target)
    n, pre, post = _arrays(net)
    rcm = RcmOrder().run(n, pre, post, mapping.target)
    assert report.partitioner == "kahypar" and report.cores_used == report.cores_lower_bound == 26
    assert report.inter_core_spikes < 0.6 * traffic(rcm, pre, post)  # 19610 against 33902
    assert report.inter_core_spikes_index_order >= 4 * report.inter_core_spikes
