"""Side by side with Sinabs' own DYNAP-CNN mapping (Sinabs 3.1.3, recorded by
tests/golden/frameworks/make_sinabs_dynapcnn.py; Sinabs is not needed here).

For the NIR paper's CNN and five of our own (3x3, 7x7 stride 2, 1x1 kernels; 2x2 and 4x4
pooling; dense readouts; one layer too wide and one kernel too large for any core whole), our
speck-like layers must use exactly the memory Sinabs computes, pool and send where Sinabs does,
and our fit decision and core count must agree with Sinabs' wherever whole layers fit. Where they
differ, it is because we split a layer by output channels and Sinabs does not: a DYNAP-CNN core
sends to two destinations and a layer may be fed by several cores (Sinabs' documentation: a core
has 2 destinations, several cores may share a destination, and a channel shift concatenates their
outputs), so both halves of a split layer receive the same input and their outputs join; each half
fits a core by the published memories. Sinabs' mapper only places whole layers.
"""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from nmcompiler.drc.conv import conv_layers
from nmcompiler.mapping.conv_assign import assign_layers
from test_conv_targets import SPECK, sinabs_cnn

RECORD = json.loads((ROOT / "tests" / "golden" / "sinabs_dynapcnn" / "sinabs_dynapcnn.json").read_text())
NETWORKS = sorted(RECORD["networks"])
SPLIT_BY_US = {"wide_map": "3", "big_kernel": "3"}  # no fit for Sinabs (whole layers); two cores for us


def test_the_target_file_holds_sinabs_chip_constraints():
    for name in NETWORKS:
        theirs = RECORD["networks"][name]["constraints"]
        ours = [{"kernel": c.kernel_words, "neuron": c.neuron_words, "bias": c.bias_words}
                for c in SPECK.convolution.cores]
        assert theirs == ours


@pytest.mark.parametrize("name", NETWORKS)
def test_memory_pooling_destinations_and_fit_as_sinabs(tmp_path, name):
    record = RECORD["networks"][name]
    net = sinabs_cnn(name, tmp_path)
    layers = conv_layers(net, SPECK)
    assert not layers.violations
    ours = {(layer.in_shape, layer.out_shape): layer for layer in layers.layers}
    theirs = {(tuple(la["in_shape"]), tuple(la["neuron_shape"])): la for la in record["layers"]}
    assert set(ours) == set(theirs) and len(ours) == len(layers.layers)  # the same layers, matched by maps
    name_of = {la["index"]: ours[key].name for key, la in theirs.items()}
    by_name = {layer.name: layer for layer in layers.layers}
    for key, layer in ours.items():
        memory, sinabs = layer.memory(SPECK.convolution), theirs[key]["memory"]
        assert (memory.kernel_words, memory.neuron_words, memory.bias_words) == (
            sinabs["kernel"], sinabs["neuron"], sinabs["bias"]), layer.name
        sent = [(name_of[d], pool) for d, pool in zip(theirs[key]["destinations"], theirs[key]["pool"]) if d >= 0]
        assert list(layers.destinations.get(layer.name, ())) == [d for d, _ in sent]
        for dest, pool in sent:  # the pooling Sinabs' layer applies to what it sends is what ours receives
            receiver = by_name[dest]
            window = receiver.pooling[receiver.sources.index(layer.name)]
            assert pool == [window, window]
    assignment = assign_layers(layers, SPECK.convolution, name=SPECK.name)
    fits = not assignment.misfits
    if name in SPLIT_BY_US:
        assert not record["fits"] and "No valid mapping found" in record["error"]
        assert fits and [p.channels for p in assignment.parts if p.layer == SPLIT_BY_US[name]] in (
            [(0, 48), (48, 96)], [(0, 64), (64, 128)])
        return
    assert fits == record["fits"] and fits
    assert len(assignment.parts) == len(record["layer_to_core"])  # whole layers, one core each, as Sinabs
    cores = SPECK.convolution.cores
    for key, la in theirs.items():  # Sinabs' own assignment also respects every memory of our target data
        core = cores[record["layer_to_core"][str(la["index"])]]
        m = la["memory"]
        assert m["kernel"] <= core.kernel_words and m["neuron"] <= core.neuron_words and m["bias"] <= core.bias_words
