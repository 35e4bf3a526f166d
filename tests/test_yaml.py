"""YAML network format v1: what loads, and every error with file:line."""

import re

import numpy as np
import pytest

from nmcompiler.errors import UserError, ValidationError
from nmcompiler.frontends import load_network, network_schema
from nmcompiler.ir import CubaLIF, PoissonSource, SpikeSource

GOOD = """
version: 1
name: good
dt: 0.1 ms
duration: 20 ms
seed: 4
populations:
  exc:
    model: cuba_lif
    size: 50
    receptors: [exc, inh]
    params: {tau_mem: 20 ms, tau_syn: [5 ms, 10 ms], v_leak: -49 mV, v_threshold: -50 mV, v_reset: -60 mV,
             refractory: 5 ms}
    initial: {v: {uniform: [-60 mV, -50 mV]}}
  out:
    model: lif
    size: 3
    reset: subtract
    params: {tau_mem: [10 ms, 20 ms, 30 ms], v_threshold: 1.0}
stimuli:
  noise: {kind: poisson, size: 20, rate: 50 Hz}
  train: {kind: spikes, times: [[1 ms, 2 ms], [], [3 ms]]}
  arr: {kind: spikes, file: spikes.npy}
  dc: {kind: current, size: 1, amplitude: 0.5, start: 1 ms}
projections:
  n_e: {pre: noise, post: exc, receptor: exc, connector: {kind: fixed_indegree, k: 5}, weight: {normal: [1 mV, 0.1 mV]},
        delay: {uniform: [0.1 ms, 2 ms]}}
  e_e: {pre: exc, post: exc, receptor: inh, connector: {kind: fixed_probability, p: 0.1, allow_autapses: false},
        weight: -1 mV}
  t_o: {pre: train, post: out, connector: {kind: list, pre: [0, 1, 2], post: [0, 1, 2]}, weight: [0.5, 0.6, 0.7],
        delay: [1 ms, 2 ms, 3 ms]}
  a_o: {pre: arr, post: out, connector: {kind: dense, file: w.npy}}
  dc_o: {pre: dc, post: out, connector: all_to_all, weight: 2.0}
probes:
  - {target: exc, variable: v, neurons: [0, 1]}
  - {target: out}
"""


@pytest.fixture
def good_file(write_yaml, tmp_path):
    spikes = np.zeros((30, 2), dtype=np.uint8)
    spikes[[3, 7], [0, 1]] = 1
    np.save(tmp_path / "spikes.npy", spikes)
    np.save(tmp_path / "w.npy", np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.25]]))
    return write_yaml(GOOD)


def test_good_file_builds_the_expected_ir(good_file):
    net = load_network(good_file)
    assert net.name == "good" and net.dt == pytest.approx(1e-4) and net.duration == pytest.approx(0.02)
    exc = net.node("exc")
    assert isinstance(exc.model, CubaLIF) and exc.model.receptors == ("exc", "inh")
    assert np.allclose(exc.model.tau_syn, [5e-3, 10e-3])
    v0 = exc.initial["v"]
    assert v0.shape == (50,) and v0.min() >= -0.06 and v0.max() <= -0.05
    assert isinstance(net.node("noise"), PoissonSource)
    train = net.node("train")
    assert isinstance(train, SpikeSource) and train.ids.tolist() == [0, 0, 2]
    assert np.allclose(train.times, [1e-3, 2e-3, 3e-3])
    arr = net.node("arr")
    assert arr.size == 2 and arr.ids.tolist() == [0, 1] and np.allclose(arr.times, [3e-4, 7e-4])
    proj = {p.name: p for p in net.projections}
    assert np.array_equal(proj["n_e"].connectivity.fan_in(), np.full(50, 5))
    d = proj["n_e"].connectivity.delays
    assert d.shape == (250,) and d.min() >= 1 and d.max() <= 20
    e_e = proj["e_e"].connectivity
    assert not np.any(e_e.pre_indices() == e_e.indices)
    assert proj["t_o"].connectivity.delays.tolist() == [10, 20, 30]
    assert np.array_equal(proj["a_o"].connectivity.to_dense(), [[0.0, 1.0, 0.0], [0.5, 0.0, 0.25]])
    # loading twice gives the same network (seeded draws)
    again = load_network(good_file)
    assert again.nodes == net.nodes and again.projections == net.projections


def test_schema_is_shipped_and_versioned():
    schema = network_schema()
    assert schema["properties"]["version"]["enum"] == [1, 2]
    assert set(schema["$defs"]["learning"]["properties"]["rule"]["enum"]) == {"stdp", "reward_stdp"}


def _errors(path) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        load_network(path)
    return [str(d) for d in exc.value.diagnostics]


BASE = """
version: 1
dt: 0.1 ms
populations:
  a: {model: lif, size: 10, params: {tau_mem: 10 ms}}
  b: {model: cuba_lif, size: 5, receptors: [exc, inh], params: {tau_mem: 10 ms, tau_syn: [5 ms, 5 ms]}}
"""

CASES = {
    "unknown_model": (BASE + "  c: {model: hodgkin, size: 3}\n",
                      r"^{f}:6: population 'c': unknown model 'hodgkin' \(use one of: lif, cuba_lif, if, threshold\)$"),
    "negative_size": (BASE + "  c: {model: lif, size: -4, params: {tau_mem: 1 ms}}\n",
                      r"^{f}:6: population 'c': size must be a positive integer, not -4$"),
    "nan_weight": (BASE + "projections:\n  a_a: {pre: a, post: a, connector: one_to_one, weight: .nan}\n",
                   r"^{f}:7: projection 'a_a': weight: value nan is not finite$"),
    "delay_below_dt": (BASE + "projections:\n  e_to_i:\n    pre: a\n    post: b\n    receptor: exc\n"
                       "    connector: all_to_all\n    delay: 0.05 ms\n",
                       r"^{f}:12: projection 'e_to_i': delay 0.05 ms is below dt 0.1 ms$"),
    "missing_field": (BASE + "projections:\n  a_a: {pre: a, connector: one_to_one}\n",
                      r"^{f}:7: projection 'a_a': missing field 'post'$"),
    "unknown_top_level_key": ("colour: blue\n" + BASE.lstrip("\n"),
                              r"^{f}:1: unknown field 'colour' \(allowed: version, name, dt, .*\)$"),
    "unknown_param": (BASE + "  c: {model: lif, size: 3, params: {tau_mem: 1 ms, tau_m: 2 ms}}\n",
                      r"^{f}:6: population 'c': model 'lif' has no parameter 'tau_m' \(it has .*tau_mem.*\)$"),
    "missing_param": (BASE + "  c: {model: lif, size: 3, params: {v_threshold: 1}}\n",
                      r"^{f}:6: population 'c': missing parameter 'tau_mem' for model 'lif'$"),
    "wrong_dimension": (BASE + "  c: {model: lif, size: 3, params: {tau_mem: 10 mV}}\n",
                        r"^{f}:6: population 'c': tau_mem: '10 mV' is a voltage, expected a time$"),
    "unknown_receptor": (BASE + "projections:\n  a_b: {pre: a, post: b, receptor: ampa, connector: all_to_all}\n",
                         r"^{f}:7: projection 'a_b': receptor 'ampa' unknown: 'b' \(cuba_lif\) has receptors "
                         r"\['exc', 'inh'\]$"),
    "missing_receptor": (BASE + "projections:\n  a_b: {pre: a, post: b, connector: all_to_all}\n",
                         r"^{f}:7: projection 'a_b': 'b' has receptors \['exc', 'inh'\]: name one with 'receptor'$"),
    "unknown_node": (BASE + "projections:\n  a_x: {pre: a, post: x, connector: all_to_all}\n",
                     r"^{f}:7: projection 'a_x': post 'x' is not a population or stimulus of this file$"),
    "weight_count": (BASE + "projections:\n  a_a: {pre: a, post: a, connector: one_to_one, weight: [1, 2]}\n",
                     r"^{f}:7: projection 'a_a': weight: 2 values for 10 synapses \(give one value, one per "
                     r"synapse, or a 10x10 matrix\)$"),
    "duplicate_key": (BASE + "  a: {model: lif, size: 3, params: {tau_mem: 1 ms}}\n",
                      r"^{f}:6: duplicate key 'a'$"),
    "bad_version": (BASE.replace("version: 1", "version: 3"),
                    r"^{f}:1: network format version 3 is not supported \(this nmcompiler reads versions 1 and 2\)$"),
    "missing_npy": (BASE + "projections:\n  a_a: {pre: a, post: a, connector: {kind: dense, file: nope.npy}}\n",
                    r"^{f}:7: projection 'a_a': connector: file 'nope.npy' not found \(looked in .*\)$"),
    "bad_probability": (BASE + "projections:\n  a_a: {pre: a, post: a, connector: {kind: fixed_probability, p: 2}}\n",
                        r"^{f}:7: projection 'a_a': connector: probability must lie in \[0, 1\], not 2$"),
    "probe_variable": (BASE + "probes:\n  - {target: a, variable: i}\n",
                       r"^{f}:7: probe 'a.i': variable 'i' unknown for model lif \(use spikes, v\)$"),
    "missing_dt": (BASE.replace("dt: 0.1 ms\n", ""), r"^{f}:1: missing field 'dt'$"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_names_file_line_and_field(write_yaml, case):
    text, pattern = CASES[case]
    path = write_yaml(text)
    errors = _errors(path)
    regex = re.compile(pattern.replace("{f}", re.escape(str(path))))
    assert any(regex.match(e) for e in errors), errors


def test_all_problems_are_reported_together(write_yaml):
    path = write_yaml(BASE + "  c: {model: hodgkin, size: 3}\n  d: {model: lif, size: 0, params: {tau_mem: 1 ms}}\n"
                      "projections:\n  a_a: {pre: a, post: a, connector: one_to_one, delay: 0.01 ms}\n")
    errors = _errors(path)
    assert len(errors) == 3, errors
    assert [int(e.split(":")[1]) for e in errors] == [6, 7, 9]


def test_malformed_yaml(write_yaml):
    path = write_yaml("version: 1\npopulations:\n  a: {model: lif, size: [1, 2\n")
    errors = _errors(path)
    assert len(errors) == 1 and re.match(rf"^{re.escape(str(path))}:\d+: invalid YAML: ", errors[0]), errors


@pytest.mark.parametrize("text", ["", "- 1\n- 2\n", "just a string\n"])
def test_not_a_mapping(write_yaml, text):
    path = write_yaml(text)
    assert _errors(path) == [f"{path}:1: a network file must be a mapping with 'version', 'dt' and 'populations'"]


def test_nonexistent_file(tmp_path):
    with pytest.raises(UserError, match=rf"^{re.escape(str(tmp_path))}/missing.yaml: file not found$"):
        load_network(tmp_path / "missing.yaml")


def test_yaml_tags_are_not_executed(write_yaml):
    path = write_yaml("!!python/object/apply:os.system ['echo pwned']\n")
    errors = _errors(path)
    assert "invalid YAML" in errors[0]


def test_absurd_delay_is_a_clear_error(write_yaml):
    path = write_yaml(BASE + "projections:\n  a_a: {pre: a, post: a, connector: one_to_one, delay: 1e300}\n")
    assert _errors(path) == [f"{path}:7: projection 'a_a': delay 1e+300 s is longer than 2147483647 steps of dt"]
