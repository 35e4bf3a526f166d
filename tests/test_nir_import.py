"""NIR import: real exports from the NIR paper, every node kind built with `nir`, every rejection."""

import dataclasses
import json
import re

import nir
import numpy as np
import pytest

from conftest import NIR_PAPER
from nmcompiler.errors import UserError, ValidationError
from nmcompiler.frontends import NirOptions, load_nir
from nmcompiler.ir import IF, LIF, CubaLIF, SpikeSource, ThresholdUnit
from nmcompiler.sim import simulate
from nmcompiler.sim.stimulus import spike_source_from_array

DT = 1e-4
paper = pytest.mark.skipif(not NIR_PAPER.is_dir(), reason="../shared/data/nir-paper is absent")


def lif(n, tau=0.01, thr=1.0):
    return nir.LIF(tau=np.full(n, tau), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.full(n, thr),
                   v_reset=np.zeros(n))


def graph(nodes: dict, edges: list, check=True) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=check)


def projection(net, pre, post):
    (p,) = [p for p in net.projections if p.pre == pre and p.post == post]
    return p


# -- real exports --------------------------------------------------------------------------------
def _paper_lif_spikes(name, integration):
    data = np.loadtxt(NIR_PAPER / "lif_exact.csv", delimiter=",")
    net = load_nir(NIR_PAPER / name, NirOptions(dt=DT, integration=integration))
    net.replace(spike_source_from_array("input", data[:, :1], DT))
    res = simulate(net, steps=len(data))
    return res.spike_train(net.populations[0].name, 0)


@paper
@pytest.mark.parametrize("name,integration", [("lif_norse.nir", "euler"), ("lif_rockpool.nir", "exp_euler")])
def test_paper_lif_spikes_within_one_step(name, integration):
    spikes = _paper_lif_spikes(name, integration)
    expected = np.array([460, 510, 710, 760])
    assert spikes.size == 4 and np.all(np.abs(spikes - expected) <= 1), spikes
    # the one-step lag is the IR's minimal synaptic delay (an Input spike arrives in the next step)
    assert spikes.tolist() == (expected + 1).tolist()


@paper
def test_paper_cnn_shapes_and_info(run_nmc):
    net = load_nir(NIR_PAPER / "cnn_sinabs.nir", NirOptions(dt=1e-3))
    sizes = {p.name: p.size for p in net.populations}
    assert sizes == {"1": 16 * 16 * 16, "3": 16 * 16 * 16, "6": 8 * 8 * 8, "10": 256, "12": 10}
    assert all(isinstance(p.model, IF) for p in net.populations)
    assert net.node("input").size == 2 * 34 * 34
    # conv -> IF -> conv: SumPool2d + Conv2d and SumPool2d + Flatten + Affine are folded into one projection each
    assert sorted((p.pre, p.post) for p in net.projections) == [
        ("1", "3"), ("10", "12"), ("3", "6"), ("6", "10"), ("input", "1")]
    code, out, _ = run_nmc("info", NIR_PAPER / "cnn_sinabs.nir", "--dt", "1ms", "--json")
    assert code == 0 and json.loads(out)["neurons"] == 8970
    rng = np.random.default_rng(0)
    net.replace(spike_source_from_array("input", rng.random((50, 2, 34, 34)) < 0.2, 1e-3))
    res = simulate(net, steps=60)
    assert res.spike_counts()["1"] > 0 and res.spike_counts()["12"] > 0


@paper
@pytest.mark.parametrize("name,reset", [("braille_noDelay_bias_zero.nir", "value"),
                                        ("braille_noDelay_noBias_subtract.nir", "subtract")])
def test_paper_braille_imports_and_simulates(name, reset):
    net = load_nir(NIR_PAPER / name, NirOptions(dt=DT, reset=reset))
    hidden = net.node("lif1.lif")
    assert isinstance(hidden.model, CubaLIF) and hidden.model.reset == reset
    assert any(p.pre == "lif1.lif" and p.post == "lif1.lif" for p in net.projections)  # recurrence kept
    rng = np.random.default_rng(1)
    net.replace(spike_source_from_array("input", rng.random((300, 12)) < 0.3, DT))
    res = simulate(net, steps=300)
    assert res.spike_counts()["lif1.lif"] > 0


@paper
def test_paper_braille_matches_snntorch_recurrence():
    """The imported hidden layer computes snnTorch's RSynaptic update, step by step (one step later)."""
    g = nir.read(NIR_PAPER / "braille_noDelay_noBias_subtract.nir")
    node = g.nodes["lif1.lif"]
    alpha = 1 - DT / node.tau_syn[0]
    beta = 1 - DT / node.tau_mem[0]
    w_in, w_rec = np.asarray(g.nodes["fc1"].weight, np.float64), np.asarray(g.nodes["lif1.w_rec"].weight, np.float64)
    rng = np.random.default_rng(2)
    x = (rng.random((120, 12)) < 0.3).astype(np.float64)
    net = load_nir(g, NirOptions(dt=DT, reset="subtract"))
    net.replace(spike_source_from_array("input", x, DT))
    res = simulate(net, steps=121)
    syn, mem, spk = np.zeros(40), np.zeros(40), np.zeros(40)
    expected = []
    for t in range(120):  # snnTorch RSynaptic, reset by subtraction, threshold 1
        syn = alpha * syn + w_in @ x[t] + w_rec @ spk
        mem = beta * mem + syn
        spk = (mem > 1.0).astype(np.float64)
        mem -= spk
        expected += [(t + 1, i) for i in np.flatnonzero(spk)]
    got = sorted(zip(res.spike_steps["lif1.lif"].tolist(), res.spike_ids["lif1.lif"].tolist()))
    assert got == expected and len(expected) > 10


# -- every node kind --------------------------------------------------------------------------------
def test_affine_lif_weights_and_bias_follow_the_euler_convention():
    w, b = np.array([[1.0, 2.0], [0.0, -1.0], [0.5, 0.5]]), np.array([0.1, 0.0, -0.2])
    g = graph({"in": nir.Input(np.array([2])), "fc": nir.Affine(w, b), "lif": lif(3, tau=0.002),
               "out": nir.Output(np.array([3]))}, [("in", "fc"), ("fc", "lif"), ("lif", "out")])
    net = load_nir(g, NirOptions(dt=DT))
    pop = net.node("lif")
    assert isinstance(pop.model, LIF) and pop.model.integration == "euler"
    assert np.allclose(pop.model.bias, b)  # current; the model's euler step scales it by r dt/tau
    conn = projection(net, "in", "lif").connectivity
    assert np.allclose(conn.to_dense(), w.T * DT / 0.002)  # zero weights are not synapses
    assert conn.nnz == 5 and np.all(conn.delays == 1)
    exact = load_nir(g, NirOptions(dt=DT, integration="exact"))
    assert np.allclose(projection(exact, "in", "lif").connectivity.to_dense(), w.T * -np.expm1(-DT / 0.002))


def test_linear_scale_chain_folds_into_one_projection():
    w = np.arange(6, dtype=float).reshape(3, 2) - 2
    s = np.array([2.0, -1.0, 0.5])
    g = graph({"in": nir.Input(np.array([2])), "lin": nir.Linear(w), "sc": nir.Scale(s),
               "if": nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)), "out": nir.Output(np.array([3]))},
              [("in", "lin"), ("lin", "sc"), ("sc", "if"), ("if", "out")])
    net = load_nir(g, NirOptions(dt=DT))
    assert len(net.projections) == 1
    assert np.allclose(projection(net, "in", "if").connectivity.to_dense(), (s[:, None] * w).T)  # IF: per step


def _ref_conv(x, w, stride=1, pad=0):
    c_out, c_in, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    n = (xp.shape[1] - k) // stride + 1
    out = np.zeros((c_out, n, n))
    for o in range(c_out):
        for i in range(n):
            for j in range(n):
                out[o, i, j] = (xp[:, i * stride:i * stride + k, j * stride:j * stride + k] * w[o]).sum()
    return out


def test_conv_sumpool_conv_chain_is_one_exact_projection():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(4, 3, 3, 3))
    ifn = lambda shape: nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))
    g = graph({"in": nir.Input(np.array([2, 8, 8])),
               "c1": nir.Conv2d((8, 8), w1, 1, 1, 1, 1, np.zeros(3)), "n1": ifn((3, 8, 8)),
               "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "c2": nir.Conv2d((4, 4), w2, 1, 1, 1, 1, np.full(4, 0.5)), "n2": ifn((4, 4, 4)),
               "out": nir.Output(np.array([4, 4, 4]))},
              [("in", "c1"), ("c1", "n1"), ("n1", "pool"), ("pool", "c2"), ("c2", "n2"), ("n2", "out")])
    net = load_nir(g, NirOptions(dt=1e-3))
    conn = projection(net, "n1", "n2").connectivity
    dense = conn.to_dense()  # (3*8*8, 4*4*4)
    for trial in range(3):
        x = rng.random((3, 8, 8))
        pooled = x.reshape(3, 4, 2, 4, 2).sum(axis=(2, 4))
        assert np.allclose(x.reshape(-1) @ dense, _ref_conv(pooled, w2, pad=1).reshape(-1))
    assert np.allclose(net.node("n2").model.bias, 0.5 / 1e-3)  # per-step bias of IF
    assert np.allclose(projection(net, "in", "n1").connectivity.to_dense().T @ np.ones(128),
                       _ref_conv(np.ones((2, 8, 8)), w1, pad=1).reshape(-1))


def test_flatten_avgpool_conv1d_and_affine():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(2, 1, 3))
    g = graph({"in": nir.Input(np.array([1, 4, 4])),
               "avg": nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "flat1": nir.Flatten({"input": np.array([1, 2, 2])}, start_dim=1, end_dim=2),
               "th": nir.Threshold(np.full((1, 4), 0.3)),
               "c1": nir.Conv1d(4, w, 1, 0, 1, 1, np.zeros(2)),
               "n": nir.I(r=np.ones((2, 2))),
               "out": nir.Output(np.array([2, 2]))},
              [("in", "avg"), ("avg", "flat1"), ("flat1", "th"), ("th", "c1"), ("c1", "n"), ("n", "out")],
              check=False)
    net = load_nir(g, NirOptions(dt=DT))
    assert isinstance(net.node("th").model, ThresholdUnit)
    assert net.node("n").model.spiking is False and isinstance(net.node("n").model, IF)
    assert np.allclose(projection(net, "in", "th").connectivity.to_dense().sum(axis=0), 1.0)  # 4 x 0.25
    x = rng.random(4)
    ref = np.array([[np.dot(w[o, 0], x[j:j + 3]) for j in range(2)] for o in range(2)]).reshape(-1)
    assert np.allclose(x @ projection(net, "th", "n").connectivity.to_dense(), ref)


def test_delay_node_sets_synaptic_delays():
    g = graph({"in": nir.Input(np.array([3])), "d": nir.Delay(np.array([0.0, 2e-4, 5e-4])), "l": lif(3),
               "out": nir.Output(np.array([3]))}, [("in", "d"), ("d", "l"), ("l", "out")], check=False)
    net = load_nir(g, NirOptions(dt=DT))
    delays = sorted(int(p.connectivity.delays.reshape(-1)[0]) for p in net.projections)
    assert delays == [1, 3, 6]


def test_cuba_neurons_bias_is_a_synaptic_input_and_li_readout():
    n = 2
    cuba = nir.CubaLIF(tau_syn=np.full(n, 5e-4), tau_mem=np.full(n, 1e-3), r=np.full(n, 10.0), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n), w_in=np.full(n, 5.0))
    cubali = nir.CubaLI(tau_syn=np.full(1, 5e-4), tau_mem=np.full(1, 1e-3), r=np.ones(1), v_leak=np.zeros(1),
                        w_in=np.ones(1))
    g = graph({"in": nir.Input(np.array([1])), "fc": nir.Affine(np.ones((n, 1)), np.full(n, 0.2)), "c": cuba,
               "ro": nir.Linear(np.ones((1, n))), "li": cubali, "out": nir.Output(np.array([1]))},
              [("in", "fc"), ("fc", "c"), ("c", "ro"), ("ro", "li"), ("li", "out")])
    net = load_nir(g, NirOptions(dt=DT))
    scale = 5.0 * DT / 5e-4  # w_in dt / tau_syn
    assert np.allclose(projection(net, "in", "c").connectivity.weights, scale)
    bias_src = net.node("c.bias")
    assert np.allclose(bias_src.amplitude, 0.2 * scale)
    assert net.node("li").model.spiking is False
    res = simulate(net, steps=50)
    assert res.traces["li.v"].values[-1, 0] > 0  # the bias drives c, whose spikes reach the readout


def test_output_fed_by_linear_gets_a_readout_unit():
    g = graph({"in": nir.Input(np.array([2])), "l": lif(2, thr=0.0), "fc": nir.Linear(np.array([[1.0, 2.0]])),
               "out": nir.Output(np.array([1]))}, [("in", "l"), ("l", "fc"), ("fc", "out")])
    net = load_nir(g, NirOptions(dt=DT))
    readout = net.node("out")
    assert isinstance(readout.model, ThresholdUnit) and readout.model.spiking is False
    net.replace(SpikeSource(name="in", size=2, ids=[0, 1], times=[0.0, 0.0]))
    v = simulate(net, steps=5).traces["out.v"].values[:, 0]
    assert v.tolist() == [0.0, 0.0, 3.0, 0.0, 0.0]  # both neurons spike in step 1, seen in step 2


def test_nested_subgraph_names_and_semantics():
    sub = graph({"i": nir.Input(np.array([2])), "fc": nir.Affine(np.eye(2) * 0.5, np.zeros(2)), "l": lif(2),
                 "o": nir.Output(np.array([2]))}, [("i", "fc"), ("fc", "l"), ("l", "o")])
    top = graph({"input": nir.Input(np.array([2])), "block": sub, "l2": lif(2), "output": nir.Output(np.array([2]))},
                [("input", "block"), ("block", "l2"), ("l2", "output")])
    net = load_nir(top, NirOptions(dt=DT))
    assert [p.name for p in net.populations] == ["block.l", "l2"]
    assert sorted((p.pre, p.post) for p in net.projections) == [("block.l", "l2"), ("input", "block.l")]
    assert np.allclose(projection(net, "input", "block.l").connectivity.to_dense(), np.eye(2) * 0.5 * DT / 0.01)


# -- rejections ---------------------------------------------------------------------------------------
def _problems(g, **kw) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        load_nir(g, NirOptions(dt=DT, **kw), name="g")
    return [d.message for d in exc.value.diagnostics]


def test_shape_mismatch_and_missing_node_and_bad_parameters_reported_together():
    bad_lif = nir.LIF(tau=np.array([0.01, -0.01, 0.01]), r=np.ones(3), v_leak=np.zeros(3),
                      v_threshold=np.array([1.0, np.nan, 1.0]), v_reset=np.zeros(3))
    odd = nir.LIF.__new__(nir.LIF)  # nir's constructor refuses this; files read without checks can hold it
    odd.__dict__.update(tau=np.full(3, 0.01), r=np.ones(4), v_leak=np.zeros(3), v_threshold=np.ones(3), v_reset=None,
                        metadata={}, input_type={"input": np.array([3])}, output_type={"output": np.array([3])})
    g = graph({"in": nir.Input(np.array([3])), "a": nir.Affine(np.ones((4, 3)), np.zeros(4)), "l": lif(5),
               "bad": bad_lif, "odd": odd, "out": nir.Output(np.array([5]))},
              [("in", "a"), ("a", "l"), ("l", "out"), ("l", "nope"), ("in", "bad"), ("in", "odd")], check=False)
    msgs = _problems(g)
    patterns = [
        r"^node 'nope' \(\?\): edge l -> nope ends at a node that does not exist$",
        r"^node 'bad' \(LIF\): parameter 'v_threshold' contains NaN or infinite values$",
        r"^node 'bad' \(LIF\): time constant 'tau' must be > 0 \(smallest is -0.01\)$",
        r"^node 'odd' \(LIF\): parameters have inconsistent shapes: tau \(3,\), r \(4,\), v_leak \(3,\), "
        r"v_threshold \(3,\)$",
    ]
    for p in patterns:
        assert any(re.match(p, m) for m in msgs), (p, msgs)
    g2 = graph({"in": nir.Input(np.array([3])), "a": nir.Affine(np.ones((4, 3)), np.zeros(4)), "l": lif(5),
                "out": nir.Output(np.array([5]))}, [("in", "a"), ("a", "l"), ("l", "out")], check=False)
    assert any(re.match(r"^node 'l' \(LIF\): receives 4 values but has 5 neurons$", m) for m in _problems(g2)), \
        _problems(g2)


def test_unsupported_kind_names_node_and_kind():
    @dataclasses.dataclass(eq=False)
    class Mystery(nir.NIRNode):
        gain: np.ndarray

        def __post_init__(self):
            self.input_type = {"input": np.array([2])}
            self.output_type = {"output": np.array([2])}

    g = graph({"in": nir.Input(np.array([2])), "m": Mystery(np.ones(2)), "l": lif(2), "out": nir.Output(np.array([2]))},
              [("in", "m"), ("m", "l"), ("l", "out")], check=False)
    (msg,) = _problems(g)
    assert re.match(r"^node 'm' \(Mystery\): unsupported NIR node kind 'Mystery' \(supported: Affine, AvgPool2d, .*\)$",
                    msg), msg


def test_algebraic_loop_is_rejected():
    g = graph({"in": nir.Input(np.array([2])), "a": nir.Linear(np.eye(2)), "b": nir.Linear(np.eye(2)), "l": lif(2),
               "out": nir.Output(np.array([2]))},
              [("in", "a"), ("a", "b"), ("b", "a"), ("b", "l"), ("l", "out")], check=False)
    msgs = _problems(g)
    assert any(re.match(r"^node '[ab]' \(Linear\): loop [ab] -> [ab] -> [ab] has no neuron in it "
                        r"\(an algebraic loop\)$", m) for m in msgs), msgs


def test_non_spiking_node_cannot_feed_neurons():
    li = nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2))
    g = graph({"in": nir.Input(np.array([2])), "li": li, "fc": nir.Linear(np.eye(2)), "l": lif(2),
               "out": nir.Output(np.array([2]))}, [("in", "li"), ("li", "fc"), ("fc", "l"), ("l", "out")])
    msgs = _problems(g)
    assert msgs == ["node 'li' (LI): does not spike, so its output cannot feed 'l': non-spiking nodes (LI, I, CubaLI) "
                    "may only feed Output nodes"]


def test_missing_dt_and_bad_files(tmp_path):
    g = graph({"in": nir.Input(np.array([1])), "l": lif(1), "out": nir.Output(np.array([1]))},
              [("in", "l"), ("l", "out")])
    with pytest.raises(UserError, match=r"^g: no time step: NIR graphs are continuous-time; give --dt \(e.g. --dt 1ms\)$"):
        load_nir(g, name="g")
    g.metadata["dt"] = 1e-3
    assert load_nir(g).dt == 1e-3  # from the metadata
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(UserError, match=rf"^{re.escape(str(junk))}: not a readable NIR file"):
        load_nir(junk, NirOptions(dt=DT))


def test_cli_nir_options(run_nmc, tmp_path):
    g = graph({"input": nir.Input(np.array([2])), "fc": nir.Linear(np.eye(2) * 150), "l": lif(2),
               "output": nir.Output(np.array([2]))}, [("input", "fc"), ("fc", "l"), ("l", "output")])
    path = tmp_path / "net.nir"
    nir.write(path, g)
    spikes = np.zeros((20, 2))
    spikes[[2, 5], [0, 1]] = 1
    np.save(tmp_path / "in.npy", spikes)
    code, out, err = run_nmc("simulate", path, "--dt", "0.1ms", "--steps", "20", "--input", f"input={tmp_path / 'in.npy'}",
                             "-o", tmp_path / "o", "--json", "--no-plot")
    assert code == 0, err
    assert json.loads(out)["populations"]["l"]["spikes"] == 2  # each input: 150 * dt/tau = 1.5 > threshold
    code, _, err = run_nmc("info", path)
    assert code == 2 and "give --dt" in err
    code, _, err = run_nmc("info", "examples/cuba.yaml", "--dt", "1ms")
    assert code == 2 and "apply to NIR files only" in err
    code, _, err = run_nmc("simulate", path, "--dt", "1ms", "--steps", "5", "--input", "nope=x.npy", "-o", tmp_path / "p")
    assert code == 2 and err.startswith("error: --input 'nope=x.npy': 'nope' is not a spike source (spike sources: input)")


def test_operator_and_structure_rejections():
    ifn = nir.IF(r=np.ones(4 * 6 * 6), v_threshold=np.ones(4 * 6 * 6), v_reset=np.zeros(4 * 6 * 6))
    g = graph({"in": nir.Input(np.array([3, 6, 6])), "c1": nir.Conv2d((6, 6), np.ones((4, 2, 3, 3)), 1, 1, 1, 1,
                                                                       np.zeros(4)),
               "n": ifn, "out": nir.Output(np.array([144]))}, [("in", "c1"), ("c1", "n"), ("n", "out")], check=False)
    assert _problems(g) == ["node 'c1' (Conv2d): 3 input channels do not fit weight (4, 2, 3, 3) with groups=1"]
    g = graph({"in": nir.Input(np.array([2])), "d": nir.Delay(np.array([1e-3, -1e-3])), "l": lif(2),
               "out": nir.Output(np.array([2]))}, [("in", "d"), ("d", "l"), ("l", "out")], check=False)
    assert _problems(g) == ["node 'd' (Delay): delays must be >= 0"]
    g = graph({"in": nir.Input(np.array([2, 3])), "f": nir.Flatten({"input": np.array([2, 3])}, 1, 3),
               "l": lif(6), "out": nir.Output(np.array([6]))}, [("in", "f"), ("f", "l"), ("l", "out")], check=False)
    assert _problems(g) == ["node 'f' (Flatten): cannot flatten dims 1..3 of shape (2, 3)"]
    sub = graph({"i1": nir.Input(np.array([2])), "i2": nir.Input(np.array([2])), "l": lif(2),
                 "o": nir.Output(np.array([2]))}, [("i1", "l"), ("i2", "l"), ("l", "o")])
    g = graph({"in": nir.Input(np.array([2])), "sub": sub, "out": nir.Output(np.array([2]))},
              [("in", "sub"), ("sub", "out")], check=False)
    assert "node 'sub' (?): subgraph has 2 input nodes: name one as 'sub.<input>' in the edge" in _problems(g)
    g = graph({"in": nir.Input(np.array([2])), "sub": sub, "out": nir.Output(np.array([2]))},
              [("in", "sub.i1"), ("sub", "out")], check=False)
    net = load_nir(g, NirOptions(dt=DT))  # naming the port resolves it
    assert [p.name for p in net.populations] == ["sub.l"]


def test_bad_options():
    g = graph({"in": nir.Input(np.array([1])), "l": lif(1), "out": nir.Output(np.array([1]))},
              [("in", "l"), ("l", "out")])
    with pytest.raises(UserError, match=r"^integration 'rk4' is unknown \(use exact or euler or exp_euler or forward_euler\)$"):
        load_nir(g, NirOptions(dt=DT, integration="rk4"))
    with pytest.raises(UserError, match=r"^reset mode 'zero' is unknown \(use value or subtract\)$"):
        load_nir(g, NirOptions(dt=DT, reset="zero"))
    with pytest.raises(ValidationError, match=r"euler integration needs tau_mem > dt"):
        load_nir(g, NirOptions(dt=0.02))  # tau 10 ms < dt 20 ms
