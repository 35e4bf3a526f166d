"""Partial-sum compartments on the RTL: a chip whose cores hold compartments sends their graded
messages through the router and spikes bit for bit as the bit-accurate simulator running the same
image (and as the unmapped network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nmcompiler.errors import UserError
from nmcompiler.image import build_contents
from nmcompiler.ir import Connectivity, CubaLIF, Network, PoissonSource, Population, Projection
from nmcompiler.compiler import compile_network
from nmcompiler.sim.bit_sim import BitAccurateSimulator
from nmcompiler.targets import load_target
from nmcompiler.rtl.load import core_load
from nmcompiler.rtl.params import CoreParams
from nmcompiler.rtl.verify import verify_image

pytestmark = pytest.mark.rtl

LOIHI = Path(__file__).resolve().parent.parent / "hwtargets" / "loihi-like.yaml"


def _target(tmp_path: Path, graded: bool = True):
    """loihi-like's datapath on cores of 32 neuron slots, 24 input axons, 16 kbit of synapses."""
    text = LOIHI.read_text().replace("name: loihi-like", "name: small-graded")
    text = text.replace("  neurons: 1024", "  neurons: 32").replace("  input_axons: 4096", "  input_axons: 24")
    text = text.replace("  output_axons: 4096", "  output_axons: 32")
    text = text.replace("  synapse_memory_bits: 1048576 ", "  synapse_memory_bits: 16384 ")
    if not graded:
        text = "\n".join(line for line in text.splitlines() if "partial_sum_bits" not in line) + "\n"
    path = tmp_path / "small-graded.yaml"
    path.write_text(text)
    return load_target(str(path))


def _network(seed: int = 5) -> Network:
    """12 neurons with fan-in up to 52 (a Poisson source of 40 channels and themselves), beyond the
    24 axons of a core; delays 2-5, so compartments keep the timing exactly."""
    rng = np.random.default_rng(seed)
    net = Network("fanin", dt=1e-3, seed=seed)
    model = CubaLIF(tau_mem=20e-3, tau_syn=5e-3, v_leak=0.0, v_threshold=1.0, v_reset=0.0, refractory=2e-3, r=1.0)
    net.add(Population(name="a", size=12, model=model))
    net.add(PoissonSource(name="in", size=40, rate=60.0))
    for pre, size, p, w in (("in", 40, 0.8, 0.5), ("a", 12, 0.5, -0.4)):
        i, j = np.nonzero(rng.random((size, 12)) < p)
        net.connect(Projection(name=f"{pre}_a", pre=pre, post="a", connectivity=Connectivity.from_coo(
            size, 12, i, j, w * rng.uniform(0.2, 1.0, i.size), rng.integers(2, 6, i.size))))
    return net


@pytest.mark.parametrize("load,lanes", [("port", 1), ("files", 1), ("files", 2)])
def test_compartments_on_a_chip_are_bit_exact(tmp_path, load, lanes):
    target = _target(tmp_path)
    net = _network()
    mapping, fx, report = compile_network(net, target)
    ps = mapping.partial_sums
    assert report.fits and ps is not None and ps.late_synapses == 0
    contents = build_contents(mapping, fx)
    assert 2 <= len(contents.cores) <= 8 and sum(c.compartments.size for c in contents.cores) == ps.compartments
    params = CoreParams.of(target, lanes=lanes)
    assert params.payload_bits == 24
    result = verify_image(contents, params, 60, states=True, load=load)  # files: first_comp from ctrl.hex
    assert result.mismatches == 0, f"first divergence: {result.first_divergence}"
    reference = BitAccurateSimulator(fx).run(60)  # the unmapped network
    assert result.reference_spikes == result.rtl_spikes == sum(reference.spike_counts().values()) > 30


def test_a_core_without_graded_messages_refuses_compartments(tmp_path):
    target = _target(tmp_path)
    mapping, fx, _ = compile_network(_network(), target)
    contents = build_contents(mapping, fx)
    core = next(c for c in contents.cores if c.compartments.size)
    (tmp_path / "plain").mkdir()
    plain = CoreParams.of(_target(tmp_path / "plain", graded=False))
    with pytest.raises(UserError, match="no graded messages"):
        core_load(core, plain, int(contents.meta["presynaptic"]))
