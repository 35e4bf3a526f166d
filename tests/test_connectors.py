import numpy as np
import pytest

from nmcompiler.frontends import connectors
from nmcompiler.streams import stream


def _pairs_unique(pre, post):
    keys = pre * 100_000 + post
    return np.unique(keys).size == keys.size


def test_sample_distinct_gives_distinct_uniform_subsets():
    rng = np.random.default_rng(1)
    counts = np.array([0, 1, 5, 9, 10, 3])
    keys = connectors.sample_distinct(rng, counts, 10)
    rows, cols = keys // 10, keys % 10
    assert np.array_equal(np.bincount(rows, minlength=6), counts)
    assert np.unique(keys).size == keys.size and np.all(np.diff(keys) > 0)
    # uniformity: 3-subsets of 10 items; each item is chosen with probability 0.3
    many = connectors.sample_distinct(rng, np.full(20000, 3), 10) % 10
    freq = np.bincount(many, minlength=10) / 20000
    assert np.all(np.abs(freq - 0.3) < 0.02), freq
    # dense rows (complement path) too
    dense = connectors.sample_distinct(rng, np.full(20000, 8), 10) % 10
    assert np.all(np.abs(np.bincount(dense, minlength=10) / 20000 - 0.8) < 0.02)


def test_fixed_probability_statistics_and_autapses():
    rng = stream(3, "test")
    pre, post = connectors.fixed_probability(rng, 400, 400, 0.1, autapses=False)
    assert _pairs_unique(pre, post)
    assert not np.any(pre == post)
    expected = 400 * 399 * 0.1
    assert abs(pre.size - expected) < 5 * np.sqrt(expected * 0.9)
    assert np.all(np.diff(pre) >= 0)


def test_fixed_indegree_is_exact():
    pre, post = connectors.fixed_indegree(stream(0, "k"), 300, 50, 40, autapses=True)
    assert np.array_equal(np.bincount(post, minlength=50), np.full(50, 40))
    assert _pairs_unique(pre, post)
    pre, post = connectors.fixed_indegree(stream(0, "k"), 50, 50, 49, autapses=False)
    assert not np.any(pre == post) and pre.size == 50 * 49
    with pytest.raises(ValueError, match=r"^in-degree 51 is not possible with 50 presynaptic candidates$"):
        connectors.fixed_indegree(stream(0, "k"), 50, 10, 51)


def test_generators_are_deterministic_per_seed_and_label():
    a = connectors.fixed_probability(stream(7, "projection", "x"), 200, 300, 0.05)
    b = connectors.fixed_probability(stream(7, "projection", "x"), 200, 300, 0.05)
    c = connectors.fixed_probability(stream(7, "projection", "y"), 200, 300, 0.05)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert a[0].size != c[0].size or not np.array_equal(a[1], c[1])


def test_all_to_all_and_one_to_one():
    pre, post = connectors.all_to_all(3, 3, autapses=False)
    assert list(zip(pre.tolist(), post.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    with pytest.raises(ValueError, match=r"^one_to_one needs equal sizes, got 3 and 4$"):
        connectors.one_to_one(3, 4)


def _bernoulli_reference(rng, total, cols, p):
    """The definition: the successes of a Bernoulli(p) process over ``total`` row-major pairs are
    the running sums of geometric gaps (drawn in the generator's chunks) below ``total``."""
    expected = total * p
    chunk = min(1 << 22, int(expected + 6 * np.sqrt(expected) + 64))
    found, last = [], -1
    while last < total - 1:
        positions = last + np.cumsum(np.minimum(rng.geometric(p, size=chunk), total + 1))
        last = int(positions[-1])
        found.append(positions[positions < total])
    keys = np.concatenate(found)
    return keys // cols, keys % cols


@pytest.mark.parametrize("p", [1e-5, 0.01, 0.3, 0.97])
def test_fixed_probability_is_the_geometric_gap_process(p):
    for seed in range(4):
        n_pre, n_post = 37 + 50 * seed, 1 + 300 * seed
        pre, post = connectors.fixed_probability(np.random.default_rng(seed), n_pre, n_post, p)
        rows, cols = _bernoulli_reference(np.random.default_rng(seed), n_pre * n_post, n_post, p)
        np.testing.assert_array_equal(pre, rows)
        np.testing.assert_array_equal(post, cols)
        assert pre.dtype == post.dtype == np.int32
    assert pre.size > 0
