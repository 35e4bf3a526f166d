"""IR -> YAML -> IR is exact; `nmc import` converts NIR to YAML, saved IR and back to NIR."""

import json

import numpy as np
import pytest

from conftest import EXAMPLES, NIR_PAPER
from nmcompiler.frontends import load_network
from nmcompiler.frontends.yaml_writer import save_yaml_network
from nmcompiler.sim import simulate


def _same(a, b):
    assert {n.name: n for n in a.nodes} == {n.name: n for n in b.nodes}
    assert {p.name: p for p in a.projections} == {p.name: p for p in b.projections}
    assert a.probes == b.probes and a.dt == b.dt and a.seed == b.seed and a.duration == b.duration


@pytest.mark.parametrize("example", ["cuba", "mlp", "synfire", "single_lif"])
def test_examples_round_trip_exactly(tmp_path, example):
    net = load_network(EXAMPLES / f"{example}.yaml")
    path = save_yaml_network(net, tmp_path / "out" / f"{example}.yaml")
    back = load_network(path)
    _same(net, back)
    again = save_yaml_network(back, tmp_path / "again" / f"{example}.yaml")
    assert path.read_text() == again.read_text()  # deterministic output


@pytest.mark.skipif(not NIR_PAPER.is_dir(), reason="../shared/data/nir-paper is absent")
def test_nmc_import_nir_to_yaml_ir_and_nir(run_nmc, tmp_path):
    src = NIR_PAPER / "braille_noDelay_noBias_subtract.nir"
    args = ["--dt", "0.1ms", "--reset", "subtract"]
    for out in ("b.yaml", "b.npz", "b.nir"):
        code, stdout, err = run_nmc("import", src, *args, "-o", tmp_path / out)
        assert code == 0 and stdout == f"wrote {tmp_path / out} (47 neurons, 2360 synapses)\n", err
    from nmcompiler.frontends.nir import NirOptions

    ref = load_network(src, nir_options=NirOptions(dt=1e-4, reset="subtract"))
    _same(ref, load_network(tmp_path / "b.yaml"))
    _same(ref, load_network(tmp_path / "b.npz"))
    via_nir = load_network(tmp_path / "b.nir")  # dt, reset and integration travel in the metadata
    assert via_nir.node("lif1.lif").model.reset == "subtract" and via_nir.dt == 1e-4
    rng = np.random.default_rng(0)
    from nmcompiler.sim.stimulus import spike_source_from_array

    x = rng.random((100, 12)) < 0.3
    results = []
    for net in (ref, via_nir):
        net.replace(spike_source_from_array("input", x, 1e-4))
        results.append(simulate(net, steps=100))
    for pop in results[0].spike_steps:
        assert np.array_equal(results[0].spike_steps[pop], results[1].spike_steps[pop])
    code, out, _ = run_nmc("info", tmp_path / "b.nir", "--json")
    assert code == 0 and json.loads(out)["neurons"] == 47
