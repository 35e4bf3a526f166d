"""Property: any edit of a valid network file either loads or fails with a UserError (never a crash)."""

import copy

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmcompiler.errors import UserError

# numeric warnings (overflow, invalid casts) mean an input slipped past validation
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
from nmcompiler.frontends import load_network
from nmcompiler.sim import simulate

BASE = yaml.safe_load("""
version: 1
dt: 0.1 ms
duration: 2 ms
populations:
  a: {model: cuba_lif, size: 4, receptors: [x, y], params: {tau_mem: 10 ms, tau_syn: [2 ms, 3 ms]},
      initial: {v: {uniform: [0, 0.5]}}}
  b: {model: lif, size: 3, reset: subtract, params: {tau_mem: 5 ms, v_threshold: 0.2, refractory: 0.3 ms}}
stimuli:
  s: {kind: poisson, size: 2, rate: 500 Hz}
  t: {kind: spikes, times: [[0.1 ms], [0.5 ms, 1 ms]]}
  c: {kind: current, size: 1, amplitude: 0.3}
projections:
  s_a: {pre: s, post: a, receptor: x, connector: {kind: fixed_probability, p: 0.5}, weight: {normal: [0.3, 0.1]}}
  a_b: {pre: a, post: b, connector: {kind: fixed_indegree, k: 2}, delay: [0.1 ms, 0.3 ms, 0.2 ms, 0.5 ms, 0.1 ms, 0.2 ms]}
  t_b: {pre: t, post: b, connector: {kind: list, pre: [0, 1], post: [2, 0]}, weight: 0.5}
  c_b: {pre: c, post: b, connector: all_to_all}
  b_a: {pre: b, post: a, receptor: y, connector: one_to_one}
probes:
  - {target: a, variable: i}
  - {target: b}
""")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.floats(-1e3, 1e3), st.sampled_from([float('nan'), float('inf')]),
    st.sampled_from(["1 ms", "-2 mV", "abc", "", "a", "b", "s", "x", "lif", "if", "all_to_all", "0.05 ms", "3 Hz"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["file", "uniform", "normal", "kind", "p", "x"]),
                                                  inner, max_size=2)), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3),
       deletes=st.lists(st.sampled_from(PATHS), max_size=1))
def test_edited_files_load_or_fail_cleanly(tmp_path, edits, deletes):
    doc = copy.deepcopy(BASE)
    for path, value in edits:
        _set(doc, path, value)
    for path in deletes:
        _set(doc, path, None, delete=True)
    file = tmp_path / "fuzz.yaml"
    file.write_text(yaml.safe_dump(doc))
    try:
        net = load_network(file)
    except UserError as exc:
        assert str(exc).strip(), "an error must say something"
        return
    res = simulate(net, steps=20)
    assert all(np.all(s < 20) for s in res.spike_steps.values())


def _set(doc, path, value, delete=False):
    node = doc
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, (dict, list)):
        try:
            if delete:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (IndexError, KeyError, TypeError):
            pass
