"""Targets as data, and the design-rule checker."""

import dataclasses
import json
import re

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.drc import check, cores_lower_bound
from nmcompiler.errors import UserError
from nmcompiler.ir import LIF, Connectivity, CubaLIF, Network, Population, Projection
from nmcompiler.targets import load_target, target_names


def test_shipped_targets_carry_the_issue_limits():
    assert target_names() == ["brainscales2-like", "dynapse2-like", "fpga-lif", "loihi-like", "loihi-like-conv",
                              "speck-like", "spinnaker-like", "truenorth-like", "xylo-like"]
    loihi = load_target("loihi-like")
    assert (loihi.chip.cores_per_chip, loihi.core.neurons, loihi.core.input_axons, loihi.core.output_axons) == (
        128, 1024, 4096, 4096)
    assert loihi.core.synapse_memory_bits == 128 * 1024 * 8 and loihi.format.delay_max == 62
    tn = load_target("truenorth-like")
    assert (tn.chip.cores_per_chip, tn.core.neurons, tn.core.input_axons, tn.core.axon_types) == (4096, 256, 256, 4)
    assert tn.core.fan_out_per_neuron == 1 and tn.format.weight_bits == 9 and tn.format.delay_max == 15
    sp = load_target("spinnaker-like")
    assert (sp.chip.cores_per_chip, sp.core.neurons, sp.format.weight_bits, sp.format.delay_max) == (16, 256, 16, 16)
    assert sp.routing.kind == "torus" and sp.routing.key_bits == 32 and sp.routing.table_entries == 1024
    assert load_target("fpga-lif").tick == pytest.approx(1e-3)
    speck = load_target("speck-like").convolution  # the published DYNAP-CNN limits (hwtargets/speck-like.yaml)
    assert [c.kernel_words // 1024 for c in speck.cores] == [16, 16, 16, 32, 32, 64, 64, 16, 16]
    assert [c.neuron_words // 1024 for c in speck.cores] == [64, 64, 64, 32, 32, 16, 16, 16, 16]
    assert (speck.kernel_max, speck.strides, speck.padding_max, speck.pooling, speck.destinations,
            speck.channels_max, speck.input_max, speck.output_max) == (16, (1, 2, 4, 8), 7, (1, 2, 4), 2, 1024,
                                                                     (128, 128), (64, 64))
    xylo = load_target("xylo-like")  # Rockpool's Xylo overview and xylosim (hwtargets/xylo-like.yaml)
    assert (xylo.ports.inputs, xylo.ports.input_events_per_step, xylo.ports.hidden, xylo.ports.hidden_receptors,
            xylo.ports.hidden_spikes_per_step, xylo.ports.hidden_fan_out, xylo.ports.outputs,
            xylo.ports.output_receptors, xylo.ports.output_spikes_per_step) == (16, 15, 1000, 2, 31, 64, 8, 1, 1)
    assert (xylo.format.v_bits, xylo.format.i_bits, xylo.format.weight_bits, xylo.format.decay,
            xylo.format.order, xylo.format.delay_max) == (16, 16, 8, "bitshift", "input_first", 1)
    dyn = load_target("dynapse2-like")  # Richter et al. 2024; Rockpool's lookup/defaults.py
    assert (dyn.chip.cores_per_chip, dyn.core.neurons, dyn.chip.max_chips, dyn.cam.entries, dyn.cam.tags,
            dyn.cam.base_weights, len(dyn.cam.synapse_types), dyn.cam.destinations) == (4, 256, 4, 64, 2048, 4, 4, 4)


def test_user_target_file_and_schema_errors(tmp_path):
    text = (load_target("fpga-lif").source and open(load_target("fpga-lif").source).read())
    mine = tmp_path / "mine.yaml"
    mine.write_text(text.replace("neurons: 256", "neurons: 512").replace("name: fpga-lif", "name: mine"))
    assert load_target(str(mine)).core.neurons == 512 and load_target(str(mine)).name == "mine"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("synapse_storage: sparse", "synapse_storage: magnetic"))
    with pytest.raises(UserError, match=r"bad.yaml: not a valid target description: core.synapse_storage: "
                                        r"'magnetic' is not one of \['sparse', 'crossbar', 'word32', 'convolution', 'cam'\]$"):
        load_target(str(bad))


def _net(size=10, fan_in=4, delay=1, model=None, weights=None) -> Network:
    net = Network("t", dt=1e-3)
    n_pre = max(size, fan_in)
    net.add(Population(name="a", size=n_pre, model=model or LIF(tau_mem=0.01)))
    net.add(Population(name="b", size=size, model=model or LIF(tau_mem=0.01)))
    pre = np.concatenate([np.arange(fan_in)] * size)
    post = np.repeat(np.arange(size), fan_in)
    w = weights if weights is not None else 0.5
    net.connect(Projection(name="a_b", pre="a", post="b",
                           connectivity=Connectivity.from_coo(n_pre, size, pre, post, w, delay)))
    return net


def test_clean_network_has_no_violations():
    net = _net()
    for name in target_names():
        if load_target(name).convolution is None and load_target(name).ports is None:  # a synapse list is no
            # kernel (tests/test_conv_targets.py); port cores run CUBA neurons in layers (tests/test_xylo_targets.py)
            assert check(net, load_target(name)) == []
    assert cores_lower_bound(net, load_target("loihi-like")) == 1


def test_each_rule_names_subject_amount_limit_and_fix():
    tn, fpga = load_target("truenorth-like"), load_target("fpga-lif")
    msgs = [str(v) for v in check(_net(size=300, fan_in=300, delay=20), tn)]
    expected = [
        r"^population 'a' has 300 neurons, core limit 256: run with --split or choose a larger core$",
        r"^population 'b': 300 neurons receive up to 300 inputs, a core has 256 input axons: needs partial sums, "
        r"and truenorth-like sends spikes only: choose a target with graded messages \(core.partial_sum_bits, "
        r"e.g. loihi-like\) or reduce the fan-in$",
        r"^projection 'a_b' has delays up to 20 ticks, truenorth-like allows 15: needs a relay chain of 1 neuron\(s\)$",
        r"^population 'a': 300 neurons send to more than 1 axon\(s\) \(one core's worth of targets\): needs splitter "
        r"neurons$",
    ]
    for p in expected:
        assert any(re.match(p, m) for m in msgs), (p, msgs)
    v = [x for x in check(_net(size=4, fan_in=4, weights=np.arange(16, dtype=float)), tn) if x.rule == "axon_type_weights"]
    assert v == []  # 4 distinct weights per neuron fit 4 axon types
    v = check(_net(size=4, fan_in=4, model=CubaLIF(tau_mem=0.01, tau_syn=0.002)), tn)
    assert "population 'a' uses model 'cuba_lif', which truenorth-like does not support (it has lif, if)" in map(str, v)
    v = check(_net(size=256 * 3, fan_in=1), fpga)
    assert ("the network needs at least 6 cores, the largest fpga-lif machine has 4: nmc compile --size generates a "
            "core and a mesh that hold it") in map(str, v)
    assert [x.legalizable for x in v if x.rule == "machine_capacity"] == [False]


def test_axon_type_rule_counts_distinct_weights_per_neuron():
    tn = load_target("truenorth-like")
    v = [x for x in check(_net(size=2, fan_in=6, weights=np.arange(12, dtype=float)), tn) if x.rule == "axon_type_weights"]
    assert len(v) == 1 and v[0].amount == 6 and v[0].limit == 4
    assert str(v[0]) == ("population 'b': neurons see up to 6 distinct weights, truenorth-like has 4 axon types: "
                         "weights become bit planes on several axons per source where a core's axons allow, else "
                         "clustered")


def test_cli_targets_and_check(run_nmc):
    code, out, _ = run_nmc("targets", "--json")
    listed = json.loads(out)
    assert code == 0 and [t["name"] for t in listed] == target_names()
    by_name = {t["name"]: t for t in listed}
    assert by_name["loihi-like"]["core"]["neurons"] == 1024 and by_name["loihi-like"]["chip"]["cores_per_chip"] == 128
    assert by_name["xylo-like"]["ports"]["hidden"] == 1000
    assert [p["parameter"] for p in by_name["brainscales2-like"]["variation"]["parameters"]] == [
        "threshold", "tau_mem", "tau_syn", "bias", "weight"]
    assert len(by_name["speck-like"]["convolution"]["cores"]) == 9
    assert len(by_name["loihi-like-conv"]["convolution"]["cores"]) == 128
    assert by_name["fpga-lif"]["sizing"]["max_cores"] == 256
    assert all(t["sizing"] is None for t in listed if t["name"] != "fpga-lif")
    code, out, _ = run_nmc("targets")
    assert code == 0 and "fpga-lif is generated to fit: nmc compile --size chooses 64-1024 neurons" in out
    code, out, err = run_nmc("check", EXAMPLES / "cuba.yaml", "--target", "loihi-like")
    assert code == 2 and err.startswith("error: ") and (
        "population 'exc' has 3200 neurons, core limit 512 (1024 compartments, 2 per neuron)" in err)
    assert "receptors" not in err  # two receptors: two compartments per neuron
    code, out, err = run_nmc("check", EXAMPLES / "cuba.yaml", "--target", "spinnaker-like", "--split", "--json")
    report = json.loads(out)
    assert code == 0 and report["fits"] is True
    assert report["cores_lower_bound"] == 16  # 4000 neurons / 256 per core
    assert [v["rule"] for v in report["violations"]] == ["population_size", "population_size"]
    code, out, err = run_nmc("check", EXAMPLES / "synfire.yaml", "--target", "loihi-like", "--json")
    assert code == 0 and json.loads(out)["cores_lower_bound"] == 3  # 95k synapses x 24 bits over 1 Mbit cores
    code, _, err = run_nmc("check", EXAMPLES / "cuba.yaml", "--target", "truenorth-like", "--split")
    assert code == 2 and "uses model 'cuba_lif', which truenorth-like does not support" in err


def test_multi_compartment_neurons_take_one_slot_per_extra_receptor(tmp_path):
    """loihi-like neurons have one current; a neuron with R receptors chains R compartments
    (core.receptor_compartments = 4), each a neuron slot; beyond 4 (or without the field) the
    receptor rule names the limit."""
    from nmcompiler.drc.rules import target_for
    from nmcompiler.targets.encoding import SynapseFields

    base = load_target("loihi-like")
    assert base.compartments_per_neuron(1) == 1 and base.compartments_per_neuron(4) == 4
    assert base.compartments_per_neuron(5) is None and base.with_receptors(1) is base
    two = base.with_receptors(2)
    assert (two.format.receptors, two.core.neurons, two.core.compartments_per_neuron) == (2, 512, 2)
    for t in (base, two, base.with_receptors(3), load_target("fpga-lif")):  # memory as the image stores it
        f = SynapseFields.of(t)
        assert t.synapse_bits() == f.index + f.delay + f.channel + f.weight
    net = load_network(EXAMPLES / "cuba.yaml")
    assert target_for(net, base) == two and target_for(net, two) is two
    assert cores_lower_bound(net, base) == 8  # 4000 neurons x 2 compartments / 1024
    assert not [v for v in check(net, base) if v.rule == "receptor_channels"]

    def cuba(receptors: int) -> Network:
        n = Network("r", dt=1e-3)
        names = tuple(f"r{k}" for k in range(receptors))
        n.add(Population(name="p", size=4, model=CubaLIF(tau_mem=0.02, tau_syn=[0.005] * receptors,
                                                         receptor_names=names)))
        return n

    over = check(cuba(5), base)
    assert [v.rule for v in over] == ["receptor_channels"] and over[0].limit == 1
    assert "has 5 receptors" in str(over[0]) and "(up to 4 as multi-compartment neurons)" in str(over[0])
    single = tmp_path / "single.yaml"
    single.write_text("\n".join(line for line in open(base.source).read().splitlines()
                                 if "receptor_compartments" not in line))
    plain = load_target(str(single))
    assert target_for(net, plain) is plain and [v.rule for v in check(cuba(2), plain)] == ["receptor_channels"]


def test_cli_compiles_cuba_onto_loihi_like_with_two_compartment_neurons(run_nmc, tmp_path):
    code, out, err = run_nmc("compile", EXAMPLES / "cuba.yaml", "--target", "loihi-like", "-o", tmp_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["fits"] and report["cores_used"] == report["cores_lower_bound"] == 8
    assert "multi-compartment neurons: 2 current channels per neuron in 2 compartments, 512 neurons per core" in (
        report["notes"])
    assert report["utilization"]["neurons"]["max"] <= 1.0
    code, _, err = run_nmc("simulate", tmp_path / "cuba.nmc", "--target", "loihi-like", "--steps", "50", "-o",
                           tmp_path / "sim")
    assert code == 0, err


def test_cli_derives_a_target_file_and_rejects_bad_settings(run_nmc, tmp_path):
    out = tmp_path / "fpga36.yaml"
    code, text, err = run_nmc("targets", "--derive", "fpga-lif", "--set", "chip.mesh=[6,6]", "--set",
                              "core.receptor_compartments=2", "-o", out, "--json")
    assert code == 0, err
    listed = json.loads(text)
    assert [t["name"] for t in listed] == ["fpga36"] and listed[0]["chip"]["cores_per_chip"] == 36
    derived = load_target(str(out))
    base = load_target("fpga-lif")
    assert derived.chip.mesh == (6, 6) and derived.core.receptor_compartments == 2
    assert derived.format == dataclasses.replace(base.format, name="fpga36") and derived.core.neurons == base.core.neurons
    assert out.read_text().startswith("# Derived from target 'fpga-lif' by nmc targets --derive --set chip.mesh=[6,6]")
    # the derived file is a target like any other: it maps what the 4-core fpga-lif cannot hold
    net = tmp_path / "cuba1200.yaml"
    net.write_text((EXAMPLES / "cuba.yaml").read_text().replace("size: 3200", "size: 960").replace("size: 800",
                                                                                                     "size: 240"))
    code, _, err = run_nmc("compile", net, "--target", "fpga-lif", "-o", tmp_path / "m4")
    assert code == 2 and "needs at least 5 cores, the largest fpga-lif machine has 4: nmc compile --size" in err
    code, text, err = run_nmc("compile", net, "--target", out, "-o", tmp_path / "m36", "--json")
    assert code == 0, err
    report = json.loads(text)
    assert report["target"] == "fpga36" and report["fits"] and 5 <= report["cores_used"] <= 36
    bad = tmp_path / "bad.yaml"
    for setting, message in [("core.nerons=3", "--set 'core.nerons=3': core has no field 'nerons' (it has "),
                             ("chip.mesh=[0,6]", "bad.yaml: not a valid target description: chip.mesh.0: 0 is less "
                                                 "than the minimum of 1"),
                             ("format.weight_bits=99", "bad.yaml: format: weight_bits must lie in [2, 48], not 99"),
                             ("neurons=3", "write SECTION.FIELD=VALUE"),
                             ("cpu.neurons=3", "no section 'cpu' (a target has chip, core, cost, format, learning, routing, sizing)")]:
        code, _, err = run_nmc("targets", "--derive", "fpga-lif", "--set", setting, "-o", bad)
        assert code == 2 and message in err and "Traceback" not in err, (setting, err)
        assert not bad.exists()
    code, _, err = run_nmc("targets", "--set", "core.neurons=3")
    assert code == 2 and "go with --derive" in err
