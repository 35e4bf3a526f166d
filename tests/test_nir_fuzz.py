"""Property: any NIR graph, however malformed, imports or fails with a UserError (never a crash)."""

import numpy as np
import pytest
import nir
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmcompiler.errors import UserError

# numeric warnings (overflow, invalid casts) mean an input slipped past validation
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
from nmcompiler.frontends.nir import NirOptions, load_nir

SHAPES = st.sampled_from([(1,), (2,), (3,), (4,), (2, 2), (1, 4, 4), (2, 3, 3)])


def _arr(draw, shape):
    kind = draw(st.sampled_from(["ok", "ok", "ok", "nan", "neg", "zero"]))
    a = np.full(shape, draw(st.floats(0.001, 2.0)))
    if kind == "nan":
        a.flat[0] = np.nan
    elif kind == "neg":
        a = -a
    elif kind == "zero":
        a = np.zeros(shape)
    return a


@st.composite
def nodes(draw, name):
    shape = draw(SHAPES)
    n = int(np.prod(shape))
    kind = draw(st.sampled_from(["LIF", "IF", "LI", "CubaLIF", "Threshold", "Affine", "Linear", "Scale", "Conv2d",
                                 "SumPool2d", "Flatten", "Delay", "Input", "Output"]))
    if kind == "LIF":
        return nir.LIF(tau=_arr(draw, shape), r=np.ones(shape), v_leak=np.zeros(shape), v_threshold=np.ones(shape))
    if kind == "LI":
        return nir.LI(tau=_arr(draw, shape), r=np.ones(shape), v_leak=np.zeros(shape))
    if kind == "IF":
        return nir.IF(r=np.ones(shape), v_threshold=_arr(draw, shape))
    if kind == "CubaLIF":
        return nir.CubaLIF(tau_syn=_arr(draw, shape), tau_mem=_arr(draw, shape), r=np.ones(shape),
                           v_leak=np.zeros(shape), v_threshold=np.ones(shape))
    if kind == "Threshold":
        return nir.Threshold(_arr(draw, shape))
    if kind == "Affine":
        return nir.Affine(np.ones((draw(st.integers(1, 5)), n)), np.zeros(draw(st.integers(1, 5))))
    if kind == "Linear":
        return nir.Linear(np.full((draw(st.integers(1, 5)), draw(st.integers(1, 5))), 0.5))
    if kind == "Scale":
        return nir.Scale(_arr(draw, shape))
    if kind == "Conv2d":
        c_in = draw(st.integers(1, 2))
        return nir.Conv2d((4, 4), np.ones((2, c_in, 3, 3)), 1, draw(st.integers(0, 2)), 1, 1, np.zeros(2))
    if kind == "SumPool2d":
        return nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0]))
    if kind == "Flatten":
        return nir.Flatten({"input": np.array(shape)}, draw(st.integers(-1, 2)), -1)
    if kind == "Delay":
        return nir.Delay(_arr(draw, shape) * 1e-3)
    if kind == "Input":
        return nir.Input(np.array(shape))
    return nir.Output(np.array(shape))


@st.composite
def graphs(draw):
    names = [f"n{i}" for i in range(draw(st.integers(2, 6)))]
    node_map = {name: draw(nodes(name)) for name in names}
    edges = draw(st.lists(st.tuples(st.sampled_from(names + ["ghost"]), st.sampled_from(names)), max_size=8))
    return nir.NIRGraph(nodes=node_map, edges=edges, type_check=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=graphs(), integration=st.sampled_from(["euler", "exact", "exp_euler"]))
def test_any_graph_imports_or_fails_cleanly(g, integration):
    try:
        net = load_nir(g, NirOptions(dt=1e-3, integration=integration), name="fuzz")
    except UserError as exc:
        assert str(exc).strip()
        return
    assert net.validate() is net
