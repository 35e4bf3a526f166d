"""The typed mapping: everything the image needs (placement, routes and routing tables, axon
types, partial sums, the effective target, usage) saved and loaded by the library; the image
built from a loaded mapping is the same bytes, and tables come from the connectivity."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from nmcompiler import load_network
from nmcompiler.compiler import compile_network
from nmcompiler.errors import UserError
from nmcompiler.flow import float_rates
from nmcompiler.image import build_contents, decode, encode
from nmcompiler.mapping import Mapping
from nmcompiler.targets import load_target


@pytest.mark.parametrize("example, target, fan_in", [
    ("synfire.yaml", "spinnaker-like", "auto"),  # routing tables
    ("synfire.yaml", "truenorth-like", "auto"),  # axon types
    ("mlp.yaml", "loihi-like", "partial-sums"),  # compartments
    ("cuba.yaml", "loihi-like", "auto"),  # multi-compartment neurons: the effective target
])
def test_a_saved_mapping_loads_and_builds_the_same_image(example, target, fan_in, tmp_path):
    mapping, fx, report = compile_network(load_network(EXAMPLES / example), load_target(target), fan_in=fan_in)
    assert report.fits
    data = mapping.save(tmp_path / "m.map.npz")
    assert (tmp_path / "m.map.npz").read_bytes() == data
    loaded = Mapping.load(tmp_path / "m.map.npz")
    assert loaded.target == mapping.target and loaded.offsets == mapping.offsets
    np.testing.assert_array_equal(loaded.core_of, mapping.core_of)
    assert encode(build_contents(loaded, fx)) == encode(build_contents(mapping, fx))
    assert loaded.save(None) == data
    if target == "spinnaker-like":
        assert loaded.routes.tables.entries == mapping.routes.tables.entries and loaded.routes.links is not None
    if target == "truenorth-like":
        assert loaded.axon_types.keys() == mapping.axon_types.keys()
    if fan_in == "partial-sums":
        assert loaded.partial_sums.compartments == mapping.partial_sums.compartments > 0


def test_tables_cover_silent_neurons_when_rates_weight_the_traffic():
    """Rates weight placement, but a neuron silent in the rate run still needs its routes: the
    report counts the tables the image holds (before, 4 entries were reported and 8 written)."""
    net = load_network(EXAMPLES / "synfire.yaml")
    mapping, fx, report = compile_network(net, load_target("spinnaker-like"), rates=float_rates(200))
    assert report.rates_measured
    rates = float_rates(200)(net)
    assert (rates == 0).any() and (rates > 0).any()
    chip_tables = decode(encode(build_contents(mapping, fx))).chip_tables
    assert report.routing_table_entries[1] == max(t.shape[0] for t in chip_tables.values()) == 8


def test_a_mapping_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "bad.map.npz"
    np.savez(bad, core_of=np.zeros(3))
    with pytest.raises(UserError, match=r"bad\.map\.npz: not a mapping file of this nmcompiler \(KeyError"):
        Mapping.load(bad)
