"""Our float simulation of NIR graphs against the exporting framework's own forward pass.

The graphs and traces in tests/golden/frameworks/ were made once by make_snntorch.py (snnTorch
1.0), make_norse.py (Norse 1.1), make_rockpool.py (Rockpool 3.1), make_sinabs.py (Sinabs 3.1.3)
and make_spyx.py (Spyx 1.0, JAX) with the framework installed (torch and JAX are not needed
here). Each model is imported with the framework's preset (``--from snntorch``, ...) and run on
the stored input spikes; every layer must spike exactly as the framework did, and its membrane
agree within 1e-6 of its range, at the step the preset's timing says (the framework's step t is
our step t + the population's level; Spyx: spikes at t, membranes at t + 1).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from nmcompiler.frontends.nir import NirOptions, load_nir
from nmcompiler.ir import CurrentSource, Network, Probe
from nmcompiler.sim.float_sim import simulate
from nmcompiler.sim.stimulus import spike_source_from_array

GOLDEN = Path(__file__).parent / "golden" / "frameworks"
GOLDENS = sorted(p.stem for p in GOLDEN.glob("*.npz"))


def _options(meta: dict) -> NirOptions:
    """The framework's preset, with the reset the model was built with."""
    conv = meta["conventions"]
    if meta["framework"] != "snntorch":  # the golden's own spikes per step (MultiSpike: the preset's)
        most = 1 if conv.get("spike_fn") == "SingleSpike" else conv.get("max_spikes_per_dt")
        return NirOptions.from_preset(meta["framework"], max_spikes=most)
    opts = NirOptions.from_preset("snntorch", reset="subtract" if conv["reset_mechanism"] == "subtract" else "value")
    return dataclasses.replace(opts, reset_delayed=conv["reset_delay"])


def _load(name: str):
    data = np.load(GOLDEN / f"{name}.npz")
    meta = json.loads(str(data["meta"]))
    opts = _options(meta)
    net = load_nir(GOLDEN / f"{name}.nir", opts)
    for pop in net.populations:
        net.probe(Probe(target=pop.name, variable="v"))
    return data, meta, net


def _levels(net: Network) -> dict[str, int]:
    """Each node's lag behind the framework, from the imported delays: the input is at 0, a
    population at the shortest delay path from it (the retimed delays make every path equal)."""
    level = {"input": 0}
    for _ in net.populations:
        for proj in net.projections:
            if proj.pre in level and not isinstance(net.node(proj.pre), CurrentSource):
                d = level[proj.pre] + int(np.min(proj.connectivity.delays))
                level[proj.post] = min(level.get(proj.post, d), d)
    return level


def _population(net: Network, layer: str) -> str:
    names = {p.name for p in net.populations}
    if layer in names:
        return layer
    return next(n for n in sorted(names) if n.startswith(f"{layer}.") and n.endswith(".lif"))  # a subgraph


def _run(net: Network, x: np.ndarray, extra: int):
    net.replace(spike_source_from_array("input", x.reshape(x.shape[0], -1), net.dt))
    return simulate(net, steps=x.shape[0] + extra)


def _lags(net: Network, meta: dict) -> dict[str, tuple[int, int]]:
    """(spike lag, membrane lag) per node. Same-step presets: both the level. Spyx emits the
    spike its previous membrane decided: our spikes are its spikes at the same step, our membrane
    its membrane one step earlier."""
    if meta["framework"] == "spyx":
        return {"input": (0, 0)} | {p.name: (0, 1) for p in net.populations}
    return {name: (level, level) for name, level in _levels(net).items()}


def _compare(name: str, cutoff=None):
    """(layers compared, spikes compared) after asserting agreement on every sample."""
    data, meta, net = _load(name)
    lags = _lags(net, meta)
    steps = meta["steps"]
    compared = 0
    for sample in range(meta["samples"]):
        result = _run(net, data["input"][sample], max(max(lag) for lag in lags.values()))
        for layer in meta["layers"]:
            pop = _population(net, layer)
            (lag, v_lag), golden = lags[pop], data[f"{layer}.spikes"][sample]
            spiked = np.zeros((result.steps, golden.shape[1]), dtype=np.uint8)
            np.add.at(spiked, (result.spike_steps[pop], result.spike_ids[pop]), 1)  # multi-spike: counts
            ours = spiked[lag:lag + steps]
            end = steps if cutoff is None else cutoff(data, sample)
            np.testing.assert_array_equal(ours[:end], golden[:end], err_msg=f"{name} sample {sample} layer {layer}")
            v = result.traces[f"{pop}.v"].values[v_lag:v_lag + steps][:end]
            g = data[f"{layer}.v"][sample][:end]
            quiet = spiked[v_lag:v_lag + steps][:end] == 0  # at a spike a delayed reset shows v before it, we after
            assert np.abs(v - g)[quiet].max(initial=0) <= 1e-6 * max(1.0, np.abs(g).max()), f"{name} layer {layer}"
            compared += int(golden[:end].sum())
        if "readout.v" in data:
            lag = lags["output"][1]
            v = result.traces["output.v"].values[lag:lag + steps]
            np.testing.assert_allclose(v, data["readout.v"][sample], rtol=0, atol=1e-6)
    return compared


@pytest.mark.parametrize("name", [n for n in GOLDENS if not n.endswith("_nodelay")])
def test_framework_models_spike_for_spike(name):
    assert len(GOLDENS) == 19  # snnTorch 7, Norse 2, Rockpool 2, Sinabs 3, Spyx 5
    compared = _compare(name)
    assert compared > 100  # every model spikes in every layer on these inputs (not a vacuous pass)


def _first_double_reset(data, sample):
    """snnTorch with ``reset_delay=False`` subtracts the threshold at the spike and, when the reset
    membrane is still above threshold, again on the next step, then adds it back if that step does
    not spike ("avoid double reset"): no datapath with a plain reset does that. Spikes agree up to
    the first step after such a state, in any layer."""
    threshold = {"1": 1.0, "3": 0.8}
    first = data["input"].shape[1]
    for layer, thr in threshold.items():
        above = np.flatnonzero((data[f"{layer}.v"][sample] > thr).any(axis=1))
        if above.size:
            first = min(first, int(above[0]) + 1)
    return first


def test_snntorch_without_delayed_reset_agrees_until_its_double_reset():
    assert _compare("snntorch_ff_subtract_nodelay", cutoff=_first_double_reset) > 20


def test_without_the_preset_the_spikes_differ():
    """The default NIR reading (reset to v_reset, a step per connection, biases from step 0) is
    not snnTorch's: the preset is what makes the traces agree."""
    data, meta, _ = _load("snntorch_ff_subtract")
    net = load_nir(GOLDEN / "snntorch_ff_subtract.nir", NirOptions(dt=1e-4, reset="subtract"))
    result = _run(net, data["input"][0], 2)
    ours = np.zeros((result.steps, 6), dtype=np.uint8)
    ours[result.spike_steps["3"], result.spike_ids["3"]] = 1
    assert not np.array_equal(ours[2:2 + meta["steps"]], data["3.spikes"][0])


def test_preset_levels_and_bias_onsets():
    _, _, net = _load("snntorch_recurrent")
    assert _levels(net) == {"input": 0, "1.lif": 1, "3": 2}
    recurrent = next(p for p in net.projections if p.name == "1.lif_to_1.lif")
    assert int(np.max(recurrent.connectivity.delays)) == 1
    assert {s.name: round(s.start / net.dt) for s in net.sources if isinstance(s, CurrentSource)} == {
        "1.lif.bias": 1, "3.bias": 2}


def test_the_exporter_is_told_from_the_graph():
    from nmcompiler.frontends.nir import read_nir_file
    from nmcompiler.frontends.nir.graph import flatten
    from nmcompiler.frontends.nir.presets import detect

    for name in GOLDENS:
        data = np.load(GOLDEN / f"{name}.npz")
        framework = json.loads(str(data["meta"]))["framework"]
        found = detect(flatten(read_nir_file(GOLDEN / f"{name}.nir")))
        assert (found is None) if name.startswith("sinabs_ff_iaf") else found[0] == framework  # IF only: Norse or Sinabs
    auto = load_nir(GOLDEN / "norse_ff_box.nir", NirOptions.from_preset("auto"))
    preset = load_nir(GOLDEN / "norse_ff_box.nir", NirOptions.from_preset("norse"))
    assert [p.model for p in auto.populations] == [p.model for p in preset.populations]
    from nmcompiler.errors import UserError

    digits = Path(__file__).resolve().parents[1] / "examples" / "digits" / "digits.nir"  # our own export
    with pytest.raises(UserError, match="cannot tell which framework exported it"):
        load_nir(digits, NirOptions.from_preset("auto"))


def test_spyx_conventions_each_matter():
    """Spyx's graphs read with its preset: dt from the exported r = beta, biases from step 1, and
    the recurrent subgraph's input to the neuron. Reading the RLIF's input through its recurrent
    weights (what the exported edges say) changes the spikes."""
    _, _, net = _load("spyx_recurrent")
    assert net.dt == 1.0
    assert {round(s.start / net.dt) for s in net.sources if isinstance(s, CurrentSource)} == {1}
    assert all(int(np.min(p.connectivity.delays)) == 1 for p in net.projections)
    data, meta, _ = _load("spyx_recurrent")
    literal = load_nir(GOLDEN / "spyx_recurrent.nir",
                       dataclasses.replace(NirOptions.from_preset("spyx"), rnn_input_to_neuron=False))
    pop = _population(literal, "layer_1")
    result = _run(literal, data["input"][0], 1)
    ours = np.zeros((result.steps, 12), dtype=np.uint8)
    ours[result.spike_steps[pop], result.spike_ids[pop]] = 1
    assert not np.array_equal(ours[:meta["steps"]], data["layer_1.spikes"][0])
