"""Multi-spike neurons (Sinabs' default MultiSpike, Rockpool's max_spikes_per_dt): the float
simulator reproduces them (tests/test_framework_goldens.py, against each framework's own forward
pass); a chip that emits one spike per neuron and tick refuses them at the design rules, naming
the population, the limit and the fix; ``--max-spikes 1`` imports a model trained with one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nmcompiler.cli.main import main
from nmcompiler.errors import ValidationError
from nmcompiler.frontends import load_network
from nmcompiler.frontends.nir import NirOptions, load_nir

GOLDEN = Path(__file__).parent / "golden" / "frameworks"
MULTI = GOLDEN / "sinabs_ff_iaf_multi.nir"
DOC = """
version: 1
name: multi
dt: 1 ms
populations:
  p: {size: 2, model: lif, params: {tau_mem: 10 ms, v_threshold: 1.0}, reset: subtract, max_spikes: 3}
stimuli:
  drive: {kind: poisson, size: 2, rate: 900 Hz}
projections:
  d: {pre: drive, post: p, connector: one_to_one, weight: 2.5}
"""


def _run(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code or 0, captured.out, captured.err


def test_the_sinabs_preset_keeps_multispike_and_max_spikes_1_turns_it_off():
    net = load_nir(MULTI, NirOptions.from_preset("sinabs"))
    assert [p.model.max_spikes for p in net.populations] == [2 ** 16, 2 ** 16]
    single = load_nir(MULTI, NirOptions.from_preset("sinabs", max_spikes=1))
    assert [p.model.max_spikes for p in single.populations] == [1, 1]
    auto = load_nir(GOLDEN / "rockpool_ff_multi.nir", NirOptions.from_preset("auto", max_spikes=4))
    assert {p.model.max_spikes for p in auto.populations} == {4}


def test_a_chip_with_one_spike_per_tick_refuses_a_multispike_model(tmp_path, capsys):
    code, out, err = _run(["compile", MULTI, "--from", "sinabs", "--target", "loihi-like", "-o", tmp_path / "c"], capsys)
    assert code == 2 and "population '1' emits up to 65536 spikes per step" in err
    assert "loihi-like's neurons 1" in err and "--max-spikes 1" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()
    code, out, _ = _run(["check", MULTI, "--from", "sinabs", "--target", "fpga-lif", "--json"], capsys)
    rules = {v["rule"] for v in json.loads(out)["violations"]}
    assert code == 2 and "spikes_per_step" in rules
    code, _, err = _run(["compare", MULTI, "--from", "sinabs", "--target", "loihi-like", "--steps", "10",
                         "-o", tmp_path / "cmp"], capsys)
    assert code == 2 and "emits up to 65536 spikes per step; the fixed-point datapath emits one" in err
    code, _, err = _run(["compile", MULTI, "--from", "sinabs", "--max-spikes", "1", "--target", "loihi-like",
                         "-o", tmp_path / "c"], capsys)
    assert code == 0 and (tmp_path / "c" / "sinabs_ff_iaf_multi.nmc").exists()


def test_max_spikes_in_yaml_and_its_rules(tmp_path, write_yaml):
    net = load_network(write_yaml(DOC))
    assert net.node("p").model.max_spikes == 3
    from nmcompiler.frontends.yaml_writer import save_yaml_network

    save_yaml_network(net, tmp_path / "back.yaml")
    assert load_network(tmp_path / "back.yaml").node("p").model.max_spikes == 3
    from nmcompiler.sim import FloatSimulator

    result = FloatSimulator(net).run(200)
    counts = np.unique(np.stack([result.spike_steps["p"], result.spike_ids["p"]]), axis=1, return_counts=True)[1]
    assert counts.max() == 3  # the cap holds, and is reached
    with pytest.raises(ValidationError, match="max_spikes 3 needs reset 'subtract'"):
        load_network(write_yaml(DOC.replace("reset: subtract", "reset: value")))


def test_max_spikes_survives_a_nir_round_trip(tmp_path, write_yaml):
    import nir

    from nmcompiler.frontends.nir import export_nir

    net = load_network(write_yaml(DOC.split("stimuli:")[0]))  # the population alone
    nir.write(tmp_path / "back.nir", export_nir(net))
    back = load_nir(tmp_path / "back.nir", NirOptions(dt=net.dt))  # no preset: the metadata carries it
    assert [p.model.max_spikes for p in back.populations] == [3]
