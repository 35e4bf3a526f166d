"""Encodings from the target (nmcompiler/targets/encoding.py): axon keys sized from the delay
range, synapse-entry fields defined once, storage layouts that refuse what an image cannot hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nmcompiler.errors import UserError
from nmcompiler.targets import load_target
from nmcompiler.targets.derive import derive_target
from nmcompiler.targets.encoding import SynapseFields, axon_key_stride, axon_keys


@given(st.integers(1, 4096), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 4096)), min_size=1,
                                      max_size=50))
def test_axon_keys_are_distinct_and_ordered_by_source_then_delay(delay_max, pairs):
    pairs = [(p, 1 + (d - 1) % delay_max) for p, d in pairs]
    pre, delay = (np.array(x) for x in zip(*pairs))
    keys = axon_keys(pre, delay, delay_max)
    assert len(set(keys.tolist())) == len(set(pairs))
    assert [pairs[i] for i in np.argsort(keys, kind="stable")] == sorted(pairs, key=lambda x: (x[0], x[1]))
    assert axon_key_stride(delay_max) > delay_max


def test_the_old_collision_is_gone_and_out_of_range_delays_are_refused():
    assert axon_keys([0], [65], 100)[0] != axon_keys([1], [1], 100)[0]  # 0 * 64 + 65 == 1 * 64 + 1
    with pytest.raises(ValueError, match=r"^axon key: delays must lie in \[1, 15\], not \[1, 16\]$"):
        axon_keys([0, 1], [1, 16], 15)


@pytest.mark.parametrize("name", ["fpga-lif", "loihi-like", "spinnaker-like", "truenorth-like"])
def test_synapse_bits_come_from_the_fields(name):
    target = load_target(name)
    f = SynapseFields.of(target)
    expected = {"sparse": f.total, "word32": 32, "crossbar": 0}[target.core.synapse_storage]
    assert target.synapse_bits() == expected
    assert target.storage.kind == target.core.synapse_storage


@pytest.mark.parametrize("base, settings, message", [
    ("truenorth-like", ["format.delay_max=300"], r"format\.delay_max 300: a crossbar axon row stores delays up to 255"),
    ("spinnaker-like", ["format.delay_max=4096"], r"8 index \+ 1 channel \+ 12 delay bits do not fit the 16 low "
                                                  r"bits of a synaptic word"),
    ("loihi-like", ["core.neurons=131072", "format.delay_max=4096"],
     r"a synapse entry needs 17 index \+ 12 delay \+ 0 channel \+ 8 weight = 37 bits, the image's entries hold 32"),
])
def test_targets_the_image_cannot_encode_are_refused(base, settings, message, tmp_path):
    with pytest.raises(UserError, match=rf"^.*t\.yaml: core\.synapse_storage '\w+': {message}"):
        derive_target(base, settings, tmp_path / "t.yaml")
    derive_target(base, settings[:1] if len(settings) > 1 else ["format.delay_max=100" if base != "spinnaker-like"
                                                                else "format.delay_max=64"], tmp_path / "ok.yaml")


def test_word32_packing_equals_its_field_formula():
    """The compiled packer computes the documented word: index | channel | delay - 1 in the low
    half, the mantissa's 16-bit two's complement in the high half."""
    from nmcompiler.targets.encoding import SynapseFields, Word32Layout

    rng = np.random.default_rng(1)
    f = SynapseFields(index=9, channel=2, delay=4, weight=16)
    n = 5000
    index, channel = rng.integers(0, 1 << 9, n), rng.integers(0, 4, n)
    delay, mantissa = rng.integers(1, 17, n), rng.integers(-(1 << 15), 1 << 15, n)
    want = (index.astype(np.uint32) | (channel.astype(np.uint32) << 9) | ((delay - 1).astype(np.uint32) << 11)
            | ((mantissa.astype(np.int64) & 0xFFFF).astype(np.uint32) << 16)).astype(np.uint32)
    got = Word32Layout.pack(f, index, channel, delay, mantissa)
    assert got.dtype == np.uint32 and np.array_equal(got, want)
    assert np.array_equal(Word32Layout.pack(f, index.astype(np.int32), 1, delay, mantissa)[:3],
                          want[:3] & ~np.uint32(3 << 9) | np.uint32(1 << 9))  # a scalar field broadcasts
    back = Word32Layout.unpack(f, got)
    assert all(np.array_equal(a, b) for a, b in zip(back, (index, channel, delay, mantissa)))


def test_core_rows_pack_each_synapse_with_its_weight_shifted_by_its_rows_exponent():
    """The image's one pass (row exponents, then each row's entries) packs what the layout's own
    packer makes of the weights shifted right by their row's exponent."""
    from nmcompiler.image.core_rows import CoreScratch, CoreSynapses, row_exponents
    from nmcompiler.targets.encoding import SparseLayout, Word32Layout

    rng = np.random.default_rng(5)
    n = 3000
    key = np.sort(rng.integers(0, 400, n))
    w = rng.integers(-1, 2, n) * (rng.integers(1, 200, n) << rng.integers(0, 6, n))
    syn = CoreSynapses({"key": key, "pre": key // 3, "slot": rng.integers(0, 256, n), "field": rng.integers(0, 2, n),
                        "delay": rng.integers(1, 17, n), "weight": w})
    f = SynapseFields(index=8, delay=4, channel=1, weight=9)
    for layout in (SparseLayout, Word32Layout):
        words = np.zeros(n, dtype=np.uint32)
        start, exp, bad = CoreScratch().rows(syn, np.zeros(0, dtype=np.int64), 255, layout.shifts(f), words)
        want_start, want_exp, want_bad = row_exponents(key, w, np.zeros(0, dtype=np.int64), 255)
        assert np.array_equal(start, want_start) and np.array_equal(exp, want_exp) and bad == want_bad
        assert exp.max() > 0  # rows that shift their weights
        mantissa = w >> np.repeat(exp, np.diff(np.r_[start, n]))
        assert np.array_equal(words, layout.pack(f, syn.slot, syn.field, syn.delay, mantissa))


def test_sparse_packing_equals_its_field_formula_and_writes_into_out():
    from nmcompiler.targets.encoding import SparseLayout, Word32Layout

    rng = np.random.default_rng(3)
    f = SynapseFields(index=8, delay=4, channel=1, weight=9)
    n = 4000
    index, channel = rng.integers(0, 1 << 8, n), rng.integers(0, 2, n)
    delay, mantissa = rng.integers(1, 17, n), rng.integers(-(1 << 8), 1 << 8, n)
    want = (index.astype(np.uint32) | ((delay - 1).astype(np.uint32) << 8) | (channel.astype(np.uint32) << 12)
            | ((mantissa & 0x1FF).astype(np.uint32) << 13)).astype(np.uint32)
    got = SparseLayout.pack(f, index, channel, delay, mantissa)
    assert got.dtype == np.uint32 and np.array_equal(got, want)
    assert all(np.array_equal(a, b) for a, b in zip(SparseLayout.unpack(f, got), (index, channel, delay, mantissa)))
    for layout in (SparseLayout, Word32Layout):
        out = np.zeros(n + 2, dtype=np.uint32)
        written = layout.pack(f, index, channel, delay, mantissa, out[1:-1])
        assert np.shares_memory(written, out)
        assert np.array_equal(out[1:-1], layout.pack(f, index, channel, delay, mantissa)) and out[0] == out[-1] == 0
        with pytest.raises(ValueError, match="contiguous uint32"):
            layout.pack(f, index, channel, delay, mantissa, np.zeros(2 * n, dtype=np.uint32)[::2])
