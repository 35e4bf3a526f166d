"""The digits classifier trained and exported by snnTorch (examples/digits/train_snntorch.py):
imported with ``--from snntorch``, our float simulation gives snnTorch's own output spike counts
on the 450 test samples, and every shipped target it fits classifies within 0.5 points of float,
running the compiled image's own tables."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nmcompiler.compiler import compile_network
from nmcompiler.flow import spike_counts
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.targets import load_target, target_names

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits"
LAG = 2  # the output layer's level: snnTorch's step t is our step t + 2


@pytest.fixture(scope="module")
def digits():
    data = np.load(DIGITS / "digits_snntorch_test.npz")
    spikes = np.unpackbits(data["spikes"], axis=-1)[..., :64]
    net = load_nir(DIGITS / "digits_snntorch.nir", NirOptions.from_preset("snntorch"))
    return net, spikes, data


@pytest.fixture(scope="module")
def float_counts(digits):
    net, spikes, data = digits
    return spike_counts(net, "input", spikes, "3", int(data["steps"]) + LAG)


def test_float_reproduces_snntorch_spike_counts(digits, float_counts):
    _, spikes, data = digits
    assert spikes.shape == (450, 25, 64) and 0.95 < float(data["accuracy"]) < 1
    same = np.all(float_counts.counts == data["counts"], axis=1)
    assert same.all(), f"{np.count_nonzero(~same)} of 450 samples differ"  # 64 of 200 before the preset
    assert float_counts.accuracy(data["y"]) == pytest.approx(float(data["accuracy"]), abs=0.002)


@pytest.mark.parametrize("target", target_names())
def test_hardware_accuracy_within_half_a_point_of_float(digits, float_counts, target):
    net, spikes, data = digits
    mapping, fx, report = compile_network(net, load_target(target))
    if not report.fits:
        pytest.skip(f"does not fit {target}: {report.misfits}")
    assert any("population '1': its bias, switched on at step 1, is constant from step 0 with an initial "
               "membrane" in n for n in report.notes)  # said, not silent
    program = to_program(decode(encode(build_contents(mapping, fx))))  # the image's own tables
    hw = spike_counts(program, "input", spikes, "3", int(data["steps"]) + LAG)
    assert hw.totals["1"] > 10_000  # the image is driven, not silent
    if not mapping.target.storage.weights_per_synapse:
        # truenorth-like: four axon types per axon cannot hold a trained dense layer (17 % accuracy);
        # the compile report says how much the weights changed
        changed = [re.search(r"(\d+) of (\d+) synapses changed", n) for n in report.notes]
        counts = [(int(m[1]), int(m[2])) for m in changed if m]
        assert counts and counts[0][0] > 0.9 * counts[0][1]  # 7055 of 7104
        return
    assert hw.totals["3"] > 5_000
    gap = abs(hw.accuracy(data["y"]) - float_counts.accuracy(data["y"]))
    assert gap <= 0.005, f"{target}: hardware {hw.accuracy(data['y']):.4f} vs float"
