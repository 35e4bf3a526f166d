"""Non-spiking readouts (a NIR ``Affine -> Output``): memoryless units, which a LIF core whose
decay can keep nothing of the membrane runs as such; a core that cannot is refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nmcompiler
from nmcompiler.drc import check
from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.targets import load_target

READOUT = Path(__file__).parent / "golden" / "frameworks" / "snntorch_readout.nir"


@pytest.mark.parametrize("target", ["fpga-lif", "loihi-like", "spinnaker-like"])
def test_a_readout_runs_on_cores_with_full_decay(target):
    data = np.load(READOUT.with_suffix(".npz"))
    chip = nmcompiler.compile(READOUT, target, preset="snntorch")
    result = chip.simulate({"input": data["input"][0]}, steps=42)
    v = result.traces["output.v"].values[2:]  # integer units, the framework's step t at our t + 2
    golden = data["readout.v"][0]
    scale = np.median(np.abs(v[golden != 0] / golden[golden != 0]))
    assert scale > 100 and np.corrcoef(v[:40].ravel(), golden.ravel())[0, 1] > 0.9


def test_a_core_that_cannot_forget_refuses_the_readout_by_name():
    net = load_nir(READOUT, NirOptions.from_preset("snntorch"))
    target = load_target("truenorth-like")
    assert not target.supports_model("threshold") and load_target("loihi-like").supports_model("threshold")
    messages = [v.message for v in check(net, target)]
    assert any(m.startswith("population 'output' is a memoryless readout (a NIR Affine -> Output, say): "
                            "truenorth-like's neurons cannot forget their membrane in one step") for m in messages)


def test_the_raster_plots_a_small_readouts_voltage():
    from nmcompiler.report.raster import raster_figure
    from nmcompiler.sim.float_sim import simulate
    from nmcompiler.sim.stimulus import spike_source_from_array

    data = np.load(READOUT.with_suffix(".npz"))
    net = load_nir(READOUT, NirOptions.from_preset("snntorch"))
    net.replace(spike_source_from_array("input", data["input"][0], net.dt))
    result = simulate(net, steps=42)
    fig = raster_figure(result)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3  # output[0..2]
    net.probes = [p for p in net.probes if p.target != "output"]
    assert len(raster_figure(simulate(net, steps=42)).axes) == 1
