"""Golden spikes from pyNN.nest (NEST 3.10, PyNN 0.13) for tests/test_pynn_backend.py: the same
PyNN scripts run on ``nmcompiler.pynn`` must give the same spikes, step for step.

* "array_exp" and "array_delta": a SpikeSourceArray into IF_curr_exp / IF_curr_delta cells with
  different offset currents and both receptors (``network()`` below, shared with the test);
* "array_delta_nest": the IF_curr_delta network written in PyNEST directly (iaf_psc_delta):
  pyNN.nest 0.13 cannot set the initial v of IF_curr_delta (its NEST mapping has no
  variable_map; V_m starts at NEST's -70 mV, not PyNN's -65 mV), so its "array_delta" is kept
  only as a record of that, and the test compares with this one;
* "electrodes": ``electrodes()`` below, DCSource and StepCurrentSource into IF_curr_exp cells;
* "cuba": PyNN's own examples/VAbenchmarks.py CUBA, unmodified (4000 cells, 1 s): spike counts
  per population and a SHA-256 of the sorted (population, cell, step) triples.

NEST runs with ``spike_precision="on_grid"`` (spikes on the time grid, as ours; PyNN's NEST
default is off-grid precise spike times) and an explicit ``min_delay`` (with "auto", pyNN.nest
shifts SpikeSourceArray times by the kernel's minimum delay).

    python benchmarks/peers/pynn_nest_goldens.py PYNN_SOURCE_DIR   # in a venv with nest-simulator and pyNN
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import runpy
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[2] / "tests" / "golden" / "pynn_nest.json"


def network(sim, cell: str) -> dict:
    """Two spike sources into five cells of ``cell`` (excitatory and inhibitory), 60 ms."""
    sim.setup(timestep=0.1, min_delay=0.1, **({"spike_precision": "on_grid"} if sim.__name__ == "pyNN.nest" else {}))
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 5.0, 9.0, 30.0], [3.0, 31.5]]), label="src")
    kind = getattr(sim, cell)
    params = dict(tau_m=10.0, i_offset=[0.0, 0.5, 1.0, 1.5, 2.0], tau_refrac=2.0, v_thresh=-55.0)
    if cell == "IF_curr_exp":
        params.update(tau_syn_E=3.0, tau_syn_I=6.0)
    cells = sim.Population(5, kind(**params), label="cells")
    w = 2.0 if cell == "IF_curr_exp" else 4.0
    sim.Projection(src[:1], cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0),
                   receptor_type="excitatory")
    sim.Projection(src[1:], cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=-w, delay=2.5),
                   receptor_type="inhibitory")
    sim.Projection(cells, cells, sim.FromListConnector([(4, 0), (3, 1)]), sim.StaticSynapse(weight=w, delay=0.5),
                   receptor_type="excitatory")
    traced = cell == "IF_curr_exp"  # pyNN.nest 0.13 cannot record v of IF_curr_delta (no variable_map)
    cells.record(["spikes", "v"] if traced else "spikes")
    sim.run(60.0)
    seg = cells.get_data().segments[0]
    out = {"spikes": [[round(float(t), 4) for t in st] for st in seg.spiketrains]}
    if traced:
        out["v_mean_mv"] = [round(float(x), 6) for x in np.asarray(seg.analogsignals[0]).mean(axis=0)]
    sim.end()
    return out


def electrodes(sim) -> dict:
    """DCSource and StepCurrentSource (set at creation, by set_parameters and by attribute) into
    three IF_curr_exp cells, 50 ms with min_delay 0.5 ms: spikes and every cell's v."""
    sim.setup(timestep=0.1, min_delay=0.5, **({"spike_precision": "on_grid"} if sim.__name__ == "pyNN.nest" else {}))
    cells = sim.Population(3, sim.IF_curr_exp(tau_m=10.0, tau_refrac=2.0, v_thresh=-55.0), label="cells")
    dc = sim.DCSource(amplitude=1.2, start=5.0, stop=35.0)
    dc.inject_into(cells[0:2])
    step = sim.StepCurrentSource(times=[1.0, 10.0, 20.04, 40.0], amplitudes=[0.4, 1.6, -0.5, 2.5])
    step.inject_into(cells[1:])
    late = sim.DCSource()
    late.set_parameters(amplitude=0.8, start=12.0, stop=25.0)
    late.amplitude = 0.9
    cells[2].inject(late)
    cells.record(["spikes", "v"])
    sim.run(50.0)
    seg = cells.get_data().segments[0]
    out = {"spikes": [[round(float(t), 4) for t in st] for st in seg.spiketrains],
           "v_mv": np.round(np.asarray(seg.analogsignals[0]).T, 6).tolist()}
    sim.end()
    return out


def delta_in_nest() -> dict:
    """``network(sim, "IF_curr_delta")`` in PyNEST: the same cells, sources, weights and delays."""
    import nest

    nest.ResetKernel()
    nest.resolution = 0.1
    cells = nest.Create("iaf_psc_delta", 5, {"tau_m": 10.0, "C_m": 1000.0, "V_th": -55.0, "t_ref": 2.0,
                                             "E_L": -65.0, "V_reset": -65.0, "V_m": -65.0})
    cells.I_e = [0.0, 500.0, 1000.0, 1500.0, 2000.0]
    exc = nest.Create("spike_generator", 1, {"spike_times": [1.0, 5.0, 9.0, 30.0]})
    inh = nest.Create("spike_generator", 1, {"spike_times": [3.0, 31.5]})
    nest.Connect(exc, cells, syn_spec={"weight": 4.0, "delay": 1.0})
    nest.Connect(inh, cells, syn_spec={"weight": -4.0, "delay": 2.5})
    nest.Connect(cells[4], cells[0], syn_spec={"weight": 4.0, "delay": 0.5})
    nest.Connect(cells[3], cells[1], syn_spec={"weight": 4.0, "delay": 0.5})
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    nest.Simulate(60.0)
    ev = recorder.events
    first = cells[0].global_id
    return {"spikes": [[round(float(t), 4) for t, s in zip(ev["times"], ev["senders"]) if s - first == i]
                       for i in range(5)]}


def cuba_digest(exc, inh, dt: float) -> dict:
    """Counts and the SHA-256 of sorted (population, cell, step) of both populations' spikes."""
    rows = []
    for k, pop in enumerate((exc, inh)):
        for i, st in enumerate(pop.get_data("spikes").segments[0].spiketrains):
            rows += [(k, i, int(round(float(t) / dt))) for t in st]
    rows.sort()
    digest = hashlib.sha256(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest()
    counts = [sum(r[0] == k for r in rows) for k in (0, 1)]
    return {"spikes_exc": counts[0], "spikes_inh": counts[1], "sha256": digest,
            "rate_exc_hz": counts[0] / exc.size, "rate_inh_hz": counts[1] / inh.size}


def run_cuba(source: Path, simulator: str) -> dict:
    """PyNN's VAbenchmarks.py CUBA on ``simulator`` ("nest" or "nmcompiler"), in a scratch folder."""
    script = source / "examples" / "VAbenchmarks.py"
    argv, cwd = sys.argv, os.getcwd()
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
        os.chdir(scratch)
        sys.argv = [str(script), simulator, "CUBA"]
        try:
            g = runpy.run_path(str(script), run_name="__main__")
        finally:
            sys.argv = argv
            os.chdir(cwd)
    return cuba_digest(g["exc_cells"], g["inh_cells"], g["dt"])


def main() -> int:
    import pyNN.nest as sim

    setup = sim.setup
    sim.setup = lambda *a, **k: setup(*a, **{"spike_precision": "on_grid", **k})  # for VAbenchmarks.py
    source = Path(sys.argv[1])
    golden = {"nest": __import__("nest").__version__, "pynn": __import__("pyNN").__version__,
              "array_exp": network(sim, "IF_curr_exp"), "array_delta": network(sim, "IF_curr_delta"),
              "array_delta_nest": delta_in_nest(), "electrodes": electrodes(sim),
              "cuba": run_cuba(source, "nest")}
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps({k: v for k, v in golden.items() if k != "array_exp" and k != "array_delta"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
