"""The RTL core reads SpiNNaker-like synaptic words (``word32``: index | channel | delay - 1 in the
low half, a 16-bit weight in the high half) from the same images the simulators run, bit for bit:
seeded random networks on a smaller spinnaker-like core (32-bit state, nearest rounding, two
channels, current fraction bits, a lower bound of v), and CUBA on 16 full spinnaker-like cores."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.errors import UserError
from nmcompiler.image import build_contents
from nmcompiler.targets import load_target
from nmcompiler.rtl.params import CoreParams, SynapseWord
from nmcompiler.targets.encoding import SparseLayout, SynapseFields, Word32Layout
from nmcompiler.rtl.verify import verify_image
from test_rtl import _image, _network

pytestmark = pytest.mark.rtl


def test_the_word_fields_are_where_the_image_puts_them():
    """The offsets the RTL reads (SynapseWord) find the fields the image's encoder packed."""
    f = SynapseFields(index=8, delay=4, channel=1, weight=16)
    rng = np.random.default_rng(0)
    index, channel, delay = rng.integers(0, 256, 50), rng.integers(0, 2, 50), rng.integers(1, 17, 50)
    mant = rng.integers(-(1 << 15), 1 << 15, 50)
    for layout in (Word32Layout, SparseLayout):
        word = SynapseWord.of(f, layout.kind)
        words = layout.pack(f, index, channel, delay, mant).astype(np.int64)
        field = lambda where: (words >> where[0]) & ((1 << where[1]) - 1)  # noqa: E731
        m = field(word.weight)
        assert field(word.index).tolist() == index.tolist() and field(word.channel).tolist() == channel.tolist()
        assert (field(word.delay) + 1).tolist() == delay.tolist()
        assert np.where(m >= 1 << (word.weight[1] - 1), m - (1 << word.weight[1]), m).tolist() == mant.tolist()
        assert int(words.max()) >> word.width == 0
    assert SynapseWord.of(f, "word32").width == 32 and SynapseWord.of(f, "sparse").width == f.total


@pytest.mark.parametrize("lanes", [1, 2])
@pytest.mark.parametrize("seed", range(4))
def test_random_networks_on_a_spinnaker_like_core(seed, lanes):
    target = load_target("spinnaker-like")
    params = CoreParams.of(target, neurons=128, axons=256, entries=4096, lanes=lanes)
    assert params.storage == "word32" and params.layouts.width("syn") == 32
    net = _network(np.random.default_rng(300 + seed), max_delay=int(target.format.delay_max), bounded=seed % 2 == 1)
    result = verify_image(_image(net, target), params, 50, states=True, load="files" if seed % 2 else "port")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.reference_spikes == result.rtl_spikes > 0 and result.synops > 0


def test_cuba_on_sixteen_spinnaker_like_cores():
    """4000 CUBA neurons on 16 cores of 256 neurons, 65,536 axons and 262,144 synaptic words each
    (the image-initialized chip, its memories read from the image's files)."""
    net = load_network(EXAMPLES / "cuba.yaml")
    mapping, fx, report = compile_network(net, load_target("spinnaker-like"), partitioner="index-order")
    assert report.fits, report.misfits
    contents = build_contents(mapping, fx)
    assert len(contents.cores) == 16
    result = verify_image(contents, CoreParams.of(mapping.target), 30, load="files")
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    assert result.cores == 16 and result.reference_spikes == result.rtl_spikes > 50


def test_an_image_of_another_layout_is_refused():
    target = load_target("spinnaker-like")
    contents = _image(_network(np.random.default_rng(1)), load_target("fpga-lif"))
    with pytest.raises(UserError, match="stores synapses as 'sparse'"):
        verify_image(contents, CoreParams.of(target, neurons=128, axons=256, entries=4096), 5)
