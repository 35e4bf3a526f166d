"""The digits classifier trained and exported by snnTorch (examples/digits/train_snntorch.py):
imported with ``--from snntorch``, our float simulation gives snnTorch's own output spike counts
on the 450 test samples, and every shipped target it fits classifies within 0.5 points of float,
running the compiled image's own tables (truenorth-like: with the weights as bit planes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nmcompiler.compiler import compile_network
from nmcompiler.flow import data_rates, spike_counts
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.image import build_contents, decode, encode, to_program
from nmcompiler.sim.data import SampleData
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


@pytest.mark.parametrize("target", [t for t in target_names()  # LIF layers: not convolution or CUBA-only port cores,
                                    if load_target(t).convolution is None and load_target(t).ports is None
                                    and load_target(t).cam is None])  # nor CAM cores (96 inputs a neuron, 64 words)
def test_hardware_accuracy_within_half_a_point_of_float(digits, float_counts, target):
    """Crossbar cores (truenorth-like) keep the trained weights as bit planes; which sources keep
    more planes is decided by the hidden layer's rates on the first 100 samples, and accuracy is
    measured on the other 350 (on the float network as well)."""
    net, spikes, data = digits
    tgt = load_target(target)
    crossbar = not tgt.storage.weights_per_synapse
    held = slice(100, None) if crossbar else slice(None)
    rates = data_rates(SampleData.of(spikes[:100], None, "events", where="rates"), int(data["steps"]) + LAG)
    mapping, fx, report = compile_network(net, tgt, rates=rates if crossbar else None)
    if not report.fits:
        pytest.skip(f"does not fit {target}: {report.misfits}")
    assert any("population '1': its bias, switched on at step 1, is constant from step 0 with an initial "
               "membrane" in n for n in report.notes)  # said, not silent
    program = to_program(decode(encode(build_contents(mapping, fx))))  # the image's own tables
    hw = spike_counts(program, "input", spikes[held], "3", int(data["steps"]) + LAG)
    assert hw.totals["1"] > 10_000 and hw.totals["3"] > 5_000  # the image is driven, not silent
    if crossbar:
        assert any("weights of population '3' as bit planes" in n for n in report.notes)
        assert not any("axon types made consistent" in n for n in report.notes)  # the types hold them exactly
    y = data["y"][held]
    gap = abs(hw.accuracy(y) - np.mean(float_counts.predictions()[held] == y))
    assert gap <= 0.005, f"{target}: hardware {hw.accuracy(y):.4f} vs float"
