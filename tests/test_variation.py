"""Device variation of analog targets: the variation model as target data, seeded chip instances
(their statistics, the same chip after calibration), and accuracy over instances (API and CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmcompiler import load_network
from nmcompiler.analysis.variation import chip_instance, digital_weights, nominal
from nmcompiler.errors import UserError
from nmcompiler.flow.variation import compare_instances
from nmcompiler.ir import LIF, Connectivity, CubaLIF, Network, Population, Projection, SpikeSource
from nmcompiler.sim.data import SampleData
from nmcompiler.targets import load_target

BSS2 = load_target("brainscales2-like")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
N = 20_000


def _wide() -> Network:
    """Many neurons and synapses, to measure the drawn distributions."""
    net = Network("wide", dt=1e-3)
    net.add(SpikeSource(name="in", size=10, ids=[0], times=[0.0]))
    net.add(Population(name="p", size=N, model=CubaLIF(tau_mem=0.02, tau_syn=[0.005, 0.01], v_leak=-0.2,
                                                       v_threshold=1.0, v_reset=-0.2, receptor_names=("e", "i"))))
    pre, post = np.divmod(np.arange(10 * N), N)
    net.connect(Projection(name="in_p", pre="in", post="p", receptor="e",
                           connectivity=Connectivity.from_coo(10, N, pre, post, np.full(pre.size, 0.5))))
    return net


def _cv(x: np.ndarray) -> float:
    return float(np.std(x) / np.mean(x))


def test_variation_model_is_target_data(tmp_path):
    spec = BSS2.variation
    assert [(p.parameter, p.per, p.distribution) for p in spec.parameters] == [
        ("threshold", "neuron", "normal"), ("tau_mem", "neuron", "lognormal"), ("tau_syn", "neuron", "lognormal"),
        ("bias", "neuron", "normal"), ("weight", "synapse", "normal")]
    assert all(p.calibrated_cv < p.cv for p in spec.parameters) and "assumed" in spec.source
    scaled = spec.scaled(0.2)
    assert [p.cv for p in scaled.parameters] == [0.2] * 5
    assert scaled.parameters[0].calibrated_cv == pytest.approx(0.02)  # the residual keeps its ratio (0.01 / 0.10)
    text = Path(BSS2.source).read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("{parameter: threshold, distribution: normal, cv: 0.10, calibrated_cv: 0.01}",
                                "{parameter: threshold, distribution: normal, cv: 0.10, calibrated_cv: 0.3}"))
    with pytest.raises(UserError, match=r"bad.yaml: variation: threshold: need 0 <= calibrated_cv <= cv <= 1"):
        load_target(str(bad))
    bad.write_text(text.replace("parameter: bias", "parameter: capacitance"))
    with pytest.raises(UserError, match=r"variation.parameters.3.parameter: 'capacitance' is not one of"):
        load_target(str(bad))


def test_instances_draw_the_stated_distributions():
    net = _wide()
    chip = chip_instance(net, BSS2.variation, BSS2.format.weight_bits, seed=3)
    m, m0 = chip.node("p").model, net.node("p").model
    distance = m.v_threshold - m.v_leak  # the threshold varies as its distance from rest
    assert np.mean(distance) == pytest.approx(1.2, rel=0.01) and _cv(distance) == pytest.approx(0.10, rel=0.05)
    assert np.mean(m.tau_mem) == pytest.approx(0.02, rel=0.01) and _cv(m.tau_mem) == pytest.approx(0.20, rel=0.05)
    assert m.tau_syn.shape == (2, N) and _cv(m.tau_syn[1]) == pytest.approx(0.20, rel=0.05)
    assert np.all(m.tau_mem > 0) and np.all(m.tau_syn > 0)  # lognormal: never negative
    w = chip.projections[0].connectivity.synapse_weights()
    assert np.mean(w) == pytest.approx(0.5, rel=0.01) and _cv(w) == pytest.approx(0.10, rel=0.05)
    assert m0.v_threshold.size == 1  # the network itself is untouched


def test_same_seed_same_chip_and_calibration_shrinks_its_deviations():
    net = _wide()
    a = chip_instance(net, BSS2.variation, 7, seed=11)
    b = chip_instance(net, BSS2.variation, 7, seed=11)
    c = chip_instance(net, BSS2.variation, 7, seed=12)
    cal = chip_instance(net, BSS2.variation, 7, seed=11, calibrated=True)
    th = lambda n: n.node("p").model.v_threshold + 0.2  # noqa: E731 (distance from rest)
    assert np.array_equal(th(a), th(b)) and not np.array_equal(th(a), th(c))
    # the same chip after calibration: each neuron's deviation scaled by 0.01 / 0.10
    assert np.allclose(th(cal) / 1.2 - 1, (th(a) / 1.2 - 1) * 0.1)
    assert _cv(th(cal)) == pytest.approx(0.01, rel=0.05)


def test_digital_weights_sit_on_the_grid():
    net = _wide()
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, 10 * N)
    net.disconnect("in_p")
    pre, post = np.divmod(np.arange(10 * N), N)
    net.connect(Projection(name="in_p", pre="in", post="p", receptor="e",
                           connectivity=Connectivity.from_coo(10, N, pre, post, w)))
    q = digital_weights(net, 7).projections[0].connectivity.synapse_weights()
    step = np.max(np.abs(w)) / 63
    assert np.allclose(q / step, np.rint(q / step)) and np.max(np.abs(q - w)) <= step / 2 + 1e-12
    assert len(np.unique(q)) <= 127 and np.array_equal(nominal(net, 7).projections[0].connectivity.synapse_weights(), q)


@pytest.fixture(scope="module")
def digits():
    net = load_network(EXAMPLES / "digits" / "digits.yaml")
    data = SampleData.load(EXAMPLES / "digits" / "digits_test.npz", None)
    return net, SampleData.of(data.x[:80], data.y[:80], data.encode)


def test_accuracy_over_instances(digits):
    net, data = digits
    run = lambda **kw: compare_instances(net, BSS2, instances=4, data=data, source="pixels", output="out",  # noqa
                                         steps=60, **kw)
    none = run(cv=0.0)  # no variation: every chip is the nominal chip
    assert {r.accuracy for r in none.instances} == {none.nominal.accuracy} and none.summary()["accuracy"]["std"] == 0
    assert none.nominal.accuracy > 0.8 and none.network.rates["out"] > 10  # something happened
    wide = run(cv=0.3)
    acc = [r.accuracy for r in wide.instances]
    assert len(set(acc)) > 1 and wide.summary()["accuracy"]["min"] == min(acc) < none.nominal.accuracy
    calibrated = run(cv=0.3, calibrated=True)  # the same four chips after calibration
    assert calibrated.summary()["accuracy"]["mean"] > wide.summary()["accuracy"]["mean"]
    assert [r.seed for r in calibrated.instances] == [r.seed for r in wide.instances] == [0, 1, 2, 3]
    doc = json.loads(json.dumps(wide.to_json()))
    assert set(doc["summary"]["accuracy"]) == {"mean", "std", "min", "max"} and len(doc["instances"]) == 4
    with pytest.raises(UserError, match="loihi-like has no device variation"):
        compare_instances(net, load_target("loihi-like"), instances=2, steps=10)


def test_rates_over_instances_without_data():
    net = Network("drive", dt=1e-3)
    net.add(SpikeSource(name="in", size=4, ids=np.arange(200) % 4, times=np.repeat(np.arange(50), 4) * 1e-3))
    net.add(Population(name="p", size=50, model=LIF(tau_mem=0.02, v_threshold=1.0)))
    pre, post = np.divmod(np.arange(200), 50)
    net.connect(Projection(name="in_p", pre="in", post="p",
                           connectivity=Connectivity.from_coo(4, 50, pre, post, np.full(200, 0.4))))
    r = compare_instances(net, BSS2, instances=5, cv=0.2, steps=50)
    rates = r.summary()["rates"]["p"]
    assert r.network.accuracy is None and "accuracy" not in r.summary()
    assert r.network.rates["p"] > 0 and rates["std"] > 0 and rates["min"] < rates["max"]


def test_cli_instances(run_nmc, tmp_path):
    digits = EXAMPLES / "digits"
    code, out, err = run_nmc("compare", digits / "digits.yaml", "--target", "brainscales2-like", "--instances", "3",
                             "--cv", "0.2", "--data", digits / "digits_test.npz", "--steps", "40", "-o", tmp_path / "v")
    assert code == 0, err
    doc = json.loads((tmp_path / "v" / "variation.json").read_text())
    assert doc["cv"] == 0.2 and len(doc["instances"]) == 3 and "worst case: chip" in out
    assert (tmp_path / "v" / "variation.png").stat().st_size > 1000
    code, _, err = run_nmc("compare", digits / "digits.yaml", "--target", "brainscales2-like", "--calibrated",
                           "-o", tmp_path / "w")
    assert code == 2 and "--calibrated and --cv apply to chip instances: give --instances N" in err
    code, _, err = run_nmc("compare", digits / "digits.yaml", "--target", "fpga-lif", "--instances", "2",
                           "--steps", "10", "-o", tmp_path / "x")
    assert code == 2 and "fpga-lif has no device variation" in err and not (tmp_path / "x").exists()


def test_a_mixed_sign_source_takes_a_row_per_sign(tmp_path):
    """A BrainScaleS-2 synapse row is excitatory or inhibitory: 100 sources with weights of both
    signs onto one half take 200 rows (fits 256, not 150); with one sign each, 100."""
    from nmcompiler.compiler import compile_network
    from nmcompiler.targets.derive import derive_target

    def net(signed: bool) -> Network:
        out = Network("mixed", dt=1e-3)
        out.add(SpikeSource(name="in", size=100, ids=[0], times=[0.0]))
        out.add(Population(name="p", size=10, model=LIF(tau_mem=0.02, v_threshold=1.0)))
        pi, qi = np.nonzero(np.ones((100, 10)))
        w = np.where(qi % 2 == 0, 0.5, -0.5) if signed else np.full(pi.size, 0.5)
        out.connect(Projection(name="a", pre="in", post="p", connectivity=Connectivity.from_coo(100, 10, pi, qi, w)))
        return out

    _, small = derive_target("brainscales2-like", ["core.input_axons=150"], tmp_path / "b150.yaml")
    assert BSS2.core.signed_rows
    mapping, _, report = compile_network(net(True), BSS2)
    assert report.fits and mapping.usage.input_axons.tolist() == [200]
    _, _, report = compile_network(net(True), small)
    assert report.misfits == ["1 cores exceed 150 input axons (core 0: 200)"]
    mapping, _, report = compile_network(net(False), small)
    assert report.fits and mapping.usage.input_axons.tolist() == [100]


def test_partitioning_splits_cores_until_single_signed_rows_fit(tmp_path):
    """Two populations, each fed by its own 60 mixed-sign sources: one core would hold both (120
    sources, under 150) but needs 240 rows; the partition is redone with fewer sources per core
    and each population gets a core of 120 rows."""
    from nmcompiler.compiler import compile_network
    from nmcompiler.targets.derive import derive_target

    net = Network("two", dt=1e-3)
    for k in ("a", "b"):
        net.add(SpikeSource(name=f"in_{k}", size=60, ids=[0], times=[0.0]))
        net.add(Population(name=k, size=10, model=LIF(tau_mem=0.02, v_threshold=1.0)))
        pi, qi = np.nonzero(np.ones((60, 10)))
        net.connect(Projection(name=f"in_{k}_{k}", pre=f"in_{k}", post=k, connectivity=Connectivity.from_coo(
            60, 10, pi, qi, np.where(qi % 2 == 0, 0.5, -0.5))))
    _, small = derive_target("brainscales2-like", ["core.input_axons=150"], tmp_path / "b150.yaml")
    mapping, _, report = compile_network(net, small, partitioner="index-order")
    assert report.fits and sorted(mapping.usage.input_axons.tolist()) == [120, 120]
    assert any(n.startswith("rows hold one sign: partitioned with at most") for n in report.notes), report.notes
